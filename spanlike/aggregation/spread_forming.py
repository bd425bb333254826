"""Delta spreads formed in priority order over a ladder, as records (SPAN intra and inter spreads).

The rule itself (which spreads form, their count, what they consume) is
:func:`spanlike.methodology.spreads.form_spread`; this module applies it to a
list of spread definitions and keeps what formed for the result.

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.methodology.spreads import flat_delta, form_spread

__all__ = ["SpreadLegs", "FormedCount", "form_spreads"]

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

    Each spread is the rule :func:`spanlike.methodology.spreads.form_spread`
    (the batch kernels inline the same function).

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
    remaining = np.array([flat_delta.py_func(float(d)) for d in np.asarray(deltas, dtype=np.float64)])
    formed: list[FormedCount] = []
    for s_index, spread in enumerate(spreads):
        n = len(spread.buckets)
        taken = np.zeros(n)
        sign_before = float(np.sign(remaining[spread.buckets[0]])) * spread.sides[0]
        count = form_spread.py_func(
            remaining, np.asarray(spread.buckets, dtype=np.int64), np.asarray(spread.ratios, dtype=np.float64),
            np.asarray(spread.sides, dtype=np.int64), n, taken,
        )
        if count > 0.0:
            formed.append(FormedCount(spread=s_index, count=float(count), a_sign=int(sign_before),
                                      consumed=tuple(float(t) for t in taken)))
    return formed, remaining
