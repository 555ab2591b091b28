"""samples/ is current: regenerating every sample into a temporary folder gives the same files."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT


def pdf_content(path) -> list[str]:
    """The text of each page: what a printout shows, independent of font subsetting and PDF producer."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]


def same(committed, generated) -> bool:
    if committed.name.startswith("web-") and committed.suffix == ".png":
        return True  # screenshots are not byte-stable: test_web_screenshots_are_kept checks them
    if committed.suffix == ".pdf":
        return pdf_content(committed) == pdf_content(generated)
    return committed.read_bytes() == generated.read_bytes()


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _generator():
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_samples_are_current(tmp_path):
    make_samples = _generator()
    written = make_samples.generate(tmp_path, quiet=True)
    assert written, "no samples generated"
    stale = []
    for path in written:
        committed = ROOT / "samples" / path.name
        if not committed.exists():
            stale.append(f"{path.name} (missing: run `make samples`)")
        elif not same(committed, path):
            stale.append(f"{path.name} (differs: run `make samples` and review the diff)")
    assert not stale, "stale samples: " + ", ".join(stale)


def test_every_sample_input_is_valid():
    from picture_schedule.loading import validate

    for name in _generator().INPUTS:
        if name.endswith(".csv"):
            from picture_schedule.planning.cohort import read_cohort
            from picture_schedule.loading import load_site

            cohort = read_cohort(ROOT / "examples" / name, site=load_site(ROOT / "examples" / "site-nanjing.toml"))
            assert len(cohort.members) == 23  # the trial's size
            continue
        kind, problems = validate(ROOT / "examples" / name)
        assert problems == [], (name, [str(p) for p in problems])


def test_web_screenshots_are_kept():
    """samples/web-*.png (`make screenshots`): each page in both languages, a real picture of the page
    at its width (1280 px; the patient's own page at a phone's 375 px), not a blank or cut-off one."""
    from PIL import Image

    screenshots = _script("web_screenshots")
    expected = screenshots.names()
    assert len(expected) == 2 * len(screenshots.PAGES) and len(expected) >= 18
    kept = sorted(p.name for p in (ROOT / "samples").glob("web-*.png"))
    assert kept == sorted(expected), "run `make screenshots` (and look at the pictures)"
    for name in expected:
        path = ROOT / "samples" / name
        with Image.open(path) as image:
            assert image.format == "PNG", name
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
            phone = name.startswith("web-my-page-")
            assert width == (screenshots.PHONE if phone else screenshots.DESKTOP)["width"], (name, width)
            assert 600 <= height <= 12_000, (name, height)
            colours = image.convert("RGB").resize((width // 4, height // 4)).getcolors(maxcolors=1_000_000)
            assert colours is not None and len(colours) > 50, f"{name} looks blank"
        assert path.stat().st_size > 5_000, name
