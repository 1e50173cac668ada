"""systemd integration: sd_notify over the AF_UNIX datagram socket.

No library needed: the protocol is one datagram per message to the socket
named by $NOTIFY_SOCKET (an abstract socket when it starts with '@').
Without $NOTIFY_SOCKET every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from typing import Mapping


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        applies = usec and (not pid or pid == str(os.getpid()))
        # Ping at half the period, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval = int(usec) / 2e6 if applies else None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, message: str) -> None:
        if not self.address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            try:
                sock.sendto(message.encode(), self.address)
            except OSError:
                pass  # systemd gone or socket removed: nothing useful to do

    def ready(self) -> None:
        self.send("READY=1")

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def reloading(self) -> None:
        self.send("RELOADING=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")
