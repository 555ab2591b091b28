"""`picture-schedule staff`: accounts for the web page, from the command line (issue 13)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.web_support import fast_hashing  # noqa: F401  (fixture)


@pytest.fixture
def db(tmp_path, fast_hashing):
    return tmp_path / "roster.sqlite3"


def test_add_list_disable_password(cli, db):
    added = cli("staff", "add", "li.na", "--role", "nurse", "--db", db, "--password-stdin",
                input="a long enough password\n")
    assert added.exit_code == 0, added.output
    assert added.output == "Added li.na (nurse).\n"
    assert "a long enough password" not in added.output
    cli("staff", "add", "wang", "--role", "coordinator", "--lang", "zh-CN", "--db", db, "--password-stdin",
        input="another password\n")
    listed = cli("staff", "list", "--db", db)
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["user", "role", "language", "created", "(UTC)", "state"]
    assert lines[1].split()[:3] == ["li.na", "nurse", "en"] and lines[1].endswith("active")
    assert lines[2].split()[:3] == ["wang", "coordinator", "zh-CN"]
    assert cli("staff", "disable", "li.na", "--db", db).exit_code == 0
    assert "disabled" in cli("staff", "list", "--db", db).output.splitlines()[1]
    changed = cli("staff", "password", "li.na", "--db", db, "--password-stdin", input="a brand new password\n")
    assert changed.exit_code == 0
    assert cli("staff", "list", "--db", db).output.splitlines()[1].endswith("active")

    from picture_schedule.roster.staff import authenticate
    from picture_schedule.roster.store import Roster

    with Roster(db) as roster:
        assert authenticate(roster, "li.na", "a brand new password", "test") is not None
        assert authenticate(roster, "LI.NA", "a long enough password", "test") is None  # the old one is gone


def test_the_password_prompt_asks_twice_and_never_echoes(cli, db):
    result = cli("staff", "add", "zhao", "--role", "viewer", "--db", db,
                 input="first password!\nsecond password\nfirst password!\nfirst password!\n")
    assert result.exit_code == 0, result.output
    assert "first password!" not in result.output and "second password" not in result.output
    assert "do not match" in result.output.lower() or "match" in result.output.lower()


@pytest.mark.parametrize("args, stdin, message", [
    (["add", "li", "--role", "nurse", "--password-stdin"], "short\n", "Error: password: a password has 10–200 characters (this one has 5)"),
    (["add", "li na", "--role", "nurse", "--password-stdin"], "a long enough password\n", "Error: USER: 'li na' is not a user name"),
    (["add", "li", "--role", "doctor"], "a long enough password\n", "Invalid value for '--role'"),
    (["disable", "nobody"], "", "Error: USER: no account 'nobody' (see: picture-schedule staff list)"),
    (["password", "nobody", "--password-stdin"], "a long enough password\n", "Error: USER: no account 'nobody'"),
])
def test_mistakes_are_one_line_and_exit_2(cli, db, args, stdin, message):
    cli("staff", "add", "seed", "--role", "viewer", "--db", db, "--password-stdin", input="seed password 1\n")
    result = cli("staff", *args, "--db", db, input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_name_is_taken_whatever_its_case(cli, db):
    cli("staff", "add", "Li", "--role", "nurse", "--db", db, "--password-stdin", input="a long enough password\n")
    again = cli("staff", "add", "li", "--role", "viewer", "--db", db, "--password-stdin", input="a long enough password\n")
    assert again.exit_code == 2
    assert "there is already an account 'li'" in again.output


def test_accounts_are_journalled_and_hashed(cli, db):
    cli("staff", "add", "li", "--role", "nurse", "--db", db, "--password-stdin", input="a long enough password\n")
    cli("staff", "disable", "li", "--db", db)
    with sqlite3.connect(db) as conn:
        actions = [row[0] for row in conn.execute("SELECT action FROM journal ORDER BY id")]
        stored = conn.execute("SELECT password_hash FROM staff").fetchone()[0]
    assert actions == ["staff-add", "staff-disable"]
    assert stored.startswith("$argon2id$") and "a long enough password" not in stored


def test_list_without_accounts_says_how_to_add_one(cli, db):
    cli("staff", "add", "x", "--role", "viewer", "--db", db, "--password-stdin", input="a long enough password\n")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM staff")
    assert "No account yet" in cli("staff", "list", "--db", db).output


def test_bare_staff_prints_its_help(cli):
    result = cli("staff")
    assert result.exit_code == 0 and "add" in result.output and "disable" in result.output


def test_web_on_a_missing_roster_says_how_to_start_one(cli, tmp_path):
    result = cli("web", "--db", tmp_path / "new.sqlite3")
    assert result.exit_code == 2
    assert "no such roster: start one by adding a staff account (picture-schedule staff add USER --role nurse" \
        in result.output
    assert not (tmp_path / "new.sqlite3").exists()
