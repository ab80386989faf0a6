"""Generic spiders, one per source kind."""
