"""Structured extraction: schemas, prompts, validation, and the tiers that produce fields."""
