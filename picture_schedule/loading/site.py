"""Site files: a treating unit's settings (clinic days, holidays, shift policy, chairs, phones)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from picture_schedule.core.model import (
    Site,
    frozen_map,
)
from picture_schedule.errors import ScheduleError
from picture_schedule.loading.reader import Reader, finish, read_toml, show
from picture_schedule.loading.regimen import visit_spec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHIFT_POLICIES = ("none", "next", "previous", "nearest")



def load_site(path: Path | str) -> Site:
    data, label = read_toml(path)
    return site_from_data(data, label, Path(path).parent)


def site_from_data(data: dict[str, Any], label: str, folder: Path | None = None, path: str = "") -> Site:
    s = Reader(data, label, path)
    site = site_from_reader(s, folder)
    return finish(s, lambda: site)


def site_from_reader(s: Reader, folder: Path | None) -> Site:
    defaults = Site()
    name = s.text("name", "")
    timezone = s.text("timezone", defaults.timezone)
    if timezone is not None:
        check_zone(s, "timezone", timezone)
    days_text = s.str_list("clinic_days", ("mon", "tue", "wed", "thu", "fri"))
    clinic_days = defaults.clinic_days
    if days_text is not None:
        bad = [d for d in days_text if d.lower()[:3] not in WEEKDAYS]
        if bad:
            s.problem("clinic_days", f"{bad[0]!r} is not a weekday (mon … sun)")
        else:
            clinic_days = tuple(sorted({WEEKDAYS.index(d.lower()[:3]) + 1 for d in days_text}))
    location = s.text("location", "")
    fever = s.number("fever_threshold_c", 37.0, 39.0, 38.0, "°C")
    templates = s.text("templates", "")
    if templates and folder is not None and not Path(templates).is_absolute():
        templates = str(folder / templates)
    phones = s.table("phones")
    phone_day = phone_24h = ""
    if phones:
        phone_day = phones.text("day", "")
        phone_24h = phones.text("hotline", "")
        phones.done()
    country = subdivision = None
    closures: dict[dt.date, str] = {}
    openings: dict[dt.date, str] = {}
    hol = s.table("holidays")
    if hol:
        country = hol.text("country", None)
        subdivision = hol.text("subdivision", None)
        for key, target in (("closures", closures), ("openings", openings)):
            for c in hol.tables(key):
                day = c.date("date")
                reason = c.text("reason")
                c.done()
                if day and reason:
                    target[day] = reason
        if country:
            _check_country(hol, country, subdivision)
        hol.done()
    policy, max_shift, window = defaults.shift_policy, defaults.max_shift_days, defaults.interval_window
    sh = s.table("shift")
    if sh:
        policy = sh.text("policy", "none", SHIFT_POLICIES)
        max_shift = sh.integer("max_days", 0, 28, defaults.max_shift_days)
        w = sh.int_list("interval_window", list(defaults.interval_window))
        if w is not None and (len(w) != 2 or min(w) < 0):
            sh.problem("interval_window", f"{list(w)} must be [days_early ≥ 0, days_late ≥ 0]")
        elif w is not None:
            window = (w[0], w[1])
        sh.done()
    bsa_cap, threshold, step = None, defaults.dose_threshold, None
    do = s.table("dosing")
    if do:
        bsa_cap = do.number("bsa_cap_m2", 1.0, 3.0, None, "m²")
        pct = do.number("deviation_threshold_percent", 0, 50, defaults.dose_threshold * 100, "%")
        threshold = (pct if pct is not None else 5) / 100
        step = do.number("infusion_step_mg", 0.1, 100, None, "mg")
        do.done()
    start, prep, obs = defaults.infusion_time, defaults.preparation_minutes, defaults.observation_minutes
    inf = s.table("infusion")
    if inf:
        start = inf.time("start", defaults.infusion_time)
        prep = inf.integer("preparation_minutes", 0, 600, defaults.preparation_minutes)
        obs = inf.integer("observation_minutes", 0, 600, defaults.observation_minutes)
        inf.done()
    refresh, base_url = defaults.feed_refresh_hours, ""
    feed = s.table("feed")
    if feed:
        refresh = feed.integer("refresh_hours", 1, 24 * 7, defaults.feed_refresh_hours)
        base_url = feed.text("base_url", "")
        if base_url and not re.match(r"^https?://[^\s/]+", base_url):
            feed.problem("base_url", f"{base_url!r} is not an http(s) address")
        feed.done()
    visits = tuple(v for v in (visit_spec(t) for t in s.tables("visits")) if v is not None)
    chairs = None
    ch = s.table("chairs")
    if ch:
        chairs = _chairs(ch)
    source = s.where("") or s.source
    return Site(
        name=name or "", timezone=timezone or defaults.timezone, clinic_days=clinic_days,
        holiday_country=country, holiday_subdivision=subdivision, extra_closures=frozen_map(closures),
        extra_openings=frozen_map(openings), shift_policy=policy or "none", max_shift_days=max_shift or 0,
        interval_window=window, bsa_cap=bsa_cap, dose_threshold=threshold, infusion_step_mg=step,
        infusion_time=start or defaults.infusion_time, preparation_minutes=prep or 0,
        observation_minutes=obs if obs is not None else defaults.observation_minutes, location=location or "",
        phone_day=phone_day or "", phone_24h=phone_24h or "", fever_threshold_c=fever or 38.0,
        feed_refresh_hours=refresh or 12, feed_base_url=base_url or "", templates=templates or "",
        visits=visits, chairs=chairs, source=source,
    )


def _chairs(ch: Reader) -> Any:
    from picture_schedule.core.chair_plan import Unit

    count = ch.integer("count", 1, 1000)
    slot = ch.integer("slot_minutes", 1, 120, 15)
    nurse = ch.integer("nurse_starts_per_slot", 1, 1000, None)
    make_up = None
    pair = ch.raw("make_up_hours", None)
    if pair is not None:
        if not (isinstance(pair, list) and len(pair) == 2):
            ch.problem("make_up_hours", f"{show(pair)} must be [\"08:00\", \"17:00\"]")
        else:
            times = Reader({"open": pair[0], "close": pair[1]}, ch.source, ch.where("make_up_hours"), ch.problems)
            opens, closes = times.time("open"), times.time("close")
            if opens and closes and closes <= opens:
                ch.problem("make_up_hours", f"closes {closes:%H:%M} before it opens {opens:%H:%M}")
            elif opens and closes:
                make_up = (opens, closes)
    hours: dict[int, tuple[dt.time, dt.time]] = {}
    h = ch.table("hours", required=True)
    if h:
        for key in list(h.data):
            if key.lower()[:3] not in WEEKDAYS:
                h.used.add(key)
                h.problem(key, "is not a weekday (mon … sun)")
                continue
            value = h.raw(key)
            if not (isinstance(value, list) and len(value) == 2):
                h.problem(key, f"{show(value)} must be [\"08:00\", \"17:00\"]")
                continue
            pair = Reader({"open": value[0], "close": value[1]}, h.source, h.where(key), h.problems)
            opens, closes = pair.time("open"), pair.time("close")
            if opens and closes:
                if closes <= opens:
                    h.problem(key, f"closes {closes:%H:%M} before it opens {opens:%H:%M}")
                else:
                    hours[WEEKDAYS.index(key.lower()[:3]) + 1] = (opens, closes)
        h.done()
    ch.done()
    if count is None:
        return None
    return Unit(chairs=count, hours=hours, slot_minutes=slot or 15, nurse_starts_per_slot=nurse,
                make_up_hours=make_up)


def _check_country(r: Reader, country: str, subdivision: str | None) -> None:
    from picture_schedule.core.clinic import ClinicCalendar

    try:
        ClinicCalendar(country=country, subdivision=subdivision)
    except ScheduleError as exc:
        name = "subdivision" if exc.field and exc.field.endswith("subdivision") else "country"
        r.problem(name, exc.message)


def check_zone(r: Reader, name: str, zone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(name, f"{zone!r} is not an IANA time zone (e.g. Asia/Shanghai, Europe/London)")
