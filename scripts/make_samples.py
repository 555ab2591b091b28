"""Regenerate the example outputs (samples/) through the real CLI: `make samples`.

Each sample is one CLI invocation; `tests/test_samples.py` runs the same list into a temporary
folder and fails when a committed sample differs (stale).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_START = "2026-12-07"

# (output file, CLI arguments); "{examples}" is the folder of example inputs
SAMPLES: list[tuple[str, list[str]]] = [
    ("schedule.txt", ["schedule", "--start", EXAMPLE_START]),
    ("schedule.json", ["schedule", "--start", EXAMPLE_START, "--format", "json"]),
    ("schedule.csv", ["schedule", "--start", EXAMPLE_START, "--format", "csv"]),
    ("capox-schedule.txt", ["schedule", "--start", EXAMPLE_START, "--regimen", "capox"]),
    ("calendar-discreet.ics", ["ics", "--course", "{examples}/course-example.toml"]),
    ("calendar-full.ics", ["ics", "--course", "{examples}/course-example.toml", "--detail", "full", "--method", "publish"]),
    ("calendar-zh-CN.ics", ["ics", "--course", "{examples}/course-example.toml", "--lang", "zh-CN", "--detail", "full",
                            "--oral-events", "daily"]),
    ("fhir-bundle.json", ["fhir", "--course", "{examples}/course-example.toml", "--today", "2027-02-14"]),
    ("chairs-report.html", ["chairs", "plan", "--cohort", "{examples}/cohort-23.csv", "--site", "{examples}/site-nanjing.toml"]),
    ("chairs.csv", ["chairs", "plan", "--cohort", "{examples}/cohort-23.csv", "--site", "{examples}/site-nanjing.toml",
                    "--format", "csv"]),
    ("chairs.ics", ["chairs", "plan", "--cohort", "{examples}/cohort-23.csv", "--site", "{examples}/site-nanjing.toml",
                    "--format", "ics"]),
    ("diary-en.html", ["diary", "--course", "{examples}/course-example.toml"]),
    ("diary-en.pdf", ["diary", "--course", "{examples}/course-example.toml"]),
    ("diary-zh-CN.html", ["diary", "--course", "{examples}/course-example.toml", "--lang", "zh-CN"]),
    ("diary-zh-CN.pdf", ["diary", "--course", "{examples}/course-example.toml", "--lang", "zh-CN"]),
]

# Hand-written inputs (examples/): copied beside the outputs of `make demo`, never generated.
INPUTS = ("course-example.toml", "site-nanjing.toml", "cohort-23.csv")
EXAMPLES = ROOT / "examples"


def generate(out: Path, quiet: bool = False) -> list[Path]:
    from click.testing import CliRunner

    from picture_schedule.cli.main import main

    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != (ROOT / "samples").resolve():
        for name in INPUTS:
            shutil.copy2(EXAMPLES / name, out / name)
    written = []
    runner = CliRunner()
    for name, args in SAMPLES:
        target = out / name
        argv = [a.format(examples=EXAMPLES) for a in args] + ["-o", str(target)]
        result = runner.invoke(main, argv, catch_exceptions=False)
        if result.exit_code != 0:
            raise SystemExit(f"make_samples: {' '.join(argv)} failed:\n{result.output}")
        written.append(target)
        if not quiet:
            print(f"wrote {target.relative_to(out.parent) if out.parent in target.parents else target}")
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "samples")
    parser.add_argument("--quiet", action="store_true")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    generate(options.out, options.quiet)
