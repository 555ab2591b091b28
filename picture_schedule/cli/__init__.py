"""The command line: click wiring only. Each command parses, calls one library function, prints."""

from __future__ import annotations

from picture_schedule.cli.main import main

__all__ = ["main"]
