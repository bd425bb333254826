"""Scenario definitions as plain arrays, the input the revaluation kernels see.

A :class:`ScenarioArrays` is built from a parameter set's grid by
:mod:`spanlike.risk_arrays.grids`; kernels read only its arrays.

For contract ``i`` and scenario ``j`` the revaluation uses

* price: ``F'_ij = F_i * (1 + move_j) + price_shift_abs_j`` where ``move_j`` is
  ``price_move_option_j`` for options and ``price_move_future_j`` for futures
  (they differ only where a grid caps futures' extended moves at the edge);
* vol: ``sigma'_ij = max(sigma_i * (1 + vol_shift_rel_j * vol_scale_i) + vol_shift_abs_j, vol_floor_j)``
  with ``vol_scale_i`` the per-contract term scaling (1 for SPAN grids);
* time: ``T'_i = max(T_i - time_advance_years, 0)``;
* the risk-array cell is ``weight_j * (value_i(base) - value_i(scenario_j))``:
  positive = loss to one long unit, in the settlement currency.

Delta points: price moves ``delta_price_move_k`` (relative) and
``delta_price_shift_abs_k`` (absolute), vol unchanged, time advanced, weights
``delta_weight_k``; composite delta is the weighted mean of the deltas there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ScenarioArrays"]


@dataclass(frozen=True, eq=False)
class ScenarioArrays:
    """Per-scenario arrays of one grid (length ``m``) plus its delta points (length ``k``).

    Attributes
    ----------
    price_move_option, price_move_future : ndarray, shape (m,)
        Relative price move (0.16 = +16 %) applied to options / futures.
    price_shift_abs : ndarray, shape (m,)
        Absolute price move in USD added after the relative move.
    vol_shift_abs : ndarray, shape (m,)
        Absolute vol move (0.05 = +5 vol points).
    vol_shift_rel : ndarray, shape (m,)
        Relative vol move before term scaling (0.5 = +50 % of the vol).
    vol_floor : ndarray, shape (m,)
        Lowest scenario vol (a grid parameter, e.g. Deribit's minimum up-vol).
    weight : ndarray, shape (m,)
        Multiplier of the scenario's value (SPAN cover fraction, extended weight).
    time_advance_years : float
        Time that passes in every scenario, in years.
    labels : tuple of str, length m
        Human-readable scenario names ("price -16%, vol up").
    paired : ndarray of int, shape (m,)
        Index of the scenario with the same price move and opposite vol move,
        -1 where there is none (SPAN paired-scenario decomposition).
    is_extended : ndarray of bool, shape (m,)
        True for extended/extreme scenarios.
    delta_price_move, delta_price_shift_abs, delta_weight : ndarray, shape (k,)
        Delta points for composite delta.
    price_fraction : ndarray, shape (m,), or None
        Signed price move as a fraction of the grid's scan range (+1 = up by
        the whole price scan range, -1/3 = down by a third of it), or None
        for grids without a scan range (historical scenarios). The cross
        level's joint-move floor reads the +-1 scenarios from it.
    """

    price_move_option: NDArray[np.float64]
    price_move_future: NDArray[np.float64]
    price_shift_abs: NDArray[np.float64]
    vol_shift_abs: NDArray[np.float64]
    vol_shift_rel: NDArray[np.float64]
    vol_floor: NDArray[np.float64]
    weight: NDArray[np.float64]
    time_advance_years: float
    labels: tuple[str, ...]
    paired: NDArray[np.int64]
    is_extended: NDArray[np.bool_]
    delta_price_move: NDArray[np.float64]
    delta_price_shift_abs: NDArray[np.float64]
    delta_weight: NDArray[np.float64]
    price_fraction: NDArray[np.float64] | None = None

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios ``m``."""
        return int(self.weight.shape[0])

    @property
    def price_side(self) -> NDArray[np.int64]:
        """Side of the price grid per scenario: -1 price falls, +1 price rises, 0 no move."""
        move = np.sign(self.price_move_option) + np.sign(self.price_shift_abs)
        return np.sign(move).astype(np.int64)

    @property
    def vol_side(self) -> NDArray[np.int64]:
        """Direction of the vol move per scenario: -1 down, +1 up, 0 unchanged."""
        move = np.sign(self.vol_shift_rel) + np.sign(self.vol_shift_abs)
        return np.sign(move).astype(np.int64)
