"""Anti-procyclicality (APC) tools for scan ranges, in the style of EMIR RTS 153/2013 art. 28.

Article 28(1) asks a CCP to limit procyclicality with at least one of:
(a) a margin buffer of at least 25 % that may be temporarily exhausted when
margins rise significantly; (b) at least 25 % weight on stressed observations
in the look-back; (c) a floor at the margin from a ten-year look-back. CCPs
also cap the day-to-day change of published parameters. Each tool below is a
pure function of scan ranges (fractions of price, or vol points as decimals):

* :func:`floor_range`       ``max(current, floor)``                    (art. 28(1)(c))
* :func:`stressed_weighted`  ``(1 - w) current + w stressed``          (art. 28(1)(b), ``w >= 0.25`` there)
* :func:`buffered`          ``current * (1 + buffer * (1 - released))``  (art. 28(1)(a); ``released``
  in [0, 1] is the share of the buffer released in stress)
* :func:`capped_change`     ``clip(proposed, previous (1 - c), previous (1 + c))``

:func:`apply_anti_procyclicality` chains them in this order [our choice]:

1. ``v1 = max(raw, floor)`` (no floor: ``v1 = raw``);
2. ``v2 = v1 * (1 + buffer * (1 - released))``;
3. ``v3 = clip(v2, previous (1 - c), previous (1 + c))`` (no previous or no cap: ``v3 = v2``);
4. ``value = max(v3, floor)``: the cap never holds the range below the floor.

and reports which bounds bound. The cap is an intended, recorded limit, not a
silent clamp: the outcome keeps every intermediate value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from spanlike.calibration._validate import unit_interval
from spanlike.errors import InvalidInputError

__all__ = [
    "floor_range",
    "stressed_weighted",
    "buffered",
    "capped_change",
    "apply_anti_procyclicality",
    "APCOutcome",
]


def _positive(value: Any, *, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"{name} must be a positive finite number; got {value!r}.")
    return float(value)


def floor_range(*, current: float, floor: float) -> float:
    """``max(current, floor)``: the floor from a long look-back or a stressed period.

    Parameters
    ----------
    current : float
        Scan range from the current look-back, > 0.
    floor : float
        Scan range from the long (e.g. ten-year) look-back or the stressed period, > 0.
    """
    return max(_positive(current, name="current"), _positive(floor, name="floor"))


def stressed_weighted(*, current: float, stressed: float, weight: float = 0.25) -> float:
    """``(1 - weight) * current + weight * stressed`` (EMIR art. 28(1)(b): weight >= 0.25).

    Parameters
    ----------
    current, stressed : float
        Scan ranges from the current look-back and from the stressed period, > 0.
    weight : float
        Weight of the stressed range, in [0, 1].
    """
    w = unit_interval(weight, name="weight")
    return (1.0 - w) * _positive(current, name="current") + w * _positive(stressed, name="stressed")


def buffered(*, current: float, buffer: float = 0.25, released: float = 0.0) -> float:
    """``current * (1 + buffer * (1 - released))`` (EMIR art. 28(1)(a): buffer >= 0.25).

    Parameters
    ----------
    current : float
        Scan range before the buffer, > 0.
    buffer : float
        Buffer as a fraction of the range, in [0, 1] (0.25 = 25 %).
    released : float
        Share of the buffer released in stress, in [0, 1] (1 = fully exhausted).
    """
    b = unit_interval(buffer, name="buffer")
    r = unit_interval(released, name="released")
    return _positive(current, name="current") * (1.0 + b * (1.0 - r))


def capped_change(*, proposed: float, previous: float, max_change: float) -> float:
    """``clip(proposed, previous * (1 - max_change), previous * (1 + max_change))``.

    Parameters
    ----------
    proposed : float
        New scan range, > 0.
    previous : float
        Published range of the previous day, > 0.
    max_change : float
        Largest relative change per day, in (0, 1) (0.2 = 20 %).
    """
    c = unit_interval(max_change, name="max_change", closed_low=False, closed_high=False)
    p = _positive(previous, name="previous")
    return min(max(_positive(proposed, name="proposed"), p * (1.0 - c)), p * (1.0 + c))


@dataclass(frozen=True)
class APCOutcome:
    """Result of :func:`apply_anti_procyclicality` (steps in the module docstring).

    Attributes
    ----------
    value : float
        Final scan range.
    raw : float
        Scan range before APC.
    after_floor, after_buffer, after_cap : float
        ``v1``, ``v2``, ``v3``.
    floor : float or None
    previous : float or None
    binding : tuple of str
        Bounds that changed the value: ``"floor"`` (floor above raw),
        ``"buffer"``, ``"cap_up"`` / ``"cap_down"`` (cap limited a rise / a
        fall), ``"floor_over_cap"`` (the floor overrode the cap). Empty if
        APC changed nothing.
    """

    value: float
    raw: float
    after_floor: float
    after_buffer: float
    after_cap: float
    floor: float | None
    previous: float | None
    binding: tuple[str, ...]

    def describe(self) -> str:
        """One line for provenance: raw -> value and the bounds that bound."""
        bound = ", ".join(self.binding) if self.binding else "none"
        return f"raw {self.raw:.6g} -> {self.value:.6g} (bound: {bound})"


def apply_anti_procyclicality(
    *,
    raw: float,
    floor: float | None = None,
    buffer: float = 0.0,
    buffer_released: float = 0.0,
    previous: float | None = None,
    max_change: float | None = None,
) -> APCOutcome:
    """Floor, buffer and change cap applied in the documented order.

    Parameters
    ----------
    raw : float
        Calibrated scan range, > 0.
    floor : float, optional
        Floor (e.g. the same measure over ten years or a stressed period).
    buffer : float
        Buffer in [0, 1]; 0 = none.
    buffer_released : float
        Share of the buffer released, in [0, 1].
    previous : float, optional
        Previously published range; needed for ``max_change``.
    max_change : float, optional
        Largest relative day-to-day change, in (0, 1).

    Returns
    -------
    APCOutcome

    Raises
    ------
    InvalidInputError
        A value out of range, or ``max_change`` without ``previous``.
    """
    r = _positive(raw, name="raw")
    binding: list[str] = []
    v1 = r if floor is None else floor_range(current=r, floor=floor)
    if v1 > r:
        binding.append("floor")
    v2 = buffered(current=v1, buffer=buffer, released=buffer_released)
    if v2 != v1:
        binding.append("buffer")
    if max_change is None:
        v3 = v2
    else:
        if previous is None:
            raise InvalidInputError(
                "max_change caps the change from the previous scan range; pass previous= (the published "
                "range) or drop max_change."
            )
        v3 = capped_change(proposed=v2, previous=previous, max_change=max_change)
        if v3 < v2:
            binding.append("cap_up")
        elif v3 > v2:
            binding.append("cap_down")
    value = v3 if floor is None else max(v3, floor)
    if value > v3:
        binding.append("floor_over_cap")
    return APCOutcome(
        value=value,
        raw=r,
        after_floor=v1,
        after_buffer=v2,
        after_cap=v3,
        floor=None if floor is None else float(floor),
        previous=None if previous is None else float(previous),
        binding=tuple(binding),
    )
