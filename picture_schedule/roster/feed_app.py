"""The feed server: a WSGI application over the roster, run by waitress (``picture-schedule serve``).

It serves exactly two things and nothing else:

- ``GET``/``HEAD /feed/<token>.ics``: the patient's calendar from the roster's cache (rendered once
  per change, never per request), with a strong ETag, Last-Modified, Cache-Control and 304 answers;
- ``GET``/``HEAD /healthz``: ``ok`` when the roster can be read.

Every other path is 404, and an unknown, rotated or removed token gets the very same 404 (headers and
body) as a path that never existed. Other methods on those two paths are 405. Tokens never reach a log:
the access log and any server message show ``/feed/<redacted …>.ics`` with the first 8 hex digits
of the token's SHA-256 (the lookup hash the roster stores, so an operator can tell feeds apart).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from picture_schedule.roster.store import Feed, Roster

__all__ = ["FEED_PREFIX", "RedactingFilter", "Settings", "create_app", "feed_links", "redact"]

FEED_PREFIX = "/feed/"
MAX_PATH = 256  # longer paths are 404 without a look-up
_FEED_PATH = re.compile(r"/feed/([A-Za-z0-9_-]{22,128})\.ics")
_FEED_ANY = re.compile(r"/feed/(?!<redacted )[^\s\"']*", re.IGNORECASE)
_TOKENISH = re.compile(r"[A-Za-z0-9_-]{20,}")  # anything that could be a token, wherever it appears
_NOT_FOUND = b"Not found\n"
_HEALTHY = b"ok\n"

StartResponse = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the feed server behaves; the defaults suit ``picture-schedule serve``."""

    access_log: bool = True
    logger: str = "picture_schedule.access"


def feed_links(base_url: str, name: str) -> tuple[str, str]:
    """``(https://…/feed/<name>.ics, webcal://…/feed/<name>.ics)`` for a site's base URL."""
    base = base_url.rstrip("/")
    https = f"{base}{FEED_PREFIX}{name}.ics"
    return https, "webcal://" + https.split("://", 1)[1]


def redact(text: str) -> str:
    """Replace anything after ``/feed/`` with a short hash of it, and any other token-like run of
    20 or more URL-safe characters with ``<redacted>``: logs never hold a token."""
    def hide(match: re.Match[str]) -> str:
        secret = match.group(0)[len(FEED_PREFIX):]
        if secret.endswith(".ics"):
            secret = secret[:-4]
        digest = hashlib.sha256(secret.encode("latin-1", "replace")).hexdigest()[:8]
        return f"{FEED_PREFIX}<redacted {digest}>.ics"

    return _TOKENISH.sub("<redacted>", _FEED_ANY.sub(hide, text))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts feed paths in any message (waitress logs request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/ prefixes are ignored; ``*`` matches any."""
    candidates = [part.strip() for part in header.split(",")]
    return any(c == "*" or c.removeprefix("W/") == etag for c in candidates)


def _not_modified(environ: dict[str, Any], feed: Feed) -> bool:
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:  # RFC 9110 13.2.2: If-Modified-Since is ignored when If-None-Match is sent
        return _etag_matches(inm, feed.etag)
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since is None:
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return feed.last_modified <= since
    return False


def create_app(store: Roster, settings: Settings | None = None) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application serving ``store``'s feeds."""
    from picture_schedule.errors import RosterError

    settings = settings or Settings()
    log = logging.getLogger(settings.logger)

    def respond(start_response: StartResponse, status: str, headers: list[tuple[str, str]], body: bytes,
                head: bool) -> list[bytes]:
        start_response(status, headers)
        return [] if head else [body]

    def not_found(start_response: StartResponse, head: bool) -> list[bytes]:
        return respond(start_response, "404 Not Found", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(_NOT_FOUND))),
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
        ], _NOT_FOUND, head)

    def failed(start_response: StartResponse, status: str, body: bytes, head: bool) -> list[bytes]:
        return respond(start_response, status, [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ], body, head)

    def not_allowed(start_response: StartResponse) -> list[bytes]:
        body = b"Method not allowed\n"
        return respond(start_response, "405 Method Not Allowed", [
            ("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
        ], body, False)

    def feed_response(environ: dict[str, Any], start_response: StartResponse, feed: Feed,
                      head: bool) -> list[bytes]:
        common = [
            ("ETag", feed.etag),
            ("Last-Modified", _http_date(feed.last_modified)),
            ("Cache-Control", f"private, max-age={feed.max_age}"),
        ]
        if _not_modified(environ, feed):
            return respond(start_response, "304 Not Modified", common, b"", True)
        return respond(start_response, "200 OK", [
            ("Content-Type", "text/calendar; charset=utf-8"), ("Content-Length", str(len(feed.body))),
            *common, ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
        ], feed.body, head)

    def route(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        head = method == "HEAD"
        if len(path) > MAX_PATH:
            return not_found(start_response, head)
        if path == "/healthz":
            if method not in ("GET", "HEAD"):
                return not_allowed(start_response)
            ok = store.healthy()
            body = _HEALTHY if ok else b"roster unavailable\n"
            return respond(start_response, "200 OK" if ok else "503 Service Unavailable", [
                ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ], body, head)
        match = _FEED_PATH.fullmatch(path)
        if match is None:
            return not_found(start_response, head)
        if method not in ("GET", "HEAD"):  # decided by the path's shape alone: says nothing about the token
            return not_allowed(start_response)
        try:
            feed = store.feed(match.group(1))
        except RosterError as exc:  # this patient's damaged row (500), or the roster unreadable (503)
            log.error("%s", exc)
            if store.healthy():
                return failed(start_response, "500 Internal Server Error", b"Internal error\n", head)
            return failed(start_response, "503 Service Unavailable", b"roster unavailable\n", head)
        if feed is None:
            return not_found(start_response, head)
        return feed_response(environ, start_response, feed, head)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, str] = {}

        def recording_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            seen["length"] = next((v for k, v in headers if k == "Content-Length"), "-")
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            body = route(environ, recording_start)
        except Exception:  # noqa: BLE001  (never a traceback with a path in it; never a token in a log)
            log.error("internal error while serving %s", redact(environ.get("PATH_INFO", "")))
            recording_start("500 Internal Server Error", [
                ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "15"),
            ], sys.exc_info())
            body = [b"Internal error\n"]
        if settings.access_log:
            method = environ.get("REQUEST_METHOD", "-")
            path = environ.get("PATH_INFO", "")
            shown = redact(path) if len(path) <= MAX_PATH else f"<{len(path)}-character path>"
            log.info('%s "%s %s %s" %s %s %.1fms', environ.get("REMOTE_ADDR", "-"), method, shown,
                     environ.get("SERVER_PROTOCOL", "-"), seen.get("status", "-"), seen.get("length", "-"),
                     (time.perf_counter() - started) * 1000)
        return body

    return app


