"""Build the web page's demo roster: `make demo` (into demo-output/web/) and `make web` use it.

    python scripts/web_demo.py --out demo-output/web

writes ``OUT/roster.sqlite3`` with the example cohort (examples/cohort-23.csv: PIC-001 from
examples/course-example.toml, the other 22 rows as fresh course files) enrolled, the cohort's
delays recorded as changes, and one demo account per role (viewer, nurse, coordinator) with a new
random password each time, printed once. It then prints the command that serves the web page.
A roster already in OUT is replaced (only files this script writes are deleted).

The study numbers are pseudonymous and the body measures invented: a demo, never patient data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
COHORT = EXAMPLES / "cohort-23.csv"
SITE = "site-nanjing.toml"
ROSTER = "roster.sqlite3"
PORT = 8080
BY = "demo"
#: The demo accounts (user name = role) and what each may do.
ACCOUNTS = {"viewer": "reads the roster and the schedules",
            "nurse": "enrols, records changes, prints diaries, shows and renews links",
            "coordinator": "a nurse's rights, and books chairs"}
#: Patients whose own page (/p/<token>) the demo prints a link to: one per language.
SHOWN_LINKS = ("PIC-001", "PIC-002")


@dataclass
class Demo:
    """What :func:`build` made: the roster, the site file beside it, the accounts' passwords and the
    links (tokens) of the patients in :data:`SHOWN_LINKS`."""

    folder: Path
    passwords: dict[str, str]
    tokens: dict[str, str] = field(repr=False)
    patients: int = 0

    @property
    def roster(self) -> Path:
        return self.folder / ROSTER

    @property
    def site(self) -> Path:
        return self.folder / SITE

    def base_url(self, port: int = PORT) -> str:
        return f"http://127.0.0.1:{port}"

    def serve_command(self, port: int = PORT) -> str:
        """The command that serves the web page on this roster (from the project folder)."""
        program = ROOT / ".venv" / "bin" / "picture-schedule"
        shown = program.relative_to(ROOT) if Path.cwd().resolve() == ROOT else program
        return " ".join(shlex.quote(str(part)) for part in (
            shown, "web", "--db", _shown(self.roster), "--site", _shown(self.site), "--port", str(port),
            "--base-url", self.base_url(port)))


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it (shorter to copy), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _clean(folder: Path) -> None:
    """Delete what an earlier build wrote in ``folder`` (the roster and its journal files, the site copy)."""
    for name in (ROSTER, f"{ROSTER}-wal", f"{ROSTER}-shm", f"{ROSTER}-journal", SITE):
        (folder / name).unlink(missing_ok=True)


def _body(number: int) -> tuple[int, int]:
    """Invented height (cm) and weight (kg) for the demo patient numbered ``number``: varied, plausible."""
    return 150 + (number * 7) % 31, 48 + (number * 11) % 35


def build(out: Path, *, clock: Callable[[], dt.datetime] | None = None) -> Demo:
    """The demo roster in ``out`` (created if needed; an earlier demo roster there is replaced).

    ``clock`` (aware UTC datetimes) stamps everything, for pages that look the same on every run."""
    from zoneinfo import ZoneInfo

    from picture_schedule.loading import load_site
    from picture_schedule.loading.new_course import NewCourse, course_text
    from picture_schedule.planning.cohort import DELAY_REASON, read_cohort
    from picture_schedule.roster.desk import record_change
    from picture_schedule.roster.staff import add_staff
    from picture_schedule.roster.store import Roster

    out.mkdir(parents=True, exist_ok=True)
    _clean(out)
    shutil.copy2(EXAMPLES / SITE, out / SITE)
    site = load_site(out / SITE)
    cohort = read_cohort(COHORT, site=site)
    roster = Roster(out / ROSTER, **({"clock": clock} if clock is not None else {}))
    tokens: dict[str, str] = {}
    try:
        now = roster.clock().astimezone(ZoneInfo(site.timezone)).replace(tzinfo=None, second=0, microsecond=0)
        for member in cohort.members:
            course = member.course
            name = f"{course.patient}.toml"
            if member.plain:
                number = int("".join(ch for ch in course.patient if ch.isdigit()) or 0)
                height, weight = _body(number)
                text = course_text(NewCourse(
                    patient=course.patient, start=course.start, height_cm=height, weight_kg=weight, site=str(out / SITE),
                    language="zh-CN" if number % 2 == 0 else "en", regimen=course.regimen.id,
                    cycles=course.cycles if course.cycles != course.regimen.cycles else None,
                    measured=now.date(), created=now), out)
            else:  # a course file of its own (PIC-001: the example, with its history)
                source = Path(course.source)
                text = source.read_text(encoding="utf-8")
                name = source.name
            enrolment = roster.add(out / name, text=text, by=BY)
            if course.patient in SHOWN_LINKS:
                tokens[course.patient] = enrolment.token
            if member.plain:  # the cohort's delays, as a nurse records them
                for change in course.changes:
                    record_change(roster, course.patient, cycle=change.cycle, reason=DELAY_REASON, by=BY,
                                  delay_days=change.delay_days)
        passwords = {username: secrets.token_urlsafe(9) for username in ACCOUNTS}  # never known in advance
        for username, password in passwords.items():
            add_staff(roster, username, username, password, by=BY)
        return Demo(out, passwords, tokens, len(cohort.members))
    finally:
        roster.close()


def report(demo: Demo, port: int = PORT) -> str:
    """What `make demo` prints: the accounts with their passwords (shown this once), patient links,
    and the command that serves the web page."""
    width = max(len(name) for name in ACCOUNTS)
    lines = [f"Demo web roster: {_shown(demo.roster)} ({demo.patients} patients: the example cohort; "
             "invented body measures, no real patient)",
             "Demo accounts (new random passwords each time the demo is built; shown only now):"]
    lines += [f"  {name:<{width}}  {demo.passwords[name]}   {what}" for name, what in ACCOUNTS.items()]
    for patient, token in demo.tokens.items():
        lines.append(f"Patient {patient}'s own page (no login): {demo.base_url(port)}/p/{token}")
    lines += ["Serve the web page (stop with Ctrl-C), then open " + demo.base_url(port) + "/ :",
              "  " + demo.serve_command(port)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for roster.sqlite3 and the site file")
    parser.add_argument("--port", type=int, default=PORT, help="port in the printed command (default %(default)s)")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from picture_schedule.errors import ScheduleError

    try:
        demo = build(options.out)
    except ScheduleError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    print(report(demo, options.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
