"""The diary PDF fits its paper (issue 11): read back with pdfplumber, every word of the example
course's diary lies inside the printable area, in A4 and Letter, English and Chinese, normal and
large print; no page is nearly empty; the daily log's headings keep their words whole; large print
is never smaller than normal print.

The printable area is the page less the margins that templates/diary.css declares in its first
``@page`` rule (read from the file, so the test follows the stylesheet). The page footer (study
number, check code, page numbers) is printed in the bottom margin by design: a word wholly in the
bottom margin is a footer word and must lie within the left and right margins and on the paper.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

import pytest

from picture_schedule import api
from picture_schedule.i18n import translations
from picture_schedule.loading import load_course
from picture_schedule.render.diary import cjk_font_available, diary_pdf
from picture_schedule.resources import templates_dir

from tests.conftest import ROOT, need

pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "examples" / "course-example.toml"
MM = 72 / 25.4
TOLERANCE = 0.5  # pt
# A page is nearly empty when its text, footer aside, spans less than this share of the printable
# height. The notes page is exempt: it is lines to write on under a heading.
NEARLY_EMPTY = 0.20
SYMPTOMS = ("Diarrhoea", "Sickness", "Sore hands or feet", "Sore mouth")
CASES = list(product(("a4", "letter"), ("en", "zh-CN"), (False, True)))


def case_id(case: tuple[str, str, bool]) -> str:
    paper, lang, large = case
    return f"{paper}-{lang}-{'large' if large else 'normal'}"


@dataclass(frozen=True)
class Margins:
    top: float
    right: float
    bottom: float
    left: float


def css_margins() -> Margins:
    """The page margins of diary.css's first @page rule, in pt (mm values, 1 to 4 of them)."""
    css = (templates_dir() / "diary.css").read_text(encoding="utf-8")
    rule = re.search(r"@page\s*\{(.*?)\}", css, re.S)
    assert rule, "diary.css has no @page rule"
    declared = re.search(r"(?<![-\w])margin\s*:\s*([^;]+);", rule.group(1))
    assert declared, "diary.css's @page rule declares no margin"
    values = [float(v) * MM for v in re.findall(r"([\d.]+)mm", declared.group(1))]
    assert len(values) == len(declared.group(1).split()), declared.group(1)  # all in mm
    top, right, bottom, left = {1: values * 4, 2: values * 2, 3: [*values, values[1]], 4: values}[len(values)]
    return Margins(top, right, bottom, left)


@pytest.fixture(scope="module")
def example():
    return api.schedule(load_course(EXAMPLE))


@pytest.fixture(scope="module")
def pdfs(example) -> dict[tuple[str, str, bool], bytes]:
    """The example diary in every paper, language and print size, each printed once."""
    need(cjk_font_available(), "no CJK font (Debian package fonts-noto-cjk; `make test` installs it as root)")
    return {(paper, lang, large): diary_pdf(example, language=lang, paper=paper, large_print=large)
            for paper, lang, large in CASES}


@dataclass(frozen=True)
class Page:
    number: int
    width: float
    height: float
    words: list[dict]
    chars: list[dict]
    rects: list[dict]

    def text(self) -> str:
        return " ".join(w["text"] for w in self.words)


def pages(data: bytes) -> Iterator[Page]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            # x_tolerance 1 pt: labels set close together ("none mild bad") read as separate words
            words = page.extract_words(x_tolerance=1, keep_blank_chars=False, extra_attrs=["size"])
            yield Page(page.page_number, float(page.width), float(page.height), words, list(page.chars),
                       list(page.rects))


