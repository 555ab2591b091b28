"""Notes and reasons are message codes: the core writes no prose, every output words them itself.

The core (``picture_schedule/core/``) says what happened as a code and its parameters
(``NOTE_CODES`` and ``REASON_CODES`` in ``core/model.py``); ``render/messages.py`` holds the
English templates and ``templates/locale/zh_CN/LC_MESSAGES/messages.po`` the Chinese ones. What a
person typed (a change's reason, a site's closure) is printed as written, in every language.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest

from picture_schedule.core.clinic import HOLIDAY_KEYS
from picture_schedule.core.model import NOTE_CODES, REASON_CODES, Names, Note, Reason
from picture_schedule.core.scheduler import schedule
from picture_schedule.loading import course_from_data
from picture_schedule.render.diary import diary_html
from picture_schedule.render.ics import to_ics
from picture_schedule.render.messages import (
    HOLIDAY_NAMES,
    SEPARATORS,
    TEMPLATES,
    WEEKDAYS,
    describe,
    message_record,
    reason_text,
)

from tests.conftest import ROOT

CORE = ROOT / "picture_schedule" / "core"
CATALOGUE = ROOT / "templates" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
# Ideographs, CJK punctuation and symbols, kana, full-width forms (the diary's test for a CJK font).
CJK = re.compile("[\u2e80-\u2fdf\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
PHRASE = re.compile(r"[A-Za-z]+(?: [A-Za-z]+){2,}")  # three or more Latin words in a row
# The site file's settings, declared for the loader and the reference docs (see the test below).
SCHEMA = "site_schema.py"


# -- the core writes no prose ---------------------------------------------------------------------


def _exempt_nodes(tree: ast.AST) -> set[int]:
    """Ids of the string nodes the prose rule does not read: docstrings, raise and assert arguments,
    the keys of a dict display."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            exempt.update(id(key) for key in node.keys if key is not None)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            exempt.add(id(node.value))  # a docstring (of a module, class, function or attribute)
        if isinstance(node, (ast.Raise, ast.Assert)):
            exempt.update(id(inner) for inner in ast.walk(node))
    return exempt


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of each string literal in code; an f-string's placeholders read as the word X."""
    exempt = _exempt_nodes(tree)
    inner: set[int] = set()
    found = []
    for node in ast.walk(tree):
        if id(node) in exempt or id(node) in inner:
            continue
        if isinstance(node, ast.JoinedStr):
            inner.update(id(part) for part in ast.walk(node) if part is not node)
            text = "".join(str(part.value) if isinstance(part, ast.Constant) else "X" for part in node.values)
            found.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
    return found


def test_the_core_holds_no_chinese_and_no_sentences_for_users():
    """The rule, module by module under ``picture_schedule/core/``:

    1. No CJK character anywhere in the file (code, strings, comments, docstrings): the core has
       no Chinese to say; holiday names are keys, Chinese lives in the catalogue.
    2. No string literal in code holds a phrase, that is three or more words of Latin letters in
       a row separated by single spaces; an f-string counts each placeholder as a word, so
       ``f"moved from {a} to {b}"`` is a phrase. Not read: docstrings; everything inside a
       ``raise`` or ``assert`` statement (errors for staff, turned into one English line at the
       command line, which is English); the keys of a dict display (lookup keys, such as the
       holidays package's English names the clinic calendar maps to stable holiday keys).

    ``core/site_schema.py`` is exempt from both: it declares the site file's settings, and its
    descriptions are the English reference documentation and the loader's messages to staff; its
    examples show what a user types, in either language. None of it reaches a patient's output.
    """
    modules = sorted(p for p in CORE.glob("*.py") if p.name != SCHEMA)
    assert {"model.py", "scheduler.py", "clinic.py", "prescribing.py", "chair_plan.py"} <= {p.name for p in modules}
    chinese, phrases = [], []
    for path in modules:
        source = path.read_text(encoding="utf-8")
        for number, line in enumerate(source.splitlines(), start=1):
            if CJK.search(line):
                chinese.append(f"{path.name}:{number}: {line.strip()}")
        for number, text in _literals(ast.parse(source)):
            if PHRASE.search(text):
                phrases.append(f"{path.name}:{number}: {text!r}")
    assert chinese == []
    assert phrases == []


