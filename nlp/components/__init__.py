"""Pesquisa spaCy components, one per file; registered in nlp/factories.py."""
