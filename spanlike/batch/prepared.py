"""A prepared engine: one market snapshot and parameter set, revalued once, packed for the kernels.

:func:`prepare_engine` builds the instrument table of every instrument any
account holds, revalues it (:func:`spanlike.revalue.revalue`: risk arrays,
composite deltas, tiers, delivery flags) and packs the universe and the
parameter set into the plain float64 / int64 arrays of :class:`PackedEngine`
that the numba kernels of :mod:`spanlike.batch.kernels` read (column layouts
in that module). Every account of a batch, every what-if and every intraday
update reuses it: pricing happens once per snapshot.

Packing precomputes each charge rate in the settlement currency exactly as
:meth:`spanlike.aggregation.commodity_book.CommodityBook.rate_value` does
(``rate x unit value`` for relative rates), the months of per-month spreads,
the spread tables in priority order, the paired and no-move scenarios, and
each row's tier position, delivery flag and expiry bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.params.grids import ExchangeGrid
from spanlike.params.parameter_set import ParameterSet
from spanlike.aggregation.exchange import exchange_risk_arrays
from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE
from spanlike.aggregation.methods import method_of
from spanlike.methodology.joint_move import parameter_set_joint_index
from spanlike.methodology.scan import no_move_scenario
from spanlike.methodology.spreads import spread_months
from spanlike.batch import kernels as K
from spanlike.batch import layout as L
from spanlike.batch.accounts import checked_unit
from spanlike.errors import InvalidPositionError, ParameterSetError, UnknownInstrumentError
from spanlike.instruments import Instrument
from spanlike.market import MarketSnapshot
from spanlike.revalue import UniverseRisk, revalue
from spanlike.universe import build_instrument_table

__all__ = ["PackedEngine", "PreparedEngine", "pack_universe", "packed_from_buffers", "prepare_engine"]


@dataclass(frozen=True, eq=False)
class PackedEngine:
    """The universe and the parameter set as kernel arrays (layouts in :mod:`spanlike.batch.kernels`).

    Attributes
    ----------
    R : ndarray of float64, shape (n_rows, M)
        Risk array of one long unit per universe row, settlement currency,
        zero-padded to the largest scenario count ``M`` of the universe.
    row_i, row_f : ndarray, shape (n_rows, N_RI) / (n_rows, N_RF)
        Per row: commodity, tier position, delivery flag, option/call flags,
        expiry bucket; composite delta (underlying units), multiplier, mark
        value (settlement currency).
    cc_i, cc_f : ndarray, shape (n_cc, N_CI) / (n_cc, N_CF)
        Per combined commodity: method, scenario count, spread/delivery/SOM/
        NOV/roll/delta-shock switches and rates in the settlement currency.
    scen_i : ndarray of int64, shape (n_cc, M, 3)
        Paired scenario, extended flag, pure-price flag.
    spr_i, spr_f : ndarray, shape (n_cc, S, 1 + 2L) / (n_cc, S, 2 + L)
        Intra spreads in priority order: legs (tier positions, sides +-1),
        rate (settlement currency per spread), months, delta ratios.
    exp_t : ndarray of float64, shape (n_cc, E)
        Years to expiry of each expiry bucket (ascending days).
    inter_i, inter_f : ndarray, shape (P, 2 + 2L') / (P, 1 + L')
        Inter spreads in priority order: legs (commodity index or -1 when the
        universe lacks it, side), notional basis flag, credit rate, ratios.
    rho : ndarray of float64, shape (n_cc, n_cc)
        Correlations between the universe's commodities (0 where undefined).
    glob_i, glob_f : ndarray
        ``[has inter spreads, has correlation, T]`` and ``[mm_factor, im_factor]``.
    fbuf, ibuf : ndarray
        Two flat buffers every array above is a view of (float ones, then a
        header of dimensions and the int ones; ``kernels._unpack`` rebuilds the
        views inside numba). Shipping two arrays is what keeps a what-if call
        cheap and a Dask broadcast small.
    """

    R: NDArray[np.float64]
    row_i: NDArray[np.int64]
    row_f: NDArray[np.float64]
    cc_i: NDArray[np.int64]
    cc_f: NDArray[np.float64]
    scen_i: NDArray[np.int64]
    spr_i: NDArray[np.int64]
    spr_f: NDArray[np.float64]
    exp_t: NDArray[np.float64]
    inter_i: NDArray[np.int64]
    inter_f: NDArray[np.float64]
    rho: NDArray[np.float64]
    glob_i: NDArray[np.int64]
    glob_f: NDArray[np.float64]

    fbuf: NDArray[np.float64]
    ibuf: NDArray[np.int64]

    def __post_init__(self) -> None:
        # Built once: dataclasses.fields() costs microseconds, and what-if latency is a few of them.
        object.__setattr__(self, "_args", tuple(getattr(self, f.name) for f in fields(self)[:14]))

    def kernel_args(self) -> tuple[np.ndarray, ...]:
        """The arrays in the order the kernels take them (``R`` .. ``glob_f``)."""
        return self._args  # type: ignore[attr-defined,no-any-return]

    @property
    def n_rows(self) -> int:
        """Universe rows."""
        return int(self.R.shape[0])

    @property
    def n_commodities(self) -> int:
        """Combined commodities of the universe."""
        return int(self.cc_i.shape[0])

    @property
    def state_rows(self) -> int:
        """Rows of an account's state: one per commodity, twice that where offsets read the futures alone."""
        return self.n_commodities * (2 if self.glob_i[L.GI_DELTA_ONE] else 1)

    @property
    def state_width(self) -> int:
        """Columns of an account's per-commodity state."""
        return K.state_width(int(self.R.shape[1]), int(self.glob_i[L.GI_T]), int(self.exp_t.shape[1]))


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _check_batch_supports(ps: ParameterSet) -> None:
    """Refuse parameter-set features the packed kernels do not implement."""
    unsupported: list[str] = []
    if ps.var_model is not None:
        unsupported.append("a VaR/ES model (var_model)")
    no_kernel = sorted({cc.method for cc in ps.combined_commodities if method_of(cc.method).batch_code is None})
    if no_kernel and ps.var_model is None:
        unsupported.append(f"the {', '.join(no_kernel)} method")
    with_liquidity = [cc.name for cc in ps.combined_commodities if cc.liquidity is not None]
    if with_liquidity:
        unsupported.append(f"liquidity add-ons ({', '.join(with_liquidity)})")
    if unsupported:
        raise ParameterSetError(
            f"Batch margining covers SPAN and exchange-style sets; {ps.label} uses {' and '.join(unsupported)}. "
            "Margin these accounts one by one with spanlike.margin / spanlike margin, which supports them."
        )


