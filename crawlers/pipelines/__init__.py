"""Item pipelines, one per file; switched on in crawlers/settings.py."""
