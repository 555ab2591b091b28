"""Screenshots of the web page in both languages: `make screenshots` (samples/web-<page>-<lang>.png).

    python scripts/web_screenshots.py --out samples

Builds the demo roster (scripts/web_demo.py) in a temporary folder on a fixed date (:data:`TODAY`),
serves it with waitress on a free port of 127.0.0.1, and takes each page of :data:`PAGES` in
Debian's Chromium (driven by Playwright) as the demo accounts see it, in English and in Simplified
Chinese. The patient's own page is taken at a phone's width (375 px), in the course's language.

PNG files are not byte-for-byte reproducible (font rendering, the random link on the link page), so
tests/test_samples.py checks that each one exists and is a picture of a sensible size, not its bytes.
Look at the pictures before committing them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--font-render-hinting=none"]
#: "Now" for every page: a Monday morning in Nanjing, mid-way through the cohort's treatment.
TODAY = dt.datetime(2027, 2, 15, 1, 30, tzinfo=dt.UTC)  # 09:30 in Asia/Shanghai
LANGUAGES = ("en", "zh-CN")
#: Each page: the file name part, and what it shows.
PAGES = {
    "login": "the login page",
    "patients": "the patient list (nurse)",
    "patient": "one patient's schedule, history and change forms (PIC-001, nurse)",
    "enrol": "the enrolment form (nurse)",
    "enrol-error": "the enrolment form refused: a height of 20 cm",
    "link": "the link shown once after enrolment",
    "change-preview": "a 7-day delay before it is confirmed: the schedule before and after",
    "chairs": "the chair plan for the month (coordinator)",
    "my-page": "the patient's own page behind their link, at 375 px",
}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
#: The patient shown in each language on their own page (the demo's PIC-001 is English, PIC-002 Chinese).
MY_PAGE = {"en": "PIC-001", "zh-CN": "PIC-002"}
#: A new patient for the enrolment pages (one per language: each is enrolled for the link page).
NEW_PATIENT = {"en": "PIC-024", "zh-CN": "PIC-025"}
#: The delay previewed (never confirmed): PIC-005's cycle 3, due on Tuesday 16 February 2027.
DELAY = {"patient": "PIC-005", "cycle": "3", "delay_days": "7"}
DELAY_REASON = {"en": "neutrophils 1.2 × 10⁹/L on the pre-cycle blood test",
                "zh-CN": "化疗前血常规：中性粒细胞 1.2 × 10⁹/L"}


def names() -> list[str]:
    """The file names this script writes, in order."""
    return [f"web-{page}-{language}.png" for page in PAGES for language in LANGUAGES]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by waitress on a free port of 127.0.0.1 (its address), until the block ends."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="picture-schedule")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown(timeout=5)
        server.close()
        thread.join(timeout=5)


class PageError(Exception):
    """A page answered with another status than the one its screenshot is meant to show."""


def _expect(answer: Any, status: int, what: str) -> None:
    if answer is None or answer.status != status:
        got = "no answer" if answer is None else f"status {answer.status}"
        raise PageError(f"{what}: {got} instead of {status}; no screenshot of an error page")


def visit(page: Any, path: str, status: int = 200) -> None:
    _expect(page.goto(path), status, path)


def _submit(page: Any, selector: str, status: int = 200) -> None:
    with page.expect_navigation() as sent:
        page.click(selector)
    _expect(sent.value, status, f"{page.url} after sending its form")


def log_in(page: Any, username: str, password: str) -> None:
    visit(page, "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    if "/login" in page.url:
        raise PageError(f"{username} could not log in")


def fill_enrolment(page: Any, study: str, *, height: str, language: str) -> None:
    page.fill("#patient", study)
    page.select_option("#language", language)
    page.fill("#start", "2027-02-22")
    page.fill("#height_cm", height)
    page.fill("#weight_kg", "64")


class Shooter:
    """Takes the pictures into ``out``; one browser for all, a new context per account and language."""

    def __init__(self, browser: Any, base_url: str, out: Path) -> None:
        self.browser = browser
        self.base_url = base_url
        self.out = out
        self.written: list[Path] = []

    def context(self, language: str, viewport: dict[str, int] = DESKTOP) -> Any:
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport, device_scale_factor=1,
                                           locale="zh-CN" if language == "zh-CN" else "en-GB",
                                           timezone_id="Asia/Shanghai", reduced_motion="reduce")
        context.set_default_timeout(20_000)
        return context

    def shot(self, page: Any, name: str, language: str) -> None:
        target = self.out / f"web-{name}-{language}.png"
        page.screenshot(path=str(target), full_page=True, animations="disabled", caret="hide")
        self.written.append(target)


def take(out: Path, *, quiet: bool = False) -> list[Path]:
    """Build the demo on :data:`TODAY`, serve it, and write every screenshot into ``out``. Each
    language gets a demo roster of its own, so the pages of both show the same patients. (Headless
    Chromium draws date and month pickers in US English whatever the page's language: 02/22/2027.)"""
    sys.path.insert(0, str(ROOT / "scripts"))
    sys.path.insert(0, str(ROOT))
    import web_demo  # scripts/web_demo.py
    from playwright.sync_api import sync_playwright

    from picture_schedule.roster.staff import member, set_language
    from picture_schedule.roster.store import Roster
    from picture_schedule.web.app import WebSettings, create_app

    def clock() -> dt.datetime:
        return TODAY

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="picture-screenshots-") as folder, sync_playwright() as playwright:
        for language in LANGUAGES:
            demo = web_demo.build(Path(folder) / language, clock=clock)
            roster = Roster(demo.roster, clock=clock, create=False)
            try:
                for username in web_demo.ACCOUNTS:
                    set_language(roster, member(roster, username).id, language)
                app = create_app(roster, WebSettings(site=str(demo.site), access_log=False, clock=clock))
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    with serving(app) as base_url:
                        shooter = Shooter(browser, base_url, out)
                        _staff_pages(shooter, demo, language)
                        _my_page(shooter, demo, language)
                        written += shooter.written
                finally:
                    browser.close()
            finally:
                roster.close()
    written.sort(key=lambda p: names().index(p.name))
    if not quiet:
        for path in written:
            print(f"wrote {path}")
    return written


