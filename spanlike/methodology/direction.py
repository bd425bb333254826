"""Risk direction of a combined commodity, read from its scenario losses (methodology 6.1).

Whether two combined commodities hedge each other is a question about their
scenario losses, not about the sign of their net delta: a short-put,
short-call book can have a negative delta and still lose most in a crash,
and treating it as a hedge of a long book that also loses in a crash gives
credit where the risks add up.

The *directional share* of a commodity with loss vector ``L`` (settlement
currency, loss positive) is::

    down = max_j {L_j : scenario j moves the price down}
    up   = max_j {L_j : scenario j moves the price up}
    w    = (down - up) / (|down| + |up|)         (0 when both are 0)

``w`` lies in [-1, 1]: +1 when the commodity loses on falls and gains on
rises (a long future), -1 the reverse, near 0 when it loses about as much
either way (a short straddle), so a book that is not directional offers no
directional offset. For a linear book (futures and perpetuals of one
underlying) ``down`` and ``up`` have opposite signs and ``w`` is exactly
``sign(net delta)`` (the division is of two equal sums), so linear books
keep the delta-sign rule bit for bit. ``w`` moves continuously with the
book: adding a position never flips a commodity from hedge to non-hedge in
one step.

Rules written here are the single home of each formula: the engine calls
their Python form (``.py_func``), the batch kernels inline the compiled one.
"""

from __future__ import annotations

import math

from spanlike.risk_arrays._numba import njit_inline

__all__ = ["directional_share", "offsetting_delta"]


@njit_inline
def directional_share(losses, side, n):  # type: ignore[no-untyped-def]
    """Directional share ``w`` in [-1, 1] of a loss vector (see module notes).

    Parameters
    ----------
    losses : ndarray of float, shape (>= n,)
        Scenario losses, settlement currency, loss positive; only the first
        ``n`` are read.
    side : ndarray of int, shape (>= n,)
        Price side of each scenario: -1 down, +1 up, 0 no price move.
    n : int
        Number of scenarios.

    Returns
    -------
    float
        +1 loses on falls only, -1 on rises only, 0 not directional (or no
        scenario on one side).
    """
    down = -math.inf
    up = -math.inf
    for j in range(n):
        s = side[j]
        x = losses[j]
        if s < 0:
            down = x if x > down else down
        elif s > 0:
            up = x if x > up else up
    if down == -math.inf or up == -math.inf:
        return 0.0
    scale = abs(down) + abs(up)
    if scale == 0.0:
        return 0.0
    return (down - up) / scale


@njit_inline
def offsetting_delta(available_delta, direction):  # type: ignore[no-untyped-def]
    """The delta a commodity offers to inter-commodity spreads, given its direction.

    A commodity's delta can offset another's only where it points the way its
    scenario losses do (a positive delta with losses on falls, ``w > 0``, or
    a negative one with losses on rises): the delta counts at
    ``available_delta x |w|`` then, and not at all when the two disagree.
    For linear books ``|w| = 1`` with the delta's sign, so the delta is
    unchanged.

    Parameters
    ----------
    available_delta : float
        Net delta left after intra-commodity spreads, underlying units.
    direction : float
        Directional share ``w`` of :func:`directional_share`.

    Returns
    -------
    float
        Same sign as ``available_delta`` or 0.
    """
    agree = direction if available_delta > 0.0 else (-direction if available_delta < 0.0 else 0.0)
    return available_delta * agree if agree > 0.0 else 0.0
