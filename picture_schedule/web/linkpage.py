"""The page that shows a patient's new feed link, once: after enrolment and after "new link".

The roster keeps only a hash of a link's token, so this page is the only place the link is ever
shown. It shows the https and webcal links as text, the QR code of the webcal link (an SVG embedded
as a ``data:`` image, which the Content-Security-Policy allows), the patient's own page, and
"print diary", whose request finds the token again through a handout id (web/handouts.py) tied to
the staff member who made the link.

Both the enrolment page (web/enrol.py) and the patient page's "new link" (web/patients.py) call
:func:`show_link` right after the roster committed the new token.
"""

from __future__ import annotations

import base64
import io

from flask import g, render_template, request

from picture_schedule.web.common import handouts, roster, settings


def link_base(site_base_url: str = "") -> str:
    """Where patients reach the feeds (no trailing slash): the web server's ``--base-url``, else the
    course's site ``[feed] base_url``, else this server (which serves ``/feed/`` too)."""
    base = settings().base_url or site_base_url or request.url_root
    return base.rstrip("/")


def qr_data_uri(link: str) -> str:
    """The QR code of ``link`` as an SVG ``data:`` URI for an ``<img src>``."""
    import segno

    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False, svgclass=None,
                                     lineclass=None)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def show_link(study: str, token: str, *, enrolled: bool) -> str:
    """The "link shown once" page for ``study``'s new ``token`` (``enrolled``: just enrolled, else a
    new link replacing the old one). Keeps the token in this process's handouts for 30 minutes so that
    "print diary" can put its QR code in the diary, and returns the page's HTML."""
    from picture_schedule.errors import ScheduleError
    from picture_schedule.roster.feed_app import feed_links

    try:
        site_base = roster().course(study).settings.feed_base_url
    except ScheduleError:  # the link is shown whatever happens: it exists nowhere else
        site_base = ""
    base = link_base(site_base)
    https, webcal = feed_links(base, token)
    handout = handouts().put(study, token, g.member.id)
    return render_template("link.html", study=study, enrolled=enrolled, https=https, webcal=webcal,
                           page=f"{base}/p/{token}", qr=qr_data_uri(webcal), handout=handout)
