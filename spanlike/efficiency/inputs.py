"""Accounts resolved onto one shared, revalued instrument universe.

Every efficiency view margins the same positions many times (three levels,
one margin per position left out, two parameter sets); pricing the scenarios
once per (snapshot, parameter set) and re-aggregating rows is what keeps that
cheap (:func:`spanlike.engine.margin_positions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.params.errors import InvalidPositionError
from spanlike.params.parameter_set import ParameterSet
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.revalue import UniverseRisk, revalue
from spanlike.universe import build_instrument_table, resolve_positions

__all__ = ["PreparedAccount", "PreparedBook", "prepare_accounts"]


@dataclass(frozen=True, eq=False)
class PreparedAccount:
    """One account's positions as universe rows.

    Attributes
    ----------
    account : str
    rows : ndarray of intp, shape (k,)
        Rows of the universe's instrument table, strictly increasing.
    quantity : ndarray of float64, shape (k,)
        Net quantity per row in contract units (coin for options and coin
        futures; USD-sized futures converted at their mark price).
    notes : tuple of str
        Dropped net-zero positions, carried into margin results.
    """

    account: str
    rows: NDArray[np.intp]
    quantity: NDArray[np.float64]
    notes: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class PreparedBook:
    """A revalued universe holding every instrument of ``accounts``."""

    universe: UniverseRisk
    accounts: tuple[PreparedAccount, ...]

    def account(self, name: str) -> PreparedAccount:
        """The prepared account called ``name`` (KeyError if absent)."""
        for a in self.accounts:
            if a.account == name:
                return a
        raise KeyError(name)


def prepare_accounts(
    *, portfolios: Sequence[Portfolio], market: MarketSnapshot, parameter_set: ParameterSet
) -> PreparedBook:
    """Build one universe over all accounts' instruments, revalue it, resolve each account.

    Parameters
    ----------
    portfolios : sequence of Portfolio
        Distinct account ids.
    market : MarketSnapshot
    parameter_set : ParameterSet

    Returns
    -------
    PreparedBook

    Raises
    ------
    InvalidPositionError
        No portfolios, or two with the same account id.
    SpanlikeError
        Whatever building the table raises (unknown instrument, missing
        market data, expired instrument).
    """
    if not portfolios:
        raise InvalidPositionError("No accounts to analyse: give at least one portfolio.")
    names = [p.account for p in portfolios]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidPositionError(f"Account ids must be unique; repeated: {dup}. Merge or rename those accounts.")
    instruments = [ins for p in portfolios for ins in p.instruments]
    table = build_instrument_table(instruments=instruments, market=market, parameter_set=parameter_set)
    universe = revalue(table, parameter_set)
    accounts = []
    for p in portfolios:
        rows, quantity, notes = resolve_positions(p, table=table)
        accounts.append(PreparedAccount(account=p.account, rows=rows, quantity=quantity,
                                        notes=tuple(p.notes) + tuple(notes)))
    return PreparedBook(universe=universe, accounts=tuple(accounts))
