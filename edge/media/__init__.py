"""Decoding and preparation of media, and content sniffing."""
