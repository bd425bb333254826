"""Revalue an instrument universe under a parameter set: risk arrays per combined commodity.

``revalue(table, parameter_set)`` builds, for every combined commodity that has
rows in ``table``, its scenario grid, the risk arrays of its contracts (loss of
one long unit per scenario, settlement currency, weighted) and their composite
deltas, plus the per-row spread tier and delivery flag. The result is reused
by every account margined against the same snapshot (single margin, batch,
what-if): pricing happens once per snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spanlike.params.charges import SpanCharges
from spanlike.params.parameter_set import CombinedCommodity, ParameterSet
from spanlike.risk_arrays.grids import scenario_arrays, vol_term_scale
from spanlike.risk_arrays.revaluation import composite_delta, compute_risk_arrays
from spanlike.risk_arrays.scenarios import ScenarioArrays
from spanlike.universe import InstrumentTable

__all__ = ["CommodityRisk", "UniverseRisk", "revalue", "tier_of", "delivery_flags"]


@dataclass(frozen=True, eq=False)
class CommodityRisk:
    """Risk arrays of one combined commodity's rows of the universe.

    Attributes
    ----------
    commodity : CombinedCommodity
    rows : ndarray of intp, shape (n,)
        Rows of the :class:`InstrumentTable` in this commodity (ascending).
    scenarios : ScenarioArrays
    risk_arrays : ndarray, shape (n, m)
        Loss of one long unit per scenario, settlement currency, weighted.
    composite_delta : ndarray, shape (n,)
        Delta of one long unit, underlying units.
    tier : ndarray of int, shape (n,)
        Intra-spread tier number (0 for exchange-style commodities).
    in_delivery : ndarray of bool, shape (n,)
    """

    commodity: CombinedCommodity
    rows: NDArray[np.intp]
    scenarios: ScenarioArrays
    risk_arrays: NDArray[np.float64]
    composite_delta: NDArray[np.float64]
    tier: NDArray[np.int64]
    in_delivery: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class UniverseRisk:
    """A revalued universe: the table, the parameter set, per-commodity risk.

    ``row_commodity[r]`` is the index in ``commodities`` of row ``r`` and
    ``row_local[r]`` its position within that commodity's arrays.
    """

    table: InstrumentTable
    parameter_set: ParameterSet
    commodities: tuple[CommodityRisk, ...]
    row_commodity: NDArray[np.intp]
    row_local: NDArray[np.intp]


def tier_of(charges: SpanCharges | None, days_to_expiry: NDArray[np.float64]) -> NDArray[np.int64]:
    """Tier number of each expiry (``start_days <= DTE < end_days``); 0 without tiers.

    Raises
    ------
    ValueError
        A DTE falls beyond the last tier (the parameter set does not cover it).
    """
    out = np.zeros(days_to_expiry.shape[0], dtype=np.int64)
    if charges is None or not charges.tiers:
        return out
    assigned = np.zeros(days_to_expiry.shape[0], dtype=np.bool_)
    for tier in charges.tiers:
        hit = (days_to_expiry >= tier.start_days) & (days_to_expiry < tier.end_days)
        out[hit] = tier.number
        assigned |= hit
    if not assigned.all():
        i = int(np.flatnonzero(~assigned)[0])
        last = max(t.end_days for t in charges.tiers)
        raise ValueError(
            f"an expiry {days_to_expiry[i]:.1f} days away is beyond the last spread tier "
            f"(ends at {last:g} days); extend the parameter set's tiers"
        )
    return out


def delivery_flags(
    charges: SpanCharges | None, days_to_expiry: NDArray[np.float64], is_perpetual: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """True for dated contracts expiring within the delivery window."""
    if charges is None or charges.delivery is None:
        return np.zeros(days_to_expiry.shape[0], dtype=np.bool_)
    return (~is_perpetual) & (days_to_expiry < charges.delivery.window_days)


def revalue(table: InstrumentTable, parameter_set: ParameterSet, *, parallel: bool = False) -> UniverseRisk:
    """Risk arrays and composite deltas for every row of ``table``.

    Parameters
    ----------
    table : InstrumentTable
        Built for the same ``parameter_set`` (rows carry their commodity).
    parameter_set : ParameterSet
    parallel : bool
        Use the multi-threaded kernel (worth it from about 10^4 contracts).

    Returns
    -------
    UniverseRisk
    """
    names = np.asarray(table.commodity, dtype=object)
    n_rows = len(table.instruments)
    row_commodity = np.full(n_rows, -1, dtype=np.intp)
    row_local = np.full(n_rows, -1, dtype=np.intp)
    is_perpetual = np.array([inst.kind == "perpetual" for inst in table.instruments], dtype=np.bool_)
    out: list[CommodityRisk] = []
    for cc in parameter_set.combined_commodities:
        rows = np.flatnonzero(names == cc.name)
        if rows.size == 0:
            continue
        contracts = table.contracts.subset(rows)
        # Historical (VaR/ES) grids read their scenarios from the set's var_model, by underlying.
        scenarios = scenario_arrays(cc.grid, var_model=parameter_set.var_model, underlying=cc.underlying)
        days = table.days_to_expiry[rows]
        risk = compute_risk_arrays(
            contracts=contracts, scenarios=scenarios, vol_scale=vol_term_scale(cc.grid, days), parallel=parallel
        )
        deltas = composite_delta(contracts=contracts, scenarios=scenarios)
        try:
            tiers = tier_of(cc.span, days)
        except ValueError as err:
            from spanlike.errors import ParameterSetError

            raise ParameterSetError(f"Combined commodity {cc.name} of {parameter_set.label}: {err}.") from None
        row_commodity[rows] = len(out)
        row_local[rows] = np.arange(rows.size)
        out.append(
            CommodityRisk(
                commodity=cc,
                rows=rows,
                scenarios=scenarios,
                risk_arrays=risk,
                composite_delta=deltas,
                tier=tiers,
                in_delivery=delivery_flags(cc.span, days, is_perpetual[rows]),
            )
        )
    if (row_commodity < 0).any():
        i = int(np.flatnonzero(row_commodity < 0)[0])
        from spanlike.errors import InvalidInstrumentError

        raise InvalidInstrumentError(
            f"{table.instruments[i].name} belongs to combined commodity '{table.commodity[i]}', which "
            f"{parameter_set.label} does not define."
        )
    return UniverseRisk(
        table=table, parameter_set=parameter_set, commodities=tuple(out),
        row_commodity=row_commodity, row_local=row_local,
    )
