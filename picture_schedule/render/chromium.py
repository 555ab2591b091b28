"""The Chromium printer: one headless browser, driven over the DevTools protocol, prints every job.

The browser is started once (``--remote-debugging-pipe``: JSON messages over two pipes, no network
port, no Python package) and kept for the printer's life, so a batch pays its start-up once. Each
job opens in the same tab at a made-up address (``https://diary.invalid/``) that never reaches a
network: every request the page makes is paused (``Fetch`` domain) and answered from here, with the
job's HTML, or with a file inside the job's folders for a relative URL (a site's logo); anything
else is refused, and an ``https:`` page cannot open ``file:`` URLs at all. So a template reads no
more than under WeasyPrint's fetcher. Then ``Page.printToPDF`` with the CSS page size and
backgrounds (the daily log's tick boxes are a background picture).

Chromium stamps a creation date into each PDF, so its PDFs are not byte-identical run to run.
"""

from __future__ import annotations

import base64
import fcntl
import json
import mimetypes
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from picture_schedule.errors import OutputError
from picture_schedule.render.printing import PrintJob, inside

#: Where the program is looked for, in order (``PICTURE_SCHEDULE_CHROMIUM`` names another).
PROGRAMS = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
TIMEOUT = 120.0  # seconds one step (start, load, print) may take
ORIGIN = "https://diary.invalid/"  # .invalid never resolves (RFC 2606); every request is answered here
DOCUMENT = ORIGIN + "diary.html"


def find_chromium() -> str | None:
    """The Chromium program's path, or None when none is installed."""
    named = os.environ.get("PICTURE_SCHEDULE_CHROMIUM")
    for candidate in ([named] if named else []) + list(PROGRAMS):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _high_fd(fd: int) -> int:
    """``fd`` moved above 9, so the child can take 3 and 4 without overwriting it."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class ChromiumPrinter:
    """A headless Chromium kept running; ``close()`` ends it (also on ``with`` exit)."""

    engine = "chromium"

    def __init__(self, program: str | None = None, *, workdir: str | Path | None = None) -> None:
        found = program or find_chromium()
        if found is None:
            raise OutputError("Chromium is not installed (Debian package chromium): install it, or print with "
                              "the default engine (WeasyPrint)", source="--engine")
        self._dir = Path(tempfile.mkdtemp(prefix="picture-schedule-chromium-", dir=workdir))
        os.chmod(self._dir, 0o700)
        command_read, self._command = (_high_fd(fd) for fd in os.pipe())
        self._replies, reply_write = (_high_fd(fd) for fd in os.pipe())

        def child_pipes() -> None:  # in the child: the protocol's fds 3 (commands) and 4 (replies)
            os.dup2(command_read, 3)
            os.dup2(reply_write, 4)

        args = [found, "--headless", "--remote-debugging-pipe", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
                f"--user-data-dir={self._dir / 'profile'}", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, pass_fds=(3, 4), preexec_fn=child_pipes,
                                             start_new_session=True)
        except OSError as exc:
            self._cleanup()
            raise OutputError(f"Chromium ({found}) cannot be started: {exc.strerror or exc}",
                              source="--engine") from None
        finally:
            os.close(command_read)
            os.close(reply_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self._job: PrintJob | None = None
        self._session = ""  # the tab, opened by the first job: the browser starts while the caller works

    def _open_tab(self) -> None:
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._call("Page.enable", session=True)
        self._call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=True)

    # -- the protocol ----------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._command, data):]
        except OSError as exc:
            raise OutputError(f"Chromium stopped ({exc.strerror or exc})", source="--engine") from None

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise OutputError(f"Chromium did not answer within {TIMEOUT:.0f} s", source="--engine")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise OutputError("Chromium stopped unexpectedly", source="--engine")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        reply: dict[str, Any] = json.loads(message)
        return reply

    def _call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        self._send(message)
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise OutputError(f"Chromium: {method}: {reply['error'].get('message', reply['error'])}",
                                      source="--engine")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._event(reply)

    def _event(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Fetch.requestPaused":
            params = message["params"]
            answer = self._answer(params["request"]["url"])
            if answer is None:
                self._send({"id": 0, "method": "Fetch.failRequest", "sessionId": self._session,
                            "params": {"requestId": params["requestId"], "errorReason": "AccessDenied"}})
            else:
                kind, body = answer
                self._send({"id": 0, "method": "Fetch.fulfillRequest", "sessionId": self._session,
                            "params": {"requestId": params["requestId"], "responseCode": 200,
                                       "responseHeaders": [{"name": "Content-Type", "value": kind}],
                                       "body": base64.b64encode(body).decode("ascii")}})
        elif "method" in message:
            self._events.append(message)

    def _answer(self, url: str) -> tuple[str, bytes] | None:
        """(content type, body) for a request of the page, or None: refused."""
        job = self._job
        if job is None or not url.startswith(ORIGIN):
            return None
        if url == DOCUMENT:
            return "text/html; charset=utf-8", job.html.encode("utf-8")
        base = urlsplit(job.base_url)
        if base.scheme != "file":
            return None
        path = Path(unquote(base.path)) / unquote(urlsplit(url).path).lstrip("/")
        if not inside(path, job.folders) or not path.is_file():
            return None
        return mimetypes.guess_type(path.name)[0] or "application/octet-stream", path.read_bytes()

    def _wait_for(self, method: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for index, event in enumerate(self._events):
                if event.get("method") == method:
                    del self._events[: index + 1]
                    return
            self._event(self._receive(deadline))

    # -- printing --------------------------------------------------------------------------------

    def pdf(self, job: PrintJob) -> bytes:
        if not self._session:
            self._open_tab()
        self._job = job
        try:
            self._events.clear()
            self._call("Page.navigate", {"url": DOCUMENT}, session=True)
            self._wait_for("Page.loadEventFired")
            self._call("Runtime.evaluate", {"expression": "document.fonts.ready.then(() => true)",
                                            "awaitPromise": True}, session=True)
            result = self._call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True,
                                                    "displayHeaderFooter": False}, session=True)
            self._call("Page.navigate", {"url": "about:blank"}, session=True)  # the next job starts afresh
            self._wait_for("Page.loadEventFired")
        finally:
            self._job = None
        return base64.b64decode(result["data"])

    def close(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            try:
                self._send({"id": 0, "method": "Browser.close"})
                process.wait(timeout=10)
            except (OutputError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for fd in ("_command", "_replies"):
            if getattr(self, fd, None) is not None:
                os.close(getattr(self, fd))
                setattr(self, fd, None)
        self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> ChromiumPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
