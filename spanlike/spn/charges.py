"""SPAN-file charges and credits of combined commodities: tiers by period codes.

The margin engine's own parameter sets define tiers by days to expiry; a SPAN
file defines them by period codes and states its own charge methods. These
functions implement the file's rules and reuse the generic spread former
(:func:`spanlike.aggregation.spread_forming.form_spreads`).

Delta bookkeeping
-----------------
Every step works on the **net composite delta per period** of a combined
commodity (``sum q x ra/d`` over the contracts of one period code; options
count in their series' period, physicals in ``00000S``). Spreads consume
period deltas towards zero, so each later spread (and the delivery charge)
sees what remains.

* **Tier membership**: a tier without ``sPe``/``ePe`` holds every period (tier
  0 of every Takasbank ccDef). Otherwise a period belongs to the tier when its
  leading digits (``YYYYMM`` or ``YYYYMMDD``) lie between the tier's, the start
  padded with ``0`` and the end with ``9`` to 8 digits [our choice: the XSD
  gives period codes but not their comparison].
* **Intra-spread legs** (:func:`intra_spread_charges`): a tier leg offers the
  tier's *long* delta (sum of its periods' positive remaining deltas) or its
  *short* delta (sum of the negative ones), whichever the leg's side needs; a
  period leg (``pLeg``) offers that period's remaining delta. This is the only
  reading under which the Takasbank spreads, whose legs are tier 0 side A and
  tier 0 side B, can form: they match long periods against short periods of
  the same commodity (a calendar spread). Spreads form in priority order, both
  orientations (A long / A short) tried; ``count = min_k |available_k| / ratio_k``.
* **Consumption** of a tier leg is spread over its periods of the consumed sign
  in proportion to their remaining delta [our choice; it matters only for the
  delivery charge of a period inside a multi-period tier].
* **Charge methods** (CME pubspan "Intra Spreads"): ``F`` = count x rate;
  ``P`` = count x (per-spread rate + per-month rate x months between the legs'
  periods, from ``YYYYMM``; a tier leg uses its start period, a tier without
  periods counts 0 months) [our choice for tiers]; ``W`` = sum over legs of
  delta consumed x WFPR x rate (weighted futures price risk of the commodity).
* **Delivery (spot) charge** (:func:`spot_charge`, XSD ``spotRate``): for each
  ``spotRate`` of the rate id, the periods whose code starts with its ``pe``
  digits: delta those periods gave to intra spreads x ``sprd`` plus the
  remaining |delta| x ``outr``.
* **Short option minimum** (:func:`short_option_minimum_file`): per SOM tier,
  ``rate x (short calls + short puts)`` (``GROSS``) or ``rate x max(...)``
  (``MAX``), counted in contracts x link scale; summed over tiers.
* **Inter-commodity spreads** (:func:`inter_spread_credits_file`, CME pubspan
  "Inter Spreads", method ``W``): each leg offers the *net* remaining delta of
  its inter tier after intra spreads, excluding periods with a ``spotRate``
  (no credit for delivery-month delta, CME); legs on sides A and B need
  opposite signs; ``count = min |delta| / ratio``; each leg receives
  ``count x ratio x WFPR x credit rate`` with ``WFPR = price risk / |net
  delta|`` of its commodity (0 when the price risk is not positive).
  Spreads of other methods (``F``, ``P``, ``S``) give no credit and add a
  note [conservative; absent from the Takasbank file].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.aggregation.spread_forming import SpreadLegs, form_spreads
from spanlike.methodology.span_charges import inter_credit_amount, intra_spread_amount, short_option_minimum
from spanlike.methodology.spreads import DELTA_EPS
from spanlike.results import SpreadFormed
from spanlike.spn.model import CombinedCommodityDef, DeltaSpread, SpotRate, SpreadLeg, Tier

__all__ = [
    "PeriodDeltas",
    "IntraCharges",
    "InterInput",
    "period_in_tier",
    "months_between",
    "period_deltas",
    "intra_spread_charges",
    "spot_charge",
    "short_option_minimum_file",
    "inter_spread_credits_file",
]

_DIGITS = re.compile(r"\d+")


def _digits(code: str | None) -> str:
    m = _DIGITS.match(code or "")
    return m.group(0) if m else ""


def period_in_tier(period: str, tier: Tier) -> bool:
    """True when ``period`` lies in ``tier`` (a tier with no bounds holds every period)."""
    if tier.start_period is None and tier.end_period is None:
        return True
    key = _digits(period).ljust(8, "0")
    start = _digits(tier.start_period).ljust(8, "0") if tier.start_period else "0" * 8
    end = _digits(tier.end_period).ljust(8, "9") if tier.end_period else "9" * 8
    return start <= key <= end


def months_between(a: str | None, b: str | None) -> int:
    """|months| between two period codes by their ``YYYYMM`` digits (0 if either lacks them)."""
    da, db = _digits(a), _digits(b)
    if len(da) < 6 or len(db) < 6:
        return 0
    ma = int(da[:4]) * 12 + int(da[4:6])
    mb = int(db[:4]) * 12 + int(db[4:6])
    return abs(ma - mb)


@dataclass(frozen=True)
class PeriodDeltas:
    """Net composite delta per period of one commodity (underlying-equivalent contracts).

    ``periods`` are sorted; ``delta[i]`` is the net delta of ``periods[i]``.
    """

    periods: tuple[str, ...]
    delta: NDArray[np.float64]


def period_deltas(periods: Sequence[str], position_delta: NDArray[np.float64]) -> PeriodDeltas:
    """Sum ``position_delta`` (``q x composite delta`` per position) by period code."""
    unique = tuple(sorted(set(periods)))
    where = {p: i for i, p in enumerate(unique)}
    delta = np.zeros(len(unique))
    for p, d in zip(periods, position_delta):
        delta[where[p]] += float(d)
    return PeriodDeltas(periods=unique, delta=delta)


def _tier(tiers: Sequence[Tier], number: int | None) -> Tier | None:
    for t in tiers:
        if t.number == number:
            return t
    return None


def _leg_mask(leg: SpreadLeg, periods: Sequence[str], tiers: Sequence[Tier]) -> NDArray[np.bool_]:
    if leg.period is not None:
        return np.array([p == leg.period for p in periods], dtype=bool)
    tier = _tier(tiers, leg.tier)
    if tier is None:
        return np.zeros(len(periods), dtype=bool)
    return np.array([period_in_tier(p, tier) for p in periods], dtype=bool)


def _consume(remaining: NDArray[np.float64], mask: NDArray[np.bool_], sign: float, amount: float) -> None:
    """Move ``amount`` of ``sign``-signed delta in ``mask`` towards zero, pro rata (in place)."""
    pick = mask & (np.sign(remaining) == sign)
    total = float(np.abs(remaining[pick]).sum())
    if total <= 0.0 or amount <= 0.0:
        return
    share = min(amount / total, 1.0)
    remaining[pick] -= remaining[pick] * share
    if share == 1.0:
        remaining[pick] = 0.0


@dataclass(frozen=True)
class IntraCharges:
    """Intra-commodity spread charge of one commodity and the deltas it left.

    Attributes
    ----------
    charge : float
        Sum of the spread charges, commodity currency.
    spreads : tuple of SpreadFormed
    remaining : ndarray
        Period deltas after the spreads (aligned with :attr:`PeriodDeltas.periods`).
    consumed : ndarray
        |delta| each period gave to spreads.
    notes : tuple of str
    """

    charge: float
    spreads: tuple[SpreadFormed, ...]
    remaining: NDArray[np.float64]
    consumed: NDArray[np.float64]
    notes: tuple[str, ...] = ()


def _leg_name(leg: SpreadLeg) -> str:
    where = f"period {leg.period}" if leg.period is not None else f"tier {leg.tier}"
    return f"{leg.combined_commodity} {where} ({leg.side})"


def intra_spread_charges(
    cc: CombinedCommodityDef, deltas: PeriodDeltas, *, rate_id: int, wfpr: float
) -> IntraCharges:
    """Intra-commodity spread charges of ``cc`` from its period deltas (module notes).

    Parameters
    ----------
    cc : CombinedCommodityDef
    deltas : PeriodDeltas
    rate_id : int
        Rate id whose rates apply (1 in the Takasbank file).
    wfpr : float
        Weighted futures price risk of the commodity (method ``W`` only).

    Returns
    -------
    IntraCharges
    """
    remaining = deltas.delta.astype(np.float64, copy=True)
    periods = deltas.periods
    total = 0.0
    formed_out: list[SpreadFormed] = []
    notes: list[str] = []
    for spread in sorted(cc.intra_spreads, key=lambda s: s.priority):
        masks = [_leg_mask(leg, periods, cc.intra_tiers) for leg in spread.legs]
        sides = [1 if leg.side == "A" else -1 for leg in spread.legs]
        for a_sign in (1, -1):
            # Each leg offers the delta of the sign it needs in this orientation.
            available = np.array([
                float(remaining[m & (np.sign(remaining) == a_sign * s)].sum()) for m, s in zip(masks, sides)
            ])
            legs = SpreadLegs(buckets=tuple(range(len(masks))),
                              ratios=tuple(leg.delta_ratio for leg in spread.legs), sides=tuple(sides))
            formed, _ = form_spreads(deltas=available, spreads=[legs])
            if not formed:
                continue
            f = formed[0]
            for m, s, take in zip(masks, sides, f.consumed):
                _consume(remaining, m, float(a_sign * s), take)
            amount, note = _intra_amount(spread, f.count, f.consumed, cc, rate_id=rate_id, wfpr=wfpr)
            if note:
                notes.append(note)
            total += amount
            formed_out.append(SpreadFormed(
                kind="intra", name=f"{cc.code} spread {spread.priority} ({spread.charge_method})",
                priority=spread.priority, legs=tuple(_leg_name(leg) for leg in spread.legs),
                count=f.count, amount=amount,
            ))
    consumed = np.abs(deltas.delta) - np.abs(remaining)
    return IntraCharges(charge=total, spreads=tuple(formed_out), remaining=remaining,
                        consumed=np.maximum(consumed, 0.0), notes=tuple(notes))


def _intra_amount(
    spread: DeltaSpread, count: float, consumed: Sequence[float], cc: CombinedCommodityDef, *, rate_id: int, wfpr: float
) -> tuple[float, str | None]:
    method = spread.charge_method
    if method == "F":
        rate = spread.rate(rate_id)
        if rate is None:
            return 0.0, f"{cc.code} intra spread {spread.priority} has no rate for rate id {rate_id}; charged 0."
        return intra_spread_amount(count, rate, 1), None
    if method == "P":
        pm = next((r for r in spread.per_month_rates if r.rate_id == rate_id), None)
        if pm is None:
            return 0.0, f"{cc.code} intra spread {spread.priority} (P) has no pmpsRate for rate id {rate_id}; charged 0."
        ends = []
        for leg in spread.legs:
            if leg.period is not None:
                ends.append(leg.period)
            else:
                tier = _tier(cc.intra_tiers, leg.tier)
                ends.append(tier.start_period if tier is not None else None)
        months = max((months_between(a, b) for a in ends for b in ends), default=0)
        return count * (pm.per_spread_rate + pm.per_month_rate * months), None
    if method == "W":
        rate = spread.rate(rate_id) or 0.0
        return float(sum(consumed)) * wfpr * rate, None
    return 0.0, f"{cc.code} intra spread {spread.priority} uses charge method {method!r}, not implemented; charged 0."


def _spot_rows(rate: SpotRate, periods: Sequence[str]) -> NDArray[np.bool_]:
    digits = _digits(rate.period) or rate.period
    return np.array([_digits(p).startswith(digits) if _digits(p) else p == rate.period for p in periods], dtype=bool)


def spot_charge(cc: CombinedCommodityDef, deltas: PeriodDeltas, intra: IntraCharges, *, rate_id: int) -> float:
    """Delivery-period charge: consumed delta x ``sprd`` + remaining |delta| x ``outr`` (module notes).

    Returns
    -------
    float
        Commodity currency, >= 0 for non-negative rates; 0 when ``cc`` has no ``spotRate``.
    """
    total = 0.0
    for rate in cc.spot_rates:
        if rate.rate_id != rate_id:
            continue
        rows = _spot_rows(rate, deltas.periods)
        total += float(intra.consumed[rows].sum()) * rate.spread_rate
        total += float(np.abs(intra.remaining[rows]).sum()) * rate.outright_rate
    return total


def short_option_minimum_file(
    cc: CombinedCommodityDef, *, periods: Sequence[str], quantity: NDArray[np.float64],
    is_option: NDArray[np.bool_], is_call: NDArray[np.bool_], rate_id: int,
) -> float:
    """SOM of ``cc``: per SOM tier, rate x short options (GROSS) or x max(short calls, short puts) (MAX).

    Parameters
    ----------
    periods : sequence of str, length k
        Period of each position.
    quantity : ndarray, shape (k,)
        Signed contracts (already multiplied by the link scale).
    is_option, is_call : ndarray of bool, shape (k,)
    rate_id : int

    Returns
    -------
    float
        Commodity currency.
    """
    method = (cc.som_method or "GROSS").upper()
    short = is_option & (quantity < 0.0)
    total = 0.0
    for tier in cc.som_tiers:
        rate = tier.rate(rate_id)
        if not rate:
            continue
        in_tier = np.array([period_in_tier(p, tier) for p in periods], dtype=bool)
        calls = float(-quantity[short & is_call & in_tier].sum())
        puts = float(-quantity[short & ~is_call & in_tier].sum())
        total += short_option_minimum(calls, puts, method != "MAX", rate)
    return total


@dataclass(frozen=True)
class InterInput:
    """What one combined commodity brings to inter-commodity spreading.

    Attributes
    ----------
    cc : CombinedCommodityDef
    deltas : PeriodDeltas
        Periods of the commodity.
    remaining : ndarray
        Period deltas after intra spreads.
    net_delta : float
        Net composite delta of the whole commodity (WFPR denominator).
    price_risk : float
        Price risk from the paired-scenario decomposition, commodity currency.
    """

    cc: CombinedCommodityDef
    deltas: PeriodDeltas
    remaining: NDArray[np.float64]
    net_delta: float
    price_risk: float

    @property
    def wfpr(self) -> float:
        """Weighted futures price risk ``price_risk / |net delta|`` (0 without delta or price risk)."""
        if abs(self.net_delta) < DELTA_EPS or self.price_risk <= 0.0:
            return 0.0  # a net delta within DELTA_EPS of zero is flat, as spread forming treats it
        return self.price_risk / abs(self.net_delta)


def inter_spread_credits_file(
    spreads: Sequence[DeltaSpread], inputs: Mapping[str, InterInput], *, rate_id: int
) -> tuple[dict[str, tuple[float, tuple[SpreadFormed, ...]]], tuple[str, ...]]:
    """Inter-commodity credits by priority with delta ratios and WFPR (module notes).

    Parameters
    ----------
    spreads : sequence of DeltaSpread
        The file's ``interSpreads``.
    inputs : mapping of str to InterInput
        Commodities the account holds, by code.
    rate_id : int

    Returns
    -------
    credits : dict
        ``code -> (credit, spreads formed)`` for every input, credit >= 0 (commodity currency).
    notes : tuple of str
    """
    remaining = {code: x.remaining.astype(np.float64, copy=True) for code, x in inputs.items()}
    delivery = {
        code: np.array([any(_spot_rows(r, [p])[0] for r in x.cc.spot_rates if r.rate_id == rate_id)
                        for p in x.deltas.periods], dtype=bool)
        for code, x in inputs.items()
    }
    credit = {code: 0.0 for code in inputs}
    formed_by: dict[str, list[SpreadFormed]] = {code: [] for code in inputs}
    notes: list[str] = []
    for spread in sorted(spreads, key=lambda s: s.priority):
        if any(leg.combined_commodity not in inputs for leg in spread.legs):
            continue
        if spread.charge_method != "W":
            notes.append(f"Inter spread {spread.priority} uses charge method {spread.charge_method!r}, "
                         "not implemented; no credit given.")
            continue
        masks = []
        for leg in spread.legs:
            x = inputs[leg.combined_commodity]
            mask = _leg_mask(leg, x.deltas.periods, x.cc.inter_tiers) & ~delivery[leg.combined_commodity]
            masks.append(mask)
        available = np.array([float(remaining[leg.combined_commodity][m].sum()) for leg, m in zip(spread.legs, masks)])
        legs = SpreadLegs(buckets=tuple(range(len(masks))), ratios=tuple(leg.delta_ratio for leg in spread.legs),
                          sides=tuple(1 if leg.side == "A" else -1 for leg in spread.legs))
        formed, _ = form_spreads(deltas=available, spreads=[legs])
        if not formed:
            continue
        f = formed[0]
        rate = spread.rate(rate_id) or 0.0
        leg_names = tuple(_leg_name(leg) for leg in spread.legs)
        for leg, m, take, d in zip(spread.legs, masks, f.consumed, available):
            code = leg.combined_commodity
            _consume(remaining[code], m, float(np.sign(d)), take)
            amount = inter_credit_amount(take, inputs[code].price_risk, inputs[code].net_delta, rate)
            credit[code] += amount
            formed_by[code].append(SpreadFormed(kind="inter", name=f"inter spread {spread.priority} (W)",
                                                priority=spread.priority, legs=leg_names, count=f.count, amount=amount))
    return {code: (credit[code], tuple(formed_by[code])) for code in inputs}, tuple(notes)