def test_the_prose_rule_catches_what_it_should():
    caught = [text for _, text in _literals(ast.parse(
        'def f(a, b):\n'
        '    """A docstring may say anything at all."""\n'
        '    x = f"moved from {a} to {b}"\n'
        '    y = "clinic closed on Sundays"\n'
        '    z = {"Dragon Boat Festival": "dragon-boat", "weekend": "a day of the week end"}\n'
        '    if a:\n'
        '        raise ValueError(f"a is not a number of days: {a}")\n'
        '    return x, y, z\n'
    )) if PHRASE.search(text)]
    assert caught == ["moved from X to X", "clinic closed on Sundays", "a day of the week end"]


# -- every code has its words ------------------------------------------------------------------------

# Placeholders a template may use beyond the code's parameters: what the renderer derives from them.
DERIVED = {"day-off-swapped": {"weekday"}, "holiday": {"name"}}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _catalogue():
    from babel.messages.pofile import read_po

    with CATALOGUE.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def test_every_code_the_core_can_emit_has_an_english_template():
    declared = {**NOTE_CODES, **REASON_CODES}
    assert not set(NOTE_CODES) & set(REASON_CODES)
    assert set(TEMPLATES) == set(declared)
    for code, variants in TEMPLATES.items():
        assert variants, code
        allowed = set(declared[code]) | DERIVED.get(code, set())
        for variant, template in variants.items():
            for text in (template if isinstance(template, tuple) else (template,)):
                assert _placeholders(text) <= allowed, (code, variant, text)


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    catalog = _catalogue()
    wanted: list[tuple[str, str | tuple[str, str]]] = []
    for code, variants in TEMPLATES.items():
        for variant, template in variants.items():
            wanted.append((code if not variant else f"{code}/{variant}", template))
    wanted += [("holiday", HOLIDAY_NAMES[key]) for key in HOLIDAY_KEYS]
    wanted += [("weekday", day) for day in WEEKDAYS]
    wanted += [("separator", text) for text in SEPARATORS.values()]
    problems = []
    for context, template in wanted:
        singular = template[0] if isinstance(template, tuple) else template
        entry = catalog.get(singular, context=context)
        if entry is None or entry.fuzzy:
            problems.append(f"{context}: {singular!r} is not translated")
            continue
        if isinstance(template, tuple) != isinstance(entry.id, tuple) or (
                isinstance(template, tuple) and tuple(entry.id) != template):
            problems.append(f"{context}: the catalogue's English differs from the template")
        strings = list(entry.string) if isinstance(entry.string, tuple) else [entry.string]
        for text in strings:
            if not text or (context != "separator" and not text.strip()):
                problems.append(f"{context}: empty translation")
            elif _placeholders(text) != _placeholders(singular):
                problems.append(f"{context}: placeholders {_placeholders(text)} vs {_placeholders(singular)}")
    assert problems == []
    assert set(HOLIDAY_NAMES) == set(HOLIDAY_KEYS)


def test_the_merged_catalogue_gives_every_chinese_message():
    """The .po files merge into one catalogue: message contexts survive the merge."""
    from picture_schedule.i18n import translations

    merged = translations("zh-CN")
    for message in _catalogue():
        if message.id and message.context:
            got = (merged.npgettext(message.context, message.id[0], message.id[1], 1)
                   if isinstance(message.id, tuple) else merged.pgettext(message.context, message.id))
            expected = message.string[0] if isinstance(message.string, tuple) else message.string
            assert got == expected, message.context


SPRING = Reason("holiday", {"key": "spring-festival", "observed": False})
CLOSED = Reason("holidays", {"names": (SPRING,)})
D = dt.date


