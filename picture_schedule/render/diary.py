"""The patient diary: a printable booklet over one Schedule, as HTML or (through WeasyPrint) PDF.

Contents, in order: cover; "call us straight away if …"; one month calendar a page; a daily log
for each cycle; medicines, visits and notes. The templates live in the top-level ``templates/``
folder (``diary*.html``, ``diary.css``); a site overrides any one of them from its own folder
(``--templates DIR`` or the site file's ``templates`` setting) while the rest come from the
defaults. Every string goes through gettext (``templates/locale/zh_CN/LC_MESSAGES/diary.po``),
dates and weekday names through Babel.

The renderer computes no dates. It walks calendar days only to lay out month grids and log rows;
what happens on a day (doses, infusions, injections, visits, held doses, moved cycles) comes from
the Schedule's events and cycles.

jinja2, babel, segno and weasyprint are imported inside the functions that use them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from picture_schedule.core.model import (
    LANGUAGES,
    Agent,
    Cycle,
    Dose,
    Event,
    Kind,
    Schedule,
    Slot,
    format_amount,
)
from picture_schedule.errors import InputError, OutputError
from picture_schedule.i18n import babel_locale, translations
from picture_schedule.render.fonts import CJK_PACKAGE, cjk_font_available, needs_cjk
from picture_schedule.render import diary_facts
from picture_schedule.render.printing import Printer, PrintJob, default_printer
from picture_schedule.render.text import day_list
from picture_schedule.resources import templates_dir

PAPERS = {"a4": "A4", "letter": "letter"}
FEED_SCHEMES = ("https://", "http://", "webcal://", "webcals://")
MAIN_TEMPLATE = "diary.html"


# -- what the templates read ------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One thing shown on a calendar day.

    ``kind``: an event kind (``oral``, ``infusion``, ``injection``, ``visit``), or ``held`` (oral
    doses removed by a hold), ``omitted`` (a medicine left out this cycle), ``rest`` (a cycle day
    with no treatment), ``moved`` (a day 1 that moved from its planned date) or ``planned`` (the
    date a moved day 1 was planned for).
    """

    kind: str
    events: tuple[Event, ...] = ()
    cycle: Cycle | None = None


@dataclass(frozen=True)
class Cell:
    """A day of a month grid; ``in_month`` False for the padding days of the neighbouring months."""

    date: dt.date
    in_month: bool
    cycle: Cycle | None = None
    cycle_day: int | None = None
    marks: tuple[Mark, ...] = ()

    def has(self, kind: str) -> bool:
        return any(m.kind == kind for m in self.marks)


@dataclass(frozen=True)
class Month:
    first: dt.date
    weeks: tuple[tuple[Cell, ...], ...]
    cycles: tuple[Cycle, ...]  # cycles with a day in this month


@dataclass(frozen=True)
class Column:
    """A checkbox column of the daily log: one oral dose time, or one injected medicine."""

    agent: Agent
    slot: Slot | None = None


@dataclass(frozen=True)
class Box:
    """One log cell of a checkbox column: ``box`` (one box per dose due), ``held`` or ``none``."""

    state: str
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Row:
    date: dt.date
    cycle_day: int
    boxes: tuple[Box, ...]
    infusions: tuple[Event, ...] = ()
    visits: tuple[Event, ...] = ()
    omitted: tuple[Event, ...] = ()


@dataclass(frozen=True)
class CycleLog:
    cycle: Cycle
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    doses: tuple[tuple[Agent, Dose], ...]  # each medicine's dose in this cycle
    omitted: tuple[Agent, ...]

    @property
    def groups(self) -> list[tuple[Agent, list[Column]]]:
        """Checkbox columns under their medicine's heading."""
        groups: list[tuple[Agent, list[Column]]] = []
        for col in self.columns:
            if groups and groups[-1][0].id == col.agent.id:
                groups[-1][1].append(col)
            else:
                groups.append((col.agent, [col]))
        return groups


@dataclass(frozen=True)
class DoseSpan:
    first: int  # cycle numbers
    last: int
    dose: Dose


@dataclass(frozen=True)
class Medicine:
    agent: Agent
    spans: tuple[DoseSpan, ...]
    days: str  # "1–14", "1, 3, 5, 7, 9, 11, 13" (the first cycle that gives it)
    times: tuple[dt.time, ...]
    per_cycle: int
    first: Event | None
    last: Event | None

    @property
    def confirm(self) -> bool:
        return any(s.dose.confirm for s in self.spans)


# -- building the view from the Schedule ------------------------------------------------------