def _staff_pages(shooter: Shooter, demo: Any, language: str) -> None:
    context = shooter.context(language)
    page = context.new_page()
    visit(page, f"/login?lang={language}")
    shooter.shot(page, "login", language)

    log_in(page, "nurse", demo.passwords["nurse"])
    visit(page, "/patients")
    shooter.shot(page, "patients", language)
    visit(page, "/patients/PIC-001")
    shooter.shot(page, "patient", language)

    visit(page, "/patients/new")
    shooter.shot(page, "enrol", language)
    fill_enrolment(page, NEW_PATIENT[language], height="20", language=language)
    _submit(page, "main form button[type=submit]", 400)
    shooter.shot(page, "enrol-error", language)
    page.fill("#height_cm", "171")
    _submit(page, "main form button[type=submit]")
    shooter.shot(page, "link", language)

    visit(page, f"/patients/{DELAY['patient']}")
    form = page.locator("main form[action$='/change']").first
    form.locator("[name=cycle]").fill(DELAY["cycle"])
    form.locator("[name=delay_days]").fill(DELAY["delay_days"])
    form.locator("[name=reason]").fill(DELAY_REASON[language])
    with page.expect_navigation() as sent:
        form.locator("button[type=submit]").first.click()
    _expect(sent.value, 200, "the change preview")
    shooter.shot(page, "change-preview", language)
    context.close()

    context = shooter.context(language)
    page = context.new_page()
    log_in(page, "coordinator", demo.passwords["coordinator"])
    visit(page, "/chairs")
    shooter.shot(page, "chairs", language)
    context.close()


def _my_page(shooter: Shooter, demo: Any, language: str) -> None:
    context = shooter.context(language, PHONE)
    page = context.new_page()
    visit(page, f"/p/{demo.tokens[MY_PAGE[language]]}")
    shooter.shot(page, "my-page", language)
    context.close()


#: The pictures the documentation shows (docs/images/), cut to the part a reader needs: page → height.
DOCS = {"login": 420, "patients": 760, "patient": 1300, "enrol": 1500, "enrol-error": 900, "link": 900,
        "change-preview": 900, "chairs": 1100, "my-page": 1500}


def docs_pictures(out: Path, docs: Path) -> list[Path]:
    """The top of each page's picture (both languages) for the guides, from the screenshots in ``out``."""
    from PIL import Image

    docs.mkdir(parents=True, exist_ok=True)
    written = []
    for page, height in DOCS.items():
        for language in LANGUAGES:
            with Image.open(out / f"web-{page}-{language}.png") as picture:
                top = picture.crop((0, 0, picture.width, min(height, picture.height)))
                target = docs / f"web-{page}-{language}.png"
                top.save(target, optimize=True)
                written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "samples")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--docs", type=Path, default=None, help="also write the guides' pictures (tops of pages) here")
    options = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"Error: Chromium is not installed at {CHROMIUM} (make system-deps)", file=sys.stderr)
        return 2
    try:
        take(options.out, quiet=options.quiet)
        if options.docs is not None:
            docs_pictures(options.out, options.docs)
    except PageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