@pytest.mark.parametrize(("message", "en", "zh"), [
    (Note("shift", {"cycle": 3, "reason": Reason("shift-moved", {
        "planned": D(2026, 2, 17), "actual": D(2026, 2, 14), "days": -3, "closure": CLOSED})}),
     "cycle 3 day 1 moved from 2026-02-17 to 2026-02-14 (-3 days): Spring Festival",
     "第3周期第1天由 2026-02-17 提前至 2026-02-14（-3 天）：春节"),
    (Reason("shift-moved", {"planned": D(2026, 2, 13), "actual": D(2026, 2, 14), "days": 1, "closure": Reason(
        "typed", {"text": "ward move"})}),
     "moved from 2026-02-13 to 2026-02-14 (+1 day): ward move", "由 2026-02-13 顺延至 2026-02-14（+1 天）：ward move"),
    (Note("dose-deviation", {"agent": "oxaliplatin", "name": Names("Oxaliplatin", "奥沙利铂"), "amount": 200.0,
                             "unit": "mg", "calculated": 221.0, "deviation": -0.095, "threshold": 0.05}),
     "Oxaliplatin: prescribed 200 mg is -9.5 % from the calculated 221 mg (threshold 5 %)",
     "奥沙利铂：处方剂量 200 mg 与计算剂量 221 mg 相差 -9.5%（阈值 5%），请核对"),
    (Reason("follows", {"cycle": 2, "reasons": (Reason.typed("infection"), Reason("cycle-shift", {
        "cycle": 2, "reason": Reason("shift-none", {"planned": D(2026, 10, 1), "closure": Reason(
            "holidays", {"names": (Reason("holiday", {"key": "national-day", "observed": True}),)})})}))}),
     "follows cycle 2: infection; cycle 2 day 1 2026-10-01 is closed (National Day (observed)); shift policy "
     "'none' keeps the planned day",
     "随第2周期调整：infection；第2周期第1天2026-10-01 不开诊（国庆节（补假））；本中心规则为不调整"),
    (Reason("day-off-swapped", {"festivals": (SPRING, Reason("holiday", {"key": "new-year", "observed": False})),
                                "worked": D(2026, 2, 14)}),
     "Spring Festival and New Year's Day (day off swapped with working Saturday 2026-02-14)",
     "春节、元旦（调休，2026-02-14 周六上班）"),
    (Note("estimated-holidays", {"years": (2027, 2028)}),
     "holiday dates for 2027, 2028 are estimates: the official calendar is not announced yet; check day-1 dates "
     "again when it is",
     "2027, 2028 年的节假日为估算日期，官方安排尚未公布；公布后请再次核对各周期第1天"),
    (Reason("no-chair-nurse-limit", {"minutes": 60, "closes": dt.time(10, 0), "limit": 1}),
     "no chair free for 60 min before 10:00 within the nurse limit of 1 starts per slot", None),
])
def test_messages_are_worded_in_each_language(message, en, zh):
    assert describe(message, "en") == en
    if zh is not None:
        assert describe(message, "zh-CN") == zh


def test_typed_text_is_printed_as_written_in_every_language():
    typed = Reason.typed("neutrophils 1.1 × 10⁹/L {not a placeholder}")
    assert describe(typed, "en") == describe(typed, "zh-CN") == "neutrophils 1.1 × 10⁹/L {not a placeholder}"
    assert reason_text((typed, typed), "zh-CN").count("neutrophils") == 2


def test_messages_are_values_with_declared_parameters():
    note = Note("confirm-dose", {"agent": "interleukin-2", "name": Names("Interleukin-2", "白细胞介素-2"),
                                 "text": "100IU HD"})
    assert note == Note("confirm-dose", {"text": "100IU HD", "agent": "interleukin-2",
                                         "name": Names("Interleukin-2", "白细胞介素-2")})
    assert len({note, note}) == 1
    with pytest.raises(ValueError, match="not declared"):
        Note("no-such-code", {})
    with pytest.raises(ValueError, match="takes"):
        Note("confirm-dose", {"agent": "x"})
    with pytest.raises(ValueError, match="not declared"):
        Note("typed", {"text": "a reason is not a note"})
    with pytest.raises(TypeError):
        Reason("typed", {"text": ["a", "list"]})  # unhashable: a message must stay a value
    assert message_record(note) == {
        "code": "confirm-dose",
        "params": {"agent": "interleukin-2", "name": {"en": "Interleukin-2", "zh-CN": "白细胞介素-2"},
                   "text": "100IU HD"},
        "text": 'Interleukin-2: only the registry text "100IU HD" is known; confirm the dose with your care team',
    }


def test_json_carries_english_text_and_the_codes(chinese_course):
    import json

    from picture_schedule.render.tabular import to_json

    record = json.loads(to_json(chinese_course))
    (deviation,) = [n for n in record["notes"] if n["code"] == "dose-deviation"]
    assert deviation["params"]["agent"] == "oxaliplatin" and deviation["params"]["amount"] == 200
    assert deviation["text"] == "Oxaliplatin: prescribed 200 mg is -9.5 % from the calculated 221 mg (threshold 5 %)"
    c2, c3 = record["cycles"][1], record["cycles"][2]
    assert c2["shift_reason"] == c2["move_reason"] == (
        "cycle 2 day 1 moved from 2026-10-01 to 2026-10-08 (+7 days): National Day")
    assert [r["code"] for r in c2["move_reasons"]] == ["cycle-shift"]
    assert c2["move_reasons"][0]["params"]["reason"]["params"]["actual"] == "2026-10-08"
    assert c3["delay_reason"] == TYPED and c3["move_reasons"] == [
        {"code": "typed", "params": {"text": TYPED}, "text": TYPED}]
    moved = [e for e in record["events"] if e["cycle"] == 3 and e["moved"]]
    assert moved and all(e["move_reason"] == TYPED for e in moved)


