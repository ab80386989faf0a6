"""Scrapy crawlers: one generic spider per source kind, driven by config/sources/*.yml."""
