"""The JSON API and the Spanish web UI, served by one FastAPI app."""
