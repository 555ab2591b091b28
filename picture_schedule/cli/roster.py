"""`picture-schedule roster …`: enrol patients, record changes, hand out and replace feed links.

Each command parses its options, makes one call to :class:`picture_schedule.roster.store.Roster` and prints
the result; the store raises ScheduleErrors that the CLI's edge turns into one line and exit status 2.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from picture_schedule.cli.options import db_option, open_roster
from picture_schedule.errors import InputError

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


def _with_store(create: bool = False) -> Callable:
    """Opens the roster from ``--db`` and passes it as ``store``; always closes it."""

    def decorate(func: Callable) -> Callable:
        @db_option
        @functools.wraps(func)
        def wrapper(*args: Any, db: str | None, **kwargs: Any) -> Any:
            store = open_roster(db, create=create)
            try:
                return func(*args, store=store, **kwargs)
            finally:
                store.close()

        return wrapper

    return decorate


def link_options(func: Callable) -> Callable:
    for option in reversed([
        click.option("--base-url", metavar="URL",
                     help="Address the feeds are served at. [default: the site's [feed] base_url]"),
        click.option("--static", is_flag=True,
                     help="Links to the files 'publish' writes, instead of the feed server's."),
        click.option("--qr", "qr_file", type=click.Path(dir_okay=False), metavar="FILE.svg|FILE.png",
                     help="Write the QR code of the new link (SVG or PNG; see --qr-link)."),
        click.option("--qr-link", type=click.Choice(["webcal", "https"]), default="webcal", show_default=True,
                     help="Which link the QR code and the diary carry."),
        click.option("--diary", "diary_file", type=click.Path(dir_okay=False), metavar="FILE.pdf|FILE.html",
                     help="Write the patient's diary with the QR code of the new link on its cover."),
    ]):
        func = option(func)
    return func


def _check_link_options(course_site_url: str, base_url: str | None, qr_file: str | None,
                        diary_file: str | None) -> str:
    """The base URL to use; checked before anything is written (a token is shown only once)."""
    base = (base_url or course_site_url or "").strip()
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


def _links(token: str, *, base: str, static: bool, qr_link: str) -> tuple[list[str], str]:
    """The lines to print for a new token, and the link the QR code and diary carry ("" if none)."""
    from picture_schedule.roster.feed_app import FEED_PREFIX, feed_links
    from picture_schedule.roster.tokens import static_name

    name = static_name(token) if static else token
    if not base:
        return [f"  {FEED_PREFIX}{name}.ics",
                "  (no base URL: put it in front of this path, or give --base-url / set [feed] base_url)"], ""
    https, webcal = feed_links(base, name)
    return [f"  {https}", f"  {webcal}"], webcal if qr_link == "webcal" else https


def _carriers(course: Any, link: str, qr_file: str | None, diary_file: str | None) -> list[tuple[str, bytes]]:
    """The QR code and the diary for ``link``, made in memory before the roster commits anything."""
    made: list[tuple[str, bytes]] = []
    if qr_file:
        import io

        import segno

        buffer = io.BytesIO()
        kind = Path(qr_file).suffix.lower().lstrip(".")
        segno.make(link, error="m").save(buffer, kind=kind, scale=8 if kind == "png" else 4, border=4)
        made.append((qr_file, buffer.getvalue()))
    if diary_file:
        made.append((diary_file, diary_bytes(course, diary_file, link)))
    return made


def _hand_out(patient: str, lines: list[str], written: list[tuple[str, bytes]], *, qr_link: str, verb: str) -> None:
    """Write the QR code and diary, then print the links (shown this once)."""
    from picture_schedule.output import write_atomic

    for target, data in written:
        write_atomic(Path(target), data)
    click.echo(f"{verb} {patient}. Feed links (shown only now; the roster keeps only a hash):")
    for line in lines:
        click.echo(line)
    for target, _ in written:
        what = "Diary with the QR code" if Path(target).suffix.lower() in (".pdf", ".html") else \
            f"QR code of the {qr_link} link"
        click.echo(f"{what}: {target}")


def diary_bytes(course: Any, target: str, feed_url: str | None) -> bytes:
    """The patient's diary (HTML or PDF by suffix), with the QR code of ``feed_url`` on its cover."""
    from picture_schedule import api
    from picture_schedule.render import diary

    schedule = api.schedule(course)
    if Path(target).suffix.lower() == ".pdf":
        return diary.diary_pdf(schedule, language=course.language, feed_url=feed_url or None)
    return diary.diary_html(schedule, language=course.language, feed_url=feed_url or None).encode("utf-8")


@click.group("roster")
def command() -> None:
    """Keep a unit's patients in a roster and give each a secret calendar feed link.

    \b
    Examples:
      picture-schedule roster add --course PIC-001.toml --by "nurse Li" --qr PIC-001-qr.svg
      picture-schedule roster change PIC-001 --cycle 3 --delay-days 7 --reason "neutrophils 1.2" --by "nurse Li"
      picture-schedule roster list
      picture-schedule roster export PIC-001 -o PIC-001.toml
    """


