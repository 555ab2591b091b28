"""Staff accounts of the unit's web page: who may log in, with which role, and failed logins.

Passwords are kept as Argon2id hashes (argon2-cffi), never as text. A role says what a person may
do: a **viewer** reads; a **nurse** also enrols, records changes, prints and makes new links; a
**coordinator** also books chairs. Disabling an account, changing its password or logging out ends
its sessions (the session epoch rises). Failed logins are counted per user name and per address: after
:data:`MAX_FAILURES` in :data:`LOCKOUT` no password is checked until the oldest failure ages out.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from picture_schedule.errors import InputError, RosterError

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster

ROLES = ("viewer", "nurse", "coordinator")  # each may do all that the ones before it may
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
PASSWORD_MIN = 10
PASSWORD_MAX = 200
MAX_FAILURES = 5  # per user name within LOCKOUT
MAX_ADDRESS_FAILURES = 20  # per address within LOCKOUT, whichever names it tried
LOCKOUT = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    role: str
    language: str
    created_at: str
    disabled_at: str | None
    epoch: int

    def may(self, role: str) -> bool:
        """Whether this member has ``role`` or a role above it."""
        return self.disabled_at is None and ROLES.index(self.role) >= ROLES.index(role)


class Throttled(RosterError):
    """Too many failed logins: no password is checked until ``until``."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"too many failed logins: try again after {until:%H:%M} UTC")
        self.until = until


def _hasher():  # -> argon2.PasswordHasher; imported on first use (start-up stays lean)
    from argon2 import PasswordHasher

    return PasswordHasher()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise InputError(f"{username!r} is not a user name: 1–40 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit", source="USER")
    return username


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InputError(f"a password has {PASSWORD_MIN}–{PASSWORD_MAX} characters (this one has {len(password)})",
                         source="password")
    return password


def check_language(language: str, source: str = "--lang") -> str:
    from picture_schedule.core.model import LANGUAGES

    if language not in LANGUAGES:
        raise InputError(f"{language!r} is not a supported language ({', '.join(LANGUAGES)})", source=source)
    return language


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"{role!r} is not a role ({', '.join(ROLES)})", source="--role")
    return role


def _member(row: sqlite3.Row) -> StaffMember:
    return StaffMember(int(row["id"]), str(row["username"]), str(row["role"]), str(row["language"]),
                       str(row["created_at"]), row["disabled_at"], int(row["session_epoch"]))


_COLUMNS = "id, username, role, language, created_at, disabled_at, session_epoch"


