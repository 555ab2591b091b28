"""What a patient is handed on joining the roster or getting a new link: feed links, a QR code, a diary.

A feed token is shown only once, so :func:`enrol` and :func:`new_link` are all or nothing:

1. every option is checked and the QR code and the diary are made in memory;
2. their files are staged (written to temporary files beside their targets and synced): a missing
   folder or a full disk fails here;
3. the roster's transaction runs, and just before it commits, ``deliver`` hands out the link (the
   CLI prints it): if printing fails (``> /dev/full``) the transaction is rolled back;
4. the roster commits, then the staged files get their names.

A failure in steps 1–3 leaves the roster as it was (no patient added, the old link still working)
and no file written, so the command can simply be run again. After step 3 the user holds the link:
if the commit itself then fails, the error says that the link printed is void; if a file cannot be
put in place after the commit, the error says that the link is the one printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from picture_schedule.core.model import Course
from picture_schedule.errors import InputError, OutputError, RosterError, ScheduleError
from picture_schedule.roster.tokens import new_token, static_name

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


@dataclass(frozen=True)
class LinkRequest:
    """How to hand out a new link: where the feeds are served and what carries the link."""

    base_url: str | None = None  # default: the site's [feed] base_url
    static: bool = False  # links to the files `publish` writes instead of the feed server's
    qr_file: str | None = None  # .svg or .png
    qr_link: str = "webcal"  # which link the QR code and the diary carry: webcal or https
    diary_file: str | None = None  # .pdf or .html


@dataclass(frozen=True)
class Handout:
    """The new link, shown this once: the text to print and the files to write (QR code, diary)."""

    patient: str
    text: str
    files: tuple[tuple[str, bytes], ...]
    token: str = field(default="", repr=False)  # the link's secret (the web page shows it as text and QR)


Deliver = Callable[["Handout"], None]


def _keep(handout: Handout) -> None:
    """The default ``deliver``: the caller prints ``handout.text`` itself, after the commit."""


def enrol(store: Roster, course_file: str | Path, *, by: str = "", request: LinkRequest = LinkRequest(),
          deliver: Deliver = _keep, text: str | None = None) -> Handout:
    """Enrol the patient of ``course_file`` with a new feed link and what carries it (all or nothing:
    see the module). ``deliver`` hands the link out before the roster commits. ``text``: the course's
    text, named ``course_file`` (see :meth:`Roster.add`)."""
    from picture_schedule.loading import course_from_text, load_course

    path = Path(course_file)
    course = load_course(path) if text is None else course_from_text(text, str(path), path.parent)
    base = check_link_request(course.settings.feed_base_url, request)
    token = new_token()
    lines, link = links(token, base=base, static=request.static, qr_link=request.qr_link)
    handout = _handout(course.patient, lines, carriers(course, link, request), request, verb="Added", token=token)
    _hand_over(handout, deliver, lambda before_commit: store.add(course_file, by=by, token=token, text=text,
                                                                 before_commit=before_commit))
    return handout


def new_link(store: Roster, patient: str, *, by: str = "", request: LinkRequest = LinkRequest(),
             deliver: Deliver = _keep) -> Handout:
    """Replace ``patient``'s feed link (the old one stops working) and make what carries the new one
    (all or nothing: see the module). ``deliver`` hands the link out before the roster commits."""
    course = store.course(patient)
    base = check_link_request(course.settings.feed_base_url, request)
    token = new_token()
    lines, link = links(token, base=base, static=request.static, qr_link=request.qr_link)
    handout = _handout(patient, lines, carriers(course, link, request), request, verb="New link for", token=token)
    _hand_over(handout, deliver, lambda before_commit: store.rotate(patient, by=by, token=token,
                                                                    before_commit=before_commit))
    return handout


def _hand_over(handout: Handout, deliver: Deliver, commit: Callable[[Callable[[], None]], object]) -> None:
    """Stage the files, commit with ``deliver`` run just before the commit, then name the files."""
    from picture_schedule.output import staged_outputs

    delivered = False

    def before_commit() -> None:
        nonlocal delivered
        deliver(handout)
        delivered = deliver is not _keep  # the default hands nothing out

    with staged_outputs(handout.files, private=True) as finish:  # they carry the link: created 0600
        try:
            commit(before_commit)
        except ScheduleError as exc:
            if not delivered:
                raise  # rolled back: the roster is as it was
            raise RosterError(f"{exc}; nothing was saved: the link printed above does not work") from None
        try:
            finish()
        except ScheduleError as exc:
            raise OutputError(f"{exc.message}; the roster has the new link printed above ('roster rotate' "
                              "makes another, with its files)", source=exc.source, field=exc.field) from None


def check_link_request(site_base_url: str, request: LinkRequest) -> str:
    """The base URL to use (no trailing slash; "" if none), once every option is checked."""
    qr_file, diary_file = request.qr_file, request.diary_file
    base = (request.base_url or site_base_url or "").strip()
    if base and not re.match(r"^https?://[^\s/]+", base):
        raise InputError(f"{base!r} is not an http(s) address", source="--base-url")
    if not base and (qr_file or diary_file):
        raise InputError("a QR code needs the full link: give --base-url or set [feed] base_url in the site file",
                         source="--qr" if qr_file else "--diary")
    if qr_file and Path(qr_file).suffix.lower() not in (".svg", ".png"):
        raise InputError(f"{qr_file!r}: write the QR code as .svg or .png", source="--qr")
    if diary_file and Path(diary_file).suffix.lower() not in (".pdf", ".html"):
        raise InputError(f"{diary_file!r}: write the diary as .pdf or .html", source="--diary")
    for name, target in (("--qr", qr_file), ("--diary", diary_file)):
        if target and not (Path(target).parent if str(Path(target).parent) else Path(".")).is_dir():
            raise InputError(f"folder {str(Path(target).parent)!r} does not exist", source=name)
    return base.rstrip("/")


def links(token: str, *, base: str, static: bool, qr_link: str) -> tuple[list[str], str]:
    """The lines to print for a new token, and the link the QR code and diary carry ("" if none)."""
    from picture_schedule.roster.feed_app import FEED_PREFIX, feed_links

    name = static_name(token) if static else token
    if not base:
        return [f"  {FEED_PREFIX}{name}.ics",
                "  (no base URL: put it in front of this path, or give --base-url / set [feed] base_url)"], ""
    https, webcal = feed_links(base, name)
    return [f"  {https}", f"  {webcal}"], webcal if qr_link == "webcal" else https


def carriers(course: Course, link: str, request: LinkRequest) -> list[tuple[str, bytes]]:
    """The QR code and the diary for ``link``, made in memory."""
    made: list[tuple[str, bytes]] = []
    if request.qr_file:
        import io

        import segno

        buffer = io.BytesIO()
        kind = Path(request.qr_file).suffix.lower().lstrip(".")
        segno.make(link, error="m").save(buffer, kind=kind, scale=8 if kind == "png" else 4, border=4)
        made.append((request.qr_file, buffer.getvalue()))
    if request.diary_file:
        made.append((request.diary_file, diary_bytes(course, request.diary_file, link)))
    return made


def diary_bytes(course: Course, target: str, feed_url: str | None) -> bytes:
    """The patient's diary (HTML or PDF by suffix), with the QR code of ``feed_url`` on its cover."""
    from picture_schedule.core.scheduler import schedule
    from picture_schedule.render import diary

    expanded = schedule(course)
    if Path(target).suffix.lower() == ".pdf":
        return diary.diary_pdf(expanded, language=course.language, feed_url=feed_url or None)
    return diary.diary_html(expanded, language=course.language, feed_url=feed_url or None).encode("utf-8")


def _handout(patient: str, lines: list[str], files: list[tuple[str, bytes]], request: LinkRequest, *,
             verb: str, token: str = "") -> Handout:
    text = [f"{verb} {patient}. Feed links (shown only now; the roster keeps only a hash):", *lines]
    for target, _ in files:
        what = "Diary with the QR code" if Path(target).suffix.lower() in (".pdf", ".html") else \
            f"QR code of the {request.qr_link} link"
        text.append(f"{what}: {target}")
    return Handout(patient=patient, text="\n".join(text), files=tuple(files), token=token)
