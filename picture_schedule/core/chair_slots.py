"""One day's chairs while a day is planned: when each chair is free, and how many infusions start
in each slot. The bookkeeping under :func:`picture_schedule.core.chair_plan.plan`; pure, integers
only (minutes from opening, chairs numbered from 0).

Glossary
--------
Tail
    The minute from which a chair is free until closing (``free_from``).
Hole
    A free stretch of a chair *before* its tail, left when a visit was booked at its planned time
    later than the chair's tail. Later visits may still fill it.

Why a tail per chair and a few holes are enough: a visit placed by earliest fit starts on the
first grid slot at or after the earliest tail that has a free start (nurse limit), or earlier in
a hole. Every grid start it skipped is full, and slot counts only grow, so the gap it leaves
behind on its chair can never take a later start: it is not kept. Only a booking at a planned
time leaves a gap that later visits can use, and only those gaps are kept as holes. Without
planned times there are no holes, and a fit costs one pass over the chairs (``min`` and a scan).
"""

from __future__ import annotations

NURSE_LIMIT = "nurse-limit"  # the slot of the start has its nurse limit of starts
BUSY = "busy"  # no chair is free for the whole visit from the start
NO_CHAIR = "no-chair"  # earliest fit: no chair free in time
NO_CHAIR_NURSE_LIMIT = "no-chair-nurse-limit"  # earliest fit: chairs free, but no slot with a free start


class DayChairs:
    """The chairs of one day, ``span`` minutes long, with starts on a ``slot``-minute grid and at
    most ``limit`` starts a slot (None: no limit)."""

    __slots__ = ("free_from", "holes", "hole_max", "limit", "slot", "span", "starts")

    def __init__(self, chairs: int, span: int, slot: int, limit: int | None) -> None:
        self.span = span
        self.slot = slot
        self.limit = limit
        self.free_from = [0] * chairs  # each chair's tail
        self.holes: dict[int, list[tuple[int, int]]] = {}  # chair → free [low, high) before its tail, by low
        self.hole_max = 0  # no hole is longer than this (holes only shrink)
        self.starts = [0] * (span // slot + 1)  # infusions started per slot

    def _slot_full(self, start: int) -> bool:
        return self.limit is not None and self.starts[start // self.slot] >= self.limit

    def _free(self, chair: int, start: int, end: int) -> bool:
        if self.free_from[chair] <= start:
            return True
        return any(low <= start and end <= high for low, high in self.holes.get(chair, ()))

    def free_at(self, start: int, need: int, prefer: int | None = None) -> int | str:
        """The chair free for ``need`` minutes from ``start`` (any minute, on the grid or not):
        ``prefer`` if it is, else the lowest-numbered one; or why there is none (NURSE_LIMIT, BUSY).
        The caller checks that the visit lies within opening hours."""
        if self._slot_full(start):
            return NURSE_LIMIT
        end = start + need
        if start < min(self.free_from) and (not self.holes or need > self.hole_max):
            return BUSY
        if prefer is not None and 0 <= prefer < len(self.free_from) and self._free(prefer, start, end):
            return prefer
        for chair in range(len(self.free_from)):
            if self._free(chair, start, end):
                return chair
        return BUSY

    def earliest(self, need: int) -> tuple[int, int] | str:
        """(start, chair) of the earliest grid start at which a chair is free for ``need`` minutes,
        with a free start in its slot and ending by closing; among the chairs free then, the
        lowest-numbered one. Or why there is none (NO_CHAIR, NO_CHAIR_NURSE_LIMIT)."""
        slot, latest = self.slot, self.span - need
        best: tuple[int, int] | None = None
        why = NO_CHAIR
        start = -(-min(self.free_from) // slot) * slot
        if start <= latest:
            index = start // slot
            if self.limit is not None:
                while index * slot <= latest and self.starts[index] >= self.limit:
                    index += 1
            if index * slot <= latest:
                start = index * slot
                for chair, free in enumerate(self.free_from):
                    if free <= start:
                        best = (start, chair)
                        break
            else:
                why = NO_CHAIR_NURSE_LIMIT
        if self.holes and need <= self.hole_max:
            for chair, gaps in self.holes.items():
                for low, high in gaps:
                    candidate = -(-low // slot) * slot
                    if best is not None and (candidate, chair) > best:
                        break  # this chair's later holes start later still
                    while candidate + need <= high and self._slot_full(candidate):
                        candidate += slot
                    if candidate + need <= high:
                        if best is None or (candidate, chair) < best:
                            best = (candidate, chair)
                        break
        return best if best is not None else why

    def take(self, chair: int, start: int, need: int, *, planned: bool = False) -> None:
        """Book ``chair`` for ``need`` minutes from ``start``. ``planned``: at a planned time, so the
        free minutes left before it on the chair are kept for later visits (see the module's notes)."""
        end = start + need
        tail = self.free_from[chair]
        if tail <= start:
            if planned and start > tail:
                self.holes.setdefault(chair, []).append((tail, start))
                self.hole_max = max(self.hole_max, start - tail)
            self.free_from[chair] = end
        else:
            gaps = self.holes[chair]
            at = next(k for k, (low, high) in enumerate(gaps) if low <= start and end <= high)
            low, high = gaps[at]
            kept = [(low, start)] if planned and start > low else []
            if high > end:
                kept.append((end, high))
            gaps[at:at + 1] = kept
            if not gaps:
                del self.holes[chair]
        self.starts[start // self.slot] += 1
