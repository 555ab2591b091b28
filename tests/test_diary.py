"""The patient diary (issue 5): structure read back with an HTML parser, hostile text, translations,
template overrides, the CLI, and real PDFs (WeasyPrint read back with pypdf; Chromium for comparison).

Expected counts are written by hand from the regimen (28 capecitabine doses and 7 interleukin-2
injections a cycle) and the fixtures' changes, and cross-checked against the Schedule.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from picture_schedule import api
from picture_schedule.errors import InputError, OutputError
from picture_schedule.loading import load_course
from picture_schedule.render.diary import cjk_font_available, diary_html, diary_pdf
from picture_schedule.render.messages import describe

from tests.conftest import DATA, ROOT, need, need_program

EXAMPLE = ROOT / "examples" / "course-example.toml"
DIARY = DATA / "diary"


# -- an independent reading of the HTML (stdlib parser, not the renderer's) -------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text: list[str] = []  # this node's own text
        self.content: list[Node | str] = []  # text and children in document order

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str | None) -> list[Node]:
        found = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all((node.attrs.get(k.replace("_", "-")) == v) if v is not None else (k.replace("_", "-") in node.attrs)
                   for k, v in attrs.items()):
                found.append(node)
        return found

    def with_class(self, name: str) -> list[Node]:
        return [n for n in self.iter() if name in n.classes()]

    def all_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.all_text() for c in self.content)


VOID = {"meta", "link", "br", "img", "col", "hr", "input", "source", "wbr", "area", "base", "embed", "track"}


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root
        self.raw_styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        self.current.content.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        self.current.content.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text.append(data)
        self.current.content.append(data)
        if self.current.tag == "style":
            self.raw_styles.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def schedule_of(path: Path):
    return api.schedule(load_course(path))


@pytest.fixture(scope="module")
def example():
    return schedule_of(EXAMPLE)


@pytest.fixture(scope="module")
def example_html(example):
    return diary_html(example, language="en")


@pytest.fixture(scope="module")
def example_html_zh(example):
    return diary_html(example, language="zh-CN")


def boxes(doc: Node, agent: str) -> list[Node]:
    return doc.find_all("span", data_check=agent)


# -- structure ----------------------------------------------------------------------------------


def test_six_full_cycles_have_168_capecitabine_boxes_and_42_injection_boxes(example, example_html):
    doc = parse(example_html)
    cape, il2 = boxes(doc, "capecitabine"), boxes(doc, "interleukin-2")
    assert len(cape) == 168 == 6 * 28
    assert len(il2) == 42 == 6 * 7
    # one box per dose event, each event once: the boxes are the schedule's doses
    expected = {e.id for e in example.events if e.agent in ("capecitabine", "interleukin-2")}
    ticked = [b.attrs["data-event"] for b in cape + il2]
    assert len(ticked) == len(set(ticked))
    assert set(ticked) == expected
    # only the boxes of doses are checkboxes (symptom grades are a different mark)
    assert {b.attrs["data-check"] for b in doc.find_all(data_check=None)} == {"capecitabine", "interleukin-2"}


def test_held_omitted_and_stopped_doses_have_no_boxes():
    schedule = schedule_of(DIARY / "held-stopped.toml")
    doc = parse(diary_html(schedule, language="en"))
    assert len(boxes(doc, "capecitabine")) == 4 * 28 - 6 == 106
    assert len(boxes(doc, "interleukin-2")) == 3 * 7 == 21
    assert len(boxes(doc, "capecitabine")) == sum(1 for e in schedule.events if e.agent == "capecitabine")
    # the held doses show as held (cycle 2, days 5–7: 2026-12-28 + 4 … 6), not as boxes
    held = doc.find_all("span", data_held="capecitabine")
    assert len(held) == 6
    held_rows = {n.parent.parent.attrs["data-date"] for n in held}
    assert held_rows == {"2027-01-01", "2027-01-02", "2027-01-03"}
    # only cycles that run get a log; the stopped cycles 5 and 6 have none
    assert [s.attrs["data-cycle"] for s in doc.find_all("section", data_cycle=None)] == ["1", "2", "3", "4"]
    # rest days (15–21) have nothing to tick
    cycle1 = doc.find_all("section", data_cycle="1")[0]
    rows = cycle1.find_all("tr", data_date=None)
    assert len(rows) == 21
    for row in rows[14:]:
        assert not row.find_all(data_check=None), row.attrs["data-date"]
    # calendar: a held day and the omitted injection are marked in words
    held_cell = doc.find_all("td", data_date="2027-01-02")[0]  # day 6: no injection
    assert [m.attrs["data-kind"] for m in held_cell.with_class("mark")] == ["held"]
    assert "Tablets held" in held_cell.all_text()
    omitted_cell = doc.find_all("td", data_date="2027-01-18")[0]  # cycle 3 day 1
    kinds = [m.attrs["data-kind"] for m in omitted_cell.with_class("mark")]
    assert "omitted" in kinds and "injection" not in kinds
    assert "Interleukin-2" in omitted_cell.all_text()


def test_evening_first_convention_boxes_follow_the_events():
    schedule = schedule_of(DIARY / "evening-first.toml")
    doc = parse(diary_html(schedule, language="zh-CN"))
    assert len(boxes(doc, "capecitabine")) == 168
    log = doc.find_all("section", data_cycle="1")[0]
    day1 = log.find_all("tr", data_date="2026-12-07")[0]
    day15 = log.find_all("tr", data_date="2026-12-21")[0]
    assert [b.attrs["data-event"].rsplit("/", 1)[-1] for b in day1.find_all(data_check="capecitabine")] == ["evening"]
    assert [b.attrs["data-event"].rsplit("/", 1)[-1] for b in day15.find_all(data_check="capecitabine")] == ["morning"]


def test_every_event_date_is_on_a_month_page(example, example_html):
    doc = parse(example_html)
    months = doc.find_all("section", data_month=None)
    assert [m.attrs["data-month"] for m in months] == [
        "2026-12", "2027-01", "2027-02", "2027-03", "2027-04", "2027-05"]
    cells: dict[str, list[Node]] = {}
    for month in months:
        for cell in month.find_all("td", data_date=None):
            assert cell.attrs["data-date"].startswith(month.attrs["data-month"])
            cells.setdefault(cell.attrs["data-date"], []).append(cell)
    assert all(len(found) == 1 for found in cells.values()), "a day printed twice"
    for event in example.events:
        (cell,) = cells[event.date.isoformat()]
        marks = [m for m in cell.with_class("mark") if m.attrs.get("data-kind") == event.kind.value]
        assert marks, (event.id, event.date)
        assert any(event.id in (m.attrs.get("data-events") or "").split() for m in marks), event.id
    # the whole course is covered, day by day, from cycle 1 day 1 to the last visit
    first, last = dt.date(2026, 12, 1), dt.date(2027, 5, 31)
    assert len(cells) == (last - first).days + 1
    assert example.end == dt.date(2027, 5, 5)


def test_moved_cycles_and_rest_days_are_marked(example_html):
    doc = parse(example_html)

    def kinds(date: str) -> list[str]:
        return [m.attrs["data-kind"] for m in doc.find_all("td", data_date=date)[0].with_class("mark")]

    # cycle 3 was delayed 7 days: planned Mon 2027-01-18, given Mon 2027-01-25
    assert "planned" in kinds("2027-01-18")
    assert kinds("2027-01-25")[0] == "moved"
    assert "Delayed from Jan 18" in doc.find_all("td", data_date="2027-01-25")[0].all_text()
    # days 15–21 of cycle 1 are rest days; the delay week between cycles 2 and 3 too
    assert "rest" in kinds("2026-12-21") and "rest" in kinds("2027-01-20")
    assert "rest" not in kinds("2026-12-20")  # day 14: evening tablets
    # a visit shows its window in words
    visit = doc.find_all("td", data_date="2026-12-25")[0]
    assert "visit" in kinds("2026-12-25")
    assert "window Dec 25 – 27" in " ".join(visit.all_text().split())
    # legend on every month page
    for month in doc.find_all("section", data_month=None):
        assert month.with_class("legend")


def test_markers_read_without_colour(example_html):
    """Each marker has its own symbol and a word; nothing depends on colour alone."""
    doc = parse(example_html)
    seen: dict[str, set[str]] = {}
    for mark in doc.with_class("mark"):
        symbol = mark.with_class("sym")[0].all_text()
        words = mark.all_text().replace(symbol, "", 1).strip()
        assert words, mark.attrs
        seen.setdefault(mark.attrs["data-kind"], set()).add(symbol)
    assert all(len(symbols) == 1 for symbols in seen.values()), seen
    distinct = {next(iter(s)) for k, s in seen.items() if k not in ("held", "omitted")}
    assert len(distinct) == len([k for k in seen if k not in ("held", "omitted")])


def test_renderer_takes_what_happens_from_the_events(example):
    """Move one dose to another date in the Schedule: the diary follows the event, computing nothing."""
    event = next(e for e in example.events if e.id == "picture/c1/capecitabine/d3/morning")
    moved = replace(event, date=dt.date(2026, 12, 23))  # a rest day of cycle 1
    events = tuple(sorted([moved if e is event else e for e in example.events], key=lambda e: e.sort_key))
    doc = parse(diary_html(replace(example, events=events), language="en"))
    cell = doc.find_all("td", data_date="2026-12-23")[0]
    assert [m.attrs["data-kind"] for m in cell.with_class("mark")] == ["oral"]
    row = doc.find_all("tr", data_date="2026-12-23")[0]
    assert [b.attrs["data-event"] for b in row.find_all(data_check="capecitabine")] == [event.id]
    day3 = doc.find_all("tr", data_date="2026-12-09")[0]
    assert len(day3.find_all(data_check="capecitabine")) == 1


# -- safety content -------------------------------------------------------------------------------


def test_cover_doses_prescribed_calculated_and_confirm(example_html):
    doc = parse(example_html)
    meds = {row.attrs["data-agent"]: " ".join(row.all_text().split()) for row in doc.find_all("tr", data_agent=None)}
    assert "230 mg" in meds["oxaliplatin"]  # prescribed, not the calculated 235 mg
    assert "200 mg" in meds["tislelizumab"]
    assert "Cycles 1–3: 1650 mg (3 × 500 mg tablets + 1 × 150 mg tablet)" in meds["capecitabine"]
    assert "Cycles 4–6: 1250 mg (1 × 500 mg tablet + 5 × 150 mg tablets) reduced dose" in meds["capecitabine"]
    assert "100IU HD ⚠ confirm with your care team" in meds["interleukin-2"]
    text = " ".join(doc.all_text().split())
    assert "PIC-001" in text
    assert not doc.with_class("display-name")  # the course gives no display name: none printed
    assert "Mon, Dec 7, 2026" in text and "Wed, May 5, 2027" in text
    assert "025-0000-0002 (example)" in text and "025-0000-0001 (example)" in text
    assert "38.0 °C or higher" in text
    assert "Oxaliplatin and cold" in text and "Immune-related side effects" in text
    assert "Ask your nurse for your calendar link" in text


def test_every_schedule_note_is_shown_in_the_diary_language(example, example_html, example_html_zh):
    """In the patient's words (no "registry text" or "check day-1 dates") and the diary's dates."""
    from picture_schedule.render.diary_facts import date_words

    assert example.notes
    for lang, html in (("en", example_html), ("zh-CN", example_html_zh)):
        text = parse(html).all_text()
        for note in example.notes:
            assert describe(note, lang, patient=True, dates=date_words(lang)) in text, (lang, note.code)
        assert "registry text" not in text and "check day-1 dates" not in text


def test_footer_carries_study_number_version_and_fingerprint(example, example_html):
    style = "".join(parse(example_html).find_all("style")[1].text)
    fingerprint = example.fingerprint()
    assert re.search(r"@bottom-left\s*\{\s*content:\s*\"Study number PIC-001 \\b7  regimen NCT06504875"
                     r"/2024-07 \\b7  schedule check " + fingerprint + '"', style), style


def test_feed_url_gives_a_qr_code_on_the_cover(example):
    url = "https://calendar.example.org/feed/PIC-001-token.ics?a=1&b=2"
    doc = parse(diary_html(example, language="en", feed_url=url))
    cover = doc.find_all("section", id="cover")[0]
    svg = cover.find_all("svg")
    assert any("qr" in (n.parent.classes()) for n in svg)
    assert url in cover.all_text()
    assert not cover.find_all(data_slot="calendar-link")
    with pytest.raises(InputError, match="--feed-url"):
        diary_html(example, language="en", feed_url="javascript:alert(1)")


def test_hostile_text_is_escaped_and_kept_whole():
    course = load_course(DIARY / "hostile.toml")
    schedule = api.schedule(course)
    html = diary_html(schedule, language="en")
    builder = TreeBuilder()
    builder.feed(html)
    doc = builder.root
    assert not doc.find_all("script") and not doc.find_all("iframe") and not doc.find_all("img")
    assert not [n for n in doc.iter() if any(k.startswith("on") for k in n.attrs)]
    assert len(doc.find_all("style")) == 2  # nothing closed a <style> early
    for style in builder.raw_styles:
        assert "<" not in style
    text = doc.all_text()
    for raw in (course.patient, course.display_name, course.site.name, course.site.phone_day,
                course.site.phone_24h, course.site.location, course.changes[0].reason,
                "<iframe src=javascript:alert(3)> test 🩸"):
        assert raw in text, raw
    # the study number in the page footer is a CSS string no quote can end
    footer = re.search(r"@bottom-left\s*\{\s*content:\s*(\"[^\"]*\");", "".join(builder.raw_styles))
    assert footer and "\\3c script\\3e \\27 x\\27 \\3c /script\\3e \\22 " in footer.group(1)
    zh = parse(diary_html(schedule, language="zh-CN"))
    assert not zh.find_all("script") and "血液检查<script>" in zh.all_text()


# -- translations ---------------------------------------------------------------------------------


def template_messages() -> dict:
    from babel.messages.extract import extract

    found = {}
    for path in sorted((ROOT / "templates").glob("diary*.html")):
        with path.open("rb") as handle:
            for lineno, message, _comments, _context in extract(
                "jinja2.ext:babel_extract", handle, options={"extensions": "jinja2.ext.i18n", "trimmed": "true"}
            ):
                found[message] = f"{path.name}:{lineno}"
    return found


def test_every_template_string_has_a_chinese_translation():
    from babel.messages.pofile import read_po

    messages = template_messages()
    assert len(messages) > 100
    with (ROOT / "templates" / "locale" / "zh_CN" / "LC_MESSAGES" / "diary.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    missing, bad = [], []
    for message, where in messages.items():
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        strings = [] if entry is None else (list(entry.string) if isinstance(entry.string, tuple) else [entry.string])
        if entry is None or entry.fuzzy or not strings or not all(s.strip() for s in strings):
            missing.append(f"{where} {key!r}")
            continue
        wanted = set(re.findall(r"%\((\w+)\)s", key))
        for s in strings:
            if set(re.findall(r"%\((\w+)\)s", s)) != wanted:
                bad.append(f"{where} {key!r}: placeholders {sorted(wanted)} vs {s!r}")
    assert not missing, "untranslated (run the pybabel commands in notes/diary.md):\n" + "\n".join(missing)
    assert not bad, "\n".join(bad)


def test_merged_catalogue_keeps_the_diary_translations():
    """All outputs' .po files merge into one catalogue: another output must not change a diary string."""
    from babel.messages.pofile import read_po

    from picture_schedule.i18n import translations

    with (ROOT / "templates" / "locale" / "zh_CN" / "LC_MESSAGES" / "diary.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    merged = translations("zh-CN")
    changed = [m.id for m in catalog if m.id and isinstance(m.id, str) and merged.gettext(m.id) != m.string]
    assert not changed, changed


def test_chinese_diary_is_chinese_with_babel_dates(example_html_zh, example_html):
    zh, en = parse(example_html_zh), parse(example_html)
    assert zh.find_all("html")[0].attrs["lang"] == "zh-CN"
    zh_text, en_text = zh.all_text(), en.all_text()
    assert "出现以下情况，请立即打电话给我们" in zh_text and "Call us straight away" not in zh_text
    assert "2026年12月" in zh_text and "2026年12月7日周一" in zh_text and "December 2026" in en_text
    assert [th.all_text() for th in zh.find_all("section", data_month="2026-12")[0].find_all("th")] == [
        "周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert "请与医护团队确认" in zh_text
    assert "500 mg × 3 片 + 150 mg × 1 片" in zh_text


def test_language_defaults_to_the_course_language(cli, tmp_path):
    out = tmp_path / "d.html"
    result = cli("diary", "--course", DIARY / "evening-first.toml", "-o", out)  # language = "zh-CN"
    assert result.exit_code == 0, result.output
    assert 'lang="zh-CN"' in out.read_text()
    result = cli("diary", "--course", DIARY / "evening-first.toml", "--lang", "en", "-o", out)
    assert 'lang="en"' in out.read_text()


# -- template overrides ---------------------------------------------------------------------------


def test_templates_option_overrides_one_template_and_keeps_the_rest(example):
    doc = parse(diary_html(example, language="en", templates=DIARY / "templates-cli"))
    assert doc.find_all(data_override="cli-contacts")
    assert doc.find_all("img", data_override="cli-logo")
    # the override included the shipped block through "default/…"
    assert "025-0000-0002 (example)" in doc.find_all(data_override="cli-contacts")[0].all_text()
    # the rest are the defaults
    assert doc.find_all("section", id="call-us") and len(boxes(doc, "capecitabine")) == 168


def test_site_file_templates_setting_and_cli_precedence():
    schedule = schedule_of(DIARY / "site-templates.toml")
    doc = parse(diary_html(schedule, language="en"))
    assert "Ring the ward desk: 025-2222-2222" in " ".join(doc.all_text().split())
    both = parse(diary_html(schedule, language="en", templates=DIARY / "templates-cli"))
    assert both.find_all(data_override="cli-contacts") and not both.find_all(data_override="site-contacts")


def test_templates_are_compiled_once_a_process_and_read_again_when_edited(example, tmp_path):
    """A batch or the web page renders many diaries with one Jinja environment a language and set of
    folders; a site template edited meanwhile is read again (its file's modification time)."""
    import os
    import time

    from picture_schedule.render.diary import environment

    assert environment("en") is environment("en")
    assert environment("en") is not environment("zh-CN")
    site = tmp_path / "site"
    site.mkdir()
    contacts = site / "diary-contacts.html"
    contacts.write_text('<section id="call-us" data-override="first">Ring 1</section>', encoding="utf-8")
    assert parse(diary_html(example, language="en", templates=site)).find_all(data_override="first")
    contacts.write_text('<section id="call-us" data-override="second">Ring 2</section>', encoding="utf-8")
    later = time.time() + 10
    os.utime(contacts, (later, later))  # as an edit a few seconds on gives
    doc = parse(diary_html(example, language="en", templates=site))
    assert doc.find_all(data_override="second") and not doc.find_all(data_override="first")


@pytest.mark.parametrize("options", [{}, {"large_print": True}, {"paper": "letter"}])
def test_an_english_diary_needs_no_chinese_font(options):
    """Only Chinese text asks for a CJK font: none hides in the shipped templates or their styles
    (a comment in diary.css once quoted a Chinese date, and every PDF then asked for fonts-noto-cjk)."""
    from picture_schedule.render.fonts import needs_cjk

    schedule = api.schedule(api.plain_course(dt.date(2026, 12, 7)))
    html = diary_html(schedule, language="en", **options)
    assert not needs_cjk(html, "en")
    assert needs_cjk(diary_html(schedule, language="zh-CN", **options), "zh-CN")


def test_broken_override_is_a_one_line_error(cli, tmp_path):
    out = tmp_path / "d.html"
    result = cli("diary", "--course", EXAMPLE, "--templates", DIARY / "templates-broken", "-o", out)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert "diary-cover.html" in result.output and "line 2" in result.output
    assert not out.exists()


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_html_to_stdout_and_file(cli, tmp_path):
    result = cli("diary", "--start", "2026-12-07", "--cycles", "2")
    assert result.exit_code == 0
    assert result.output.startswith("<!DOCTYPE html>")
    assert len(boxes(parse(result.output), "capecitabine")) == 56
    out = tmp_path / "diary.html"
    result = cli("diary", "--course", EXAMPLE, "--paper", "letter", "--large-print", "-o", out)
    assert result.exit_code == 0 and result.output == ""
    html = out.read_text()
    assert "size: letter portrait" in html and 'class="paper-letter large-print"' in html


@pytest.mark.parametrize("args, message", [
    (["--lang", "fr"], "Invalid value for '--lang'"),
    (["--paper", "a5"], "Invalid value for '--paper'"),
    (["-o", "{tmp}/missing/diary.pdf"], "does not exist"),
    (["-o", "{tmp}/folder.html"], "is a folder"),
    (["-o", "{tmp}/diary.txt"], "ending in .html or .pdf"),
    (["--feed-url", "ftp://x"], "--feed-url"),
    (["--templates", "{tmp}/none"], "--templates"),
])
def test_cli_errors_are_one_line_exit_2(cli, tmp_path, args, message):
    (tmp_path / "folder.html").mkdir()
    result = cli("diary", "--course", EXAMPLE, *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output
    assert [p.name for p in tmp_path.rglob("*")] == ["folder.html"]  # nothing written, no temporary files


def test_command_module_and_renderer_import_lean():
    code = ("import sys, picture_schedule.cli.main, picture_schedule.cli.diary, picture_schedule.render.diary; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'jinja2', 'weasyprint', 'babel', 'segno', 'markupsafe'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


# -- PDF ------------------------------------------------------------------------------------------

MAX_PAGES = 24  # six cycles: cover, call-us, ≤ 7 months, 6 logs, medicines, notes, with room for spill


@pytest.fixture(scope="module")
def pdfs(example) -> dict[str, bytes]:
    need(cjk_font_available(), "no CJK font (Debian package fonts-noto-cjk; `make test` installs it as root)")
    return {lang: diary_pdf(example, language=lang) for lang in ("en", "zh-CN")}


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.slow
@pytest.mark.parametrize("lang, dates, doses", [
    ("en", ["Mon, Dec 7, 2026", "Wed, May 5, 2027", "December 2026", "Mon, Jan 25"],
     ["1650 mg", "1250 mg", "230 mg", "200 mg", "100IU HD", "confirm with your care team"]),
    ("zh-CN", ["2026年12月7日周一", "2027年5月5日周三", "2026年12月", "1月25日周一"],
     ["1650 mg", "1250 mg", "230 mg", "200 mg", "100IU HD", "请与医护团队确认"]),
])
def test_pdf_reads_back(pdfs, example, lang, dates, doses):
    pages = pdf_pages(pdfs[lang])
    assert pdfs[lang].startswith(b"%PDF-")
    assert 12 <= len(pages) <= MAX_PAGES, len(pages)
    text = " ".join(" ".join(pages).split())
    for expected in [*dates, *doses, "PIC-001"]:
        assert expected in text, (lang, expected)
    footer = example.fingerprint()
    for number, page in enumerate(pages, start=1):
        assert "PIC-001" in page and footer in page and "NCT06504875/2024-07" in page, (lang, number)
        body = [line for line in page.splitlines()
                if footer not in line and not re.fullmatch(r"\s*(Page \d+ of \d+|第 \d+ 页，共 \d+ 页)\s*", line)]
        assert sum(len(line.strip()) for line in body) > 40, f"page {number} is blank apart from its footer"


@pytest.mark.slow
def test_pdf_body_text_is_at_least_11_pt(pdfs):
    """Half of all printed characters are 11 pt or larger; labels and footers never go below 8 pt."""
    from pypdf import PdfReader

    for lang, data in pdfs.items():
        sizes: Counter = Counter()
        for page in PdfReader(io.BytesIO(data)).pages:
            def visit(text, cm, tm, font, size):
                if text.strip():
                    sizes[round(size * (tm[3] or 1) * (cm[3] or 1), 1)] += len(text.strip())

            page.extract_text(visitor_text=visit)
        ordered = sorted(sizes.elements())
        assert ordered[len(ordered) // 2] >= 11.0, (lang, sizes.most_common(6))
        assert min(sizes) >= 8.0, (lang, sorted(sizes))


@pytest.mark.slow
def test_pdf_is_deterministic(pdfs, example):
    assert diary_pdf(example, language="en") == pdfs["en"]


def _vertical_lines(image, x0: int, y0: int, y1: int) -> list[int]:
    """x of each vertical line right of x0 that is dark over the whole band y0..y1 (pixel columns)."""
    width = image.size[0]
    dark = [x for x in range(max(x0, 0), width)
            if all(image.getpixel((x, y)) < 128 for y in range(y0, y1 + 1))]
    lines: list[list[int]] = []
    for x in dark:
        if lines and x - lines[-1][-1] <= 1:
            lines[-1].append(x)
        else:
            lines.append([x])
    return [round(sum(run) / len(run)) for run in lines]


@pytest.mark.slow
@pytest.mark.parametrize("large_print", [False, True])
def test_log_rows_line_up_with_their_headings(example, tmp_path, large_print):
    """The blank end of a log row (temperature, symptoms, notes) is one cell drawn as a picture: its
    column lines fall on the heading's column lines, in normal and large print."""
    need_program("pdftoppm", "poppler-utils")
    need_program("pdftotext", "poppler-utils")
    from PIL import Image

    pdf = tmp_path / "diary.pdf"
    pdf.write_bytes(diary_pdf(example, language="en", large_print=large_print))
    page = next(n for n, text in enumerate(pdf_pages(pdf.read_bytes()), start=1) if "Daily log · cycle 1" in text)
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    words = [(m.group(5), *(float(m.group(i)) for i in range(1, 5))) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', bbox)]
    dpi = 300
    scale = dpi / 72

    def band(text: str) -> tuple[int, int]:
        word = next(w for w in words if w[0].startswith(text))
        return round(word[2] * scale) + 1, round(word[4] * scale) - 1

    temp = next(w for w in words if w[0].startswith("Temp"))  # the heading "Temp. °C", centred in its column…
    temp_x = round((temp[1] - 8) * scale)  # …so 8 pt left of it is left of the temperature column's left line
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-gray", "-png", str(pdf),
                    str(tmp_path / "log")], check=True)
    image = Image.open(next(tmp_path.glob("log*.png"))).convert("L")
    heading = _vertical_lines(image, temp_x, *band("none"))  # the none/mild/bad row of the heading
    row = _vertical_lines(image, temp_x, *band("Tue,"))  # the second day's row
    assert len(heading) >= 6, heading  # temperature's two sides, between the symptoms, notes' left (and right)
    assert len(row) == len(heading) and all(abs(a - b) <= 1 for a, b in zip(heading, row)), (heading, row)


@pytest.mark.slow
def test_paper_sizes(pdfs, example):
    from pypdf import PdfReader

    a4 = PdfReader(io.BytesIO(pdfs["en"])).pages[0].mediabox
    letter = PdfReader(io.BytesIO(diary_pdf(example, language="en", paper="letter"))).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)


@pytest.mark.slow
def test_hostile_pdf_keeps_every_word_on_the_page(tmp_path):
    need_program("pdftotext", "poppler-utils")
    need(cjk_font_available(), "no CJK font (Debian package fonts-noto-cjk)")
    data = diary_pdf(schedule_of(DIARY / "hostile.toml"), language="en")
    pdf = tmp_path / "hostile.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert 12 <= text.count("\f") <= MAX_PAGES + 2
    assert "PIC-<script>'x'</script>\"&amp;" in text and "王小明" in text
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    outside = [m.group(0) for m in re.finditer(r'<word xMin="(-?[\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>', bbox)
               if float(m.group(1)) < 0 or float(m.group(2)) > width + 0.5]
    assert not outside, outside[:5]


@pytest.mark.slow
def test_missing_cjk_font_is_a_clear_error(example, tmp_path, monkeypatch, cli):
    need_program("fc-list", "fontconfig")
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
                     f"<fontconfig><cachedir>{tmp_path}/cache</cachedir></fontconfig>")
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    assert not cjk_font_available()
    with pytest.raises(OutputError, match="fonts-noto-cjk"):
        diary_pdf(example, language="zh-CN")
    out = tmp_path / "diary.pdf"
    result = cli("diary", "--course", EXAMPLE, "--lang", "zh-CN", "-o", out)
    assert result.exit_code == 2 and "fonts-noto-cjk" in result.output and result.output.count("\n") == 1
    assert not out.exists()


@pytest.mark.slow
def test_cli_writes_pdf(cli, tmp_path):
    out = tmp_path / "diary.pdf"
    result = cli("diary", "--start", "2026-12-07", "--cycles", "1", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")
    assert any("Daily log · cycle 1" in page for page in pdf_pages(out.read_bytes()))


# -- a real browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """One headless Chromium for the module (the --engine chromium printer); in CI it must exist."""
    from picture_schedule.render.chromium import ChromiumPrinter, find_chromium

    need(find_chromium() is not None,
         "Chromium is not installed (Debian package chromium; `make test` installs it as root)")
    printer = ChromiumPrinter(workdir=tmp_path_factory.mktemp("chromium"))
    yield printer
    printer.close()


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_both_engines_print_the_same_number_of_pages(pdfs, example, chromium, lang):
    """Every sample diary: WeasyPrint and one long-lived Chromium (--engine chromium) agree page for page."""
    from pypdf import PdfReader

    browser = PdfReader(io.BytesIO(diary_pdf(example, language=lang, printer=chromium)))
    weasy = PdfReader(io.BytesIO(pdfs[lang]))
    assert len(browser.pages) == len(weasy.pages)
    text = " ".join(page.extract_text() or "" for page in browser.pages)
    assert example.fingerprint() in text  # the page footer prints in a browser too