SLOT_ORDER = {Slot.MORNING: 0, Slot.EVENING: 1, None: 2}


def _cycle_on(cycles: Sequence[Cycle], day: dt.date) -> Cycle | None:
    """The cycle a date belongs to (the latest one that has started, if two overlap)."""
    found = None
    for cycle in cycles:
        if cycle.day1 <= day <= cycle.last_day:
            found = cycle
    return found


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    """Calendar days for layout (month grids, log rows), never event dates."""
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


class _View:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.cycles = schedule.cycles
        self.given = {c.number: c for c in schedule.cycles}
        self.by_date: dict[dt.date, list[Event]] = {}
        for event in schedule.events:
            self.by_date.setdefault(event.date, []).append(event)
        # cancelled doses of cycles that still run (holds, omissions); a stopped cycle is not shown
        self.gone: dict[dt.date, list[Event]] = {}
        for event in schedule.cancelled:
            if event.kind is not Kind.VISIT and event.cycle in self.given:
                self.gone.setdefault(event.date, []).append(event)

    # month grids

    def marks(self, day: dt.date, cycle: Cycle | None) -> tuple[Mark, ...]:
        events = self.by_date.get(day, [])
        marks: list[Mark] = []
        for c in self.cycles:
            if c.moved and c.day1 == day:
                marks.append(Mark("moved", cycle=c))
        for kind in (Kind.INFUSION, Kind.ORAL, Kind.INJECTION):
            mine = tuple(sorted((e for e in events if e.kind is kind), key=lambda e: (SLOT_ORDER[e.slot], e.sort_key)))
            if mine:
                marks.append(Mark(kind.value, mine))
        gone = self.gone.get(day, [])
        held = tuple(e for e in gone if e.agent not in self.given[e.cycle].omitted)
        omitted = tuple(e for e in gone if e.agent in self.given[e.cycle].omitted)
        if held:
            marks.append(Mark("held", held))
        if omitted:
            marks.append(Mark("omitted", omitted))
        treated = any(e.kind is not Kind.VISIT for e in events) or gone
        between = bool(self.cycles) and self.cycles[0].day1 <= day <= self.cycles[-1].last_day
        if between and not treated:  # a cycle's days without treatment, or a delay between cycles
            marks.append(Mark("rest", cycle=cycle))
        marks.extend(Mark("visit", (e,)) for e in events if e.kind is Kind.VISIT)
        for c in self.cycles:
            if c.moved and c.planned_day1 == day:
                marks.append(Mark("planned", cycle=c))
        return tuple(marks)

    def span(self) -> tuple[dt.date, dt.date]:
        s = self.schedule
        dates = [s.course.start, s.end, *(e.date for e in s.events)]
        dates += [c.day1 for c in self.cycles] + [c.planned_day1 for c in self.cycles]
        dates += [d for d in self.gone]
        return min(dates), max(dates)

    def months(self) -> tuple[Month, ...]:
        first, last = self.span()
        grid = calendar.Calendar(firstweekday=calendar.MONDAY)
        months = []
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            weeks = []
            for week in grid.monthdatescalendar(year, month):
                cells = []
                for day in week:
                    if day.month != month:
                        cells.append(Cell(day, False))
                        continue
                    cycle = _cycle_on(self.cycles, day)
                    cycle_day = (day - cycle.day1).days + 1 if cycle else None
                    cells.append(Cell(day, True, cycle, cycle_day, self.marks(day, cycle)))
                weeks.append(tuple(cells))
            start = dt.date(year, month, 1)
            end = dt.date(year, month, calendar.monthrange(year, month)[1])
            cycles = tuple(c for c in self.cycles if c.day1 <= end and c.last_day >= start)
            months.append(Month(start, tuple(weeks), cycles))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return tuple(months)

    # daily log

    def columns(self) -> tuple[Column, ...]:
        columns: list[Column] = []
        for agent in self.schedule.regimen.agents:
            if agent.kind is Kind.ORAL:
                columns.extend(Column(agent, slot) for slot in (agent.slots or (None,)))
            elif agent.kind is Kind.INJECTION:
                columns.append(Column(agent))
        return tuple(columns)

    def logs(self) -> tuple[CycleLog, ...]:
        columns = self.columns()
        logs = []
        for cycle in self.cycles:
            mine = [e for e in self.schedule.events if e.cycle == cycle.number and e.kind is not Kind.VISIT]
            gone = [e for ev in self.gone.values() for e in ev if e.cycle == cycle.number]
            last = max([cycle.last_day, *(e.date for e in mine), *(e.date for e in gone)])
            rows = []
            for index, day in enumerate(_days(cycle.day1, last), start=1):
                today = [e for e in self.by_date.get(day, []) if e.cycle == cycle.number]
                lost = [e for e in self.gone.get(day, []) if e.cycle == cycle.number]
                boxes = []
                for col in columns:
                    def fits(e: Event, col: Column = col) -> bool:
                        return e.agent == col.agent.id and e.slot == col.slot

                    planned = tuple(e for e in today if fits(e))
                    held = tuple(e for e in lost if fits(e))
                    if planned:  # every dose due gets its box, even if two ever fell on one day
                        boxes.append(Box("box", planned))
                    elif held:
                        boxes.append(Box("held", held))
                    else:
                        boxes.append(Box("none"))
                rows.append(Row(
                    day, index, tuple(boxes),
                    infusions=tuple(e for e in today if e.kind is Kind.INFUSION),
                    visits=tuple(e for e in self.by_date.get(day, []) if e.kind is Kind.VISIT),
                    omitted=tuple(e for e in lost if e.kind is not Kind.ORAL),
                ))
            doses = []
            for agent in self.schedule.regimen.agents:
                given = [e for e in mine if e.agent == agent.id and e.dose is not None]
                if given and given[0].dose is not None:
                    doses.append((agent, given[0].dose))
            omitted = tuple(a for a in self.schedule.regimen.agents if a.id in cycle.omitted)
            logs.append(CycleLog(cycle, columns, tuple(rows), tuple(doses), omitted))
        return tuple(logs)

    # medicines

    def medicines(self) -> tuple[Medicine, ...]:
        out = []
        for agent in self.schedule.regimen.agents:
            events = [e for e in self.schedule.events if e.agent == agent.id and e.kind is not Kind.VISIT]
            spans: list[DoseSpan] = []
            for cycle in self.cycles:
                dose = next((e.dose for e in events if e.cycle == cycle.number and e.dose), None)
                if dose is None:
                    continue
                if spans and spans[-1].dose.text == dose.text and spans[-1].last == cycle.number - 1:
                    spans[-1] = DoseSpan(spans[-1].first, cycle.number, dose)
                else:
                    spans.append(DoseSpan(cycle.number, cycle.number, dose))
            per_cycle = Counter(e.cycle for e in events)  # the usual pattern: the fullest cycle, earliest first
            usual = min(per_cycle, key=lambda n: (-per_cycle[n], n), default=None)
            typical = sorted((e for e in events if e.cycle == usual), key=lambda e: e.sort_key)
            out.append(Medicine(
                agent=agent,
                spans=tuple(spans),
                days=day_list([e.day for e in typical]),
                times=tuple(sorted({e.time for e in typical if e.time})),
                per_cycle=len(typical),
                first=typical[0] if typical else None,
                last=typical[-1] if typical else None,
            ))
        return tuple(out)

    def visits(self) -> tuple[Event, ...]:
        return tuple(e for e in self.schedule.events if e.kind is Kind.VISIT)


