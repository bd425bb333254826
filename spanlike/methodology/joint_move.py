"""The joint-move floor of the cross level (methodology 6.2).

Inter-commodity credits and correlation offsets are formulas; the floor is
a loss that can happen. In a *joint scenario* every combined commodity of
the account moves by its own whole price scan range in the same direction
(all down or all up), with vol moved the same way in all of them. The floor
is::

    J_k   = sum_c usd_c x max_{j in joint(c, k)} L_c[j]        (USD)
    floor = max(0, weight x max_k J_k - NOV_usd)

where ``L_c`` is commodity ``c``'s scenario loss vector (settlement
currency), ``joint(c, k)`` its scenarios that belong to joint scenario ``k``
(its +-1 scan-range points with that vol move; every +-1 point of that side
when its grid has no such vol move, i.e. its worst vol there), and
``NOV_usd`` the account's net option value in USD over the commodities whose
requirement nets it (SPAN with ``net_option_value``), the same convention as
the requirement ``max(risk - NOV, 0)``: a long option's value already stands
as its margin, a short option's value is owed on top of the loss. Joint
scenarios that no grid of the universe has natively are not evaluated.

The account's cross-margined requirement is ``max(correlated total,
floor)``: never below the floor, never above the sum of the commodities'
stand-alone requirements (each ``L_c[j] - NOV_c`` is at most one of them).

Rules written here are the single home of each formula: the engine calls
their Python form (``.py_func``), the batch kernels inline the compiled one.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.params.errors import ParameterSetError
from spanlike.params.parameter_set import ParameterSet
from spanlike.risk_arrays._numba import njit_inline
from spanlike.risk_arrays.grids import scenario_arrays
from spanlike.risk_arrays.scenarios import ScenarioArrays

__all__ = ["N_JOINT", "JOINT_SLOTS", "JOINT_LABELS", "joint_masks", "parameter_set_joint_masks", "joint_index_table",
           "parameter_set_joint_index", "joint_move_floor"]

#: Joint scenarios: (price side, vol side) in this order; index k is bit k of a mask.
JOINT_SCENARIOS: tuple[tuple[int, int], ...] = ((-1, 1), (-1, 0), (-1, -1), (1, 1), (1, 0), (1, -1))
N_JOINT = len(JOINT_SCENARIOS)
#: Scenarios one grid may give a joint scenario (its vol moves at one +-1 scan-range point).
JOINT_SLOTS = 3
JOINT_LABELS: tuple[str, ...] = tuple(
    f"all underlyings {'down' if p < 0 else 'up'} by their price scan range, "
    f"vol {'up' if v > 0 else ('unchanged' if v == 0 else 'down')}"
    for p, v in JOINT_SCENARIOS
)

_FULL_MOVE_TOL = 1e-9


def _native(scenarios: ScenarioArrays) -> NDArray[np.bool_]:
    """(N_JOINT, m): scenario j is a +-1 scan-range point with joint scenario k's vol move."""
    m = scenarios.n_scenarios
    out = np.zeros((N_JOINT, m), dtype=np.bool_)
    if scenarios.price_fraction is None:
        return out
    full = (np.abs(np.abs(scenarios.price_fraction) - 1.0) <= _FULL_MOVE_TOL) & ~scenarios.is_extended
    price_side = scenarios.price_side
    vol_side = scenarios.vol_side
    for k, (p, v) in enumerate(JOINT_SCENARIOS):
        out[k] = full & (price_side == p) & (vol_side == v)
    return out


def joint_masks(scenarios: Sequence[ScenarioArrays]) -> list[NDArray[np.int64]]:
    """Per commodity, a bit mask per scenario: bit k set when it counts in joint scenario k.

    Parameters
    ----------
    scenarios : sequence of ScenarioArrays
        Every combined commodity of the universe (the active joint scenarios
        are those some grid has natively).

    Returns
    -------
    list of ndarray of int64, shape (m_c,) each
    """
    native = [_native(s) for s in scenarios]
    active = np.zeros(N_JOINT, dtype=np.bool_)
    for n in native:
        active |= n.any(axis=1)
    masks = []
    for s, n in zip(scenarios, native):
        mask = np.zeros(s.n_scenarios, dtype=np.int64)
        full_sides = [n[[i for i, (p, _) in enumerate(JOINT_SCENARIOS) if p == side]].any(axis=0) for side in (-1, 1)]
        for k, (p, _) in enumerate(JOINT_SCENARIOS):
            if not active[k]:
                continue
            # Without this vol move at the edge, the commodity counts its worst vol move there.
            members = n[k] if n[k].any() else full_sides[0 if p < 0 else 1]
            mask[members] |= np.int64(1) << k
        masks.append(mask)
    return masks


