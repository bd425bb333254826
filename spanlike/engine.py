"""The margin engine: positions + market snapshot + parameter set -> :class:`MarginResult`.

Pipeline (STYLE.md "layers you can see")::

    Portfolio --resolve--> InstrumentTable --revalue--> risk arrays
              --aggregate per combined commodity--> SPAN or exchange components
              --inter-commodity credits, correlation offsets--> MarginResult

:func:`margin` runs it for one account. :func:`margin_positions` margins any
set of rows of an already revalued universe (what batch margining and what-if
reuse: pricing happens once per snapshot).

A parameter set with a ``var_model`` takes a separate branch
(:func:`_var_margin_positions`): each commodity's standalone VaR/ES of its
joint-scenario losses, and the account requirement as the VaR/ES of those
losses summed in USD (:mod:`spanlike.aggregation.var_model`). A liquidity
section adds :mod:`spanlike.aggregation.liquidity`'s charge on every path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spanlike import params as params_pkg
from spanlike.params.grids import ExchangeGrid
from spanlike.params.parameter_set import ParameterSet
from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE
from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.aggregation.correlation import correlated_total
from spanlike.methodology.direction import directional_share, offsetting_delta
from spanlike.aggregation.exchange import exchange_margin
from spanlike.aggregation.inter_spreads import InterSpreadInput, inter_spread_credits
from spanlike.methodology.joint_move import JOINT_LABELS, joint_move_floor, parameter_set_joint_masks
from spanlike.aggregation.liquidity import liquidity_charge
from spanlike.aggregation.span import (
    IntraResult,
    decompose_scan_risk,
    delivery_charge,
    intra_spread_charge,
    net_option_value,
    scan_risk,
    short_option_minimum,
)
from spanlike.errors import InvalidPositionError
from spanlike.methodology.exchange_charges import exchange_requirement
from spanlike.methodology.span_charges import span_requirement
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.results import CommodityMargin, MarginResult, PositionContribution, Scenario, SpreadFormed
from spanlike.revalue import CommodityRisk, UniverseRisk, revalue
from spanlike.universe import resolve_positions, table_for_portfolio

__all__ = ["margin", "margin_positions", "prepare", "commodity_book"]


def _as_parameter_set(parameter_set: ParameterSet | str | Path) -> ParameterSet:
    if isinstance(parameter_set, ParameterSet):
        return parameter_set
    return params_pkg.load(parameter_set)


def prepare(
    *, portfolio: Portfolio, market: MarketSnapshot, parameter_set: ParameterSet
) -> tuple[UniverseRisk, NDArray[np.intp], NDArray[np.float64], tuple[str, ...]]:
    """Revalue the portfolio's instruments and resolve its positions to rows and quantities."""
    table = table_for_portfolio(portfolio, market=market, parameter_set=parameter_set)
    universe = revalue(table, parameter_set)
    rows, quantity, notes = resolve_positions(portfolio, table=table)
    return universe, rows, quantity, tuple(portfolio.notes) + tuple(notes)


def commodity_book(
    universe: UniverseRisk, risk: CommodityRisk, rows: NDArray[np.intp], quantity: NDArray[np.float64]
) -> CommodityBook:
    """The :class:`CommodityBook` of ``rows`` (universe rows, all in ``risk``'s commodity)."""
    table = universe.table
    local = universe.row_local[rows]
    contracts = table.contracts
    index_price = float(table.index_price[rows[0]])
    coin = risk.commodity.settlement == "coin"
    return CommodityBook(
        commodity=risk.commodity,
        scenarios=risk.scenarios,
        names=tuple(table.instruments[r].name for r in rows),
        quantity=quantity,
        risk_arrays=risk.risk_arrays[local],
        composite_delta=risk.composite_delta[local],
        tier=risk.tier[local],
        in_delivery=risk.in_delivery[local],
        is_option=contracts.kind[rows] != KIND_FUTURE,
        is_call=contracts.kind[rows] == KIND_CALL,
        multiplier=contracts.multiplier[rows],
        mark_value=table.mark_value[rows],
        t_years=contracts.t_years[rows],
        days_to_expiry=table.days_to_expiry[rows],
        index_price=index_price,
        unit_value=1.0 if coin else index_price,
        usd_per_unit=index_price if coin else 1.0,
    )


