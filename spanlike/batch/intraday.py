"""Intraday recalculation: a new snapshot revalues only the instruments whose inputs changed.

For each combined commodity the new snapshot's instrument table (same
instruments, same row order) is compared with the prepared one. A row is
revalued when a kernel input changed: forward, vol, rate, strike, kind,
multiplier or settlement, and - for options only - time to expiry (a
future's loss ``F - F'`` or ``-(F' - F)/F'`` and its delta do not depend on
time, so the clock alone does not revalue futures and perpetuals). The other
rows keep their risk arrays and deltas: the revaluation kernel prices every
row independently, so the result equals a full :func:`spanlike.revalue.revalue`
of the new table (the tests check this exactly).

Tiers, delivery flags, times to expiry (roll shock), index prices and marks
are taken from the new table, and the parameter arrays are repacked.
Prepared accounts then rebuild their state only if they hold a row whose
risk array, delta, tier, delivery flag or mark value changed
(:attr:`IntradayUpdate.changed_rows`); the others keep it and only re-run
the charges (:meth:`spanlike.batch.whatif.PreparedAccount.rebase`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.risk_arrays.contracts import KIND_FUTURE
from spanlike.risk_arrays.grids import vol_term_scale
from spanlike.risk_arrays.revaluation import composite_delta, compute_risk_arrays
from spanlike.batch.prepared import PreparedEngine, pack_universe
from spanlike.batch.whatif import PreparedAccount
from spanlike.errors import InvalidInputError, ParameterSetError
from spanlike.market import MarketSnapshot
from spanlike.revalue import CommodityRisk, UniverseRisk, delivery_flags, tier_of
from spanlike.universe import build_instrument_table

__all__ = ["IntradayUpdate", "update_engine"]


@dataclass(frozen=True, eq=False)
class IntradayUpdate:
    """The engine at a new snapshot and what changed.

    Attributes
    ----------
    engine : PreparedEngine
        Prepared at the new snapshot (same instruments and row order).
    revalued_rows : ndarray of int64
        Rows whose risk arrays and deltas were recomputed.
    changed_rows : ndarray of int64
        Rows whose per-position values (risk array, delta, tier, delivery
        flag, mark value) changed: accounts holding one rebuild their state.
    """

    engine: PreparedEngine
    revalued_rows: NDArray[np.int64]
    changed_rows: NDArray[np.int64]

    def __repr__(self) -> str:
        # The default repr prints the whole engine (risk arrays of every instrument).
        return (f"IntradayUpdate(valuation_time={self.engine.market.valuation_time.isoformat()!r}, "
                f"instruments={len(self.engine.instrument_names)}, revalued_rows={self.revalued_rows.size}, "
                f"changed_rows={self.changed_rows.size})")

    def rebase(self, accounts: Sequence[PreparedAccount]) -> list[PreparedAccount]:
        """Every prepared account moved to the new engine (state rebuilt only where needed)."""
        return [a.rebase(self.engine, changed_rows=self.changed_rows) for a in accounts]


def _inputs_changed(old: UniverseRisk, new_table: object, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
    a = old.table.contracts
    b = new_table.contracts  # type: ignore[attr-defined]
    changed = np.zeros(rows.size, dtype=np.bool_)
    for name in ("forward", "strike", "vol", "rate", "multiplier", "kind", "inverse"):
        changed |= getattr(a, name)[rows] != getattr(b, name)[rows]
    is_option = a.kind[rows] != KIND_FUTURE
    changed |= is_option & (a.t_years[rows] != b.t_years[rows])
    return changed


def update_engine(engine: PreparedEngine, market: MarketSnapshot, *, parallel: bool = False) -> IntradayUpdate:
    """Move a prepared engine to a new market snapshot, revaluing only changed instruments.

    Parameters
    ----------
    engine : PreparedEngine
    market : MarketSnapshot
        The new snapshot; it must quote every instrument of the engine.
    parallel : bool
        Multi-threaded revaluation kernel.

    Returns
    -------
    IntradayUpdate

    Raises
    ------
    MissingMarketDataError, ExpiredInstrumentError, ...
        As :func:`spanlike.universe.build_instrument_table` for the new snapshot.
    InvalidInputError
        The snapshot is older than the engine's.
    """
    old = engine.universe
    ps = old.parameter_set
    if market.valuation_time < old.table.valuation_time:
        raise InvalidInputError(
            f"The new snapshot ({market.valuation_time.isoformat()}) is older than the prepared one "
            f"({old.table.valuation_time.isoformat()}); prepare a new engine to go back in time."
        )
    table = build_instrument_table(instruments=old.table.instruments, market=market, parameter_set=ps)
    if table.names != old.table.names:
        raise InvalidInputError("The new instrument table orders the instruments differently; prepare a new engine.")
    is_perpetual = np.array([ins.kind == "perpetual" for ins in table.instruments], dtype=np.bool_)
    revalued: list[NDArray[np.intp]] = []
    changed: list[NDArray[np.intp]] = []
    commodities: list[CommodityRisk] = []
    for risk in old.commodities:
        cc = risk.commodity
        rows = risk.rows
        mask = _inputs_changed(old, table, rows)
        arrays = risk.risk_arrays.copy()
        deltas = risk.composite_delta.copy()
        days = table.days_to_expiry[rows]
        if mask.any():
            sub = rows[mask]
            contracts = table.contracts.subset(sub)
            arrays[mask] = compute_risk_arrays(
                contracts=contracts, scenarios=risk.scenarios,
                vol_scale=vol_term_scale(cc.grid, days[mask]), parallel=parallel,
            )
            deltas[mask] = composite_delta(contracts=contracts, scenarios=risk.scenarios)
        try:
            tiers = tier_of(cc.span, days)
        except ValueError as err:
            raise ParameterSetError(f"Combined commodity {cc.name} of {ps.label}: {err}.") from None
        in_delivery = delivery_flags(cc.span, days, is_perpetual[rows])
        row_changed = (
            mask | (tiers != risk.tier) | (in_delivery != risk.in_delivery)
            | (table.mark_value[rows] != old.table.mark_value[rows])
        )
        revalued.append(rows[mask])
        changed.append(rows[row_changed])
        commodities.append(CommodityRisk(
            commodity=cc, rows=rows, scenarios=risk.scenarios, risk_arrays=arrays, composite_delta=deltas,
            tier=tiers, in_delivery=in_delivery,
        ))
    universe = UniverseRisk(
        table=table, parameter_set=ps, commodities=tuple(commodities),
        row_commodity=old.row_commodity, row_local=old.row_local,
    )
    new_engine = PreparedEngine(universe=universe, packed=pack_universe(universe), market=market)
    cat = (lambda parts: np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64))
    return IntradayUpdate(engine=new_engine, revalued_rows=cat(revalued), changed_rows=cat(changed))