def parameter_set_joint_masks(parameter_set: ParameterSet) -> dict[str, NDArray[np.int64]]:
    """:func:`joint_masks` of every combined commodity of a grid-based set, by name.

    The joint scenarios evaluated are those some grid of the whole set has,
    so an account's floor does not depend on which commodities it holds.
    """
    commodities = parameter_set.combined_commodities
    arrays = [scenario_arrays(cc.grid) for cc in commodities]
    return dict(zip((cc.name for cc in commodities), joint_masks(arrays)))


def joint_index_table(masks: NDArray[np.int64]) -> NDArray[np.int64]:
    """One commodity's joint scenarios as scenario indices: ``(N_JOINT * JOINT_SLOTS,)``, -1 padded.

    Entry ``k * JOINT_SLOTS + s`` is the ``s``-th scenario of joint scenario ``k`` (ascending), the
    form the rule reads: a few indices per joint scenario instead of a test of every scenario.

    Raises
    ------
    ParameterSetError
        A joint scenario gathers more than :data:`JOINT_SLOTS` scenarios of one grid.
    """
    out = np.full(N_JOINT * JOINT_SLOTS, -1, dtype=np.int64)
    for k in range(N_JOINT):
        members = np.flatnonzero(masks & (np.int64(1) << k))
        if members.size > JOINT_SLOTS:
            raise ParameterSetError(
                f"The joint scenario '{JOINT_LABELS[k]}' gathers {members.size} scenarios of one grid; at most "
                f"{JOINT_SLOTS} are supported. Give the grid one point per vol move at its +-1 scan-range moves."
            )
        out[k * JOINT_SLOTS:k * JOINT_SLOTS + members.size] = members
    return out


def parameter_set_joint_index(parameter_set: ParameterSet) -> dict[str, NDArray[np.int64]]:
    """:func:`joint_index_table` of every combined commodity of a grid-based set, by name."""
    return {name: joint_index_table(mask) for name, mask in parameter_set_joint_masks(parameter_set).items()}


@njit_inline
def joint_move_floor(losses, joint_index, present, usd_per_unit, option_value_usd, weight):  # type: ignore[no-untyped-def]
    """The floor and its joint scenario (see module notes).

    Parameters
    ----------
    losses : ndarray of float, shape (>= n_cc, >= max m)
        Scenario losses per combined commodity, settlement currency (rows past
        ``joint_index``'s are not read: the batch keeps its sub-book there).
    joint_index : ndarray of int, shape (n_cc, N_JOINT * JOINT_SLOTS)
        :func:`joint_index_table` per commodity.
    present : ndarray of float, shape (n_cc,)
        Non-zero where the account holds the commodity.
    usd_per_unit : ndarray of float, shape (n_cc,)
        USD per unit of each settlement currency.
    option_value_usd : float
        Net option value the requirement nets, USD (long positive).
    weight : float
        Share of the joint loss covered, in (0, 1].

    Returns
    -------
    (floor, k) : (float, int)
        Floor in USD (>= 0) and the index of the worst joint scenario (-1 when none applies).
    """
    best = -math.inf
    best_k = -1
    for k in range(N_JOINT):
        total = 0.0
        counted = False
        for c in range(joint_index.shape[0]):  # losses may hold more rows (the batch's sub-book)
            if present[c] == 0.0:
                continue
            worst = -math.inf
            for s in range(JOINT_SLOTS):
                j = joint_index[c, k * JOINT_SLOTS + s]
                if j < 0:
                    break
                x = losses[c, j]
                worst = x if x > worst else worst
            if worst == -math.inf:
                continue
            total += worst * usd_per_unit[c]
            counted = True
        if counted and total > best:
            best = total
            best_k = k
    if best_k < 0:
        return 0.0, -1
    return max(0.0, weight * best - option_value_usd), best_k