def add_staff(roster: Roster, username: str, role: str, password: str, *, language: str = "en",
              by: str = "") -> StaffMember:
    """A new account; refused if the name is taken (whatever its case)."""
    check_username(username)
    check_role(role)
    check_password(password)
    check_language(language)
    hashed = _hasher().hash(password)
    with roster._write() as conn:
        if conn.execute("SELECT 1 FROM staff WHERE username = ?", (username,)).fetchone():
            raise InputError(f"there is already an account {username!r} (names ignore case)", source="USER")
        conn.execute("INSERT INTO staff (username, role, password_hash, language, created_at, created_by) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (username, role, hashed, language, _iso(roster.clock()), by))
        roster._journal(conn, None, "", "staff-add", roster.clock(), by, detail=f"{username} ({role})")
    return member(roster, username)


def members(roster: Roster) -> list[StaffMember]:
    with roster._guard():
        rows = roster._conn().execute(f"SELECT {_COLUMNS} FROM staff ORDER BY username").fetchall()
    return [_member(row) for row in rows]


def member(roster: Roster, username: str) -> StaffMember:
    found = find_member(roster, username)
    if found is None:
        raise InputError(f"no account {username!r} (see: picture-schedule staff list)", source="USER")
    return found


def find_member(roster: Roster, username: str) -> StaffMember | None:
    with roster._guard():
        row = roster._conn().execute(f"SELECT {_COLUMNS} FROM staff WHERE username = ?", (username,)).fetchone()
    return _member(row) if row else None


def member_by_id(roster: Roster, member_id: int) -> StaffMember | None:
    with roster._guard():
        row = roster._conn().execute(f"SELECT {_COLUMNS} FROM staff WHERE id = ?", (member_id,)).fetchone()
    return _member(row) if row else None


def disable(roster: Roster, username: str, *, by: str = "") -> None:
    """The account can no longer log in; its open sessions end at their next request."""
    target = member(roster, username)
    with roster._write() as conn:
        conn.execute("UPDATE staff SET disabled_at = coalesce(disabled_at, ?), session_epoch = session_epoch + 1 "
                     "WHERE id = ?", (_iso(roster.clock()), target.id))
        roster._journal(conn, None, "", "staff-disable", roster.clock(), by, detail=target.username)


def set_password(roster: Roster, username: str, password: str, *, by: str = "") -> None:
    """A new password (the account is enabled again); open sessions end."""
    target = member(roster, username)
    check_password(password)
    hashed = _hasher().hash(password)
    with roster._write() as conn:
        conn.execute("UPDATE staff SET password_hash = ?, disabled_at = NULL, session_epoch = session_epoch + 1 "
                     "WHERE id = ?", (hashed, target.id))
        conn.execute("DELETE FROM login_failures WHERE username = ?", (target.username,))
        roster._journal(conn, None, "", "staff-password", roster.clock(), by, detail=target.username)


def end_sessions(roster: Roster, member_id: int) -> None:
    """Every open session of the account ends (at logging out: a session is a signed cookie, so a copy
    of it left in a browser would otherwise keep working until it expires)."""
    with roster._write() as conn:
        conn.execute("UPDATE staff SET session_epoch = session_epoch + 1 WHERE id = ?", (member_id,))


def set_language(roster: Roster, member_id: int, language: str) -> None:
    check_language(language, "language")
    with roster._write() as conn:
        conn.execute("UPDATE staff SET language = ? WHERE id = ?", (language, member_id))


def authenticate(roster: Roster, username: str, password: str, address: str) -> StaffMember | None:
    """The member whose name and password these are, or None (unknown name, wrong password, disabled:
    the caller cannot tell which). Raises :class:`Throttled` after too many failures, before any
    password is checked. Each attempt is counted as a failure before its password is checked (in the
    same transaction as the count, so parallel guesses queue and cannot pass the limit); a success
    clears the name's failures."""
    now = roster.clock().astimezone(dt.UTC)
    since = _iso(now - LOCKOUT)
    name, where = username[:100], address[:100]
    with roster._write() as conn:
        for column, value, limit in (("username", name, MAX_FAILURES), ("address", where, MAX_ADDRESS_FAILURES)):
            count = conn.execute(f"SELECT count(*) AS n, min(at) AS first FROM login_failures "  # noqa: S608
                                 f"WHERE {column} = ? AND at > ?", (value, since)).fetchone()
            if count["n"] >= limit:
                first = dt.datetime.strptime(count["first"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
                raise Throttled(first + LOCKOUT)  # rolled back: a refused attempt is not counted
        conn.execute("INSERT INTO login_failures (username, address, at) VALUES (?, ?, ?)", (name, where, _iso(now)))
        row = conn.execute(f"SELECT {_COLUMNS}, password_hash FROM staff WHERE username = ?", (username,)).fetchone()
    ok = False
    hasher = _hasher()
    if row is not None:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            ok = hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        hasher.hash(password)  # the same work for an unknown name: timing does not tell names apart
    admitted = ok and row["disabled_at"] is None
    with roster._write() as conn:
        if admitted:
            conn.execute("DELETE FROM login_failures WHERE username = ?", (name,))
            if hasher.check_needs_rehash(row["password_hash"]):
                conn.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (hasher.hash(password), row["id"]))
        conn.execute("DELETE FROM login_failures WHERE at < ?", (_iso(now - 2 * LOCKOUT),))
    return _member(row) if admitted else None