# -- formatting helpers for the templates -----------------------------------------------------


def css_string(value: Any) -> Any:
    """A CSS string literal that no text can break out of: every non-plain character escaped."""
    from markupsafe import Markup

    text = Markup(value).unescape() if hasattr(value, "__html__") else str(value)
    out = []
    for char in text:
        if char.isascii() and (char.isalnum() or char in " .,:;-_/()"):
            out.append(char)
        else:
            out.append(f"\\{ord(char):x} ")  # the space ends the escape and is consumed by it
    return Markup('"' + "".join(out) + '"')  # only [A-Za-z0-9 .,:;-_/()], escapes and quotes


PAGE_TOKEN, PAGES_TOKEN = "\x01page\x01", "\x01pages\x01"


def css_content(value: Any) -> Any:
    """Translated text with page counters in it, as a CSS ``content`` value."""
    from markupsafe import Markup

    text = Markup(value).unescape() if hasattr(value, "__html__") else str(value)
    parts = re.split(f"({PAGE_TOKEN}|{PAGES_TOKEN})", text)
    tokens = []
    for part in parts:
        if part == PAGE_TOKEN:
            tokens.append("counter(page)")
        elif part == PAGES_TOKEN:
            tokens.append("counter(pages)")
        elif part:
            tokens.append(css_string(part))
    return Markup(" ".join(tokens) or '""')


def breakable(text: Any) -> Any:
    """Allow a line break after a hyphen before a digit ("Interleukin-2" in a narrow heading)."""
    from markupsafe import Markup, escape

    return Markup(re.sub(r"-(?=\d)", "-\u200b", str(escape(text))))


