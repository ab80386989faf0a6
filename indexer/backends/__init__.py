"""Index backends: SQLite FTS5 (embedded) and, later, Elasticsearch 8."""