@dataclass
class _Partial:
    """A commodity's components before inter-commodity credits (mutable while aggregating)."""

    book: CommodityBook
    raw_losses: NDArray[np.float64]  # q @ R, what direction and the joint-move floor read
    losses: NDArray[np.float64]  # what the worst scenario is taken over (exchange style: after offsets)
    worst: int
    scan: float
    time_risk: float
    vol_risk: float
    price_risk: float
    intra: IntraResult | None
    delivery: float
    som: float
    nov: float
    roll: float
    delta_shock: float
    liquidity: float = 0.0

    @property
    def direction(self) -> float:
        """Directional share of the raw scenario losses (:mod:`spanlike.methodology.direction`)."""
        s = self.book.scenarios
        return float(directional_share.py_func(self.raw_losses, s.price_side, s.n_scenarios))


def _span_partial(book: CommodityBook) -> _Partial:
    charges = book.commodity.span
    assert charges is not None
    losses = book.scenario_losses()
    scan = scan_risk(losses)
    s = book.scenarios
    time_risk, vol_risk, price_risk = decompose_scan_risk(
        losses=losses, paired=s.paired, price_move=s.price_move_option, price_shift=s.price_shift_abs,
        scan=scan.scan_risk, worst=scan.worst,
    )
    intra = intra_spread_charge(book, charges)
    return _Partial(
        book=book, raw_losses=losses, losses=losses, worst=scan.worst, scan=scan.scan_risk, time_risk=time_risk,
        vol_risk=vol_risk, price_risk=price_risk, intra=intra, delivery=delivery_charge(book, charges, intra),
        som=short_option_minimum(book, charges),
        nov=net_option_value(book) if charges.net_option_value else 0.0, roll=0.0, delta_shock=0.0,
        liquidity=liquidity_charge(book),
    )


def _exchange_partial(book: CommodityBook) -> _Partial:
    grid = book.commodity.grid
    addons = book.commodity.exchange
    assert isinstance(grid, ExchangeGrid) and addons is not None
    res = exchange_margin(book, grid, addons)
    return _Partial(
        book=book, raw_losses=res.raw_losses, losses=res.losses, worst=res.worst, scan=res.worst_case, time_risk=0.0, vol_risk=0.0,
        price_risk=res.price_risk, intra=None, delivery=0.0, som=0.0, nov=0.0, roll=res.roll_shock,
        delta_shock=res.delta_shock, liquidity=liquidity_charge(book),
    )


def _finish(
    p: _Partial, credit: float, inter_formed: tuple[SpreadFormed, ...], parameter_set: ParameterSet,
    direction: float,
) -> CommodityMargin:
    book = p.book
    relation = parameter_set.margin_relation
    intra_charge = p.intra.charge if p.intra is not None else 0.0
    if book.commodity.method == "span":
        requirement, som_binding = span_requirement.py_func(p.scan, intra_charge, p.delivery, credit, p.som, p.nov)
        # The liquidity add-on is not offset by option value: it prices the close-out itself.
        requirement += p.liquidity
    else:
        som_binding = False
        requirement = exchange_requirement.py_func(p.scan, p.roll, p.delta_shock) + p.liquidity
    worst_column = book.risk_arrays[:, p.worst]
    contributions = tuple(
        PositionContribution(instrument=name, quantity=float(q), worst_scenario_loss=float(q * r))
        for name, q, r in zip(book.names, book.quantity, worst_column)
    )
    spreads = (p.intra.spreads if p.intra is not None else ()) + inter_formed
    return CommodityMargin(
        name=book.commodity.name,
        method=book.commodity.method,
        settlement_currency=book.commodity.settlement_currency,
        usd_per_unit=book.usd_per_unit,
        scenario_labels=book.scenarios.labels,
        scenario_losses=tuple(float(x) for x in p.losses),
        worst_scenario=Scenario(index=p.worst, label=book.scenarios.labels[p.worst]),
        scan_risk=p.scan,
        time_risk=p.time_risk,
        vol_risk=p.vol_risk,
        price_risk=p.price_risk,
        net_delta=book.net_delta(),
        intra_spread_charge=intra_charge,
        delivery_charge=p.delivery,
        inter_spread_credit=credit,
        short_option_minimum=p.som,
        short_option_minimum_binding=som_binding,
        net_option_value=p.nov,
        roll_shock=p.roll,
        delta_shock=p.delta_shock,
        requirement=requirement,
        maintenance_margin=relation.mm_factor * requirement,
        initial_margin=relation.im_factor * requirement,
        contributions=contributions,
        spreads=spreads,
        liquidity_charge=p.liquidity,
        direction=direction,
    )


