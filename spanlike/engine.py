"""The margin engine: positions + market snapshot + parameter set -> :class:`MarginResult`.

Pipeline (docs/architecture.md)::

    Portfolio --resolve--> InstrumentTable --revalue--> risk arrays
              --per combined commodity: its method's stage--> components
              --cross level: inter-commodity credits, correlation offsets,
                joint-move floor (or the VaR/ES of the joint losses)--> MarginResult

:func:`margin` runs it for one account. :func:`margin_positions` margins any
set of rows of an already revalued universe (what batch margining and what-if
reuse: pricing happens once per snapshot). The methods are registered in
:mod:`spanlike.aggregation.methods`; every formula they and the cross level
apply lives once in :mod:`spanlike.methodology`. A liquidity section adds
:mod:`spanlike.aggregation.liquidity`'s charge on every path.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spanlike import params as params_pkg
from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.aggregation.correlation import correlated_total, shared_offset_total
from spanlike.aggregation.inter_spreads import InterSpreadInput, inter_spread_credits
from spanlike.aggregation.methods import CommodityStage, method_of
from spanlike.aggregation.var_model import VarCommodity, joint_measure_usd
from spanlike.errors import InvalidPositionError
from spanlike.guards import check_result_finite
from spanlike.market import MarketSnapshot
from spanlike.methodology.direction import directional_share, offsetting_delta
from spanlike.methodology.joint_move import JOINT_LABELS, joint_move_floor, parameter_set_joint_index
from spanlike.params.parameter_set import ParameterSet
from spanlike.portfolio import Portfolio
from spanlike.results import CommodityMargin, MarginResult, PositionContribution, Scenario, SpreadFormed
from spanlike.revalue import CommodityRisk, UniverseRisk, revalue
from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE
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


def _commodity_margin(
    stage: CommodityStage, credit: float, inter_formed: tuple[SpreadFormed, ...], ps: ParameterSet, direction: float
) -> CommodityMargin:
    """A commodity's result from its method's stage, its inter-commodity credit and its direction."""
    book = stage.book
    record, requirement = stage.finish(credit)
    relation = ps.margin_relation
    worst_column = book.risk_arrays[:, stage.worst]
    contributions = tuple(
        PositionContribution(instrument=name, quantity=float(q), worst_scenario_loss=float(q * r))
        for name, q, r in zip(book.names, book.quantity, worst_column)
    )
    return CommodityMargin(
        name=book.commodity.name,
        method=book.commodity.method,
        settlement_currency=book.commodity.settlement_currency,
        usd_per_unit=book.usd_per_unit,
        scenario_labels=book.scenarios.labels,
        scenario_losses=tuple(float(x) for x in stage.losses),
        worst_scenario=Scenario(index=stage.worst, label=book.scenarios.labels[stage.worst]),
        net_delta=book.net_delta(),
        components=record,
        requirement=requirement,
        maintenance_margin=relation.mm_factor * requirement,
        initial_margin=relation.im_factor * requirement,
        contributions=contributions,
        spreads=stage.spreads + inter_formed,
        direction=direction,
    )


def _direction(stage: CommodityStage) -> float:
    """Directional share of the raw scenario losses (:mod:`spanlike.methodology.direction`)."""
    s = stage.book.scenarios
    return float(directional_share.py_func(stage.raw_losses, s.price_side, s.n_scenarios))


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

    Each combined commodity is margined by its method (:mod:`spanlike.aggregation.methods`);
    the cross level then applies inter-commodity credits, correlation offsets
    and the joint-move floor (grid-based sets) or the VaR/ES of the joint
    losses (sets with a ``var_model``). Under ``cross_offsets positions =
    "delta_one"`` the credits and the offset are measured on each commodity's
    futures and perpetuals alone and the offset is shared out capped per
    commodity (methodology 6.3), so a bought option never raises the total by
    more than its value.

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
        spread credits, no correlation offsets, no joint measure (portfolio
        margin per underlying, the middle level of an efficiency comparison).

    Returns
    -------
    MarginResult

    Raises
    ------
    InvalidPositionError
        Rows and quantities of unequal length, a non-finite quantity or a repeated row.
    NumericalError
        A margin came out non-finite or negative (:func:`spanlike.guards.check_result_finite`).
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
    # Offsets read from every position, or (cross_offsets positions = "delta_one") from the
    # futures and perpetuals only: an option then cannot move an offset across underlyings.
    delta_one = cross_commodity and ps.cross_offsets.positions == "delta_one"
    stages: list[CommodityStage] = []
    sub_stages: list[CommodityStage | None] = []
    for c_index, risk in enumerate(universe.commodities):
        mine = universe.row_commodity[r] == c_index
        if not mine.any():
            continue
        order = np.argsort(r[mine], kind="stable")
        book = commodity_book(universe, risk, r[mine][order], q[mine][order])
        stage = method_of(risk.commodity.method).stage(book, ps)
        stages.append(stage)
        if delta_one:
            sub_stages.append(_sub_book_stage(universe, risk, stage, r[mine][order], q[mine][order]))
    directions = [_direction(st) for st in stages]
    shared = delta_one and any(sub is not st for sub, st in zip(sub_stages, stages))
    offering = [(sub, _direction(sub) if sub is not None else 0.0) for sub in sub_stages] if shared else list(
        zip(stages, directions))

    credits: dict[str, tuple[float, tuple[SpreadFormed, ...]]] = {}
    credited = [(st, w) for st, w in offering
                if st is not None and method_of(st.book.commodity.method).takes_inter_credit]
    if cross_commodity and ps.inter_spreads and len(credited) >= 2:
        # A commodity's delta offsets another's only where it points the way its scenario losses do.
        inputs = [
            InterSpreadInput(
                name=st.book.commodity.name,
                available_delta=offsetting_delta.py_func(st.available_delta, w),
                net_delta=st.book.net_delta(),
                price_risk=st.price_risk,
                index_price=st.book.index_price,
            )
            for st, w in credited
        ]
        credits = inter_spread_credits(inputs=inputs, spreads=ps.inter_spreads)

    commodities = tuple(
        _commodity_margin(st, *credits.get(st.book.commodity.name, (0.0, ())), ps=ps, direction=w)
        for st, w in zip(stages, directions)
    )
    k_usd = [c.requirement_usd for c in commodities]
    # Liquidity charges are concentration in one market and do not diversify across
    # underlyings [our choice]: aggregate the requirements without them, add them after.
    liq_usd = [c.liquidity_charge * c.usd_per_unit for c in commodities]
    floor, addon, joint_label = 0.0, 0.0, None
    if ps.var_model is not None:
        total = float(sum(k_usd))
        if cross_commodity and len(stages) >= 2:
            measure_usd, stress_usd = joint_measure_usd(
                [VarCommodity(book=st.book, losses=st.losses, worst=st.worst, measure=0.0, stress_charge=0.0)
                 for st in stages], ps.var_model,
            )
            total = measure_usd + stress_usd + float(sum(liq_usd))
        offset = float(sum(k_usd)) - total
    else:
        # Directional components from the scenario losses, not the sign of net delta (methodology 6.1).
        names = [c.name for c in commodities]
        k_cross = [k - l for k, l in zip(k_usd, liq_usd)]
        if shared:
            # The offset of the futures and perpetuals, shared out and capped per commodity (methodology 6.3).
            k_sub, s_sub = _sub_book_inputs(offering, credits)
            _, offset_sub = correlated_total(names=names, requirement_usd=k_sub, directional_usd=s_sub,
                                             correlation=ps.correlation)
            total, offset = shared_offset_total(names=names, requirement_usd=k_cross, sub_requirement_usd=k_sub,
                                                sub_offset_usd=offset_sub, correlation=ps.correlation)
        else:
            directional = [c.direction * c.price_risk * c.usd_per_unit for c in commodities]
            total, offset = correlated_total(
                names=names, requirement_usd=k_cross, directional_usd=directional,
                correlation=ps.correlation if cross_commodity else None,
            )
        if cross_commodity and ps.joint_move_floor is not None and len(stages) >= 2:
            floor, key = _joint_move_floor(stages, ps)
            if key >= 0:
                joint_label = JOINT_LABELS[key]
                addon = max(0.0, floor - total)
                total = total + addon
        if any(liq_usd):  # without liquidity charges the totals stay bit-for-bit what they were
            total += float(sum(liq_usd))
            offset = float(sum(k_usd)) - (total - addon)
    rel = ps.margin_relation
    result = MarginResult(
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
        cross_offsets_from=(ps.cross_offsets.positions if cross_commodity and ps.var_model is None
                            and (ps.inter_spreads or ps.correlation is not None) else None),
    )
    check_result_finite(result)
    return result


def _sub_book_stage(
    universe: UniverseRisk, risk: CommodityRisk, stage: CommodityStage, rows: NDArray[np.intp],
    quantity: NDArray[np.float64],
) -> CommodityStage | None:
    """The stage of a commodity's futures and perpetuals alone (methodology 6.3).

    ``stage`` itself when the commodity holds no option (the sub-book is the book), None when it
    holds nothing but options.
    """
    linear = ~stage.book.is_option
    if linear.all():
        return stage
    if not linear.any():
        return None
    return method_of(risk.commodity.method).stage(
        commodity_book(universe, risk, rows[linear], quantity[linear]), universe.parameter_set)


def _sub_book_inputs(
    offering: Sequence[tuple[CommodityStage | None, float]],
    credits: dict[str, tuple[float, tuple[SpreadFormed, ...]]],
) -> tuple[list[float], list[float]]:
    """Requirements (USD, without liquidity add-ons) and directional components of the sub-books.

    A commodity without futures or perpetuals brings 0 and 0: it offers no offset.
    """
    k_sub: list[float] = []
    s_sub: list[float] = []
    for sub, w in offering:
        if sub is None:
            k_sub.append(0.0)
            s_sub.append(0.0)
            continue
        record, requirement = sub.finish(credits.get(sub.book.commodity.name, (0.0, ()))[0])
        usd = sub.book.usd_per_unit
        k_sub.append((requirement - record.liquidity_charge) * usd)
        s_sub.append(w * sub.price_risk * usd)
    return k_sub, s_sub


def _joint_move_floor(stages: Sequence[CommodityStage], ps: ParameterSet) -> tuple[float, int]:
    """The joint-move floor (USD) over the account's commodities and its joint scenario index."""
    assert ps.joint_move_floor is not None
    by_name = parameter_set_joint_index(ps)
    n = len(stages)
    m_max = max(st.book.scenarios.n_scenarios for st in stages)
    losses = np.zeros((n, m_max))
    index = np.stack([by_name[st.book.commodity.name] for st in stages])
    usd = np.zeros(n)
    nov_usd = 0.0
    for i, st in enumerate(stages):
        losses[i, :st.book.scenarios.n_scenarios] = st.raw_losses
        usd[i] = st.book.usd_per_unit
        nov_usd += st.net_option_value * st.book.usd_per_unit
    floor, key = joint_move_floor.py_func(losses, index, np.ones(n), usd, nov_usd, ps.joint_move_floor.weight)
    return float(floor), int(key)


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
    result = margin_positions(universe, rows=rows, quantity=quantity, account=portfolio.account, notes=notes)
    return _with_entered_units(result, portfolio)


def _with_entered_units(result: MarginResult, portfolio: Portfolio) -> MarginResult:
    """Contributions that say how a quantity was entered when it was not in contract units (USD sizes)."""
    entered = {p.instrument.name: f"{p.quantity:g} {p.unit}" for p in portfolio.positions if p.unit == "usd"}
    if not entered:
        return result
    commodities = tuple(
        dataclasses.replace(c, contributions=tuple(
            dataclasses.replace(k, entered_as=entered.get(k.instrument)) for k in c.contributions))
        for c in result.commodities
    )
    return dataclasses.replace(result, commodities=commodities)
