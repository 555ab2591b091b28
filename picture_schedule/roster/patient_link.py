"""Which patient a link opens: the patient's own page (``/p/<token>``) finds its patient here.

The roster keeps a token only as its SHA-256 (:func:`~picture_schedule.roster.tokens.token_hash`),
so the look-up is by hash, exactly as :meth:`Roster.feed` finds a feed: a link opens the page when,
and only when, it opens the feed. An unknown token, an old token replaced by a new link, and a
removed patient's token all give None, and the caller cannot tell which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picture_schedule.roster.tokens import TOKEN_PATTERN, token_hash

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


def patient_for_token(roster: Roster, token: str) -> str | None:
    """The study number whose current link carries ``token``, or None (unknown, rotated or removed)."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None
    with roster._guard():
        row = roster._conn().execute(
            "SELECT p.patient FROM tokens t JOIN feeds f ON f.patient_id = t.patient_id "
            "JOIN patients p ON p.id = t.patient_id WHERE t.token_hash = ? AND p.removed_at IS NULL",
            (token_hash(token),)).fetchone()
    return str(row["patient"]) if row is not None else None
