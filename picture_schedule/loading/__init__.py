"""TOML files → model objects. Every problem names the file, the field and the value.

Regimens, sites and courses are read with `tomllib`; built-in regimens are package resources.
Validation collects every problem of a file before failing, so `validate` can list them all.
"""

from __future__ import annotations

from picture_schedule.loading.course import course_from_data, course_from_text, load_course, validate
from picture_schedule.loading.reader import parse_date, parse_toml, read_toml
from picture_schedule.loading.regimen import (
    builtin_regimens,
    load_regimen,
    regimen_from_data,
)
from picture_schedule.loading.resolver import FolderResolver, MappingResolver, Resolver
from picture_schedule.loading.site import load_site, site_from_data

__all__ = [
    "FolderResolver", "MappingResolver", "Resolver", "builtin_regimens", "course_from_data", "course_from_text",
    "load_course", "load_regimen", "load_site", "parse_date", "parse_toml", "read_toml", "regimen_from_data",
    "site_from_data", "validate",
]