def shorten(text: str, limit: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _filters(language: str) -> dict[str, Any]:
    from babel.dates import format_date, format_interval, format_skeleton, format_time
    from babel.numbers import format_decimal

    locale = babel_locale(language)

    def skeleton(pattern: str):
        return lambda d: format_skeleton(pattern, d, locale=locale)

    def interval(pair: tuple[dt.date, dt.date], pattern: str = "MMMd") -> str:
        first, last = pair
        if first == last:
            return format_skeleton(pattern, first, locale=locale)
        return format_interval(first, last, pattern, locale=locale)

    def amount(value: float | None, unit: str = "") -> str:
        if value is None:
            return ""
        if unit == "IU" and value >= 10000:
            return format_decimal(value, locale=locale)
        return format_amount(value)

    return {
        "full_date": skeleton("yMMMEd"),  # Mon, Dec 7, 2026 · 2026年12月7日周一
        "long_date": lambda d: format_date(d, "long", locale=locale),
        "weekday_date": skeleton("MMMEd"),  # Mon, Dec 7 · 12月7日周一
        "day_month": skeleton("MMMd"),  # Dec 7 · 12月7日
        "month_year": skeleton("yMMMM"),  # December 2026 · 2026年12月
        "interval": interval,
        "clock": lambda t: format_time(t, "HH:mm", locale=locale) if t else "",
        "decimal": lambda v, pattern="0.0": format_decimal(v, format=pattern, locale=locale),
        "amount": amount,
        "css_string": css_string,
        "css_content": css_content,
        "shorten": shorten,
        "breakable": breakable,
        "reason": diary_facts.words(language),  # reasons and notes, in the patient's words
    }


def _weekday_names(language: str) -> list[str]:
    from babel.dates import get_day_names

    names = get_day_names("abbreviated", locale=babel_locale(language))
    return [names[i] for i in range(7)]  # Monday first


def qr_svg(url: str) -> str:
    """The link as an inline SVG QR code (no XML declaration, no fixed colours beyond black)."""
    import segno

    code = segno.make(url, error="m", micro=False)
    return code.svg_inline(scale=3, border=2, dark="#000", light="#fff", omitsize=False)


# -- templates --------------------------------------------------------------------------------


def _check_folder(folder: str | Path, source: str, field: str | None = None) -> Path:
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"templates folder {str(folder)!r} does not exist", source=source, field=field)
    return path.resolve()  # a relative folder is the current folder's (and a PDF's base URL must be absolute)


def template_folders(schedule: Schedule, templates: str | Path | None = None) -> list[Path]:
    """Override folders, first wins: ``--templates DIR``, then the site's ``templates``."""
    folders = []
    if templates:
        folders.append(_check_folder(templates, "--templates"))
    site = schedule.course.site
    if site is not None and site.templates:
        folders.append(_check_folder(site.templates, site.source or "site", "templates"))
    return folders


def environment(language: str, overrides: Sequence[Path] = ()):  # -> jinja2.Environment
    """Jinja with autoescape, i18n and a ChoiceLoader: overrides first, then the defaults.

    An override can extend the default it replaces as ``default/<name>``. A site's templates are
    rendered in Jinja's sandbox: they reach the data they are given, not Python (docs/security.md).
    Made once a process a language and set of folders (templates compiled once, read again when edited).
    """
    return _environment(language, tuple(overrides))


@functools.lru_cache(maxsize=32)
def _environment(language: str, overrides: tuple[Path, ...]):  # -> jinja2.Environment
    from jinja2 import (
        ChoiceLoader,
        FileSystemLoader,
        PrefixLoader,
        StrictUndefined,
    )
    from jinja2.sandbox import SandboxedEnvironment as Environment

    defaults = FileSystemLoader(str(templates_dir()))
    loader = ChoiceLoader([
        *(FileSystemLoader(str(folder)) for folder in overrides),
        defaults,
        PrefixLoader({"default": defaults}),
    ])
    env = Environment(
        loader=loader, autoescape=True, undefined=StrictUndefined, extensions=["jinja2.ext.i18n"],
        trim_blocks=True, lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_filters(language))
    return env


