"""Error pages: the same layout, a sentence in the page's language, the right status."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from picture_schedule.errors import ScheduleError
from picture_schedule.web.common import t

_MESSAGES = {
    400: "The request was not understood.",
    403: "Your account may not do this. Ask a coordinator if you need it.",
    404: "Not found.",
    405: "This page does not accept that request.",
    413: "What was sent is too large.",
    500: "Something went wrong on the server. Nothing was changed. Try again, or tell the unit's administrator.",
}


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> Any:
        from flask import g

        from picture_schedule.web.common import _load_member

        if "member" not in g:  # the CSRF check runs before the member is known: the page in their language
            _load_member()
        return render_template("error.html", status=400,
                               message=t("The form had expired or was not sent from this page. "
                                         "Go back, reload the page and try again.")), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if request.path.startswith("/p/") and status == 404:  # the same 404 as an unknown feed
            from picture_schedule.roster.feed_app import _NOT_FOUND

            return _NOT_FOUND, 404, {"Content-Type": "text/plain; charset=utf-8"}
        message = t(_MESSAGES.get(status, _MESSAGES[400]))
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(ScheduleError)
    def user_error(exc: ScheduleError) -> Any:  # a view that did not handle it: the message, 400
        return render_template("error.html", status=400, message=exc.message), 400

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> Any:
        import logging

        from picture_schedule.roster.feed_app import redact

        logging.getLogger("picture_schedule.web").error("internal error on %s: %s: %s", redact(request.path),
                                                        type(exc).__name__, redact(str(exc))[:300])
        return render_template("error.html", status=500, message=t(_MESSAGES[500])), 500
