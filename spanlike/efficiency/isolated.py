"""Isolated margin: each position alone under the venue's standard rules, summed.

The numbers are the parameter set's ``[isolated]`` section
(:class:`spanlike.params.IsolatedMargin`, methodology section 5); the formula
is the venue's (:attr:`spanlike.venues.Venue.standard_margin`), found by the
first word of the section's ``venue`` label (``"Deribit standard margin"`` ->
:mod:`spanlike.venues.deribit.standard_margin`, whose docstring writes it out).

This module picks each position's rule (``"short call"``, ``"short put"``,
``"long option"``, ``"future"`` for futures and perpetuals), its size
``|quantity| x multiplier`` in coins and ``u``, the value of one coin in the
settlement currency (1 for coin-settled contracts, the forward for
USDC-settled ones). Amounts are in the settlement currency and convert to USD
at the index price for coin, 1:1 for USDC, as
:class:`spanlike.results.CommodityMargin` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from spanlike.params.errors import InvalidPositionError, ParameterSetError
from spanlike.revalue import UniverseRisk
from spanlike.venues import StandardMarginCase as Rule
from spanlike.venues import available_venues, get_venue, venue_for_label
# Kept for existing imports (spanlike.efficiency.standard_margin): the formula
# is Deribit's and lives in spanlike.venues.deribit.standard_margin.
from spanlike.venues.deribit.standard_margin import standard_margin

__all__ = ["IsolatedPosition", "IsolatedResult", "isolated_margin", "standard_margin"]


@dataclass(frozen=True)
class IsolatedPosition:
    """Standard margin of one position.

    Attributes
    ----------
    instrument : str
    quantity : float
        Net quantity in contract units (coins when the multiplier is 1).
    rule : {"short call", "short put", "long option", "future"}
        Which standard-margin formula applied (perpetuals use "future").
    settlement_currency : str
    usd_per_unit : float
        USD per unit of settlement currency (index price for coin, 1 for USDC).
    initial_margin, maintenance_margin : float
        Settlement currency, >= 0.
    """

    instrument: str
    quantity: float
    rule: Rule
    settlement_currency: str
    usd_per_unit: float
    initial_margin: float
    maintenance_margin: float

    @property
    def initial_margin_usd(self) -> float:
        """Initial margin in USD."""
        return self.initial_margin * self.usd_per_unit

    @property
    def maintenance_margin_usd(self) -> float:
        """Maintenance margin in USD."""
        return self.maintenance_margin * self.usd_per_unit


@dataclass(frozen=True)
class IsolatedResult:
    """The isolated level: per-position standard margin and its sums (USD)."""

    venue: str
    positions: tuple[IsolatedPosition, ...]
    initial_margin_usd: float
    maintenance_margin_usd: float


def isolated_margin(universe: UniverseRisk, *, rows: ArrayLike, quantity: ArrayLike) -> IsolatedResult:
    """Margin each position alone under the parameter set's ``[isolated]`` rules and sum.

    Parameters
    ----------
    universe : UniverseRisk
        Its parameter set must carry an ``isolated`` section.
    rows : array_like of int, shape (k,)
        Rows of ``universe.table``.
    quantity : array_like of float, shape (k,)
        Net quantity per row in contract units; zeros are skipped.

    Returns
    -------
    IsolatedResult
        Positions in ``rows`` order; sums in USD.

    Raises
    ------
    ParameterSetError
        The set has no ``[isolated]`` section, its ``venue`` label names no
        registered venue with a standard margin formula, or it has no rules
        for a held instrument's underlying or kind.
    InvalidPositionError
        ``rows`` and ``quantity`` of different shapes.
    """
    r = np.asarray(rows, dtype=np.intp)
    q = np.asarray(quantity, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1:
        raise InvalidPositionError(f"rows and quantity must be 1-D of equal length; got {r.shape} and {q.shape}.")
    ps = universe.parameter_set
    rules = ps.isolated
    if rules is None:
        raise ParameterSetError(
            f"Parameter set {ps.label} has no [isolated] section, so there is no standard-margin baseline. "
            "Add one (see params/isolated.py and the bundled sets) or use a set that has it."
        )
    formula = _standard_margin_formula(rules.venue, ps.label)
    table = universe.table
    c = table.contracts
    out: list[IsolatedPosition] = []
    for row, qty in zip(r.tolist(), q.tolist()):
        if qty == 0.0:
            continue
        ins = table.instruments[row]
        u_rules = rules.rules_for(ins.underlying)
        what = "options" if ins.is_option else "futures"
        section = None if u_rules is None else (u_rules.options if ins.is_option else u_rules.futures)
        if section is None:
            raise ParameterSetError(
                f"Parameter set {ps.label} has no isolated {what} rules for underlying {ins.underlying} "
                f"(held: {ins.name}). Add [[isolated.underlyings]] underlying = \"{ins.underlying}\" with an "
                f"[isolated.underlyings.{what}] section, or remove the position."
            )
        size = abs(qty) * float(c.multiplier[row])
        forward = float(c.forward[row])
        unit_value = 1.0 if ins.is_inverse else forward
        usd_per_unit = float(table.index_price[row]) if ins.is_inverse else 1.0
        if ins.is_option:
            rule: Rule = "long option" if qty > 0 else ("short call" if ins.is_call else "short put")
            im, mm = formula(
                rule=rule, size=size, unit_value=unit_value, underlying_price=forward,
                strike=float(c.strike[row]), mark=float(table.mark_value[row]) / float(c.multiplier[row]),
                options=section,  # type: ignore[arg-type]
            )
        else:
            rule = "future"
            im, mm = formula(rule=rule, size=size, unit_value=unit_value, futures=section)  # type: ignore[arg-type]
        out.append(IsolatedPosition(
            instrument=ins.name, quantity=qty, rule=rule, settlement_currency=ins.settlement_currency,
            usd_per_unit=usd_per_unit, initial_margin=im, maintenance_margin=mm,
        ))
    return IsolatedResult(
        venue=rules.venue,
        positions=tuple(out),
        initial_margin_usd=float(sum(p.initial_margin_usd for p in out)),
        maintenance_margin_usd=float(sum(p.maintenance_margin_usd for p in out)),
    )


def _standard_margin_formula(label: str, set_label: str) -> Any:
    """The standard margin formula of the venue the ``[isolated] venue`` label names."""
    venue = venue_for_label(label)
    if venue is None or venue.standard_margin is None:
        with_formula = [n for n in available_venues() if get_venue(n).standard_margin is not None]
        raise ParameterSetError(
            f"Parameter set {set_label}: the [isolated] venue {label!r} names no registered venue with a standard "
            f"margin formula. Start the label with one of {with_formula} (e.g. 'Deribit standard margin'), "
            "or add the venue's formula as 'standard_margin' of a module in spanlike/venues."
        )
    return venue.standard_margin
