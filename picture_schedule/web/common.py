"""What every page shares: the logged-in member, roles, language, words, dates, the roster.

Views call :func:`roster`, :func:`settings`, :func:`today`, :func:`t` and decorate themselves with
:func:`requires`. Templates get ``_`` (the same words), ``member``, ``language``, ``fmt_date``,
``fmt_day`` and Flask-WTF's ``csrf_token``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from picture_schedule.i18n import babel_locale, gettext

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster
    from picture_schedule.web.app import WebSettings
    from picture_schedule.web.handouts import Handouts

F = TypeVar("F", bound=Callable[..., Any])
LANGUAGES = {"en": "English", "zh-CN": "简体中文"}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, ``Secure`` whenever the request came over HTTPS (behind a
    trusted proxy that says so)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure) or bool(app.config.get("SESSION_COOKIE_SECURE"))

    def open_session(self, app: Flask, request: Any) -> Any:
        """No session on the patient's page (``/p/…``): it neither reads nor sets a staff cookie, and
        answers exactly as the feed server does (no ``Vary: Cookie`` on its 404)."""
        if request.path.startswith("/p/"):
            return None  # Flask's read-only null session
        return super().open_session(app, request)


def roster() -> Roster:
    return current_app.extensions["picture_roster"]


def handouts() -> Handouts:
    """New links held for printing (web/handouts.py)."""
    return current_app.extensions["picture_handouts"]


def settings() -> WebSettings:
    return current_app.extensions["picture_settings"]


def now() -> dt.datetime:
    clock = settings().clock or roster().clock
    return clock()


def today() -> dt.date:
    """Today in the unit's time zone (the site's, else Shanghai's): the pages' "today"."""
    from zoneinfo import ZoneInfo

    from picture_schedule.core.model import DEFAULT_TIMEZONE

    return now().astimezone(ZoneInfo(unit_zone() or DEFAULT_TIMEZONE)).date()


def unit_zone() -> str:
    site = unit_site()
    return site.timezone if site is not None else ""


@functools.lru_cache(maxsize=8)
def _load_site(path: str, stamp: float) -> Any:
    from picture_schedule.loading.site import load_site

    return load_site(path)


def unit_site() -> Any:
    """The site file given to ``web --site`` (loaded again when it changes), or None."""
    import os

    path = settings().site
    if not path:
        return None
    return _load_site(path, os.stat(path).st_mtime)


def language() -> str:
    """The language of this page: the member's, else the one chosen on the login page, else English."""
    member = g.get("member")
    if member is not None:
        return str(member.language)
    chosen = request.args.get("lang") or session.get("lang") or ""
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["en", "zh-CN", "zh"]) if request else None
    return "zh-CN" if best in ("zh-CN", "zh") else "en"


def t(message: str, language_: str | None = None, **params: Any) -> str:
    """``message`` in the page's language, with ``%(name)s`` parameters filled in."""
    text = gettext(language_ or g.get("language") or "en", message, web=True)
    return text % params if params else text


def fmt_date(day: dt.date | None, language_: str | None = None) -> str:
    """A date as people read it: "Mon 7 Dec 2026" / "2026年12月7日 周一"."""
    if day is None:
        return ""
    from babel.dates import format_date

    lang = language_ or g.get("language") or "en"
    if lang == "zh-CN":
        return format_date(day, "y年M月d日 EEE", locale=babel_locale(lang))
    return format_date(day, "EEE d MMM y", locale=babel_locale(lang))


def fmt_moment(moment: dt.datetime, zone: str) -> str:
    """A roster time (UTC) in ``zone``, with the zone named: "2026-12-01 10:00 (Asia/Shanghai)"."""
    from zoneinfo import ZoneInfo

    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


def fmt_time(moment: dt.time | None) -> str:
    return moment.strftime("%H:%M") if moment else ""


def requires(role: str = "viewer") -> Callable[[F], F]:
    """The view needs a logged-in member with ``role`` (or above): else the login page, or 403."""
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            member = g.get("member")
            if member is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not member.may(role):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]  # tests list every route's role
        return wrapped  # type: ignore[return-value]

    return decorate


def _load_member() -> None:
    """Who is logged in: the session's member if the account is still enabled, its password not
    changed since (epoch), and the last request within the inactivity limit."""
    from picture_schedule.roster.staff import member_by_id

    g.member = None
    member_id = session.get("member")
    if member_id is not None:
        seen = session.get("seen", 0)
        limit = settings().session_minutes * 60
        stamp = now().timestamp()
        member = member_by_id(roster(), int(member_id))
        if (member is None or member.disabled_at is not None or member.epoch != session.get("epoch")
                or stamp - float(seen) > limit):
            session.clear()
            session["expired"] = True  # the login page says why
            if member is not None:  # ... in the member's language
                session["lang"] = str(member.language)
        else:
            g.member = member
            session["seen"] = int(stamp)
    g.language = language()


def install_helpers(app: Flask) -> None:
    app.before_request(_load_member)

    @app.after_request
    def private(response: Any) -> Any:
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def helpers() -> dict[str, Any]:
        return {"_": t, "member": g.get("member"), "language": g.get("language", "en"), "fmt_date": fmt_date,
                "fmt_time": fmt_time, "languages": LANGUAGES}
