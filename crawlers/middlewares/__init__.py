"""Downloader middlewares: each one a component switched on by settings."""
