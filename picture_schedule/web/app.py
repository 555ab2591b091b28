"""The unit's web page: a Flask application over the roster, served by waitress with the feeds.

One WSGI application answers everything: ``/feed/<token>.ics`` and ``/healthz`` go to the feed
server (:mod:`~picture_schedule.roster.feed_app`), every other path to the Flask pages. Staff log in
(``web/auth.py``); the patient's own page ``/p/<token>`` needs no login (the token is the capability).

Every response carries the security headers (:func:`security_headers`): a Content-Security-Policy
without inline script, ``nosniff``, ``frame-ancestors 'none'``. Staff pages are ``no-store``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from picture_schedule.resources import templates_dir

if TYPE_CHECKING:
    from flask import Flask

    from picture_schedule.roster.store import Roster

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True)
class WebSettings:
    """How the web page behaves; the defaults suit ``picture-schedule web``."""

    site: str | None = None  # the site file the enrolment form uses (None: the example's folder has none)
    trusted_proxy: int = 0  # how many reverse proxies' X-Forwarded-* headers to believe
    session_minutes: int = 30  # a session ends after this long without a request
    secret_key: bytes | None = None  # signs session cookies; default: new at each start
    base_url: str | None = None  # where patients reach the feeds; default: the site's, else this server
    access_log: bool = True
    clock: Callable[[], dt.datetime] | None = None  # "today" for the pages; default: the roster's clock


def create_app(roster: Roster, settings: WebSettings | None = None) -> Flask:
    """The web server's application: the pages, the feeds and health check, the headers, the log.
    (A Flask app: its ``test_client()`` sees exactly what waitress serves.)"""
    app = _pages(roster, settings or WebSettings())
    _wrap(app, roster, settings or WebSettings())
    return app


def _pages(roster: Roster, settings: WebSettings) -> Flask:
    """The Flask pages alone."""
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect

    from picture_schedule.web import auth, chairs, enrol, errors, patient_page, patients
    from picture_schedule.web.common import SessionInterface, install_helpers
    from picture_schedule.web.handouts import Handouts

    folder = templates_dir() / "web"
    app = Flask("picture_schedule.web", template_folder=str(folder), static_folder=str(folder / "static"),
                static_url_path="/static")
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_bytes(32),
        SESSION_COOKIE_NAME="picture_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.session_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=True,
        MAX_CONTENT_LENGTH=1_000_000,  # the same bound as every input file
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.session_interface = SessionInterface()
    app.extensions["picture_roster"] = roster
    app.extensions["picture_settings"] = settings
    app.extensions["picture_handouts"] = Handouts()
    CSRFProtect(app)
    install_helpers(app)
    for module in (auth, patients, enrol, chairs, patient_page, errors):
        module.register(app)
    return app


def security_headers(app: WSGIApp) -> WSGIApp:
    """Add the security headers to every response of ``app`` (pages, feeds, errors alike)."""
    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {name.lower() for name, _ in headers}
            extra = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                     ("X-Frame-Options", "DENY"), ("Cross-Origin-Opener-Policy", "same-origin")]
            if "referrer-policy" not in names:
                private = path.startswith(("/p/", "/feed/"))
                extra.append(("Referrer-Policy", "no-referrer" if private else "same-origin"))
            headers = [h for h in headers if h[0].lower() not in {e[0].lower() for e in extra}] + extra
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return app(environ, start)

    return wrapped


def access_log(app: WSGIApp) -> WSGIApp:
    """One log line per page request, with anything token-like redacted (``/p/<redacted>``)."""
    from picture_schedule.roster.feed_app import redact

    log = logging.getLogger("picture_schedule.access")

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, str] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = app(environ, start)
        log.info('%s "%s %s" %s %.1fms', environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", "-"),
                 redact(environ.get("PATH_INFO", ""))[:300], seen.get("status", "-"),
                 (time.perf_counter() - started) * 1000)
        return body

    return wrapped


def _wrap(flask_app: Flask, roster: Roster, settings: WebSettings) -> None:
    """Route feeds and the health check to the feed server, the rest to the pages; headers on all."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from picture_schedule.roster.feed_app import FEED_PREFIX
    from picture_schedule.roster.feed_app import Settings as FeedSettings
    from picture_schedule.roster.feed_app import create_app as feed_app

    pages: WSGIApp = flask_app.wsgi_app
    if settings.access_log:
        pages = access_log(pages)
    if settings.trusted_proxy:
        n = settings.trusted_proxy
        pages = ProxyFix(pages, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    feeds = feed_app(roster, FeedSettings(access_log=settings.access_log))

    def dispatch(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(FEED_PREFIX) or path == "/healthz":
            return feeds(environ, start_response)
        return pages(environ, start_response)

    flask_app.wsgi_app = security_headers(dispatch)  # type: ignore[method-assign, assignment]
