"""Everything under tests/e2e/ is `slow`: `pytest -m 'not slow'` runs the unit tests only.

End-to-end tests run edge as its users do: `edge` in a child process, the daemon, real
servers (llama-cpp-python's, PostgreSQL), systemd's tools, network namespaces, long media.
This folder marks them; a test needs no `@pytest.mark.slow` of its own to be left out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.pg_cluster import Cluster, pg_bin

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the whole session (skips the test where PostgreSQL is missing)."""
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian package `postgresql`: initdb and pg_ctl are missing)")
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'edge[postgresql]')")
    cluster = Cluster(bindir).init()
    cluster.start()
    yield cluster
    cluster.remove()


_counter = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A fresh database in the shared throwaway cluster, for one test."""
    return pg_cluster.create_db(f"edge_test_{os.getpid()}_{next(_counter)}")