@command.command("add")
@click.option("--course", "course_file", required=True, type=click.Path(dir_okay=False),
              help="The patient's course file (TOML).")
@click.option("--by", default="", help="Who enrols the patient (kept in the history).")
@link_options
@_with_store(create=True)
def add(store: Roster, course_file: str, by: str, base_url: str | None, static: bool, qr_file: str | None,
        qr_link: str, diary_file: str | None) -> None:
    """Enrol a patient from their course file and print their feed links (once).

    The roster keeps the course file's text (and copies of the site and regimen files it names), so
    later changes never depend on where the files were.

    \b
    Example:
      picture-schedule roster add --course examples/course-example.toml --by "nurse Li" \\
          --qr PIC-001-qr.svg --diary PIC-001-diary.pdf
    """
    from picture_schedule.loading import load_course
    from picture_schedule.roster.tokens import new_token

    course = load_course(course_file)
    base = _check_link_options(course.settings.feed_base_url, base_url, qr_file, diary_file)
    token = new_token()
    lines, link = _links(token, base=base, static=static, qr_link=qr_link)
    written = _carriers(course, link, qr_file, diary_file)  # before the roster commits: all or nothing
    enrolment = store.add(course_file, by=by, token=token)
    _hand_out(enrolment.patient, lines, written, qr_link=qr_link, verb="Added")


