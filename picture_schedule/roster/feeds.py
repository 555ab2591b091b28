"""Feed bodies: the discreet calendar rendered once per change, with its ETag."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

from picture_schedule.core.model import Schedule


class Rendered(NamedTuple):
    """What the roster stores for a patient's schedule: the feed, its max-age, the summary (roster/summary.py)."""

    body: bytes
    max_age: int
    summary: str


def render_feed(schedule: Schedule) -> bytes:
    """A patient's feed: exactly what ``picture-schedule ics --course FILE`` writes with its defaults
    (discreet titles, the course's language, reminders, every kind, a subscription feed)."""
    from picture_schedule.render.ics import to_ics

    return to_ics(schedule)


_renderer_key: str | None = None


def renderer_key() -> str:
    """Changes whenever installed code or data that shapes a feed changes (cached feeds then re-render)."""
    global _renderer_key
    if _renderer_key is None:
        from importlib import metadata, resources

        from picture_schedule import __version__

        digest = hashlib.sha256(__version__.encode())
        package = resources.files("picture_schedule")
        # everything a feed is made from: the core (scheduler, dosing, clinic), the loaders, the
        # renderers and the built-in regimens; the layout moved these into sub-packages, so list them all
        for folder in (package, package / "core", package / "loading", package / "render", package / "regimens"):
            for item in sorted(folder.iterdir(), key=lambda p: p.name):
                if item.name.endswith((".py", ".toml")):
                    digest.update(item.name.encode() + b"\0" + item.read_bytes())
        try:
            from picture_schedule.resources import templates_dir

            for po in sorted(Path(templates_dir()).rglob("*.po")):
                if po.name.startswith("web"):  # the web page's words never reach a feed
                    continue
                digest.update(po.name.encode() + b"\0" + po.read_bytes())
        except Exception:  # noqa: BLE001  (templates are optional for the key)
            pass
        for dist in ("icalendar", "holidays", "tzdata"):
            try:
                digest.update(f"{dist}={metadata.version(dist)}".encode())
            except metadata.PackageNotFoundError:
                pass
        _renderer_key = digest.hexdigest()[:16]
    return _renderer_key


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
