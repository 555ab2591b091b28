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
    if committed.suffix == ".pdf":
        return pdf_content(committed) == pdf_content(generated)
    return committed.read_bytes() == generated.read_bytes()


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
