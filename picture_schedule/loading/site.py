"""Site files: a treating unit's settings (clinic days, holidays, shift policy, chairs, phones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from picture_schedule.core.model import SITE_DEFAULTS, Site
from picture_schedule.core.site_schema import TABLES
from picture_schedule.errors import ScheduleError
from picture_schedule.loading.reader import Reader, finish, read_toml
from picture_schedule.loading.regimen import visit_spec
from picture_schedule.loading.site_schema import check_zone, read_settings, settings_of

__all__ = ["check_zone", "load_site", "site_from_data", "site_from_reader"]


def load_site(path: Path | str) -> Site:
    data, label = read_toml(path)
    return site_from_data(data, label, Path(path).parent)


def site_from_data(data: dict[str, Any], label: str, folder: Path | None = None, path: str = "") -> Site:
    s = Reader(data, label, path)
    site = site_from_reader(s, folder)
    return finish(s, lambda: site)


def site_from_reader(s: Reader, folder: Path | None) -> Site:
    """The site in table ``s`` (a site file, or a course's inline ``[site]``), each key checked by the
    site schema; problems are collected in ``s``. ``folder``: where relative folders are found."""
    fields: dict[str, Any] = {}
    for table in TABLES:
        if table.attr:  # [[visits]] and [chairs] build their own values
            continue
        r = s.table(table.name) if table.name else s
        if r is None:
            continue
        values = read_settings(r, table.name, folder)
        if table.name == "holidays" and values["country"]:
            _check_country(r, values["country"], values["subdivision"])
        elif table.name == "holidays" and values["subdivision"]:
            r.problem("subdivision", f"{values['subdivision']!r} needs the country it belongs to (country = …)")
        if r is not s:
            r.done()
        for setting in settings_of(table.name):
            value = values[setting.key]
            fields[setting.attr] = setting.model_default if value is None else value
    fields["visits"] = tuple(v for v in (visit_spec(t) for t in s.tables("visits")) if v is not None)
    chairs = s.table("chairs")
    fields["chairs"] = _chairs(chairs) if chairs else SITE_DEFAULTS["chairs"]
    return Site(**fields, source=s.where("") or s.source)


def _chairs(ch: Reader) -> Any:
    from picture_schedule.core.chair_plan import Unit

    values = read_settings(ch, "chairs")
    ch.done()
    if any(values[key] is None for key in ("count", "hours", "slot_minutes")):
        return None  # the problem is reported
    return Unit(chairs=values["count"], hours=values["hours"], slot_minutes=values["slot_minutes"],
                nurse_starts_per_slot=values["nurse_starts_per_slot"], make_up_hours=values["make_up_hours"])


def _check_country(r: Reader, country: str, subdivision: str | None) -> None:
    from picture_schedule.core.clinic import ClinicCalendar

    try:
        ClinicCalendar(country=country, subdivision=subdivision)
    except ScheduleError as exc:
        name = "subdivision" if exc.field and exc.field.endswith("subdivision") else "country"
        r.problem(name, exc.message)
