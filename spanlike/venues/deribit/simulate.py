"""Deribit's own layout of a portfolio-margin result, as ``private/pme/simulate`` returns it.

One currency (one exchange-style combined commodity) of a book, computed by
spanlike's rules and laid out with Deribit's keys and sign convention:

* ``initial_risk_vectors[instrument]``: per position, ``standard`` (27 cells:
  9 price points x vol up, unchanged, down) and ``extended`` (8 cells),
  **profit positive** (spanlike's losses negated), settlement currency;
* ``pre_aggregated_risk_vectors[pair]``: their sum, before gains offset and
  dampener; ``aggregated_risk_vectors[pair]``: after them (``pair`` is
  ``"btc_btc"``: underlying and settlement currency, lower case);
* ``margins[currency]``: ``risk_matrix_margin = worst case (rounded) +
  roll shock + delta shock + correlation contingency (0)``, ``initial_margin =
  round(risk_matrix_margin + open_orders_margin + mmp_margin)``,
  ``maintenance_margin = mm_factor x risk_matrix_margin``, with the worst
  case's bucket (methodology 2.2 and 4).

Rounding follows the set's ``round_decimals`` (9 in ``deribit-style``):
the worst case before the shocks are added, and the initial margin.

``worst_case_bucket``: a standard cell ``j`` is in price bucket
``j // 3 + 1`` (1 = the largest fall), ``side`` ``"left"`` below the middle
bucket, ``"right"`` above it, ``"center"`` for no move [inferred: neither
example shows it]; ``index`` is ``j``. An extended cell ``e`` (0-based in the
extended vector) reports ``source = "extended"``, ``index = e``,
``bucket = e + 1`` and the side of its move [inferred].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spanlike.errors import InvalidPositionError
from spanlike.market import MarketSnapshot
from spanlike.params.grids import ExchangeGrid
from spanlike.params.parameter_set import ParameterSet
from spanlike.portfolio import Portfolio

__all__ = ["WorstCaseBucket", "worst_case_bucket", "pair_key", "simulate"]


@dataclass(frozen=True)
class WorstCaseBucket:
    """Where the worst case lies, as Deribit reports it.

    Attributes
    ----------
    bucket : int
        Price bucket, 1-based (standard: 1 = the largest fall; extended: the cell's position + 1).
    side : {"left", "center", "right"}
        Price falls (left), no move (center), price rises (right).
    source : {"standard", "extended"}
    index : int
        Cell index within its vector (standard: ``3 x (bucket - 1) + vol state``).
    """

    bucket: int
    side: str
    source: str
    index: int

    def to_dict(self) -> dict[str, Any]:
        """Deribit's keys."""
        return {"bucket": self.bucket, "side": self.side, "source": self.source, "index": self.index}


def worst_case_bucket(worst: int, *, grid: ExchangeGrid) -> WorstCaseBucket:
    """Deribit's ``worst_case_bucket`` of spanlike's worst cell ``worst`` (0-based over standard + extended).

    Parameters
    ----------
    worst : int
        Index into the grid's cells (27 standard, then the extended ones).
    grid : ExchangeGrid
    """
    n = grid.buckets_count
    n_standard = 3 * (2 * n + 1)
    if worst < n_standard:
        bucket = worst // 3 + 1
        side = "left" if bucket <= n else "right" if bucket > n + 1 else "center"
        return WorstCaseBucket(bucket=bucket, side=side, source="standard", index=worst)
    e = worst - n_standard
    move = grid.extended_moves[e]
    return WorstCaseBucket(bucket=e + 1, side="left" if move < 0 else "right", source="extended", index=e)


def pair_key(underlying: str, settlement_currency: str) -> str:
    """Deribit's key of a currency pair's vectors: ``"btc_btc"``."""
    return f"{underlying.lower()}_{settlement_currency.lower()}"


def _profit(values: Any) -> list[float]:
    # Deribit's vectors are profit positive; adding 0.0 turns spanlike's -0.0 into 0.
    return [float(-x) + 0.0 for x in values]


def simulate(
    portfolio: Portfolio,
    market: MarketSnapshot,
    parameter_set: ParameterSet,
    *,
    currency: str,
    open_orders_margin: float = 0.0,
    mmp_margin: float = 0.0,
) -> dict[str, Any]:
    """Deribit's ``private/pme/simulate`` result layout for one currency of a book.

    Parameters
    ----------
    portfolio : Portfolio
        Positions in Deribit's units (coin for options, futures and perpetuals).
    market : MarketSnapshot
    parameter_set : ParameterSet
        A set whose commodity ``currency`` is exchange style (``deribit-style``).
    currency : str
        The combined commodity, e.g. ``"BTC"``.
    open_orders_margin, mmp_margin : float
        Account inputs Deribit adds to the risk-matrix margin for the initial
        margin, settlement currency, finite and >= 0.

    Returns
    -------
    dict
        ``initial_risk_vectors``, ``pre_aggregated_risk_vectors``,
        ``aggregated_risk_vectors`` and ``margins`` in Deribit's shape (module
        docstring), plain floats.

    Raises
    ------
    InvalidPositionError
        A margin input that is negative or not finite, or a book with no position in ``currency``.
    ParameterSetError, UnknownInstrumentError, MarketDataError
        From the engine, for a set or market that cannot margin the book.
    """
    import math

    from spanlike.aggregation.exchange import exchange_book, exchange_margin
    from spanlike.engine import commodity_book, prepare
    from spanlike.methodology.exchange_charges import exchange_requirement, round_half_up

    for name, value in (("open_orders_margin", open_orders_margin), ("mmp_margin", mmp_margin)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise InvalidPositionError(
                f"'{name}' must be a finite amount >= 0 in the settlement currency. Got {value!r}."
            )
    cc = parameter_set.commodity(currency)
    grid, addons = cc.grid, cc.exchange
    if not isinstance(grid, ExchangeGrid) or addons is None:
        raise InvalidPositionError(
            f"Combined commodity {currency} of {parameter_set.label} is not exchange style; Deribit's layout needs "
            "an exchange grid (use deribit-style)."
        )
    universe, rows, quantity, _ = prepare(portfolio=portfolio, market=market, parameter_set=parameter_set)
    risk = next((r for r in universe.commodities if r.commodity.name == currency), None)
    mine = np.isin(rows, risk.rows) if risk is not None else np.zeros(len(rows), dtype=bool)
    if risk is None or not mine.any():
        raise InvalidPositionError(f"The book holds no position in {currency}; Deribit's layout is per currency.")
    book = exchange_book(commodity_book(universe, risk, rows[mine], quantity[mine]), grid)
    res = exchange_margin(book, grid, addons)
    n_standard = 3 * (2 * grid.buckets_count + 1)
    key = pair_key(cc.underlying, cc.settlement_currency)

    def split(values: Any) -> dict[str, list[float]]:
        v = _profit(values)
        return {"standard": v[:n_standard], "extended": v[n_standard:]}

    decimals = -1 if addons.round_decimals is None else addons.round_decimals
    worst_case = float(res.losses[res.worst]) if res.worst_case > 0.0 else 0.0
    rmm = float(exchange_requirement.py_func(round_half_up.py_func(worst_case, decimals), res.roll_shock,
                                             res.delta_shock))
    im = float(round_half_up.py_func(rmm + open_orders_margin + mmp_margin, decimals))
    mm = parameter_set.margin_relation.mm_factor * rmm
    vectors = {name: split(q * book.risk_arrays[i]) for i, (name, q) in enumerate(zip(book.names, book.quantity))}
    return {
        "initial_risk_vectors": vectors,
        "pre_aggregated_risk_vectors": {key: split(res.raw_losses)},
        "aggregated_risk_vectors": {key: split(res.losses)},
        "margins": {
            cc.settlement_currency.lower(): {
                "initial_margin": im,
                "maintenance_margin": mm,
                "initial_margin_details": {
                    "risk_matrix_margin": rmm,
                    "open_orders_margin": float(open_orders_margin),
                    "mmp_margin": float(mmp_margin),
                    "spot_margin": 0.0,
                    "risk_matrix_margin_details": {
                        "worst_case": worst_case,
                        "worst_case_bucket": worst_case_bucket(res.worst, grid=grid).to_dict(),
                        "roll_shock": float(res.roll_shock),
                        "delta_shock": float(res.delta_shock),
                        "correlation_contingency": 0.0,
                    },
                },
            }
        },
    }
