"""Savings of cross margin over isolated margin, attributed to the components that produce them.

Method: a chain of margin levels from isolated to cross, switching one
component on at a time; each line is the difference between consecutive
levels, so the lines telescope and sum to ``isolated - cross`` exactly (up to
floating-point rounding of a handful of additions). Per combined commodity
``c`` (settlement currency; ``scan`` = scan risk or the exchange worst case,
``V-`` = value of its short options (<= 0), ``NOV = V+ + V-``)::

    S1 = max(scan - V-, 0)                                   scenario netting
    S2 = max(scan - NOV, 0)                                  + long option value
    S3 = max(scan + intra - NOV, 0)                          + calendar spread charge
    S4 = max(scan + intra + delivery - NOV, 0)               + delivery charge
    S5 = max(max(scan + intra + delivery, SOM) - NOV, 0)     + short option minimum
       (exchange path: S1..S4 = worst case; S5 adds roll shock, then delta shock)
    S6 = max(max(scan + intra + delivery - credit, SOM) - NOV, 0)   + inter-commodity credits

A level is ``factor x sum_c S_k,c x usd_per_unit_c`` with ``factor`` the
parameter set's ``im_factor`` (IM) or ``mm_factor`` (MM). The lines are::

    scenario netting within an underlying = isolated - level(S1)
    long option value credited            = level(S1) - level(S2)
    calendar spreads                      = level(S2) - level(S3)
    delivery charge                       = level(S3) - level(S4)
    short option minimum                  = level(S4) - level(S5 without roll/delta)
    roll shock, delta shock               = (exchange-style commodities)
    liquidity and concentration charge    = the set's liquidity add-on (0 without one)
    -> the portfolio level (per underlying, engine's cross_commodity=False)
    inter-commodity credits               = portfolio - level(S6)
    correlation offsets                   = level(S6) - (cross - joint-move add-on)
    joint-move floor                      = -(joint-move add-on): what the floor
                                            puts back (methodology 6.2), <= 0

A positive line saves margin, a negative one costs (charges are negative
savings). "Scenario netting" compares the standard rules with the
portfolio's scenario losses plus the short premium that both charge; it also
carries whatever separates the venue's standard rates from the portfolio
methodology's scan ranges and IM/MM factors, which no decomposition can
split. The order is a choice (charges are switched on in the engine's order,
methodology 3): with the ``max`` floors a line can depend on the lines before
it, never on the lines after. The levels that the engine computes directly
(portfolio, cross) are taken from the engine and the chain is checked against
them, so the attribution and the levels cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from spanlike.params.errors import InvalidInputError, NumericalError
from spanlike.aggregation.methods import method_of
from spanlike.efficiency.levels import MarginLevels
from spanlike.results import CommodityMargin, MarginResult
from spanlike.revalue import UniverseRisk

__all__ = ["AttributionLine", "SavingsAttribution", "attribute_savings", "COMPONENTS", "CHAIN_TOLERANCE"]

#: (key, label, stage) of every attribution line, in chain order.
COMPONENTS: tuple[tuple[str, str, str], ...] = (
    ("scenario_netting", "scenario netting within an underlying", "within underlying"),
    ("long_option_value", "long option value credited (NOV)", "within underlying"),
    ("calendar_spreads", "calendar spread charges (intra)", "within underlying"),
    ("delivery", "delivery charge", "within underlying"),
    ("short_option_minimum", "short option minimum", "within underlying"),
    ("roll_shock", "roll shock", "within underlying"),
    ("delta_shock", "delta shock", "within underlying"),
    ("liquidity", "liquidity and concentration charge", "within underlying"),
    ("inter_commodity_credits", "inter-commodity spread credits", "across underlyings"),
    ("correlation_offsets", "correlation offsets", "across underlyings"),
    ("joint_move_floor", "joint-move floor", "across underlyings"),
)

#: Relative agreement required between a chain level and the engine's level
#: (they are the same sums in a different order; 1e-9 leaves room for rounding
#: of ~1e6 USD amounts and catches any real mismatch).
CHAIN_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AttributionLine:
    """Savings produced by one component, USD (positive = saves margin).

    Attributes
    ----------
    component : str
        Key from :data:`COMPONENTS`.
    label : str
    stage : {"within underlying", "across underlyings"}
        Lines of the first stage sum to ``isolated - portfolio``, of the
        second to ``portfolio - cross``.
    savings_im_usd, savings_mm_usd : float
    """

    component: str
    label: str
    stage: Literal["within underlying", "across underlyings"]
    savings_im_usd: float
    savings_mm_usd: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SavingsAttribution:
    """Attribution lines that sum to the total savings of cross over isolated margin (USD)."""

    lines: tuple[AttributionLine, ...]
    total_im_usd: float
    total_mm_usd: float

    def line(self, component: str) -> AttributionLine:
        """The line of ``component`` (KeyError if unknown)."""
        for ln in self.lines:
            if ln.component == component:
                return ln
        raise KeyError(component)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"lines": [ln.to_dict() for ln in self.lines], "total_im_usd": self.total_im_usd,
                "total_mm_usd": self.total_mm_usd}


def _short_option_value(universe: UniverseRisk, rows: ArrayLike, quantity: ArrayLike) -> dict[str, float]:
    """Value of the short options per combined commodity (<= 0), settlement currency."""
    r = np.asarray(rows, dtype=np.intp)
    q = np.asarray(quantity, dtype=np.float64)
    table = universe.table
    out: dict[str, float] = {}
    for row, qty in zip(r.tolist(), q.tolist()):
        if qty < 0.0 and table.instruments[row].is_option:
            name = table.commodity[row]
            out[name] = out.get(name, 0.0) + qty * float(table.mark_value[row])
    return out


def _requirement(c: CommodityMargin, short_value: float, on: frozenset[str]) -> float:
    """A commodity's requirement with only the components in ``on`` switched on (its method's chain)."""
    requirement_with = method_of(c.method).requirement_with
    assert requirement_with is not None  # attribute_savings refuses methods without a chain first
    return requirement_with(c.components, short_value, on)


def _check(chain: float, engine: float, what: str) -> None:
    if abs(chain - engine) > CHAIN_TOLERANCE * max(1.0, abs(engine)):
        raise NumericalError(
            f"Savings attribution: the chain's {what} level {chain!r} USD differs from the engine's {engine!r} USD. "
            "The engine's formula and the attribution chain have drifted apart; report this as a bug."
        )


def attribute_savings(levels: MarginLevels, *, universe: UniverseRisk, rows: ArrayLike,
                      quantity: ArrayLike) -> SavingsAttribution:
    """Attribute ``isolated - cross`` margin to components (module docstring).

    Parameters
    ----------
    levels : MarginLevels
        From :func:`spanlike.efficiency.levels.margin_levels` for the same book.
    universe, rows, quantity
        The book ``levels`` was computed from (short option values come from
        the universe's marks).

    Returns
    -------
    SavingsAttribution
        One line per :data:`COMPONENTS` entry (zero where it does not apply);
        ``sum(lines) == isolated - cross`` for IM and for MM.

    Raises
    ------
    InvalidInputError
        The parameter set is a VaR/ES model (no component chain).
    NumericalError
        The chain's portfolio or pre-correlation level disagrees with the
        engine's by more than :data:`CHAIN_TOLERANCE` (relative).
    """
    cross: MarginResult = levels.cross
    if any(method_of(cc.method).requirement_with is None for cc in universe.parameter_set.combined_commodities):
        raise InvalidInputError(
            f"Savings attribution needs a scenario-grid methodology (SPAN or exchange style); "
            f"{universe.parameter_set.label} is a VaR/ES model, whose requirement is one quantile with no "
            "component chain. Use spanlike compare-params to compare its margin with a grid set's."
        )
    relation = universe.parameter_set.margin_relation
    short = _short_option_value(universe, rows, quantity)

    def level_usd(on: frozenset[str]) -> float:
        return sum(_requirement(c, short.get(c.name, 0.0), on) * c.usd_per_unit for c in cross.commodities)

    keys = [k for k, _, _ in COMPONENTS]
    within = [k for k, _, stage in COMPONENTS if stage == "within underlying"]
    # Requirement (USD, before IM/MM factors) after switching on each component in turn.
    req: dict[str, float] = {}
    for i, key in enumerate(within):
        req[key] = level_usd(frozenset(within[: i + 1]))
    _check(req[within[-1]], levels.portfolio.requirement_usd, "portfolio (per underlying)")
    req[within[-1]] = levels.portfolio.requirement_usd
    with_credits = level_usd(frozenset(within + ["inter_commodity_credits"]))
    _check(with_credits, cross.sum_of_requirements_usd, "after inter-commodity credits")
    req["inter_commodity_credits"] = cross.sum_of_requirements_usd
    req["correlation_offsets"] = cross.requirement_usd - cross.joint_move_addon_usd
    req["joint_move_floor"] = cross.requirement_usd

    def lines_for(factor: float, isolated: float, final: float) -> list[float]:
        values = [isolated] + [factor * req[k] for k in keys]
        values[-1] = final  # the engine's own product, so the lines end exactly at the cross level
        return [values[i] - values[i + 1] for i in range(len(keys))]

    im = lines_for(relation.im_factor, levels.isolated.initial_margin_usd, cross.initial_margin_usd)
    mm = lines_for(relation.mm_factor, levels.isolated.maintenance_margin_usd, cross.maintenance_margin_usd)
    lines = tuple(
        AttributionLine(component=k, label=label, stage=stage, savings_im_usd=a, savings_mm_usd=b)  # type: ignore[arg-type]
        for (k, label, stage), a, b in zip(COMPONENTS, im, mm)
    )
    return SavingsAttribution(
        lines=lines,
        total_im_usd=levels.isolated.initial_margin_usd - cross.initial_margin_usd,
        total_mm_usd=levels.isolated.maintenance_margin_usd - cross.maintenance_margin_usd,
    )

