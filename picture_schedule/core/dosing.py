"""Dose arithmetic: body-surface area, rounding rules, tablet combinations, BSA band tables.

Pure and exact. Every number a caller passes (a float from a TOML file, an int) is read as the
decimal it was written as (``Decimal(repr(x))``), and all rounding is done in `decimal`, so
``1.825`` rounds half up to ``1.83`` and never to ``1.82`` because of binary floating point.
Every clinical number comes from the arguments; impossible inputs raise `DoseError` naming the
field, the value and what is allowed. Nothing is ever clamped silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal, get_args

from picture_schedule.errors import DoseError

__all__ = [
    "BSA_FORMULAS",
    "BsaBand",
    "BsaFormula",
    "HEIGHT_RANGE_CM",
    "TabletDose",
    "WEIGHT_RANGE_KG",
    "band_dose",
    "body_surface_area",
    "capped_bsa",
    "check_bands",
    "deviation",
    "exceeds_threshold",
    "nearest_combination",
    "round_bsa",
    "round_to_step",
    "scaled_dose",
]

BsaFormula = Literal["mosteller", "dubois"]
BSA_FORMULAS: tuple[str, ...] = get_args(BsaFormula)

#: Inclusive plausibility ranges for adult body measures (outside them: `DoseError`, no clamp).
HEIGHT_RANGE_CM: tuple[int, int] = (100, 230)
WEIGHT_RANGE_KG: tuple[int, int] = (25, 250)

_PRECISION = 50  # significant digits for intermediate Decimal arithmetic
_CENT = Decimal("0.01")
_MAX_COMBINATIONS = 1_000_000  # guard against accidental explosion in nearest_combination


# --------------------------------------------------------------------------- helpers


def _dec(value: object, field: str) -> Decimal:
    """``value`` as the exact decimal it was written as; DoseError if it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise DoseError(f"{value!r} is not a number", field=field)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    else:
        if not math.isfinite(value):
            raise DoseError(f"{value!r} is not a finite number", field=field)
        result = Decimal(repr(value))
    if not result.is_finite():
        raise DoseError(f"{value!r} is not a finite number", field=field)
    return result


