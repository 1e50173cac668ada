"""The ledger: an index of what edge knows about each file, and the queue.

`Ledger` is the embedded SQLite ledger (the default); callers that only need
the default keep importing it from here.
"""

from __future__ import annotations

from .base import STATUSES, LedgerAPI, LedgerUnavailable, Row, default_state_dir
from .sqlite import Ledger

__all__ = ["STATUSES", "Ledger", "LedgerAPI", "LedgerUnavailable", "Row", "default_state_dir"]