def margin_positions(
    universe: UniverseRisk,
    *,
    rows: ArrayLike,
    quantity: ArrayLike,
    account: str = "default",
    notes: Sequence[str] = (),
    cross_commodity: bool = True,
) -> MarginResult:
    """Margin a set of positions given as universe rows and net quantities.

    Parameters
    ----------
    universe : UniverseRisk
        From :func:`spanlike.revalue.revalue`.
    rows : array_like of int, shape (k,)
        Rows of ``universe.table``; each at most once.
    quantity : array_like of float, shape (k,)
        Net quantity per row in contract units (coin for options and coin
        futures), finite and non-zero.
    account : str
    notes : sequence of str
        Carried into the result (e.g. dropped zero positions).
    cross_commodity : bool
        False margins each combined commodity on its own: no inter-commodity
        spread credits and no correlation offsets (portfolio margin per
        underlying, the middle level of an efficiency comparison).

    Returns
    -------
    MarginResult
    """
    r = np.asarray(rows, dtype=np.intp)
    q = np.asarray(quantity, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1:
        raise InvalidPositionError(f"rows and quantity must be 1-D of equal length; got {r.shape} and {q.shape}.")
    if not np.isfinite(q).all():
        i = int(np.flatnonzero(~np.isfinite(q))[0])
        raise InvalidPositionError(
            f"The quantity of {universe.table.instruments[r[i]].name} must be a finite number. Got {q[i]!r}."
        )
    if np.unique(r).size != r.size:
        raise InvalidPositionError("each universe row may appear once; net duplicate positions first.")
    keep = q != 0.0
    r, q = r[keep], q[keep]
    ps = universe.parameter_set
    if ps.var_model is not None:
        return _var_margin_positions(
            universe, rows=r, quantity=q, account=account, notes=notes, cross_commodity=cross_commodity
        )
    partials: list[_Partial] = []
    for c_index, risk in enumerate(universe.commodities):
        mine = universe.row_commodity[r] == c_index
        if not mine.any():
            continue
        order = np.argsort(r[mine], kind="stable")
        book = commodity_book(universe, risk, r[mine][order], q[mine][order])
        partials.append(_span_partial(book) if risk.commodity.method == "span" else _exchange_partial(book))

    directions = [p.direction for p in partials]
    credits: dict[str, tuple[float, tuple[SpreadFormed, ...]]] = {}
    span_parts = [(p, w) for p, w in zip(partials, directions) if p.book.commodity.method == "span"]
    if cross_commodity and ps.inter_spreads and len(span_parts) >= 2:
        # A commodity's delta offsets another's only where it points the way its scenario losses do.
        inputs = [
            InterSpreadInput(
                name=p.book.commodity.name,
                available_delta=offsetting_delta.py_func(
                    float(p.intra.remaining_delta.sum()) if p.intra and p.intra.tier_numbers else p.book.net_delta(),
                    w,
                ),
                net_delta=p.book.net_delta(),
                price_risk=p.price_risk,
                index_price=p.book.index_price,
            )
            for p, w in span_parts
        ]
        credits = inter_spread_credits(inputs=inputs, spreads=ps.inter_spreads)

    commodities = tuple(
        _finish(p, *credits.get(p.book.commodity.name, (0.0, ())), parameter_set=ps, direction=w)
        for p, w in zip(partials, directions)
    )
    names = [c.name for c in commodities]
    k_usd = [c.requirement_usd for c in commodities]
    # Liquidity charges are concentration in one market and do not diversify across
    # underlyings [our choice]: correlate the requirements without them, add them after.
    liq_usd = [c.liquidity_charge * c.usd_per_unit for c in commodities]
    # Directional components from the scenario losses, not the sign of net delta (methodology 6.1).
    directional = [c.direction * c.price_risk * c.usd_per_unit for c in commodities]
    total, offset = correlated_total(
        names=names, requirement_usd=[k - l for k, l in zip(k_usd, liq_usd)], directional_usd=directional,
        correlation=ps.correlation if cross_commodity else None,
    )
    floor, addon, joint_label = 0.0, 0.0, None
    if cross_commodity and ps.joint_move_floor is not None and len(partials) >= 2:
        floor, key = _joint_move_floor(partials, ps)
        if key >= 0:
            joint_label = JOINT_LABELS[key]
            addon = max(0.0, floor - total)
            total = total + addon
    if any(liq_usd):  # without liquidity charges the totals stay bit-for-bit what they were
        total += float(sum(liq_usd))
        offset = float(sum(k_usd)) - (total - addon)
    rel = ps.margin_relation
    return MarginResult(
        account=account,
        parameter_set=ps.label,
        valuation_time=universe.table.valuation_time,
        commodities=commodities,
        sum_of_requirements_usd=float(sum(k_usd)),
        correlation_offset_usd=offset,
        requirement_usd=total,
        maintenance_margin_usd=rel.mm_factor * total,
        initial_margin_usd=rel.im_factor * total,
        notes=tuple(notes),
        joint_move_floor_usd=floor,
        joint_move_addon_usd=addon,
        joint_move_scenario=joint_label,
    )


def _joint_move_floor(partials: Sequence[_Partial], ps: ParameterSet) -> tuple[float, int]:
    """The joint-move floor (USD) over the account's commodities and its joint scenario index."""
    assert ps.joint_move_floor is not None
    n = len(partials)
    m_max = max(p.book.scenarios.n_scenarios for p in partials)
    by_name = parameter_set_joint_masks(ps)
    losses = np.zeros((n, m_max))
    masks = np.zeros((n, m_max), dtype=np.int64)
    n_scen = np.zeros(n, dtype=np.int64)
    usd = np.zeros(n)
    nov_usd = 0.0
    for i, p in enumerate(partials):
        m = p.book.scenarios.n_scenarios
        losses[i, :m] = p.raw_losses
        masks[i, :m] = by_name[p.book.commodity.name]
        n_scen[i] = m
        usd[i] = p.book.usd_per_unit
        nov_usd += p.nov * p.book.usd_per_unit
    floor, key = joint_move_floor.py_func(losses, masks, n_scen, np.ones(n), usd, nov_usd, ps.joint_move_floor.weight)
    return float(floor), int(key)


# --- VaR/ES model (parameter sets with a var_model section) ---------------------------------------


def _var_margin_positions(
    universe: UniverseRisk,
    *,
    rows: NDArray[np.intp],
    quantity: NDArray[np.float64],
    account: str,
    notes: Sequence[str],
    cross_commodity: bool,
) -> MarginResult:
    """The VaR/ES branch of :func:`margin_positions` (validated, non-zero rows).

    Each commodity: ``scan_risk`` = standalone VaR/ES, ``requirement = scan_risk
    + stress_charge + liquidity_charge``. Account: ``requirement_usd`` = VaR/ES
    of the joint USD losses + joint stress charge + the liquidity charges (which
    do not diversify), and ``correlation_offset_usd = sum_of_requirements_usd -
    requirement_usd`` (the diversification of the joint scenarios). With one
    commodity, or ``cross_commodity=False``, the account requirement is the plain sum.
    """
    from spanlike.aggregation.var_model import joint_measure_usd, var_commodity

    ps = universe.parameter_set
    vm = ps.var_model
    assert vm is not None
    rel = ps.margin_relation
    parts = []
    for c_index, risk in enumerate(universe.commodities):
        mine = universe.row_commodity[rows] == c_index
        if not mine.any():
            continue
        order = np.argsort(rows[mine], kind="stable")
        book = commodity_book(universe, risk, rows[mine][order], quantity[mine][order])
        parts.append((var_commodity(book, vm), liquidity_charge(book)))
    commodities = []
    for part, liquidity in parts:
        book = part.book
        requirement = part.measure + part.stress_charge + liquidity
        worst_column = book.risk_arrays[:, part.worst]
        commodities.append(
            CommodityMargin(
                name=book.commodity.name,
                method="var",
                settlement_currency=book.commodity.settlement_currency,
                usd_per_unit=book.usd_per_unit,
                scenario_labels=book.scenarios.labels,
                scenario_losses=tuple(float(x) for x in part.losses),
                worst_scenario=Scenario(index=part.worst, label=book.scenarios.labels[part.worst]),
                scan_risk=part.measure,
                time_risk=0.0,
                vol_risk=0.0,
                price_risk=0.0,
                net_delta=book.net_delta(),
                intra_spread_charge=0.0,
                delivery_charge=0.0,
                inter_spread_credit=0.0,
                short_option_minimum=0.0,
                short_option_minimum_binding=False,
                net_option_value=0.0,
                roll_shock=0.0,
                delta_shock=0.0,
                requirement=requirement,
                maintenance_margin=rel.mm_factor * requirement,
                initial_margin=rel.im_factor * requirement,
                contributions=tuple(
                    PositionContribution(instrument=name, quantity=float(q), worst_scenario_loss=float(q * r))
                    for name, q, r in zip(book.names, book.quantity, worst_column)
                ),
                liquidity_charge=liquidity,
                stress_charge=part.stress_charge,
            )
        )
    k_usd = [c.requirement_usd for c in commodities]
    total = float(sum(k_usd))
    if cross_commodity and len(parts) >= 2:
        measure_usd, stress_usd = joint_measure_usd([p for p, _ in parts], vm)
        total = measure_usd + stress_usd + float(sum(c.liquidity_charge * c.usd_per_unit for c in commodities))
    return MarginResult(
        account=account,
        parameter_set=ps.label,
        valuation_time=universe.table.valuation_time,
        commodities=tuple(commodities),
        sum_of_requirements_usd=float(sum(k_usd)),
        correlation_offset_usd=float(sum(k_usd)) - total,
        requirement_usd=total,
        maintenance_margin_usd=rel.mm_factor * total,
        initial_margin_usd=rel.im_factor * total,
        notes=tuple(notes),
    )


def margin(
    portfolio: Portfolio | str | Path,
    market: MarketSnapshot | str | Path,
    parameter_set: ParameterSet | str | Path,
) -> MarginResult:
    """Cross-margined initial and maintenance margin of one portfolio.

    Parameters
    ----------
    portfolio : Portfolio or path
        A :class:`Portfolio`, or a CSV/JSON/Deribit positions file.
    market : MarketSnapshot or path
        A :class:`MarketSnapshot`, or a JSON/CSV/Deribit book-summary file.
    parameter_set : ParameterSet, bundled name or path
        e.g. ``"crypto-span"`` or ``"deribit-style"``.

    Returns
    -------
    MarginResult
        IM and MM in USD, per combined commodity every component.

    Raises
    ------
    SpanlikeError
        A typed subclass for every bad input (see :mod:`spanlike.errors`).
    """
    if not isinstance(portfolio, Portfolio):
        portfolio = Portfolio.from_file(portfolio)
    if not isinstance(market, MarketSnapshot):
        market = MarketSnapshot.from_file(market)
    ps = _as_parameter_set(parameter_set)
    universe, rows, quantity, notes = prepare(portfolio=portfolio, market=market, parameter_set=ps)
    return margin_positions(universe, rows=rows, quantity=quantity, account=portfolio.account, notes=notes)
