"""Package resources: templates and message catalogues, found through the package.

In an installed wheel the top-level ``templates/`` folder ships as ``picture_schedule/templates``;
in a source checkout it sits next to the package.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path


@lru_cache(maxsize=1)
def templates_dir() -> Path:
    """The folder holding the Jinja templates and ``locale/`` catalogues."""
    try:
        shipped = resources.files("picture_schedule.templates")
        if shipped.is_dir() and (shipped / "locale").is_dir():
            return Path(str(shipped))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / "templates"