def pack_universe(universe: UniverseRisk) -> PackedEngine:
    """Pack a revalued universe and its parameter set into :class:`PackedEngine` arrays.

    Parameters
    ----------
    universe : UniverseRisk
        From :func:`spanlike.revalue.revalue`.

    Returns
    -------
    PackedEngine

    Raises
    ------
    ParameterSetError
        The set uses a feature the batch kernels do not compute (a VaR/ES
        model, a liquidity add-on); margin those accounts with
        :func:`spanlike.engine.margin_positions` instead of getting a wrong number.
    """
    table = universe.table
    ps = universe.parameter_set
    _check_batch_supports(ps)
    n_rows = len(table)
    ccs = universe.commodities
    n_cc = len(ccs)
    m_max = max((r.scenarios.n_scenarios for r in ccs), default=1)
    t_max = max([len(r.commodity.span.tiers) for r in ccs if r.commodity.span is not None] + [1])
    spreads = [
        sorted(r.commodity.span.intra_spreads, key=lambda s: s.priority) if r.commodity.span is not None else []
        for r in ccs
    ]
    s_max = max([len(s) for s in spreads] + [1])
    l_max = max([len(sp.legs) for s in spreads for sp in s] + [1])
    if n_cc > 0xFFFF or t_max > 0xFF:
        # The kernels' compact row code (kernels._row_table) holds these in 16 and 8 bits.
        raise ParameterSetError(
            f"Batch margining supports up to 65,535 combined commodities and 255 tiers per commodity; "
            f"{ps.label} gives {n_cc} and {t_max}. Margin these accounts with spanlike.margin instead."
        )
    days_per_cc = [np.unique(table.days_to_expiry[r.rows]) for r in ccs]
    e_max = max([d.size for d in days_per_cc] + [1])

    R = np.zeros((n_rows, m_max))
    row_i = np.zeros((n_rows, L.N_RI), dtype=np.int64)
    row_f = np.zeros((n_rows, L.N_RF))
    cc_i = np.zeros((max(n_cc, 0), L.N_CI), dtype=np.int64)
    cc_f = np.zeros((max(n_cc, 0), L.N_CF))
    scen_i = np.zeros((n_cc, m_max, L.N_SC), dtype=np.int64)
    spr_i = np.zeros((n_cc, s_max, 1 + 2 * l_max), dtype=np.int64)
    spr_f = np.zeros((n_cc, s_max, 2 + l_max))
    exp_t = np.zeros((n_cc, e_max))
    contracts = table.contracts
    cc_index = {r.commodity.name: c for c, r in enumerate(ccs)}
    joint = parameter_set_joint_index(ps) if ps.joint_move_floor is not None else None

    for c, risk in enumerate(ccs):
        cc = risk.commodity
        rows = risk.rows
        m = risk.scenarios.n_scenarios
        R[rows, :m] = risk.risk_arrays
        row_i[rows, L.RI_CC] = c
        row_f[rows, L.RF_DELTA] = risk.composite_delta
        # Tier numbers -> positions in ascending tier-number order (the reference's tier_numbers).
        numbers = sorted(t.number for t in cc.span.tiers) if cc.span is not None else []
        position = {n: i for i, n in enumerate(numbers)}
        row_i[rows, L.RI_TIER] = [position.get(int(t), 0) for t in risk.tier]
        row_i[rows, L.RI_DELIV] = risk.in_delivery.astype(np.int64)
        days = table.days_to_expiry[rows]
        row_i[rows, L.RI_EXP] = np.searchsorted(days_per_cc[c], days)
        for e, d in enumerate(days_per_cc[c]):
            exp_t[c, e] = float(contracts.t_years[rows[days == d][0]])
        cc_i[c, L.CI_NEXP] = days_per_cc[c].size

        index_price = float(table.index_price[rows[0]])
        coin = cc.settlement == "coin"
        unit_value = 1.0 if coin else index_price
        usd_per_unit = index_price if coin else 1.0

        def rate_value(rate: float, kind: str) -> float:
            return rate * unit_value if kind == "relative" else rate

        cc_f[c, L.CF_INDEX] = index_price
        cc_f[c, L.CF_UNIT_VALUE] = unit_value
        cc_f[c, L.CF_USD_PER_UNIT] = usd_per_unit
        cc_i[c, L.CI_M] = m
        s = risk.scenarios
        scen_i[c, :m, L.SC_PAIRED] = s.paired
        scen_i[c, m:, L.SC_PAIRED] = -1
        scen_i[c, :m, L.SC_EXTENDED] = s.is_extended.astype(np.int64)
        pure = ~s.is_extended & (s.vol_shift_rel == 0.0) & (s.vol_shift_abs == 0.0)
        scen_i[c, :m, L.SC_PURE_PRICE] = pure.astype(np.int64)
        scen_i[c, :m, L.SC_SIDE] = s.price_side
        cc_i[c, L.CI_JOINT:] = joint[cc.name] if joint is not None else -1
        cc_i[c, L.CI_NO_MOVE] = no_move_scenario(price_move=s.price_move_option, price_shift=s.price_shift_abs,
                                                 paired=s.paired)
        cc_i[c, L.CI_CORR] = -1
        method = method_of(cc.method)
        if method.batch_code == L.METHOD_SPAN:
            charges = cc.span
            assert charges is not None
            cc_i[c, L.CI_METHOD] = method.batch_code
            cc_i[c, L.CI_NTIERS] = len(numbers)
            cc_i[c, L.CI_NSPREADS] = len(spreads[c])
            mids = {t.number: t.mid_days for t in charges.tiers}
            for k, spread in enumerate(spreads[c]):
                spr_i[c, k, 0] = len(spread.legs)
                for leg_no, leg in enumerate(spread.legs):
                    spr_i[c, k, 1 + leg_no] = position[leg.tier]
                    spr_i[c, k, 1 + l_max + leg_no] = 1 if leg.side == "A" else -1
                    spr_f[c, k, 2 + leg_no] = leg.delta_ratio
                spr_f[c, k, 0] = rate_value(spread.rate, spread.rate_kind)
                if spread.method == "per_month":
                    leg_mids = [mids[leg.tier] for leg in spread.legs]
                    spr_f[c, k, 1] = spread_months(leg_mids)
                else:
                    spr_f[c, k, 1] = 1.0
            if charges.delivery is not None:
                cc_i[c, L.CI_HAS_DELIV] = 1
                cc_f[c, L.CF_DELIV_SPREAD] = rate_value(charges.delivery.spread_rate, charges.delivery.rate_kind)
                cc_f[c, L.CF_DELIV_OUTRIGHT] = rate_value(charges.delivery.outright_rate, charges.delivery.rate_kind)
            if charges.short_option_minimum is not None:
                som = charges.short_option_minimum
                cc_i[c, L.CI_HAS_SOM] = 1
                cc_i[c, L.CI_SOM_GROSS] = 1 if som.method == "gross" else 0
                cc_f[c, L.CF_SOM_RATE] = rate_value(som.rate, som.rate_kind)
            cc_i[c, L.CI_NOV] = 1 if charges.net_option_value else 0
        else:
            addons = cc.exchange
            grid = cc.grid
            assert addons is not None and isinstance(grid, ExchangeGrid)
            cc_i[c, L.CI_METHOD] = method.batch_code
            # Futures' cells as the exchange-style method counts them, as the engine's stage does.
            R[rows, :m] = exchange_risk_arrays(
                risk.risk_arrays, is_option=contracts.kind[rows] != KIND_FUTURE,
                multiplier=contracts.multiplier[rows], coin_settled=coin, grid=grid, scenarios=s,
            )
            cc_f[c, L.CF_PNL_OFFSET] = addons.pnl_offset
            cap = addons.offset_cap(usd_per_unit)
            if cap is not None:
                cc_i[c, L.CI_HAS_MAXOFF] = 1
                cc_f[c, L.CF_MAXOFF] = cap
            cc_f[c, L.CF_DAMPENER] = grid.extended_dampener
            if addons.roll_shock is not None:
                cc_i[c, L.CI_HAS_ROLL] = 1
                cc_f[c, L.CF_ROLL_MIN] = addons.roll_shock.min_annualised_move
                cc_f[c, L.CF_ROLL_RISK] = addons.roll_shock.annualised_move_risk
            if addons.delta_shock is not None:
                cc_i[c, L.CI_HAS_DSHOCK] = 1
                cc_f[c, L.CF_DS_THRESHOLD] = addons.delta_shock.threshold_usd
                cc_f[c, L.CF_DS_RATE] = addons.delta_shock.rate

    kind = contracts.kind
    row_i[:, L.RI_OPT] = (kind != KIND_FUTURE).astype(np.int64)
    row_i[:, L.RI_CALL] = (kind == KIND_CALL).astype(np.int64)
    row_f[:, L.RF_MULT] = contracts.multiplier
    row_f[:, L.RF_MARK] = table.mark_value

    inter = sorted(ps.inter_spreads, key=lambda s: s.priority)
    li_max = max([len(s.legs) for s in inter] + [1])
    inter_i = np.zeros((len(inter), 2 + 2 * li_max), dtype=np.int64)
    inter_f = np.zeros((len(inter), 1 + li_max))
    for p, spread in enumerate(inter):
        inter_i[p, 0] = len(spread.legs)
        inter_i[p, 1] = 1 if spread.delta_basis == "notional_usd" else 0
        inter_f[p, 0] = spread.credit_rate
        for k, leg in enumerate(spread.legs):
            inter_i[p, 2 + k] = cc_index.get(leg.combined_commodity, -1)
            inter_i[p, 2 + li_max + k] = 1 if leg.side == "A" else -1
            inter_f[p, 1 + k] = leg.delta_ratio

    rho = np.zeros((n_cc, n_cc))
    if ps.correlation is not None:
        order = {n: i for i, n in enumerate(ps.correlation.combined_commodities)}
        full = ps.correlation.as_array()
        for c, risk in enumerate(ccs):
            pos = order.get(risk.commodity.name, -1)
            cc_i[c, L.CI_CORR] = pos
        for a, ra in enumerate(ccs):
            for b, rb in enumerate(ccs):
                pa, pb = order.get(ra.commodity.name), order.get(rb.commodity.name)
                if pa is not None and pb is not None:
                    rho[a, b] = full[pa, pb]
    floor = ps.joint_move_floor
    glob_i = np.array([1 if inter else 0, 1 if ps.correlation is not None else 0, t_max, 1 if floor is not None else 0,
                       1 if ps.cross_offsets.positions == "delta_one" else 0], dtype=np.int64)
    glob_f = np.array([ps.margin_relation.mm_factor, ps.margin_relation.im_factor,
                       floor.weight if floor is not None else 1.0])
    return _from_parts(
        dims=(n_rows, m_max, n_cc, s_max, l_max, e_max, len(inter), li_max),
        floats=(R, row_f, cc_f, spr_f, exp_t, inter_f, rho, glob_f),
        ints=(row_i, cc_i, scen_i, spr_i, inter_i, glob_i),
    )


