"""Bundled offline demo site: sample Peruvian news pages, feeds and sitemaps served on localhost."""
