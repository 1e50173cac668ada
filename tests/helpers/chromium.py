"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no websocket
library, no browser download; Debian's `chromium` (a test dependency, see README.md).

    with Browser(tmp_path) as browser:
        page = browser.open(url)            # returns once the page's load event fired
        page.evaluate("document.title")
        page.click("#save"); page.wait_load()
        png = page.screenshot()

Every wait is for a protocol message (a reply or an event), with a deadline so a broken browser fails the
test instead of hanging it.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--force-device-scale-factor=1")
DEADLINE = 60.0  # seconds for any one reply or event


def chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is missing: `make test` installs it (apt-get install chromium)"
    return browser


def _above(fd: int, low: int) -> int:
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, profile: Path, size: tuple[int, int] = (1400, 1000)) -> None:
        self.size = size
        commands_r, self._commands_w = os.pipe()
        self._events_r, events_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4: moved above 9 first, so that
        # putting one in place cannot overwrite the other
        commands_r, events_w = _above(commands_r, 10), _above(events_w, 11)
        shell = f"exec 3<&{commands_r} 4>&{events_w} {commands_r}<&- {events_w}>&-; exec \"$@\""
        self.process = subprocess.Popen(
            ["bash", "-c", shell, "chromium", chromium(), *FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", "about:blank"],
            pass_fds=(commands_r, events_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(commands_r)
        os.close(events_w)
        self._next = 0
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._pending: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._events_r, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for message in messages:
                    self._messages.put(json.loads(message))
        self._messages.put(None)  # the browser is gone

    def _receive(self) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=DEADLINE)
        except queue.Empty:
            raise AssertionError(f"chromium said nothing for {DEADLINE}s") from None
        if message is None:
            raise AssertionError("chromium closed the DevTools pipe")
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands_w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply.get("result", {})
            self._pending.append(reply)

    def event(self, method: str, session: str | None = None) -> dict[str, Any]:
        """The next event of that name (one that came while waiting for a reply counts)."""
        while True:
            for index, message in enumerate(self._pending):
                if message.get("method") == method and message.get("sessionId") == session:
                    return self._pending.pop(index)["params"]
            self._pending.append(self._receive())

    def open(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.size[0], "height": self.size[1], "deviceScaleFactor": 1, "mobile": False})
        page.navigate(url)
        return page

    def close(self) -> None:
        try:
            os.write(self._commands_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands_w)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.wait_load()

    def wait_load(self) -> None:
        self.browser.event("Page.loadEventFired", self.session)

    def evaluate(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def rect(self, selector: str) -> dict[str, float]:
        """The element's box in CSS pixels of the viewport (scrolled into view first)."""
        found = self.evaluate(f"(() => {{ const el = document.querySelector({json.dumps(selector)}); if (!el) return null;"
                              "el.scrollIntoView({block: 'nearest'}); const r = el.getBoundingClientRect();"
                              "return {x: r.x, y: r.y, width: r.width, height: r.height}; })()")
        assert found, f"no element {selector} on the page"
        return found

    def click(self, selector: str) -> None:
        """A real mouse click at the element's centre."""
        box = self.rect(selector)
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def press(self, key: str, code: str | None = None, key_code: int | None = None) -> None:
        """A real key press (keyDown, then keyUp) where the focus is."""
        params: dict[str, Any] = {"key": key, "code": code or key}
        if key_code is not None:
            params["windowsVirtualKeyCode"] = key_code
        if len(key) == 1:
            params["text"] = key
        elif key == "Enter":
            params["text"] = "\r"
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", **params})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **{k: v for k, v in params.items() if k != "text"}})

    def screenshot(self, path: Path, full: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full:
            params["captureBeyondViewport"] = True
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path