def _from_parts(*, dims: tuple[int, ...], floats: tuple[np.ndarray, ...], ints: tuple[np.ndarray, ...]) -> PackedEngine:
    """Concatenate the arrays into the two buffers and rebuild them as read-only views."""
    fbuf = np.concatenate([a.ravel() for a in floats]) if floats else np.zeros(0)
    ibuf = np.concatenate([np.asarray(dims, dtype=np.int64)] + [a.ravel() for a in ints]).astype(np.int64)
    return packed_from_buffers(fbuf, ibuf)


def packed_from_buffers(fbuf: NDArray[np.float64], ibuf: NDArray[np.int64]) -> PackedEngine:
    """A :class:`PackedEngine` whose arrays are views of ``fbuf`` / ``ibuf`` (e.g. after a Dask transfer)."""
    fbuf = _readonly(np.asarray(fbuf, dtype=np.float64))
    ibuf = _readonly(np.asarray(ibuf, dtype=np.int64))
    R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f = K._unpack(
        fbuf, ibuf)
    return PackedEngine(
        R=R, row_i=row_i, row_f=row_f, cc_i=cc_i, cc_f=cc_f, scen_i=scen_i, spr_i=spr_i, spr_f=spr_f,
        exp_t=exp_t, inter_i=inter_i, inter_f=inter_f, rho=rho, glob_i=glob_i, glob_f=glob_f, fbuf=fbuf, ibuf=ibuf,
    )


