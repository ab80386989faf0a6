"""Pesquisa: monitor Peruvian news and court bulletins for organized crime and corruption."""

__version__ = "0.1.0"
