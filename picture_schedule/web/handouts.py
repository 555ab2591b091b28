"""New links between their making and their printing, held in this process's memory only.

The roster keeps only a hash of a feed token, so a link exists in clear just once: when enrolment
or "new link" makes it. The page that shows it also offers "print diary" (with the link's QR code);
that request finds the token here by a random handout id that is tied to the staff member who made
it. Handouts expire after :data:`HANDOUT_MINUTES` and are never written anywhere: a server restart
forgets them (the nurse then makes a new link).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

HANDOUT_MINUTES = 30


@dataclass(frozen=True)
class Handout:
    patient: str
    token: str
    member_id: int
    made: float  # time.monotonic()


class Handouts:
    """Thread-safe: waitress answers requests on several threads."""

    def __init__(self, minutes: int = HANDOUT_MINUTES) -> None:
        self._seconds = minutes * 60
        self._items: dict[str, Handout] = {}
        self._lock = threading.Lock()

    def put(self, patient: str, token: str, member_id: int) -> str:
        """Keep ``token`` for a while; returns the handout id (random; no part of the token)."""
        handout_id = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            # a newer link for the same patient replaces the older one: only the working link prints
            for key in [k for k, h in self._items.items() if h.patient == patient]:
                del self._items[key]
            self._items[handout_id] = Handout(patient, token, member_id, time.monotonic())
        return handout_id

    def get(self, handout_id: str, patient: str, member_id: int) -> str | None:
        """The token of ``handout_id`` if it is this patient's, made by this member, and not expired."""
        with self._lock:
            self._expire()
            found = self._items.get(handout_id)
        if found is None or found.patient != patient or found.member_id != member_id:
            return None
        return found.token

    def forget(self, patient: str) -> None:
        """Drop a patient's handouts (their link was rotated or they were removed)."""
        with self._lock:
            for key in [k for k, h in self._items.items() if h.patient == patient]:
                del self._items[key]

    def _expire(self) -> None:
        limit = time.monotonic() - self._seconds
        for key in [k for k, h in self._items.items() if h.made < limit]:
            del self._items[key]