@dataclass(frozen=True, eq=False)
class PreparedEngine:
    """A revalued universe for one snapshot and parameter set, with its packed kernel arrays.

    Attributes
    ----------
    universe : UniverseRisk
        What :func:`spanlike.engine.margin_positions` (the reference) margins against.
    packed : PackedEngine
    market : MarketSnapshot
        The snapshot it was built from (intraday updates diff against it).
    """

    universe: UniverseRisk
    packed: PackedEngine
    market: MarketSnapshot

    def __repr__(self) -> str:
        # The default repr prints every risk array and packed buffer (megabytes in a notebook).
        return (f"PreparedEngine(parameter_set={self.parameter_set.label!r}, "
                f"valuation_time={self.market.valuation_time.isoformat()!r}, "
                f"instruments={len(self.instrument_names)}, commodities={list(self.commodity_names)})")

    @property
    def parameter_set(self) -> ParameterSet:
        """The parameter set."""
        return self.universe.parameter_set

    @property
    def instrument_names(self) -> tuple[str, ...]:
        """Instrument names in universe row order."""
        return self.universe.table.names

    @property
    def commodity_names(self) -> tuple[str, ...]:
        """Combined commodities of the universe, in kernel order."""
        return tuple(r.commodity.name for r in self.universe.commodities)

    def scenario_label(self, commodity: int, scenario: int) -> str:
        """Label of ``scenario`` of commodity number ``commodity`` ('' for -1)."""
        if commodity < 0 or scenario < 0:
            return ""
        return self.universe.commodities[commodity].scenarios.labels[scenario]

    def row_of(self, instrument: str | Instrument) -> int:
        """Universe row of an instrument.

        Raises
        ------
        UnknownInstrumentError
            The engine was not prepared with this instrument.
        """
        name = instrument.name if isinstance(instrument, Instrument) else str(instrument)
        table = self.universe.table
        try:
            return table._row_of[name]
        except KeyError:
            raise UnknownInstrumentError(
                f"Instrument {name!r} is not in the prepared universe ({len(table)} instruments). "
                "Prepare the engine with every instrument you hold or trade (prepare_engine(instruments=...))."
            ) from None

    def contract_quantity(self, row: int, quantity: float, unit: str | None, *, where: str) -> float:
        """A signed quantity in ``unit`` as contract units of ``row`` (what the risk arrays are per).

        ``"usd"`` (coin-settled futures and perpetuals only) converts at the
        row's futures price, ``q / (F x multiplier)``, as
        :func:`spanlike.universe.resolve_positions` does.

        Raises
        ------
        InvalidPositionError
            A non-finite quantity or a unit that does not fit the instrument,
            naming ``where``.
        """
        ins = self.universe.table.instruments[row]
        if not math.isfinite(quantity):
            raise InvalidPositionError(
                f"{where}: the quantity of {ins.name} must be a finite number (positive long, negative short). "
                f"Got {quantity!r}."
            )
        u = checked_unit(ins, unit, where=where)
        if u == "usd":
            c = self.universe.table.contracts
            return quantity / (float(c.forward[row]) * float(c.multiplier[row]))
        return quantity


