"""Isolated margin: each position alone under the venue's standard rules, summed.

The rules are the parameter set's ``[isolated]`` section
(:class:`spanlike.params.IsolatedMargin`; formulas in :mod:`spanlike.params.isolated`,
methodology section 5). For a position of ``size = |quantity| x multiplier``
coins:

* short call: ``IM = size x (max(b - OTM/S, m) x u + mark)``,
  ``MM = size x (r x u + mark)``;
* short put: ``MM = size x (max(r x u, r x mark) + mark)``,
  ``IM = size x max(max(b - OTM/S, m) x u + mark, MM / size)``;
* long option: 0 (the premium is paid, not margined);
* future or perpetual: ``IM = (B + k x size) x size x u``,
  ``MM = (B' + k' x size) x size x u``;

with ``S`` the option's underlying (forward) price in USD, ``mark`` the mark
value of one coin of the option in the settlement currency, and ``u`` the
value of one coin in the settlement currency (1 for coin-settled contracts,
``S`` or the future's mark for USDC-settled ones). Amounts are in the
settlement currency and convert to USD at the index price for coin, 1:1 for
USDC, as :class:`spanlike.results.CommodityMargin` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from spanlike.params.errors import InvalidPositionError, ParameterSetError
from spanlike.params.isolated import FuturesStandardMargin, OptionStandardMargin
from spanlike.revalue import UniverseRisk

__all__ = ["IsolatedPosition", "IsolatedResult", "isolated_margin", "standard_margin"]

Rule = Literal["short call", "short put", "long option", "future"]


@dataclass(frozen=True)
class IsolatedPosition:
    """Standard margin of one position.

    Attributes
    ----------
    instrument : str
    quantity : float
        Net quantity in contract units (coin for Deribit contracts).
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


def standard_margin(
    *,
    rule: Rule,
    size: float,
    unit_value: float,
    underlying_price: float = float("nan"),
    strike: float = float("nan"),
    mark: float = 0.0,
    options: OptionStandardMargin | None = None,
    futures: FuturesStandardMargin | None = None,
) -> tuple[float, float]:
    """Standard (IM, MM) of one position, settlement currency.

    Parameters
    ----------
    rule : {"short call", "short put", "long option", "future"}
    size : float
        Position size in coins of underlying, ``|quantity| x multiplier`` (> 0).
    unit_value : float
        Value of one coin in the settlement currency (1 for coin-settled).
    underlying_price, strike : float
        USD per coin; options only (``S`` and ``K``).
    mark : float
        Mark value of one coin of the option, settlement currency.
    options, futures : rules
        The rules the ``rule`` needs.

    Returns
    -------
    (initial_margin, maintenance_margin) : tuple of float
    """
    if rule == "long option":
        return 0.0, 0.0
    if rule == "future":
        assert futures is not None
        im = (futures.im_base_rate + futures.im_rate_per_coin * size) * size * unit_value
        mm = (futures.mm_base_rate + futures.mm_rate_per_coin * size) * size * unit_value
        return im, mm
    assert options is not None
    s, k = underlying_price, strike
    otm = max(k - s, 0.0) if rule == "short call" else max(s - k, 0.0)
    im_rate = max(options.im_base_rate - otm / s, options.im_min_rate)
    if rule == "short call":
        im_per_coin = im_rate * unit_value + mark
        mm_per_coin = options.mm_rate * unit_value + mark
    else:
        mm_per_coin = max(options.mm_rate * unit_value, options.mm_rate * mark) + mark
        im_per_coin = max(im_rate * unit_value + mark, mm_per_coin)
    return im_per_coin * size, mm_per_coin * size


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
        The set has no ``[isolated]`` section, or no rules for a held
        instrument's underlying or kind.
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
            im, mm = standard_margin(
                rule=rule, size=size, unit_value=unit_value, underlying_price=forward,
                strike=float(c.strike[row]), mark=float(table.mark_value[row]) / float(c.multiplier[row]),
                options=section,  # type: ignore[arg-type]
            )
        else:
            rule = "future"
            im, mm = standard_margin(rule=rule, size=size, unit_value=unit_value, futures=section)  # type: ignore[arg-type]
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
