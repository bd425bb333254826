"""SPAN charges of one combined commodity, applied to a :class:`CommodityBook` (methodology 3).

This module gathers what each rule needs from a book (loss vector, net delta
per tier, delivery-window delta, short option units, option value) and calls
the rule, which lives once in :mod:`spanlike.methodology` for every driver:
scan risk and the paired split (:mod:`~spanlike.methodology.scan`), spread
forming (:mod:`~spanlike.methodology.spreads`), the intra-spread, delivery
and short-option-minimum amounts (:mod:`~spanlike.methodology.span_charges`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spanlike.params.charges import SpanCharges
from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.aggregation.liquidity import liquidity_charge
from spanlike.aggregation.methods import BATCH_SPAN, CommodityStage, MarginMethod, register_method
from spanlike.aggregation.spread_forming import SpreadLegs, form_spreads
from spanlike.methodology.span_charges import span_requirement
from spanlike.params.parameter_set import ParameterSet
from spanlike.results import SpanComponents
from spanlike.methodology.scan import no_move_scenario, paired_split, worst_scenario
from spanlike.methodology.span_charges import delivery_charge as delivery_rule
from spanlike.methodology.span_charges import intra_spread_amount
from spanlike.methodology.span_charges import short_option_minimum as som_rule
from spanlike.methodology.spreads import DAYS_PER_MONTH, spread_months
from spanlike.results import SpreadFormed

__all__ = [
    "ScanResult",
    "scan_risk",
    "decompose_scan_risk",
    "IntraResult",
    "intra_spread_charge",
    "delivery_charge",
    "short_option_minimum",
    "net_option_value",
    "DAYS_PER_MONTH",
]



@dataclass(frozen=True)
class ScanResult:
    """Scan risk (settlement currency, >= 0), the worst scenario and the loss vector."""

    scan_risk: float
    worst: int
    losses: NDArray[np.float64]


def scan_risk(losses: NDArray[np.float64]) -> ScanResult:
    """Scan risk of a loss vector: ``max(0, max_j losses_j)`` and its first maximum
    (:func:`spanlike.methodology.scan.worst_scenario`)."""
    worst, best = worst_scenario.py_func(losses, losses.shape[0])
    return ScanResult(scan_risk=max(0.0, float(best)), worst=int(worst), losses=losses)


def decompose_scan_risk(
    *, losses: NDArray[np.float64], paired: NDArray[np.int64], price_move: NDArray[np.float64],
    price_shift: NDArray[np.float64], scan: float, worst: int
) -> tuple[float, float, float]:
    """Split scan risk into (time risk, vol risk, price risk), CME pubspan "Inter Spreads".

    Parameters
    ----------
    losses : ndarray, shape (m,)
    paired : ndarray of int, shape (m,)
        Index of each scenario's paired (opposite-vol) scenario, -1 if none.
    price_move, price_shift : ndarray, shape (m,)
        Relative and absolute price moves, to find the no-move pair.
    scan : float
        Scan risk (>= 0).
    worst : int
        Worst scenario index.

    Returns
    -------
    tuple of float
        ``time_risk``, ``vol_risk``, ``price_risk`` with ``time + vol + price = scan``.
    """
    no_move = no_move_scenario(price_move=price_move, price_shift=price_shift, paired=paired)
    time_risk, vol_risk, price_risk = paired_split.py_func(losses, no_move, int(paired[max(no_move, 0)]), worst,
                                                           int(paired[worst]), scan)
    return float(time_risk), float(vol_risk), float(price_risk)


@dataclass(frozen=True)
class IntraResult:
    """Intra-commodity spread charge and what it consumed.

    ``tier_numbers`` and the delta arrays are aligned: net delta per tier
    before and after spreading, and delta each tier gave to spreads.
    """

    charge: float
    spreads: tuple[SpreadFormed, ...]
    tier_numbers: tuple[int, ...]
    tier_delta: NDArray[np.float64]
    remaining_delta: NDArray[np.float64]
    consumed_delta: NDArray[np.float64]


def intra_spread_charge(book: CommodityBook, charges: SpanCharges) -> IntraResult:
    """Calendar-spread charge from net composite delta per tier (flat and per-month methods)."""
    tiers = sorted(charges.tiers, key=lambda t: t.number)
    numbers = tuple(t.number for t in tiers)
    position = {n: i for i, n in enumerate(numbers)}
    delta_by_row = book.quantity * book.composite_delta
    tier_delta = np.zeros(len(tiers))
    for i, n in enumerate(numbers):
        tier_delta[i] = float(delta_by_row[book.tier == n].sum())
    ordered = sorted(charges.intra_spreads, key=lambda s: s.priority)
    legs = [
        SpreadLegs(
            buckets=tuple(position[leg.tier] for leg in s.legs),
            ratios=tuple(leg.delta_ratio for leg in s.legs),
            sides=tuple(1 if leg.side == "A" else -1 for leg in s.legs),
        )
        for s in ordered
    ]
    formed, remaining = form_spreads(deltas=tier_delta, spreads=legs)
    consumed = np.zeros(len(tiers))
    total = 0.0
    out: list[SpreadFormed] = []
    mids = {t.number: t.mid_days for t in tiers}
    for f in formed:
        spread = ordered[f.spread]
        rate = book.rate_value(spread.rate, spread.rate_kind)
        months = spread_months([mids[leg.tier] for leg in spread.legs]) if spread.method == "per_month" else 1
        amount = intra_spread_amount.py_func(f.count, rate, months)
        total += amount
        for leg, take in zip(spread.legs, f.consumed):
            consumed[position[leg.tier]] += take
        out.append(
            SpreadFormed(
                kind="intra",
                name=" / ".join(f"tier {leg.tier}" for leg in spread.legs),
                priority=spread.priority,
                legs=tuple(f"tier {leg.tier} ({leg.side})" for leg in spread.legs),
                count=f.count,
                amount=amount,
            )
        )
    return IntraResult(
        charge=total, spreads=tuple(out), tier_numbers=numbers, tier_delta=tier_delta,
        remaining_delta=remaining, consumed_delta=consumed,
    )


def delivery_charge(book: CommodityBook, charges: SpanCharges, intra: IntraResult) -> float:
    """Spot-month charge on the net delta of contracts in the delivery window (see module notes)."""
    spec = charges.delivery
    if spec is None or not book.in_delivery.any():
        return 0.0
    delta_by_row = book.quantity * book.composite_delta
    total = 0.0
    for tier_number in np.unique(book.tier[book.in_delivery]):
        rows = book.in_delivery & (book.tier == tier_number)
        d = float(delta_by_row[rows].sum())
        tier_delta, tier_consumed = 0.0, 0.0  # a tier without spreads gives none of its delta
        if tier_number in intra.tier_numbers:
            k = intra.tier_numbers.index(int(tier_number))
            tier_delta, tier_consumed = float(intra.tier_delta[k]), float(intra.consumed_delta[k])
        total += delivery_rule.py_func(d, tier_delta, tier_consumed,
                                       book.rate_value(spec.spread_rate, spec.rate_kind),
                                       book.rate_value(spec.outright_rate, spec.rate_kind))
    return total


def short_option_minimum(book: CommodityBook, charges: SpanCharges) -> float:
    """SOM: rate per short option in underlying units, gross or max method."""
    spec = charges.short_option_minimum
    if spec is None:
        return 0.0
    short = book.is_option & (book.quantity < 0.0)
    units = np.abs(book.quantity) * book.multiplier
    short_calls = float(units[short & book.is_call].sum())
    short_puts = float(units[short & ~book.is_call].sum())
    return float(som_rule.py_func(short_calls, short_puts, spec.method == "gross", book.rate_value(spec.rate, spec.rate_kind)))


def net_option_value(book: CommodityBook) -> float:
    """NOV = long option value - short option value, settlement currency."""
    return float((book.quantity * book.mark_value)[book.is_option].sum())


# --- the SPAN method ------------------------------------------------------------------------------


def span_stage(book: CommodityBook, parameter_set: ParameterSet) -> CommodityStage:
    """SPAN over one commodity's book: scan risk and its split, intra spreads, delivery, SOM, NOV.

    ``finish(credit)`` applies the requirement rule
    (:func:`spanlike.methodology.span_charges.span_requirement`) once the
    inter-commodity credit is known; the liquidity add-on is not offset by
    option value (it prices the close-out itself) and is added after it.
    """
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
    delivery = delivery_charge(book, charges, intra)
    som = short_option_minimum(book, charges)
    nov = net_option_value(book) if charges.net_option_value else 0.0
    liquidity = liquidity_charge(book)

    def finish(credit: float) -> tuple[SpanComponents, float]:
        requirement, binding = span_requirement.py_func(scan.scan_risk, intra.charge, delivery, credit, som, nov)
        record = SpanComponents(
            scan_risk=scan.scan_risk, time_risk=time_risk, vol_risk=vol_risk, price_risk=price_risk,
            intra_spread_charge=intra.charge, delivery_charge=delivery, inter_spread_credit=credit,
            short_option_minimum=som, short_option_minimum_binding=bool(binding), net_option_value=nov,
            liquidity_charge=liquidity,
        )
        return record, requirement + liquidity

    return CommodityStage(
        book=book, raw_losses=losses, losses=losses, worst=scan.worst, price_risk=price_risk, net_option_value=nov,
        available_delta=float(intra.remaining_delta.sum()) if intra.tier_numbers else book.net_delta(),
        spreads=intra.spreads, finish=finish,
    )


def _span_requirement_with(c: SpanComponents, short_value: float, on: frozenset[str]) -> float:
    """The SPAN requirement with only the components in ``on`` switched on (savings attribution)."""
    risk = c.scan_risk
    if "calendar_spreads" in on:
        risk += c.intra_spread_charge
    if "delivery" in on:
        risk += c.delivery_charge
    if "inter_commodity_credits" in on:
        risk -= c.inter_spread_credit
    if "short_option_minimum" in on:
        risk = max(risk, c.short_option_minimum)
    nov = c.net_option_value if "long_option_value" in on else short_value
    liquidity = c.liquidity_charge if "liquidity" in on else 0.0
    return max(risk - nov, 0.0) + liquidity


SPAN = register_method(MarginMethod(
    name="span",
    description="SPAN: scan risk over the grid, calendar spreads, delivery, short option minimum, NOV (methodology 3)",
    stage=span_stage,
    takes_inter_credit=True,
    scan_label="scan risk",
    report_rows=(
        ("time_risk", "  of which time risk"), ("vol_risk", "  of which vol risk"),
        ("price_risk", "  of which price risk"), ("intra_spread_charge", "intra-commodity spread charge"),
        ("delivery_charge", "delivery charge"), ("inter_spread_credit", "inter-commodity spread credit"),
        ("short_option_minimum", "short option minimum"), ("net_option_value", "net option value (subtracted)"),
    ),
    requirement_with=_span_requirement_with,
    batch_code=BATCH_SPAN,
))
