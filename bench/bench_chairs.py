"""Benchmark the chair planner on synthetic cohorts.

    python bench/bench_chairs.py

Cohorts are generated deterministically (random.Random(seed)): each patient starts
on a weekday of 2027 and has 6 cycles of 21 days, a cycle sometimes delayed by a
week. Chair time: cycle 1 is 240 min (tislelizumab 60 + oxaliplatin 120 +
preparation 30 + observation 30); later cycles 195 min (30 + 120 + 30 + 15); 5 % of
visits have oxaliplatin extended to 6 h (480 or 435 min). Unit: Monday–Friday 08:00–18:00,
15-min slots, at most one start per slot per 10 chairs, 40 chairs; with 10,000 patients 40 chairs
are heavily over capacity on purpose (every visit must still be accounted for), so
10,000 patients also run on 200 chairs (the busiest day asks for 192 chairs × 10 h).
Timings are the best of three runs.
"""

from __future__ import annotations

import random
import sys
import time as clock
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from picture_schedule.core.chair_plan import Appointment, Unit, plan, suggest  # noqa: E402

T = TypeVar("T")
YEAR = date(2027, 1, 1)


def unit(chairs: int) -> Unit:
    return Unit(
        chairs=chairs,
        hours={weekday: (time(8), time(18)) for weekday in range(1, 6)},
        slot_minutes=15,
        nurse_starts_per_slot=chairs // 10,
    )


def weekday_on_or_after(day: date) -> date:
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def chair_minutes(cycle: int, rng: random.Random) -> int:
    oxaliplatin = 360 if rng.random() < 0.05 else 120
    return (60 + oxaliplatin + 30 + 30) if cycle == 1 else (30 + oxaliplatin + 30 + 15)


def cohort(patients: int, seed: int = 2027) -> list[Appointment]:
    rng = random.Random(seed)
    appointments = []
    for number in range(1, patients + 1):
        day = weekday_on_or_after(YEAR + timedelta(days=rng.randrange(365)))
        for cycle in range(1, 7):
            appointments.append(Appointment(f"S{number:05d}", cycle, day, chair_minutes(cycle, rng), "PICTURE"))
            day += timedelta(days=21 + (7 if rng.random() < 0.1 else 0))
    return appointments


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    timings = []
    for _ in range(runs):
        began = clock.perf_counter()
        result = work()
        timings.append(clock.perf_counter() - began)
    return min(timings), result


def newcomer(start: date) -> list[Appointment]:
    if start.isoweekday() > 5:
        return []
    return [Appointment("NEW", n, start + timedelta(days=21 * (n - 1)), 240 if n == 1 else 195) for n in range(1, 7)]


def main() -> None:
    for patients, chairs in ((1_000, 40), (10_000, 40), (10_000, 200)):
        appointments = cohort(patients)
        settings = unit(chairs)
        label = f"{patients} patients" + ("" if chairs == 40 else f", {chairs} chairs")
        seconds, result = best_of(3, lambda: plan(appointments, settings, progress=lambda n: None))
        print(f"chairs plan {label}: {seconds:.2f} s ({len(appointments)} appointments)")
        print(
            f"  booked {len(result.bookings)}, unplaced {len(result.unplaced)}, "
            f"days {len(result.days)}, over capacity {len(result.over_capacity_days)}"
        )
        earliest = date(2027, 6, 1)
        seconds, found = best_of(3, lambda: suggest(appointments, settings, newcomer, earliest, 5))
        starts = ", ".join(s.start.isoformat() for s in found) or "none within 366 days"
        print(f"chairs suggest 5 starts, {label}: {seconds:.2f} s ({starts})")


if __name__ == "__main__":
    main()