def prepare_engine(
    *,
    instruments: Sequence[Instrument | str],
    market: MarketSnapshot,
    parameter_set: ParameterSet | str,
    parallel: bool = False,
) -> PreparedEngine:
    """Revalue every instrument once and pack the universe for batch, what-if and intraday use.

    Parameters
    ----------
    instruments : sequence of Instrument or str
        Every instrument any account holds or may trade (Deribit names or
        :class:`Instrument`); duplicates are merged.
    market : MarketSnapshot
        Quotes and index prices at the valuation time.
    parameter_set : ParameterSet or str
        A parameter set or a bundled name (``"crypto-span"``, ``"deribit-style"``) or path.
    parallel : bool
        Revalue with the multi-threaded risk-array kernel (worth it from about 10^4 instruments).

    Returns
    -------
    PreparedEngine

    Raises
    ------
    SpanlikeError
        The typed errors of :func:`spanlike.universe.build_instrument_table`
        and :func:`spanlike.revalue.revalue` (unknown commodity, expired
        instrument, missing market data, ...).
    """
    if not isinstance(parameter_set, ParameterSet):
        from spanlike import params

        parameter_set = params.load(parameter_set)
    table = build_instrument_table(instruments=instruments, market=market, parameter_set=parameter_set)
    universe = revalue(table, parameter_set, parallel=parallel)
    return PreparedEngine(universe=universe, packed=pack_universe(universe), market=market)
