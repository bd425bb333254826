"""Form delta spreads between buckets in priority order (SPAN intra and inter spreads).

A bucket is a tier of one combined commodity (intra-commodity spreads) or a
whole combined commodity (inter-commodity spreads). Each spread has legs
``(bucket, delta_ratio, side)``; it forms where every side-A leg's remaining
net delta has one sign and every side-B leg's the opposite sign. The number of
spreads is ``min over legs of |delta| / ratio``; each leg's delta then moves
towards zero by ``count x ratio`` (delta consumed), so later spreads see only
what remains (CME pubspan "Intra Spreads", "Inter Spreads").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["SpreadLegs", "FormedCount", "form_spreads"]

# Deltas within this of zero are treated as flat: they come from sums of
# products and would otherwise form spreads of 1e-17 contracts.
_DELTA_EPS = 1e-12


@dataclass(frozen=True)
class SpreadLegs:
    """One spread definition over bucket indices.

    Attributes
    ----------
    buckets : tuple of int
        Index of each leg's bucket in the delta vector.
    ratios : tuple of float
        Delta ratio per leg (> 0).
    sides : tuple of int
        +1 for side A, -1 for side B.
    """

    buckets: tuple[int, ...]
    ratios: tuple[float, ...]
    sides: tuple[int, ...]


@dataclass(frozen=True)
class FormedCount:
    """How many of spread ``spread`` formed and which way (``a_sign`` of side A's delta)."""

    spread: int
    count: float
    a_sign: int
    consumed: tuple[float, ...]


def form_spreads(
    *, deltas: NDArray[np.float64], spreads: Sequence[SpreadLegs]
) -> tuple[list[FormedCount], NDArray[np.float64]]:
    """Form ``spreads`` in the given (priority) order from net ``deltas``.

    Parameters
    ----------
    deltas : ndarray, shape (n_buckets,)
        Net delta of each bucket, underlying-equivalent units. Not modified.
    spreads : sequence of SpreadLegs
        Already sorted by priority.

    Returns
    -------
    formed : list of FormedCount
        Spreads with a positive count, in order; ``consumed[k]`` is the
        absolute delta taken from leg ``k``.
    remaining : ndarray, shape (n_buckets,)
        Deltas left after all spreads.
    """
    remaining = np.array(deltas, dtype=np.float64, copy=True)
    remaining[np.abs(remaining) < _DELTA_EPS] = 0.0
    formed: list[FormedCount] = []
    for s_index, spread in enumerate(spreads):
        for a_sign in (1, -1):
            ok = True
            count = np.inf
            for bucket, ratio, side in zip(spread.buckets, spread.ratios, spread.sides):
                d = remaining[bucket]
                if d == 0.0 or np.sign(d) != a_sign * side:
                    ok = False
                    break
                count = min(count, abs(d) / ratio)
            if not ok or not np.isfinite(count) or count <= 0.0:
                continue
            consumed = []
            for bucket, ratio in zip(spread.buckets, spread.ratios):
                take = count * ratio
                d = remaining[bucket]
                new = d - np.sign(d) * take
                # The binding leg lands on zero up to rounding; snap it so it cannot form again.
                if abs(new) < _DELTA_EPS * max(1.0, abs(d)):
                    new = 0.0
                remaining[bucket] = new
                consumed.append(take)
            formed.append(FormedCount(spread=s_index, count=float(count), a_sign=a_sign, consumed=tuple(consumed)))
            break  # only one orientation can match: the signs are fixed now
    return formed, remaining