def _fmt(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: ``250``, ``99.9``, ``1.5``."""
    return format(value.normalize(), "f")


def _positive(value: object, field: str, *, allow_zero: bool = False) -> Decimal:
    result = _dec(value, field)
    if result < 0 or (result == 0 and not allow_zero):
        allowed = "0 or more" if allow_zero else "more than 0"
        raise DoseError(f"{_fmt(result)} is not allowed (must be {allowed})", field=field)
    return result


def _two_decimals(value: object, field: str) -> Decimal:
    """A BSA bound, which must be written with at most 2 decimals (1.27, not 1.265)."""
    result = _positive(value, field, allow_zero=True)
    if result != result.quantize(_CENT):
        raise DoseError(f"{_fmt(result)} has more than 2 decimals (BSA bands are in 0.01 m²)", field=field)
    return result


def _to_float_or_int(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# --------------------------------------------------------------------------- body-surface area


def body_surface_area(height_cm: float, weight_kg: float, formula: str = "mosteller") -> float:
    """Body-surface area in m², rounded half up to 2 decimals.

    Mosteller ``sqrt(h * w / 3600)``; Du Bois ``0.007184 * h**0.725 * w**0.425``. Height must be
    100–230 cm and weight 25–250 kg (inclusive); anything else is a `DoseError`, never a clamp.
    """
    if formula not in BSA_FORMULAS:
        raise DoseError(
            f"unknown BSA formula {formula!r} (allowed: {', '.join(BSA_FORMULAS)})", field="body.formula"
        )
    height = _measure(height_cm, "body.height_cm", HEIGHT_RANGE_CM, "cm")
    weight = _measure(weight_kg, "body.weight_kg", WEIGHT_RANGE_KG, "kg")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if formula == "mosteller":
            exact = (height * weight / Decimal(3600)).sqrt()
        else:
            exact = Decimal("0.007184") * height ** Decimal("0.725") * weight ** Decimal("0.425")
        return float(exact.quantize(_CENT, rounding=ROUND_HALF_UP))


def round_bsa(bsa_m2: float) -> float:
    """A BSA given directly (``body.bsa_m2``), rounded half up to 2 decimals like a computed one."""
    value = _positive(bsa_m2, "body.bsa_m2")
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _measure(value: float, field: str, bounds: tuple[int, int], unit: str) -> Decimal:
    result = _dec(value, field)
    low, high = bounds
    if not low <= result <= high:
        raise DoseError(f"{_fmt(result)} is outside {low}–{high} {unit}", field=field)
    return result


def capped_bsa(bsa: float, cap: float | None) -> float:
    """``bsa`` limited to ``cap`` m² when the site sets a cap (``None``: no cap)."""
    value = _positive(bsa, "bsa")
    if cap is None:
        return float(bsa)
    limit = _positive(cap, "settings.bsa_cap")
    return float(bsa) if value <= limit else float(cap)


def scaled_dose(per_m2: float, bsa: float) -> float:
    """``per_m2 * bsa`` in mg, computed exactly and rounded half up to 0.01 mg."""
    amount = _positive(per_m2, "dose.amount")
    area = _positive(bsa, "bsa")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return float((amount * area).quantize(_CENT, rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------- rounding and deviation


def round_to_step(mg: float, step: float = 5) -> int | float:
    """``mg`` rounded to the nearest multiple of ``step``; an exact half rounds UP.

    With step 5: 1222.4 → 1220, 1222.5 → 1225, 1227.5 → 1230. Returns an int when the result is a
    whole number, else a float (step 0.5: 12.25 → 12.5).
    """
    amount = _positive(mg, "mg", allow_zero=True)
    unit = _positive(step, "step")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        multiples = (amount / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return _to_float_or_int(multiples * unit)


def deviation(actual: float, calculated: float) -> float:
    """Signed fraction by which ``actual`` differs from ``calculated``: ``(actual - calculated) / calculated``."""
    given = _positive(actual, "actual", allow_zero=True)
    reference = _positive(calculated, "calculated")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return float((given - reference) / reference)


def exceeds_threshold(actual: float, calculated: float, threshold: float) -> bool:
    """Whether ``abs(deviation(actual, calculated)) > threshold`` (e.g. 0.05), compared exactly.

    A deviation exactly at the threshold does not exceed it.
    """
    given = _positive(actual, "actual", allow_zero=True)
    reference = _positive(calculated, "calculated")
    limit = _positive(threshold, "settings.dose_threshold", allow_zero=True)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return abs(given - reference) > limit * reference


# --------------------------------------------------------------------------- tablets


@dataclass(frozen=True)
class TabletDose:
    """One dose made of tablets: ``mg`` and ``((strength_mg, count), ...)``, larger strength first.

    Validated on construction: counts are positive, strengths strictly decreasing, and the tablets
    add up to ``mg`` exactly.
    """

    mg: int
    tablets: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        _check_tablets(self.mg, self.tablets, "tablets")

    def describe(self) -> str:
        """``"1650 mg = 3 × 500 mg + 1 × 150 mg"``."""
        parts = " + ".join(f"{count} \u00d7 {strength} mg" for strength, count in self.tablets)
        return f"{self.mg} mg = {parts}"

    @property
    def count(self) -> int:
        """Total number of tablets in the dose."""
        return sum(count for _, count in self.tablets)


def _check_tablets(mg: object, tablets: object, field: str) -> None:
    if isinstance(mg, bool) or not isinstance(mg, int) or mg <= 0:
        raise DoseError(f"dose {mg!r} mg must be a whole number of mg, more than 0", field=field)
    if not isinstance(tablets, tuple) or not tablets:
        raise DoseError(f"{mg} mg needs at least one (strength, count) pair", field=field)
    previous: int | None = None
    total = 0
    for pair in tablets:
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(_is_count(x) for x in pair)):
            raise DoseError(f"{pair!r} is not a (strength_mg, count) pair of positive whole numbers", field=field)
        strength, count = pair
        if previous is not None and strength >= previous:
            raise DoseError(
                f"strengths must be listed largest first, each once ({previous} mg then {strength} mg)", field=field
            )
        previous = strength
        total += strength * count
    if total != mg:
        made = " + ".join(f"{c} \u00d7 {s} mg" for s, c in tablets)
        raise DoseError(f"{made} makes {total} mg, not {mg} mg", field=field)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def nearest_combination(target_mg: float, strengths: Sequence[int] = (500, 150), max_tablets: int = 8) -> TabletDose:
    """The amount closest to ``target_mg`` made of ``strengths`` with 1 to ``max_tablets`` tablets.

    An exact tie between two amounts goes DOWN (the smaller amount). When one amount can be made in
    several ways, the fewest tablets win, then the most of the larger strengths.
    """
    target = _positive(target_mg, "target_mg")
    sizes = _check_strengths(strengths)
    if isinstance(max_tablets, bool) or not isinstance(max_tablets, int) or max_tablets < 1:
        raise DoseError(f"{max_tablets!r} is not allowed (a whole number, 1 or more)", field="max_tablets")
    if math.comb(max_tablets + len(sizes), len(sizes)) > _MAX_COMBINATIONS:
        raise DoseError(
            f"{len(sizes)} strengths with up to {max_tablets} tablets are too many combinations", field="max_tablets"
        )

    best_way: dict[int, tuple[int, ...]] = {}  # amount → counts, in order of `sizes` (largest first)
    for counts in _counts(len(sizes), max_tablets):
        if not any(counts):
            continue
        amount = sum(s * c for s, c in zip(sizes, counts))
        known = best_way.get(amount)
        if known is None or _way_key(counts) < _way_key(known):
            best_way[amount] = counts

    amount = min(best_way, key=lambda a: (abs(Decimal(a) - target), a))
    counts = best_way[amount]
    return TabletDose(amount, tuple((s, c) for s, c in zip(sizes, counts) if c))


def _check_strengths(strengths: Sequence[int]) -> tuple[int, ...]:
    if isinstance(strengths, (str, bytes)) or not strengths:
        raise DoseError("no tablet strengths given (e.g. [500, 150])", field="tablets")
    for strength in strengths:
        if not _is_count(strength):
            raise DoseError(f"tablet strength {strength!r} is not a whole number of mg, more than 0", field="tablets")
    if len(set(strengths)) != len(strengths):
        raise DoseError(f"tablet strengths {list(strengths)} list a strength twice", field="tablets")
    return tuple(sorted(strengths, reverse=True))


def _counts(slots: int, budget: int) -> Iterator[tuple[int, ...]]:
    """Every tuple of ``slots`` non-negative counts whose sum is at most ``budget``."""
    if slots == 0:
        yield ()
        return
    for first in range(budget + 1):
        for rest in _counts(slots - 1, budget - first):
            yield (first, *rest)


def _way_key(counts: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """Fewest tablets first, then most of the larger strengths (counts are largest-strength first)."""
    return (sum(counts), tuple(-c for c in counts))


# --------------------------------------------------------------------------- BSA band tables


@dataclass(frozen=True)
class BsaBand:
    """One row of a label's dose table: BSA from ``low`` to ``high`` m², both inclusive.

    Bounds have at most 2 decimals, the precision of a BSA. ``high=None`` means no upper bound
    (the label's "≥ 2.19" row); ``low=0`` stands for no lower bound (the "≤ 1.26" row). A table is
    contiguous: each band starts 0.01 m² after the previous one ends (see `check_bands`).
    """

    low: float
    high: float | None
    dose: TabletDose


def check_bands(bands: Sequence[BsaBand]) -> None:
    """Raise `DoseError` unless ``bands`` is a sorted, contiguous, non-overlapping, consistent table."""
    if not bands:
        raise DoseError("the BSA band table is empty", field="bands")
    previous_high: Decimal | None = None
    for index, band in enumerate(bands):
        where = f"bands[{index}]"
        if not isinstance(band, BsaBand):
            raise DoseError(f"{band!r} is not a BSA band", field=where)
        low = _two_decimals(band.low, f"{where}.low")
        high = None if band.high is None else _two_decimals(band.high, f"{where}.high")
        if high is not None and high < low:
            raise DoseError(f"band {_fmt(low)}–{_fmt(high)} m² ends before it starts", field=f"{where}.high")
        if high is None and index != len(bands) - 1:
            raise DoseError("only the last band may be open-ended (high = none)", field=f"{where}.high")
        if index > 0:
            assert previous_high is not None
            expected = previous_high + _CENT
            if low < expected:
                raise DoseError(
                    f"band starting at {_fmt(low)} m² overlaps or is out of order: "
                    f"the previous band ends at {_fmt(previous_high)} m²",
                    field=f"{where}.low",
                )
            if low > expected:
                raise DoseError(
                    f"gap between {_fmt(previous_high)} and {_fmt(low)} m²: this band should start at "
                    f"{_fmt(expected)} m²",
                    field=f"{where}.low",
                )
        _check_tablets(band.dose.mg, band.dose.tablets, f"{where}.dose")
        previous_high = high


def band_dose(bsa: float, bands: Sequence[BsaBand]) -> TabletDose:
    """The dose of the band that holds ``bsa`` (first rounded half up to 2 decimals).

    The table is checked with `check_bands` first; a BSA that no band covers is a `DoseError`.
    """
    check_bands(bands)
    area = _positive(bsa, "bsa").quantize(_CENT, rounding=ROUND_HALF_UP)
    for band in bands:
        low = _dec(band.low, "bands.low")
        high = None if band.high is None else _dec(band.high, "bands.high")
        if low <= area and (high is None or area <= high):
            return band.dose
    first, last = bands[0], bands[-1]
    span = f"{_fmt(_dec(first.low, 'low'))}–" + ("" if last.high is None else _fmt(_dec(last.high, "high")))
    raise DoseError(f"BSA {_fmt(area)} m² is outside the band table ({span} m²)", field="bsa")