def footer_top(page: Page, margins: Margins) -> float:
    return page.height - margins.bottom


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_word_is_inside_the_printable_area(pdfs, case):
    margins = css_margins()
    outside = []
    for page in pages(pdfs[case]):
        left, right = margins.left - TOLERANCE, page.width - margins.right + TOLERANCE
        for w in page.words:
            within_sides = w["x0"] >= left and w["x1"] <= right
            if w["top"] >= footer_top(page, margins) - TOLERANCE:  # the footer, in the bottom margin
                ok = within_sides and w["bottom"] <= page.height
            else:
                ok = (within_sides and w["top"] >= margins.top - TOLERANCE
                      and w["bottom"] <= footer_top(page, margins) + TOLERANCE)
            if not ok:
                outside.append((page.number, w["text"], round(w["x0"], 1), round(w["top"], 1),
                                round(w["x1"], 1), round(w["bottom"], 1)))
    assert not outside, f"{len(outside)} words outside {page.width:.0f}×{page.height:.0f} less margins: {outside[:8]}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_no_page_is_nearly_empty(pdfs, case):
    paper, lang, large = case
    margins = css_margins()
    notes_heading = translations(lang).gettext("Notes and questions")
    empty = []
    for page in pages(pdfs[case]):
        body = [w for w in page.words if w["top"] < footer_top(page, margins) - TOLERANCE]
        if body and notes_heading.replace(" ", "") in "".join(w["text"] for w in body[:8]):
            continue  # the notes page: lines to write on
        printable = page.height - margins.top - margins.bottom
        span = (max(w["bottom"] for w in body) - min(w["top"] for w in body)) if body else 0.0
        if span < NEARLY_EMPTY * printable:
            empty.append((page.number, f"{span / printable:.0%}", " ".join(w["text"] for w in body)[:60]))
    assert not empty, empty


def heading_labels(example, lang: str) -> dict[str, set[str]]:
    """Every word the daily log's heading prints, with the pieces it may break into: a label breaks
    only at a space, or after a hyphen before a digit ("Interleukin-" / "2")."""
    _ = translations(lang).gettext
    labels = [_("Date"), _("Day"), _("Temp. °C"), _("Notes"), _("AM"), _("PM"), _("none"), _("mild"), _("bad")]
    labels += [_(s) for s in SYMPTOMS]
    labels += [a.names.get(lang) for a in example.regimen.agents if a.kind.value in ("oral", "injection")]
    return {word: set(re.split(r"(?<=-)(?=\d)", word)) for label in labels for word in label.split()}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_log_headings_keep_their_words_whole(pdfs, example, case):
    paper, lang, large = case
    labels = heading_labels(example, lang)
    expected = set(labels).union(*labels.values())
    none = translations(lang).gettext("none")
    seen = 0
    for page in pages(pdfs[case]):
        grades = [w for w in page.words if w["text"] == none]
        if not grades:
            continue
        first = min(grades, key=lambda w: w["top"])
        # the heading is the grey box around the none/mild/bad labels
        (box,) = [r for r in page.rects if r.get("fill") and r["non_stroking_color"] != (1.0, 1.0, 1.0)
                  and r["x0"] <= first["x0"] and r["x1"] >= first["x1"]
                  and r["top"] <= first["top"] and r["bottom"] >= first["bottom"]]
        heading = [w["text"] for w in page.words
                   if w["top"] >= box["top"] - TOLERANCE and w["bottom"] <= box["bottom"] + TOLERANCE]
        broken = [w for w in heading if w not in expected]
        assert not broken, (page.number, broken, heading)
        missing = [word for word, pieces in labels.items() if word not in heading and not pieces <= set(heading)]
        assert not missing, (page.number, missing)
        seen += 1
    assert seen >= 6, "a daily log a cycle, each with its heading"


def smallest_size(data: bytes) -> float:
    return min(round(c["size"], 1) for page in pages(data) for c in page.chars if c["text"].strip())


@pytest.mark.parametrize("paper, lang", [(p, lang) for p in ("a4", "letter") for lang in ("en", "zh-CN")])
def test_large_print_is_never_smaller_than_normal_print(pdfs, example, paper, lang):
    normal, large = pdfs[(paper, lang, False)], pdfs[(paper, lang, True)]
    assert smallest_size(large) >= smallest_size(normal)
    # the symptom grades (none, mild, bad) grow with the rest of the log
    _ = translations(lang).gettext
    grades = {_("none"), _("mild"), _("bad")}

    def grade_size(data: bytes) -> float:
        return max(w["size"] for page in pages(data) for w in page.words if w["text"] in grades)

    assert grade_size(large) >= grade_size(normal) + 1.5
    # body text of large print is larger: the most used size
    def usual(data: bytes) -> float:
        from collections import Counter

        sizes = Counter(round(c["size"], 1) for page in pages(data) for c in page.chars if c["text"].strip())
        return sizes.most_common(1)[0][0]

    assert usual(large) >= usual(normal) + 2
