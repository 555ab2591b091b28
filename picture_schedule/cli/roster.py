"""`picture-schedule roster …`: enrol patients, record changes, hand out and replace feed links.

Each command parses its options, makes one call to the roster library (the store's
:class:`~picture_schedule.roster.store.Roster`, :mod:`~picture_schedule.roster.handout`,
:mod:`~picture_schedule.roster.desk`) and prints the result; the library raises ScheduleErrors that
the CLI's edge turns into one line and exit status 2.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from picture_schedule.cli.options import db_option, open_roster

if TYPE_CHECKING:
    from picture_schedule.roster.handout import Handout, LinkRequest
    from picture_schedule.roster.store import PatientInfo, Roster


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


def _link_request(base_url: str | None, static: bool, qr_file: str | None, qr_link: str,
                  diary_file: str | None) -> LinkRequest:
    from picture_schedule.roster.handout import LinkRequest

    return LinkRequest(base_url=base_url, static=static, qr_file=qr_file, qr_link=qr_link, diary_file=diary_file)


def _print_links(handout: Handout) -> None:
    """Print the links (shown this once). The library calls this just before the roster commits and
    writes the QR code and diary after: a failure to print leaves the roster as it was."""
    _say(handout.text)


def _say(text: str) -> None:
    """Print ``text``; a failure (a full disk under standard output) is an OutputError."""
    from picture_schedule.output import write_output

    write_output(None, text + "\n")


def _entry(store: Roster, patient: str) -> PatientInfo | None:
    """The patient's entry, to check before asking; None if their row is damaged (it can still be
    removed and purged: the store checks again). An unknown patient is an error."""
    from picture_schedule.errors import RosterError

    try:
        return store.info(patient)
    except RosterError:
        return None


def _confirmed(question: str, yes: bool) -> bool:
    """``--yes``, or the user's answer to ``question`` (default no)."""
    if yes:
        return True
    from picture_schedule.errors import InputError

    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        raise InputError("no answer (standard input is closed or interrupted): give --yes to confirm "
                         "without a question") from None


@click.group("roster")
def command() -> None:
    """Keep a unit's patients in a roster and give each a secret calendar feed link.

    \b
    Examples:
      picture-schedule roster add --course PIC-001.toml --by "nurse Li" --qr PIC-001-qr.svg
      picture-schedule roster change PIC-001 --cycle 3 --delay-days 7 --reason "neutrophils 1.2" --by "nurse Li"
      picture-schedule roster list
      picture-schedule roster history PIC-001
      picture-schedule roster export PIC-001 -o PIC-001.toml
      picture-schedule roster backup roster-2027-01-20.sqlite3
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
    from picture_schedule.roster.handout import enrol

    enrol(store, course_file, by=by, request=_link_request(base_url, static, qr_file, qr_link, diary_file),
          deliver=_print_links)


@command.command("list")
@click.option("--removed", is_flag=True, help="List the removed patients (kept with their history until purged).")
@_with_store()
def list_(store: Roster, removed: bool) -> None:
    """List the patients on the roster.

    \b
    Examples:
      picture-schedule roster list
      picture-schedule roster list --removed
    """
    from picture_schedule.roster.desk import patients_table

    click.echo(patients_table(store, removed=removed))


@command.command("show")
@click.argument("patient")
@_with_store()
def show(store: Roster, patient: str) -> None:
    """Show a patient's entry: course, feed and the history of changes.

    \b
    Example:
      picture-schedule roster show PIC-001
    """
    from picture_schedule.roster.desk import patient_sheet

    click.echo(patient_sheet(store, patient))


@command.command("history")
@click.argument("patient")
@_with_store()
def history(store: Roster, patient: str) -> None:
    """Show everything done to a patient's entry: enrolment, changes (reason, who), new links, removal.

    The history is kept when the patient is removed, until 'roster purge'.

    \b
    Example:
      picture-schedule roster history PIC-001
    """
    from picture_schedule.roster.desk import history as history_of

    click.echo(history_of(store, patient))


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
    from picture_schedule.roster.desk import record_change

    # printed just before the roster commits: if printing fails, the change is not recorded
    record_change(store, patient, cycle=cycle, reason=reason, by=by, delay_days=delay_days, dose_levels=dose_levels,
                  omit=omit, hold_days=hold_days or (), stop=stop, prescribed=prescribed, deliver=_say)


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

    write_output(output, store.course_text(patient), private=True)  # health data: created 0600


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
    from picture_schedule.roster.handout import new_link

    new_link(store, patient, by=by, request=_link_request(base_url, static, qr_file, qr_link, diary_file),
             deliver=_print_links)


@command.command("remove")
@click.argument("patient")
@click.option("--by", default="", help="Who removes the patient (kept in the history).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
@_with_store()
def remove(ctx: click.Context, store: Roster, patient: str, by: str, yes: bool) -> None:
    """Take a patient off the roster: their feed link stops working at once; their history is kept.

    The course, its changes and the history stay on the roster ('roster history', 'roster list
    --removed'); nothing more can be recorded for the patient. 'roster purge' deletes them for good.
    Asks for confirmation unless --yes.

    \b
    Example:
      picture-schedule roster remove PIC-001 --by "nurse Li"
    """
    from picture_schedule.errors import InputError

    info = _entry(store, patient)
    if info is not None and info.removed_at:
        raise InputError(f"patient {patient!r} was already removed on {info.removed_at:%Y-%m-%d}", source=store.label)
    if not _confirmed(f"Remove {patient}? Their feed link stops working at once", yes):
        click.echo("Nothing removed.", err=True)
        ctx.exit(1)
    store.remove(patient, by=by)
    click.echo(f"Removed {patient}; their feed link no longer works. Their history is kept "
               f"('roster history {patient}').")


@command.command("purge")
@click.argument("patient")
@click.option("--by", default="", help="Who purges the patient (kept in the roster's journal).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
@_with_store()
def purge(ctx: click.Context, store: Roster, patient: str, by: str, yes: bool) -> None:
    """Delete a removed patient for good: course, changes and history. This cannot be undone.

    Only a removed patient can be purged; export the course first if it is needed. The roster's
    journal keeps one line: the study number, when and who. After a purge, the study number can be
    enrolled again. Asks for confirmation unless --yes.

    \b
    Example:
      picture-schedule roster purge PIC-001 --by "nurse Li"
    """
    from picture_schedule.errors import InputError

    info = _entry(store, patient)
    if info is not None and not info.removed_at:
        raise InputError(f"patient {patient!r} is on the roster: remove them first ('roster remove {patient}'); "
                         "only removed patients are purged", source=store.label)
    if not _confirmed(f"Delete {patient} and their whole history for good? This cannot be undone", yes):
        click.echo("Nothing purged.", err=True)
        ctx.exit(1)
    store.purge(patient, by=by)
    click.echo(f"Purged {patient}: their course and history are deleted.")


@command.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@_with_store()
def backup(store: Roster, file: str) -> None:
    """Copy the roster into a new FILE: a consistent copy, even while the server or others write.

    The copy is created readable by its owner only (mode 0600) and is never written over an existing
    file (above all, not over the roster itself). It is a roster: '--db FILE' opens it.

    \b
    Example:
      picture-schedule roster backup backups/roster-2027-01-20.sqlite3
    """
    from picture_schedule.roster.backup import backup as copy_roster

    copy_roster(store, file)
    click.echo(f"Copied the roster to {file}.")


def _add_fhir() -> None:
    """`roster fhir` lives in its own module (cli/roster_fhir.py)."""
    from picture_schedule.cli.roster_fhir import command as fhir

    command.add_command(fhir)


_add_fhir()
