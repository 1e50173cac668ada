"""Moved to edge.engines.budget (visual-token budgets are facts of the model families engines load)."""

from ..engines.budget import *  # noqa: F401,F403