@command.command("list")
@_with_store()
def list_(store: Roster) -> None:
    """List the patients on the roster.

    \b
    Example:
      picture-schedule roster list
    """
    patients = store.patients()
    if not patients:
        click.echo("The roster is empty.")
        return
    rows = [("patient", "regimen", "start", "cycles", "changes", "last change (UTC)", "added by")]
    for p in patients:
        rows.append((p.patient, p.regimen, p.start, str(p.cycles), str(p.changes),
                     f"{p.changed_at:%Y-%m-%d %H:%M}", p.added_by or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@command.command("show")
@click.argument("patient")
@_with_store()
def show(store: Roster, patient: str) -> None:
    """Show a patient's entry: course, feed and the history of changes.

    \b
    Example:
      picture-schedule roster show PIC-001
    """
    from picture_schedule import api

    info = store.info(patient)
    course = store.course(patient)
    schedule = api.schedule(course)
    click.echo(f"patient     {info.patient}")
    click.echo(f"regimen     {course.regimen.id} {course.regimen.version}, {course.cycles} cycles from {course.start}")
    click.echo(f"language    {course.language}; time zone {course.zone}")
    click.echo(f"site        {course.settings.name or '-'}")
    click.echo(f"schedule    {len(schedule.events)} events, ends {schedule.end}; fingerprint {schedule.fingerprint()}")
    click.echo(f"course file {info.file_name} (+ {info.changes} change(s) recorded here)")
    for kind, ref, _ in store.course_files(patient):
        click.echo(f"            {kind} file {ref} (copy kept in the roster)")
    if info.token_created:
        click.echo(f"feed link   made {info.token_created:%Y-%m-%d %H:%M} UTC; not shown again "
                   "(only a hash is kept): 'roster rotate' makes a new one")
    click.echo("history")
    for entry in store.journal(patient):
        who = f" by {entry.by}" if entry.by else ""
        line = f"  {entry.at:%Y-%m-%d %H:%M} UTC  {entry.action}{who}"
        if entry.reason:
            line += f": {entry.reason}"
        click.echo(line)
        if entry.action == "change":
            for detail in entry.detail.strip().splitlines()[1:]:
                if not detail.startswith(("reason", "recorded", "by ")):
                    click.echo(f"      {detail}")
    for note in schedule.notes:
        click.echo(f"note: {note.text('en')}")


class _LevelParam(click.ParamType):
    name = "AGENT=LEVEL|LEVEL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, int]:
        text = str(value).strip()
        agent, _, level = text.rpartition("=")
        try:
            return (agent.strip() or "all", int(level))
        except ValueError:
            self.fail(f"{text!r} is not a level (-1) or AGENT=LEVEL (capecitabine=-1)", param, ctx)


class _DaysParam(click.ParamType):
    name = "DAY,DAY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in str(value).split(",") if part.strip())
        except ValueError:
            self.fail(f"{value!r} is not a list of cycle days like 8,9", param, ctx)


class _PrescribedParam(click.ParamType):
    name = "AGENT=AMOUNT UNIT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, float, str]:
        match = re.fullmatch(r"\s*([a-z0-9-]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-zµ]+)\s*", str(value))
        if not match:
            self.fail(f"{value!r} is not AGENT=AMOUNT UNIT (oxaliplatin=200mg)", param, ctx)
        return match[1], float(match[2]), match[3]


@command.command("change")
@click.argument("patient")
@click.option("--cycle", type=int, required=True, help="The cycle the change starts from.")
@click.option("--reason", required=True, help="Why (required; kept in the course file and the history).")
@click.option("--by", required=True, help="Who records the change.")
@click.option("--delay-days", type=int, default=0, help="Move this cycle and every later one by D days.")
@click.option("--dose-level", "dose_levels", type=_LevelParam(), multiple=True,
              help="From this cycle on: AGENT=LEVEL (capecitabine=-1), or LEVEL for every agent. Repeatable.")
@click.option("--omit", multiple=True, metavar="AGENT", help="Leave AGENT out of this cycle. Repeatable.")
@click.option("--hold-days", type=_DaysParam(), help="Cycle days whose oral doses are not taken, e.g. 8,9.")
@click.option("--stop", is_flag=True, help="No further cycles: the course ends.")
@click.option("--prescribed", "prescribed", type=_PrescribedParam(), multiple=True,
              help="From this cycle on, the prescribed dose: AGENT=AMOUNT UNIT (oxaliplatin=200mg). Repeatable.")
@_with_store()
def change(store: Roster, patient: str, cycle: int, reason: str, by: str, delay_days: int,
           dose_levels: tuple[tuple[str, int], ...], omit: tuple[str, ...], hold_days: tuple[int, ...] | None,
           stop: bool, prescribed: tuple[tuple[str, float, str], ...]) -> None:
    """Record a change to a patient's course; their feed updates at once.

    The change is checked with the course rules first: one that makes the course invalid is refused
    with the reason, and nothing is written.

    \b
    Examples:
      picture-schedule roster change PIC-001 --cycle 3 --delay-days 7 --reason "neutrophils 1.2" --by "nurse Li"
      picture-schedule roster change PIC-001 --cycle 4 --dose-level capecitabine=-1 --reason "HFS grade 2" --by "Dr Wang"
      picture-schedule roster change PIC-001 --cycle 5 --omit oxaliplatin --reason "neuropathy" --by "Dr Wang"
      picture-schedule roster change PIC-001 --cycle 2 --hold-days 8,9 --reason "diarrhoea" --by "nurse Li"
    """
    from picture_schedule.core.model import Change, Prescribed, frozen_map

    levels = dict(dose_levels)
    record = Change(
        cycle=cycle, reason=reason, delay_days=delay_days, dose_level=frozen_map(levels), omit=tuple(omit),
        hold_days=tuple(hold_days or ()), stop=stop,
        prescribed=frozen_map({agent: Prescribed(amount, unit) for agent, amount, unit in prescribed}), by=by,
    )
    if not (delay_days or levels or omit or hold_days or stop or prescribed):
        raise InputError("say what happened: --delay-days, --dose-level, --omit, --hold-days, --stop or --prescribed")
    course = store.change(patient, record)
    from picture_schedule import api

    schedule = api.schedule(course)
    cycle_info = next((c for c in schedule.cycles if c.number == cycle), None)
    if cycle_info is not None:
        where = f"; cycle {cycle} day 1 is now {cycle_info.day1}"
    else:
        where = f"; the course now has {len(schedule.cycles)} cycle(s)"
    click.echo(f"Recorded change {len(course.changes)} for {patient}{where}. The feed is updated.")


@command.command("export")
@click.argument("patient")
@click.option("-o", "--output", default="-", show_default=True, metavar="FILE", help="Where to write; '-' is standard output.")
@_with_store()
def export(store: Roster, patient: str, output: str) -> None:
    """Write a patient's course file back out, with every change recorded in the roster.

    The text is the nurse's own file (comments kept) with each recorded change appended as a
    [[changes]] block. It names its site file as the original did: keep it beside that file.

    \b
    Example:
      picture-schedule roster export PIC-001 -o PIC-001.toml
    """
    from picture_schedule.output import write_output

    write_output(output, store.course_text(patient))


@command.command("rotate")
@click.argument("patient")
@click.option("--by", default="", help="Who replaces the link (kept in the history).")
@link_options
@_with_store()
def rotate(store: Roster, patient: str, by: str, base_url: str | None, static: bool, qr_file: str | None,
           qr_link: str, diary_file: str | None) -> None:
    """Give a patient a new feed link; the old link stops working at once.

    Use it when a link is lost (only a hash is kept, so it cannot be shown again) or may have been seen
    by someone else. The patient subscribes again with the new link or QR code.

    \b
    Example:
      picture-schedule roster rotate PIC-001 --by "nurse Li" --qr PIC-001-qr.png
    """
    from picture_schedule.roster.tokens import new_token

    course = store.course(patient)
    base = _check_link_options(course.settings.feed_base_url, base_url, qr_file, diary_file)
    token = new_token()
    lines, link = _links(token, base=base, static=static, qr_link=qr_link)
    written = _carriers(course, link, qr_file, diary_file)  # before the old link dies: all or nothing
    store.rotate(patient, by=by, token=token)
    _hand_out(patient, lines, written, qr_link=qr_link, verb="New link for")


@command.command("remove")
@click.argument("patient")
@click.option("--by", default="", help="Who removes the patient (kept in the roster's journal).")
@_with_store()
def remove(store: Roster, patient: str, by: str) -> None:
    """Take a patient off the roster: their course, changes and feed go, and their link stops working.

    Export the course file first if you need it.

    \b
    Example:
      picture-schedule roster export PIC-001 -o PIC-001-final.toml && picture-schedule roster remove PIC-001
    """
    store.remove(patient, by=by)
    click.echo(f"Removed {patient}; their feed link no longer works.")
