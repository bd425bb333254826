"""Scan risk, its worst scenario and the paired-scenario split (methodology 3).

* worst scenario: the first maximum of the loss vector (CME scans in scenario
  order, so ties go to the lowest index);
* scan risk ``max(0, L_worst)``;
* time risk ``(L_a + L_b) / 2`` over the no-move pair ``a``/``b``; vol risk
  ``(L_worst - L_paired(worst)) / 2`` (0 when the worst scenario has no pair,
  e.g. an extreme move); price risk = scan - time - vol.

Written once for every driver: the engine and the SPAN-file path call the
compiled functions, the batch kernels inline them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spanlike.risk_arrays._numba import njit_inline

__all__ = ["worst_scenario", "paired_split", "no_move_scenario"]


@njit_inline
def worst_scenario(losses, n):  # type: ignore[no-untyped-def]
    """First maximum of ``losses[:n]``: ``(index, loss)``, settlement currency.

    Value and index are carried together so that the comparison compiles to
    selects rather than a branch on random data.
    """
    worst = 0
    best = losses[0]
    for j in range(1, n):
        v = losses[j]
        better = v > best
        best = v if better else best
        worst = j if better else worst
    return worst, best


@njit_inline
def paired_split(losses, no_move, no_move_pair, worst, worst_pair, scan):  # type: ignore[no-untyped-def]
    """``(time risk, vol risk, price risk)`` of a scan risk, summing to ``scan``.

    Time risk is the mean loss of the no-move pair (the two scenarios without a
    price move, vol up and down), vol risk half the difference between the worst
    scenario and its opposite-vol pair, price risk the rest.

    Parameters
    ----------
    losses : ndarray of float
        Scenario losses (settlement currency, loss positive).
    no_move : int
        The first scenario without a price move that has a pair (-1: none; no time risk).
    no_move_pair : int
        Its opposite-vol pair (not read when ``no_move`` is -1).
    worst : int
        The worst scenario.
    worst_pair : int
        The worst scenario's opposite-vol pair, -1 where none (no vol risk).
    scan : float
        Scan risk (>= 0).

    The pair indices come as scalars, not as the pairing array: the batch kernels would
    otherwise make a view of their scenario table per commodity and account, and each view
    costs the account loop a reference-count pair.
    """
    time_risk = 0.0
    if no_move >= 0:
        time_risk = 0.5 * (losses[no_move] + losses[no_move_pair])
    vol_risk = 0.0
    if scan > 0.0 and worst_pair >= 0:
        vol_risk = 0.5 * (losses[worst] - losses[worst_pair])
    return time_risk, vol_risk, scan - time_risk - vol_risk


def no_move_scenario(
    *, price_move: NDArray[np.float64], price_shift: NDArray[np.float64], paired: NDArray[np.int64]
) -> int:
    """Index of the first scenario with no price move that has a pair, -1 if none (a grid property)."""
    found = np.flatnonzero((price_move == 0.0) & (price_shift == 0.0) & (paired >= 0))
    return int(found[0]) if found.size else -1
