"""The schedule brief stored beside each feed (roster/summary.py) tells the feed's story."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

from tests.conftest import ROOT


def _roster(tmp_path):
    from picture_schedule.roster.store import Roster

    for name in ("course-example.toml", "site-nanjing.toml"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    return Roster(tmp_path / "roster.sqlite3")


def _stored(tmp_path, patient="PIC-001"):
    from picture_schedule.roster.summary import parse_summary

    with sqlite3.connect(tmp_path / "roster.sqlite3") as conn:
        found = conn.execute("SELECT b.summary FROM briefs b JOIN patients p ON p.id = b.patient_id "
                             "WHERE p.patient = ?", (patient,)).fetchone()
    return parse_summary(found[0]) if found else None


def test_the_brief_matches_the_schedule(tmp_path):
    from picture_schedule.core.model import Kind, Status
    from picture_schedule.core.scheduler import schedule

    roster = _roster(tmp_path)
    roster.add(tmp_path / "course-example.toml", by="t")
    brief = _stored(tmp_path)
    expanded = schedule(roster.course("PIC-001"))
    assert [(c.number, c.day1) for c in brief.cycles] == [(c.number, c.day1) for c in expanded.cycles]
    infusion_days = sorted({e.date for e in expanded.events if e.kind is Kind.INFUSION and e.status is not Status.CANCELLED})
    assert [a.day for a in brief.appointments if a.kind == "infusion"] == infusion_days
    assert brief.end == expanded.end
    # by hand: the example starts on Monday 2026-12-07; its cycle 3 is delayed 7 days (its own change)
    assert brief.cycles[0].day1 == dt.date(2026, 12, 7) and brief.cycles[1].day1 == dt.date(2026, 12, 28)
    assert brief.current_cycle(dt.date(2026, 12, 6)) is None
    assert brief.current_cycle(dt.date(2026, 12, 27)).number == 1
    assert brief.next_appointment(dt.date(2026, 12, 8)).day > dt.date(2026, 12, 8)
    roster.close()


def test_a_change_rewrites_the_brief(tmp_path):
    from picture_schedule.core.model import Change

    roster = _roster(tmp_path)
    roster.add(tmp_path / "course-example.toml", by="t")
    before = _stored(tmp_path).cycles
    roster.change("PIC-001", Change(cycle=2, reason="neutrophils", delay_days=7, by="nurse"))
    after = _stored(tmp_path).cycles
    assert after[1].day1 == before[1].day1 + dt.timedelta(days=7)
    assert after[0] == before[0]
    roster.close()


def test_migration_5_marks_older_feeds_for_re_rendering(tmp_path):
    from picture_schedule.roster.migrations import MIGRATIONS, migrate

    conn = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    assert migrate(conn, MIGRATIONS[:4]) == 4
    conn.execute("INSERT INTO patients (id, patient, course_text, file_name, added_at, changed_at) "
                 "VALUES (1, 'P', 'x', 'p.toml', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
    conn.execute("INSERT INTO feeds (patient_id, body, etag, last_modified, max_age, renderer) "
                 "VALUES (1, x'00', '\"e\"', '2026-01-01T00:00:00Z', 3600, 'abc')")
    assert migrate(conn) == 5
    assert conn.execute("SELECT renderer FROM feeds").fetchone() == ("",)
    assert conn.execute("SELECT count(*) FROM briefs").fetchone() == (0,)
    conn.close()


def test_a_feed_without_a_brief_gets_one_at_the_next_refresh(tmp_path):
    roster = _roster(tmp_path)
    roster.add(tmp_path / "course-example.toml", by="t")
    with sqlite3.connect(tmp_path / "roster.sqlite3") as conn:
        conn.execute("DELETE FROM briefs")
        conn.execute("UPDATE feeds SET renderer = ''")  # as migration 5 leaves a v4 feed
    assert _stored(tmp_path) is None
    assert roster.refresh() == 0  # the feed's bytes are the same: only its brief is filled in
    assert _stored(tmp_path) is not None and len(_stored(tmp_path).cycles) == 6
    roster.close()