def _context(schedule: Schedule, language: str, feed_url: str | None, large_print: bool, paper: str) -> dict:
    view = _View(schedule)
    course = schedule.course
    regimen = schedule.regimen
    agents = {a.id for a in regimen.agents}
    visit_names = {v.id: v.names.get(language) for v in (*regimen.visits, *course.settings.visits)}
    return {
        "language": language,
        "schedule": schedule,
        "course": course,
        "regimen": regimen,
        "site": course.settings,
        "has_site": course.site is not None,
        "first_day": schedule.cycles[0].day1 if schedule.cycles else course.start,
        "fingerprint": schedule.fingerprint(),
        "notes": diary_facts.notes(schedule, language),
        "closed_days": diary_facts.closed_days(schedule),
        "bsa": diary_facts.body_surface(schedule),
        "months": view.months(),
        "logs": view.logs(),
        "medicines": view.medicines(),
        "visits": view.visits(),
        "visit_names": visit_names,
        "agent_names": {a.id: a.names.get(language) for a in regimen.agents},
        "weekday_names": _weekday_names(language),
        "has_agent": lambda agent_id: agent_id in agents,
        "has_kind": lambda kind: any(a.kind.value == kind for a in regimen.agents),
        "feed_url": feed_url or "",
        "qr_svg": qr_svg(feed_url) if feed_url else "",
        "large_print": large_print,
        "paper": paper,
        "page_size": PAPERS[paper],
        "PAGE": PAGE_TOKEN,
        "PAGES": PAGES_TOKEN,
        "symptoms": ("diarrhoea", "sickness", "hands-feet", "mouth"),
    }


def _check_options(language: str, feed_url: str | None, paper: str) -> None:
    if language not in LANGUAGES:
        raise InputError(f"{language!r} is not a supported language ({', '.join(LANGUAGES)})", source="--lang")
    if paper not in PAPERS:
        raise InputError(f"{paper!r} is not a paper size ({', '.join(PAPERS)})", source="--paper")
    if feed_url is not None:
        if not feed_url.lower().startswith(FEED_SCHEMES) or any(c.isspace() for c in feed_url) or len(feed_url) > 2000:
            raise InputError(f"{shorten(feed_url, 80)!r} is not a calendar link (https://…, webcal://…; no spaces)",
                             source="--feed-url")


def diary_html(
    schedule: Schedule, *, language: str, templates: str | Path | None = None, feed_url: str | None = None,
    large_print: bool = False, paper: str = "a4",
) -> str:
    """The diary as one self-contained HTML document (styles and QR code inline)."""
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError

    schedule = schedule.detailed()
    _check_options(language, feed_url, paper)
    overrides = template_folders(schedule, templates)
    try:
        return environment(language, overrides).get_template(MAIN_TEMPLATE).render(
            _context(schedule, language, feed_url, large_print, paper))
    except TemplateSyntaxError as exc:
        raise OutputError(f"template error: {exc.message}", source=exc.filename or exc.name,
                          field=f"line {exc.lineno}") from None
    except TemplateNotFound as exc:
        raise OutputError(f"template {exc.name!r} not found in {[str(f) for f in overrides]} or the defaults") from None
    except TemplateError as exc:
        raise OutputError(f"template error: {exc}", source=", ".join(str(f) for f in overrides) or None) from None


# -- PDF --------------------------------------------------------------------------------------


def diary_print_job(
    schedule: Schedule, *, language: str, templates: str | Path | None = None, feed_url: str | None = None,
    large_print: bool = False, paper: str = "a4", check_fonts: bool = True,
) -> PrintJob:
    """The diary's HTML with what a printer needs beside it: the base URL and folders it may read."""
    html = diary_html(schedule, language=language, templates=templates, feed_url=feed_url,
                      large_print=large_print, paper=paper)
    if check_fonts and needs_cjk(html, language) and not cjk_font_available():
        raise OutputError(
            "Chinese text needs a CJK font and none is installed (the PDF would print empty boxes): "
            f"install the package {CJK_PACKAGE} (e.g. `sudo apt-get install {CJK_PACKAGE}`), or write HTML "
            "with -o diary.html",
        )
    overrides = template_folders(schedule, templates)
    base = overrides[0] if overrides else templates_dir()  # a site's logo.png next to its templates
    return PrintJob(html, base.as_uri() + "/", (*overrides, templates_dir()))


def diary_pdf(
    schedule: Schedule, *, language: str, templates: str | Path | None = None, feed_url: str | None = None,
    large_print: bool = False, paper: str = "a4", printer: Printer | None = None,
) -> bytes:
    """The same HTML printed to PDF by ``printer`` (default: this process's WeasyPrint, its fonts
    loaded once). Byte-identical for the same schedule, fonts and engine."""
    job = diary_print_job(schedule, language=language, templates=templates, feed_url=feed_url,
                          large_print=large_print, paper=paper)
    return (printer or default_printer()).pdf(job)
