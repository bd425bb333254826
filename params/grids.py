"""Scenario-grid families of a parameter set (methodology section 2).

Two families, chosen per combined commodity by the ``family`` key:

* :class:`SpanGrid` (``family = "span16"``): the SPAN 16 standard scenarios,
  price moves in thirds of the price scan range (PSR), vol moves of +-1 vol
  scan range (VSR), and two extreme moves of ``extreme_multiple`` x PSR whose
  value is multiplied by ``cover_fraction`` (methodology 2.1).
* :class:`ExchangeGrid` (``family = "exchange"``): Deribit-style uniform grid of
  ``2 * buckets_count + 1`` price points up to +-``price_range`` times three vol
  states (up, unchanged, down) with relative shocks scaled by time to expiry,
  ``(pivot / max(DTE, floor)) ** power``, plus an extended table of large moves
  with vol up, weighted by ``price_range / |move|`` (methodology 2.2).
* :class:`HistoricalGrid` (``family = "historical"``): the joint historical
  scenarios of the set's ``var_model`` section (:mod:`spanlike.params.var_model`), one
  scenario per row of the named scenario set, each advancing time by the MPOR;
  it selects the VaR/ES margin model.

Sign conventions: price moves are relative (+0.16 = price up 16 %) unless
``price_scan_kind = "absolute"`` (USD per unit of underlying); vol moves are
absolute vol points (0.05 = +5 points) or relative (0.25 = +25 % of the vol).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from .base import FrozenModel

__all__ = ["DeltaPoint", "ScanPoint", "SpanGrid", "ExchangeGrid", "HistoricalGrid", "Grid", "standard_span_points"]

Probability = Annotated[float, Field(gt=0.0, le=1.0)]


class DeltaPoint(FrozenModel):
    """A price point at which option delta is evaluated for composite delta.

    Attributes
    ----------
    price_fraction : float
        Price move as a fraction of the price scan range (-1 .. +1).
    weight : float
        Probability weight in (0, 1000]; weights are normalised by their sum
        (the bound keeps the sum finite).
    """

    price_fraction: Annotated[float, Field(ge=-10.0, le=10.0)]
    weight: Annotated[float, Field(gt=0.0, le=1000.0)]


class ScanPoint(FrozenModel):
    """One SPAN scenario: a price and a vol move in units of the scan ranges.

    Attributes
    ----------
    price_fraction : float
        Price move as a multiple of the price scan range.
    vol_fraction : float
        Vol move as a multiple of the vol scan range (+1 up, -1 down, 0 none).
    weight : float
        Fraction of the scenario's value that counts (cover fraction), in (0, 1].
    paired_point : int or None
        1-based number of the scenario with the same price move and the
        opposite vol move, used to split scan risk into time/vol/price risk.
    """

    price_fraction: float
    vol_fraction: float
    weight: Probability = 1.0
    paired_point: Annotated[int, Field(ge=1)] | None = None


def standard_span_points(*, extreme_multiple: float, cover_fraction: float) -> tuple[ScanPoint, ...]:
    """The 16 SPAN standard scenarios in CME's order (methodology 2.1 table).

    Parameters
    ----------
    extreme_multiple : float
        ``X``: the extreme moves are +-X price scan ranges.
    cover_fraction : float
        ``f``: the share of the extreme scenarios' value that counts.

    Returns
    -------
    tuple of ScanPoint
        Scenarios 1..16; 1-14 paired up/down vol, 15/16 extreme with no pair.
    """
    points: list[ScanPoint] = []
    for price in (0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0):
        n_up = len(points) + 1
        points.append(ScanPoint(price_fraction=price, vol_fraction=1.0, paired_point=n_up + 1))
        points.append(ScanPoint(price_fraction=price, vol_fraction=-1.0, paired_point=n_up))
    points.append(ScanPoint(price_fraction=extreme_multiple, vol_fraction=0.0, weight=cover_fraction))
    points.append(ScanPoint(price_fraction=-extreme_multiple, vol_fraction=0.0, weight=cover_fraction))
    return tuple(points)


_TAKASBANK_DELTA_POINTS = (
    DeltaPoint(price_fraction=-1.0, weight=0.037),
    DeltaPoint(price_fraction=-2 / 3, weight=0.111),
    DeltaPoint(price_fraction=-1 / 3, weight=0.217),
    DeltaPoint(price_fraction=0.0, weight=0.270),
    DeltaPoint(price_fraction=1 / 3, weight=0.217),
    DeltaPoint(price_fraction=2 / 3, weight=0.111),
    DeltaPoint(price_fraction=1.0, weight=0.037),
)


class SpanGrid(FrozenModel):
    """SPAN-style grid: 16 standard scenarios (or explicit scan points).

    Attributes
    ----------
    price_scan_range : float
        PSR: a fraction of the price (0.15 = 15 %) when ``price_scan_kind`` is
        ``"relative"``, USD per unit of underlying when ``"absolute"``.
    vol_scan_range : float
        VSR: vol points (0.15 = 15 points) when ``vol_scan_kind`` is
        ``"absolute"``, a fraction of the vol when ``"relative"``.
    extreme_multiple, cover_fraction : float
        X and f of scenarios 15/16 (NSCCL X=2, f=0.35; Takasbank X=3, f=0.32).
    scan_points : tuple of ScanPoint or None
        Explicit scenarios (e.g. read from a SPAN file); None = the standard 16.
    delta_points : tuple of DeltaPoint
        Points for composite delta (default: the 7 points of the Takasbank file).
    time_advance_days : float
        Calendar days that pass in every scenario (the SPAN "lookahead").
    min_scenario_vol : float
        Lowest vol any scenario may reach (a vol-down move cannot make vol
        negative); annual decimal.
    """

    family: Literal["span16"] = "span16"
    price_scan_range: Annotated[float, Field(gt=0.0)]
    price_scan_kind: Literal["relative", "absolute"] = "relative"
    vol_scan_range: Annotated[float, Field(ge=0.0)]
    vol_scan_kind: Literal["absolute", "relative"] = "absolute"
    extreme_multiple: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    cover_fraction: Probability = 0.35
    scan_points: tuple[ScanPoint, ...] | None = None
    delta_points: tuple[DeltaPoint, ...] = _TAKASBANK_DELTA_POINTS
    time_advance_days: Annotated[float, Field(ge=0.0, le=30.0)] = 0.0
    min_scenario_vol: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01

    @model_validator(mode="after")
    def _check(self) -> "SpanGrid":
        if self.price_scan_kind == "relative" and self.price_scan_range >= 1.0:
            raise ValueError(
                f"a relative price_scan_range must be below 1.0 (100 %); got {self.price_scan_range}"
            )
        if self.price_scan_kind == "relative" and self.extreme_multiple * self.price_scan_range >= 1.0:
            raise ValueError(
                "extreme_multiple x price_scan_range must stay below 1.0 so the extreme down move "
                f"keeps prices positive; got {self.extreme_multiple} x {self.price_scan_range}"
            )
        if not self.delta_points:
            raise ValueError("delta_points must list at least one point")
        if self.scan_points is not None:
            n = len(self.scan_points)
            for number, point in enumerate(self.scan_points, start=1):
                if point.paired_point is not None and not 1 <= point.paired_point <= n:
                    raise ValueError(
                        f"scan point {number} pairs with point {point.paired_point}, "
                        f"which does not exist (1..{n})"
                    )
        return self

    def points(self) -> tuple[ScanPoint, ...]:
        """The scenarios of this grid, explicit ones or the standard 16."""
        if self.scan_points is not None:
            return self.scan_points
        return standard_span_points(
            extreme_multiple=self.extreme_multiple, cover_fraction=self.cover_fraction
        )


class ExchangeGrid(FrozenModel):
    """Exchange-style (Deribit-like) grid with term-scaled relative vol shocks.

    Attributes
    ----------
    price_range : float
        Largest standard move, fraction of price (BTC 0.16, ETH 0.18).
    buckets_count : int
        Points on each side of zero (Deribit 4, so 9 price points).
    vol_shock_up, vol_shock_down : float
        Relative vol shocks at 30 days (BTC 0.50 up, 0.25 down).
    short_power, long_power : float
        Term-scaling powers below / from ``term_pivot_days`` (0.30 / 0.13).
    term_pivot_days : float
        The tenor at which shocks are unscaled (30 days).
    dte_floor_days : float
        Days-to-expiry floor in the scaling ``(pivot / max(DTE, floor)) ** power``.
    min_vol_for_shock_up : float
        The up-shocked vol is at least this (Deribit 0.5): ``max(sigma_up, min)``.
    min_scenario_vol : float
        Lowest vol a down shock may reach (annual decimal).
    extended_moves : tuple of float
        Extended-table price moves (vol up only), fractions of price.
    extended_dampener : float
        An extended cell's loss counts only above this amount, in the
        reporting currency (USD); gains in extended cells count 0 [inferred
        from Deribit's examples, methodology 2.2]. Deribit: 100,000 BTC,
        200,000 ETH.
    futures_extended : {"scaled", "unscaled"}
        Futures and perpetuals move to the edge of the standard grid in
        extended cells; ``"scaled"`` multiplies that edge value by the cell's
        weight ``price_range / |move|`` like an option's, ``"unscaled"`` keeps
        it whole, as both Deribit examples show (methodology 2.2).
    time_advance_days : float
        Calendar days that pass in every scenario.
    delta_points : tuple of DeltaPoint
        Points (fractions of ``price_range``) for composite delta.
    """

    family: Literal["exchange"] = "exchange"
    price_range: Annotated[float, Field(gt=0.0, lt=1.0)]
    buckets_count: Annotated[int, Field(ge=1, le=50)] = 4
    vol_shock_up: Annotated[float, Field(ge=0.0, le=10.0)]
    vol_shock_down: Annotated[float, Field(ge=0.0, lt=1.0)]
    short_power: Annotated[float, Field(ge=0.0, le=2.0)] = 0.30
    long_power: Annotated[float, Field(ge=0.0, le=2.0)] = 0.13
    term_pivot_days: Annotated[float, Field(gt=0.0)] = 30.0
    dte_floor_days: Annotated[float, Field(gt=0.0)] = 1.0
    min_vol_for_shock_up: Annotated[float, Field(ge=0.0, lt=10.0)] = 0.0
    min_scenario_vol: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01
    extended_moves: tuple[float, ...] = (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    extended_dampener: Annotated[float, Field(ge=0.0)] = 0.0
    futures_extended: Literal["scaled", "unscaled"] = "scaled"
    time_advance_days: Annotated[float, Field(ge=0.0, le=30.0)] = 0.0
    delta_points: tuple[DeltaPoint, ...] = (DeltaPoint(price_fraction=0.0, weight=1.0),)

    @model_validator(mode="after")
    def _check(self) -> "ExchangeGrid":
        for move in self.extended_moves:
            if move <= -1.0 or move == 0.0:
                raise ValueError(
                    f"extended_moves must be non-zero and above -1.0 (-100 %); got {move}"
                )
            if abs(move) <= self.price_range:
                raise ValueError(
                    f"extended move {move} lies inside the standard price_range "
                    f"{self.price_range}; extended moves must be larger"
                )
        if len(set(self.extended_moves)) != len(self.extended_moves):
            raise ValueError("extended_moves must not repeat a move")
        if not self.delta_points:
            raise ValueError("delta_points must list at least one point")
        return self


class HistoricalGrid(FrozenModel):
    """Historical-scenario grid of the VaR/ES model (``family = "historical"``).

    Scenario ``j`` moves every contract's forward by the scenario set's
    relative price move of the commodity's underlying, ``F (1 + s_j)``, its
    vol by the set's vol move (relative ``sigma (1 + v_j)`` or absolute
    ``sigma + v_j``; a falling vol is floored at ``min_scenario_vol``) and
    advances time by ``time_advance_days``; every scenario counts fully
    (weight 1). The stress scenarios of ``var_model.stress``, if any, follow
    the historical ones. The parameter set checks that ``scenario_set``,
    ``scenario_count`` and ``time_advance_days`` agree with its ``var_model``.

    Attributes
    ----------
    scenario_set : str
        Name of ``var_model.scenarios``.
    scenario_count : int
        Number of historical scenarios (rows of the scenario set), >= 1.
    time_advance_days : float
        Calendar days that pass in every scenario: the MPOR.
    min_scenario_vol : float
        Lowest vol a falling-vol scenario may reach (annual decimal).
    delta_points : tuple of DeltaPoint
        Relative price moves (``price_fraction`` is a fraction of price here,
        0.05 = +5 %) and weights for composite delta; default: no move.
    """

    family: Literal["historical"] = "historical"
    scenario_set: Annotated[str, Field(min_length=1, max_length=64)]
    scenario_count: Annotated[int, Field(ge=1)]
    time_advance_days: Annotated[float, Field(ge=0.0, le=30.0)]
    min_scenario_vol: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01
    delta_points: tuple[DeltaPoint, ...] = (DeltaPoint(price_fraction=0.0, weight=1.0),)

    @model_validator(mode="after")
    def _check(self) -> "HistoricalGrid":
        if not self.delta_points:
            raise ValueError("delta_points must list at least one point")
        for point in self.delta_points:
            if point.price_fraction <= -1.0:
                raise ValueError(
                    f"a historical grid's delta point is a relative price move and must be above -1; "
                    f"got {point.price_fraction}"
                )
        return self


Grid = Annotated[Union[SpanGrid, ExchangeGrid, HistoricalGrid], Field(discriminator="family")]
