"""Fixtures any test can ask for, and one that every test gets: no leaked threads.

Plain helper functions are in tests/helpers/. What only the end-to-end tests need (a PostgreSQL
cluster) and the rule that marks every test under tests/e2e/ `slow` are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.helpers.audio import is_local
from tests.helpers.service import NotifySocket


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves threads running (watchdog's habit)."""
    before = set(threading.enumerate())
    yield
    def leaked():
        return [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    deadline = time.monotonic() + 5
    while leaked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leaked(), f"test leaked threads: {leaked()}"


@pytest.fixture
def no_network(monkeypatch):
    """Refuse, and record, any name lookup or connect beyond loopback; fail the test if one was tried."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real):
        def connect(sock, address):
            if not is_local(sock.family, address):
                attempts.append(address)
                raise OSError(f"test guard: network access to {address!r} refused")
            return real(sock, address)
        return connect

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # a DNS query leaves the machine before any connect
        if host is not None and not is_local(socket.AF_INET, (host, 0)):
            attempts.append(host)
            raise socket.gaierror(f"test guard: name lookup of {host!r} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"something tried to reach the network: {attempts}"


@pytest.fixture
def notify():
    """The AF_UNIX datagram socket systemd would pass as $NOTIFY_SOCKET, with what arrived on it."""
    sock = NotifySocket()
    yield sock
    sock.close()

