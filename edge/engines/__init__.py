"""Inference engines. They know nothing of files, ledgers or sidecars."""