# -- a Chinese diary and calendar speak Chinese, except what a person typed ----------------------------

TYPED = "neutrophils 1.1 on the morning blood test"
ALLOWED = {"mg", "IU", "m", "C", "D"}  # units (mg, IU, m²); the calendar grid's "C1 D1" (cycle, day); °C
LATIN_WORD = re.compile(r"[A-Za-z]+")


class _Visible(HTMLParser):
    """The text a reader sees: everything outside <style> and <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


@pytest.fixture(scope="module")
def chinese_course():
    """National Day moves cycle 2 (policy next), a nurse delays cycle 3 with an English reason, and
    a prescribed oxaliplatin 200 mg is −9.5 % from the calculated 221 mg (threshold 5 %)."""
    data = {"patient": "PIC-T1", "start": dt.date(2026, 9, 10), "cycles": 3, "language": "zh-CN",
            "site": {"holidays": {"country": "CN"}, "shift": {"policy": "next", "max_days": 7}},
            "body": {"height_cm": 168, "weight_kg": 62},
            "prescribed": {"oxaliplatin": {"amount": 200, "unit": "mg"}},
            "changes": [{"cycle": 3, "delay_days": 7, "reason": TYPED}]}
    s = schedule(course_from_data(data, "zh.toml"))
    assert s.cycles[1].day1 == dt.date(2026, 10, 8) and s.cycles[1].shift_reason is not None
    assert s.cycles[2].delay_reason == (Reason.typed(TYPED),)
    assert {"dose-deviation", "shift"} <= {n.code for n in s.notes}
    return s


def _regimen_words(s) -> list[str]:
    """What the regimen file gives, printed as it gives it: names, title, trial, version, registry text."""
    r = s.regimen
    words = [r.title.get("zh-CN"), r.version, r.trial, *(a.names.get("zh-CN") for a in r.agents)]
    words += [a.dose.text for a in r.agents if a.dose.text]
    return sorted((w for w in words if w), key=len, reverse=True)


def _foreign_words(text: str, s) -> list[str]:
    for typed in (TYPED, s.course.patient, s.fingerprint(), *_regimen_words(s)):
        text = text.replace(typed, " ")
    return sorted({w for w in LATIN_WORD.findall(text) if w not in ALLOWED})


def test_the_chinese_diary_has_no_english_but_what_a_person_typed(chinese_course):
    """Every Latin word of the Chinese diary's visible text is the nurse's typed reason, the study
    number, the schedule check code, something the regimen file names (title, trial, version,
    medicine names, registry dose text), a unit (mg, IU) or the calendar's "C1 D1" (°C too)."""
    visible = _Visible()
    visible.feed(diary_html(chinese_course, language="zh-CN"))
    text = " ".join(visible.parts)
    assert TYPED in text  # the nurse's words, as written
    assert "国庆节" in text and "相差 -9.5%" in text
    assert _foreign_words(text, chinese_course) == []


@pytest.mark.parametrize("detail", ["full", "discreet"])
def test_the_chinese_calendar_has_no_english_but_what_a_person_typed(chinese_course, detail):
    from icalendar import Calendar

    calendar = Calendar.from_ical(to_ics(chinese_course, language="zh-CN", detail=detail))
    parts = [str(calendar.get(key, "")) for key in ("NAME", "X-WR-CALNAME", "X-WR-CALDESC")]
    for event in calendar.walk("VEVENT"):
        parts += [str(event.get(key, "")) for key in ("SUMMARY", "DESCRIPTION", "LOCATION")]
        parts += [str(category) for category in event.get("CATEGORIES").cats]
        parts += [str(alarm.get("DESCRIPTION", "")) for alarm in event.walk("VALARM")]
    text = "\n".join(parts).replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";")
    if detail == "full":
        assert TYPED in text and "国庆节" in text and "相差 -9.5%" in text
    else:
        assert TYPED not in text  # discreet: no reasons for changes
    assert _foreign_words(text, chinese_course) == []
