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
def paired_split(losses, paired, no_move, worst, scan):  # type: ignore[no-untyped-def]
    """``(time risk, vol risk, price risk)`` of a scan risk, summing to ``scan``.

    Parameters
    ----------
    losses : ndarray of float
        Scenario losses (settlement currency, loss positive).
    paired : ndarray of int
        Each scenario's opposite-vol pair, -1 where none.
    no_move : int
        The first scenario without a price move that has a pair (-1: none).
    worst : int
        The worst scenario.
    scan : float
        Scan risk (>= 0).
    """
    time_risk = 0.0
    if no_move >= 0:
        time_risk = 0.5 * (losses[no_move] + losses[paired[no_move]])
    vol_risk = 0.0
    if scan > 0.0 and paired[worst] >= 0:
        vol_risk = 0.5 * (losses[worst] - losses[paired[worst]])
    return time_risk, vol_risk, scan - time_risk - vol_risk


def no_move_scenario(
    *, price_move: NDArray[np.float64], price_shift: NDArray[np.float64], paired: NDArray[np.int64]
) -> int:
    """Index of the first scenario with no price move that has a pair, -1 if none (a grid property)."""
    found = np.flatnonzero((price_move == 0.0) & (price_shift == 0.0) & (paired >= 0))
    return int(found[0]) if found.size else -1
