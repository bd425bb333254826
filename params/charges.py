"""Per-combined-commodity charges: SPAN intra/delivery/SOM/NOV and exchange add-ons.

SPAN order (methodology 3): ``risk = max(scan + intra + delivery - inter_credit, SOM)``,
requirement ``= max(risk - NOV, 0)`` for premium-style options.

Rates are either ``"relative"`` (a fraction of the underlying price per unit of
delta or per option, so a relative rate of 0.01 on a coin-settled commodity is
0.01 coin, on a linear one 0.01 x price USD) or ``"absolute"`` (an amount in the
commodity's settlement currency per unit). Rates are never negative.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import FrozenModel

__all__ = [
    "Tier",
    "IntraSpreadLeg",
    "IntraSpread",
    "DeliveryCharge",
    "ShortOptionMinimum",
    "SpanCharges",
    "RollShock",
    "DeltaShock",
    "ExchangeAddOns",
]

# A rate is a fraction (relative) or USD per coin (absolute); 1e9 is past any real one and keeps
# rate x notional finite (an unbounded rate margined at inf).
Rate = Annotated[float, Field(ge=0.0, le=1e9)]
RateKind = Literal["relative", "absolute"]


class Tier(FrozenModel):
    """An expiry bucket for intra-commodity spreads: ``start_days <= DTE < end_days``.

    Perpetuals have DTE 0 and fall in the tier that starts at 0.
    """

    number: Annotated[int, Field(ge=1)]
    start_days: Annotated[float, Field(ge=0.0)]
    end_days: Annotated[float, Field(gt=0.0)]

    @model_validator(mode="after")
    def _check(self) -> "Tier":
        if self.end_days <= self.start_days:
            raise ValueError(
                f"tier {self.number}: end_days ({self.end_days}) must exceed start_days ({self.start_days})"
            )
        return self

    @property
    def mid_days(self) -> float:
        """Midpoint of the bucket in days (used for the per-month method)."""
        return 0.5 * (self.start_days + self.end_days)


class IntraSpreadLeg(FrozenModel):
    """One leg of an intra-commodity spread: a tier, its delta ratio and side.

    ``delta_ratio`` in [1e-6, 1e6]: real ratios are near 1; the bounds keep
    ``delta / ratio`` far from float overflow (1e-320 overflowed).
    """

    tier: Annotated[int, Field(ge=1)]
    delta_ratio: Annotated[float, Field(ge=1e-6, le=1e6)] = 1.0
    side: Literal["A", "B"]


class IntraSpread(FrozenModel):
    """A calendar spread between tiers, charged per spread formed.

    Attributes
    ----------
    priority : int
        Lower numbers form first and consume delta first.
    legs : tuple of IntraSpreadLeg
        At least one leg on side A and one on side B; a spread forms where the
        A legs' net deltas have one sign and the B legs' the other.
    rate : float
        Charge per spread (per unit of ratio-1 delta), see ``rate_kind``.
    method : {"flat", "per_month"}
        ``flat``: count x rate. ``per_month``: count x rate x months between the
        legs' tiers, months = ``round(|mid_b - mid_a| / 30.4375)`` and at least 1.
    """

    priority: Annotated[int, Field(ge=1)]
    legs: tuple[IntraSpreadLeg, ...]
    rate: Rate
    rate_kind: RateKind = "relative"
    method: Literal["flat", "per_month"] = "flat"

    @model_validator(mode="after")
    def _check(self) -> "IntraSpread":
        sides = {leg.side for leg in self.legs}
        if sides != {"A", "B"}:
            raise ValueError(
                f"intra spread with priority {self.priority} needs legs on both sides A and B; got {sorted(sides)}"
            )
        tiers = [leg.tier for leg in self.legs]
        if len(set(tiers)) != len(tiers):
            raise ValueError(f"intra spread with priority {self.priority} names a tier twice: {tiers}")
        return self


class DeliveryCharge(FrozenModel):
    """Spot-month charge on delta of contracts that expire within ``window_days``.

    ``spread_rate`` applies to delivery-month delta consumed by intra spreads,
    ``outright_rate`` to the delta that remains (PA2 record 4; XSD ``spotRate``).
    """

    window_days: Annotated[float, Field(gt=0.0, le=90.0)]
    spread_rate: Rate
    outright_rate: Rate
    rate_kind: RateKind = "relative"


class ShortOptionMinimum(FrozenModel):
    """Floor on the requirement of a book with short options.

    ``gross``: rate x (short calls + short puts); ``max``: rate x
    max(short calls, short puts); counts in option units (coin).
    """

    rate: Rate
    rate_kind: RateKind = "relative"
    method: Literal["gross", "max"] = "gross"


class SpanCharges(FrozenModel):
    """SPAN charges of one combined commodity (methodology section 3)."""

    tiers: tuple[Tier, ...] = ()
    intra_spreads: tuple[IntraSpread, ...] = ()
    delivery: DeliveryCharge | None = None
    short_option_minimum: ShortOptionMinimum | None = None
    net_option_value: bool = True

    @model_validator(mode="after")
    def _check(self) -> "SpanCharges":
        numbers = [t.number for t in self.tiers]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"tier numbers must be unique; got {numbers}")
        ordered = sorted(self.tiers, key=lambda t: t.start_days)
        for before, after in zip(ordered, ordered[1:]):
            if after.start_days < before.end_days:
                raise ValueError(
                    f"tiers {before.number} [{before.start_days}, {before.end_days}) and "
                    f"{after.number} [{after.start_days}, {after.end_days}) overlap"
                )
        if [t.number for t in ordered] != sorted(numbers):
            raise ValueError("tiers must be numbered in order of their start_days")
        if self.tiers and ordered[0].start_days != 0.0:
            raise ValueError(
                f"the first tier must start at 0 days so perpetuals and near expiries have a tier; "
                f"got {ordered[0].start_days}"
            )
        for before, after in zip(ordered, ordered[1:]):
            if after.start_days != before.end_days:
                raise ValueError(
                    f"tiers must leave no gap: tier {before.number} ends at {before.end_days} "
                    f"but tier {after.number} starts at {after.start_days}"
                )
        known = set(numbers)
        priorities = [s.priority for s in self.intra_spreads]
        if len(set(priorities)) != len(priorities):
            raise ValueError(f"intra spread priorities must be unique; got {priorities}")
        for spread in self.intra_spreads:
            for leg in spread.legs:
                if leg.tier not in known:
                    raise ValueError(
                        f"intra spread with priority {spread.priority} references tier {leg.tier}, "
                        f"which is not defined (tiers: {sorted(known)})"
                    )
        return self


class RollShock(FrozenModel):
    """Basis/roll charge per expiry: ``|delta| x max(min_annualised_move, annualised_move_risk x T)``.

    Deribit BTC: 0.01 / 0.075; ETH: 0.005 / 0.05 (methodology 4).
    """

    min_annualised_move: Rate
    annualised_move_risk: Rate


class DeltaShock(FrozenModel):
    """Extra charge on a large net delta [our choice; Deribit's formula is unpublished].

    Charge = ``rate x max(0, |net delta in USD| - threshold_usd)`` converted to
    the settlement currency.
    """

    threshold_usd: Annotated[float, Field(ge=0.0)]
    rate: Rate


class ExchangeAddOns(FrozenModel):
    """Exchange-style (Deribit-like) add-ons of one combined commodity (methodology 2.2, 4).

    Attributes
    ----------
    pnl_offset : float
        Gains in the summed vector are multiplied by this (0 = no credit for
        gains, BTC example; 0.6 in the ETH example).
    max_offsetable_pnl : float or None
        Cap on the credited gain per cell, in the settlement currency.
    max_offsetable_pnl_usd : float or None
        The same cap in USD, converted at the index price (Deribit's
        ``max_offsetable_pnl``, 20,000,000 for ETH on 2026-02-15, read as USD
        [inferred]). At most one of the two caps.
    round_decimals : int or None
        Deribit rounds the worst case to this many decimals before adding the
        roll and delta shocks, and the initial margin to as many (9 in both
        examples). Applied where the venue's layout is produced
        (:mod:`spanlike.venues.deribit.simulate`, ``spanlike reconcile``);
        ``None`` keeps every amount unrounded.
    roll_shock : RollShock or None
    delta_shock : DeltaShock or None
    """

    pnl_offset: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    max_offsetable_pnl: Annotated[float, Field(ge=0.0)] | None = None
    max_offsetable_pnl_usd: Annotated[float, Field(ge=0.0)] | None = None
    round_decimals: Annotated[int, Field(ge=0, le=15)] | None = None
    roll_shock: RollShock | None = None
    delta_shock: DeltaShock | None = None

    @model_validator(mode="after")
    def _one_cap(self) -> "ExchangeAddOns":
        if self.max_offsetable_pnl is not None and self.max_offsetable_pnl_usd is not None:
            raise ValueError(
                "give max_offsetable_pnl (settlement currency) or max_offsetable_pnl_usd (USD), not both"
            )
        return self

    def offset_cap(self, usd_per_unit: float) -> float | None:
        """The per-cell cap on credited gains in the settlement currency, or None for no cap.

        Parameters
        ----------
        usd_per_unit : float
            USD value of one unit of the settlement currency (the index price
            for coin-settled commodities, 1 for USD-like ones).
        """
        if self.max_offsetable_pnl_usd is not None:
            return self.max_offsetable_pnl_usd / usd_per_unit
        return self.max_offsetable_pnl
