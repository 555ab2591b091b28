"""Logging in and out, and the page language: ``/login``, ``/logout``, ``/language``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for

from picture_schedule.web.common import LANGUAGES, requires, roster, t

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this server (never another host) may follow a login."""
    if not target:
        return url_for("patients.index")
    parts = urlsplit(target)  # (it drops tabs and line breaks: they are refused below, never redirected to)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)):
        return url_for("patients.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    from picture_schedule.roster.staff import Throttled, authenticate

    if request.args.get("lang") in LANGUAGES:
        session["lang"] = request.args["lang"]
    error, status = "", 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:100]
        password = request.form.get("password", "")[:500]
        try:
            member = authenticate(roster(), username, password, request.remote_addr or "-")
        except Throttled as exc:  # the time as the unit's clocks show it, not in UTC
            from zoneinfo import ZoneInfo

            from picture_schedule.core.model import DEFAULT_TIMEZONE
            from picture_schedule.web.common import unit_zone

            local = exc.until.astimezone(ZoneInfo(unit_zone() or DEFAULT_TIMEZONE))
            error, status = t("Too many failed logins. Try again after %(time)s.", time=f"{local:%H:%M}"), 429
        else:
            if member is None:
                error, status = t("Wrong user name or password."), 401
            else:
                lang = session.get("lang")
                session.clear()  # a fresh session: nothing from before the login carries over
                session.permanent = True
                session["member"] = member.id
                session["epoch"] = member.epoch
                from picture_schedule.web.common import now

                session["seen"] = int(now().timestamp())
                if lang:
                    session["lang"] = lang
                return redirect(_safe_next(request.args.get("next")))
    expired = bool(session.pop("expired", False)) and request.method == "GET"
    return render_template("login.html", error=error, username=username, expired=expired,
                           next=request.args.get("next", "")), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    from picture_schedule.roster.staff import end_sessions

    if g.get("member") is not None:  # a copy of this session's cookie must not outlive the logout
        end_sessions(roster(), g.member.id)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@requires("viewer")
def language() -> Any:
    from picture_schedule.roster.staff import set_language

    chosen = request.form.get("language", "")
    if chosen in LANGUAGES:
        set_language(roster(), g.member.id, chosen)
    return redirect(_safe_next(request.form.get("next")))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