#: How many connections waitress keeps open at once; more wait in the listen queue. Idle ones cost
#: little (no thread), so the limit is far above what a unit's phones need, and an idle client
#: cannot lock others out (waitress' own default, 100, let 101 idle sockets stall every client).
CONNECTION_LIMIT = 1000
#: Seconds a connection may stay idle (no request in progress) before it is closed.
CHANNEL_TIMEOUT = 20
THREADS = 8


def serve(store: Roster, *, host: str = "127.0.0.1", port: int = 8080, threads: int = THREADS,
          connection_limit: int = CONNECTION_LIMIT, channel_timeout: int = CHANNEL_TIMEOUT,
          settings: Settings | None = None, ready: Callable[[str, int], None] | None = None,
          app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]] | None = None,
          proxy_headers: bool = False) -> None:
    """Run the feed server (or ``app``: the web page) with waitress until SIGINT or SIGTERM;
    ``ready(host, port)`` once listening. ``proxy_headers``: pass X-Forwarded-* headers on to ``app``
    (which decides whom to believe: the web page's ``--trusted-proxy``); otherwise waitress drops them.

    Idle connections are closed after ``channel_timeout`` seconds (checked every few seconds), at most
    ``connection_limit`` are open at once, and ``threads`` requests are answered at the same time.
    """
    import signal
    import threading

    from waitress import create_server

    from picture_schedule.errors import OutputError

    _enough_files(connection_limit)
    try:
        server = create_server(app or create_app(store, settings), host=host, port=port, threads=threads,
                               connection_limit=connection_limit, channel_timeout=channel_timeout,
                               cleanup_interval=max(1, min(5, channel_timeout // 4)),
                               asyncore_use_poll=True,  # select() fails beyond 1024 file descriptors
                               ident="picture-schedule", expose_tracebacks=False,
                               clear_untrusted_proxy_headers=not proxy_headers)
    except OSError as exc:  # port taken, address not on this machine, no permission
        raise OutputError(f"cannot listen on {host}:{port} ({exc.strerror or exc})", source="serve") from None
    effective = getattr(server, "effective_port", port)
    stopped: list[str] = []

    def stop(signum: int, frame: Any) -> None:
        stopped.append(signal.Signals(signum).name)
        raise KeyboardInterrupt  # waitress' loop ends on it and stops its threads

    main_thread = threading.current_thread() is threading.main_thread()  # only it may handle signals
    previous = signal.signal(signal.SIGTERM, stop) if main_thread else None
    try:
        if ready is not None:
            ready(host, int(effective))
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        server.close()
    logging.getLogger("picture_schedule.serve").info(
        "picture-schedule: stopped (%s)", stopped[0] if stopped else "interrupted")


def _enough_files(connection_limit: int) -> None:
    """Raise the soft limit of open files so ``connection_limit`` sockets fit (or say it cannot)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    from picture_schedule.errors import InputError

    needed = connection_limit + 64  # the roster, the log, the listening socket, waitress' pipes…
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise InputError(f"{connection_limit} connections need {needed} open files, but this system "
                         f"allows {hard} (ulimit -n)", source="--connection-limit")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def configure_logging(stream: Any = None) -> None:
    """Log to stderr (or ``stream``) with feed paths redacted, for the ``serve`` command."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
