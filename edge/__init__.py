"""edge: a local-first agent for drop folders."""

__version__ = "0.1.0"
