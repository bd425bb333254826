"""The efficiency report of one account: levels, savings attribution, marginal view.

:func:`efficiency` takes files or objects (like :func:`spanlike.margin`);
:func:`efficiency_accounts` analyses many accounts against one revalued
universe; :func:`analyse_book` works on an already prepared universe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from spanlike import params as params_pkg
from spanlike.params.parameter_set import ParameterSet
from spanlike.efficiency.attribution import SavingsAttribution, attribute_savings
from spanlike.efficiency.inputs import prepare_accounts
from spanlike.efficiency.levels import MarginLevels, margin_levels
from spanlike.efficiency.marginal import MarginalView, incremental_margins
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.revalue import UniverseRisk

__all__ = ["EfficiencyReport", "analyse_book", "efficiency", "efficiency_accounts", "REPORT_SCHEMA_VERSION"]

REPORT_SCHEMA_VERSION = 1


def _plain(data: Any) -> Any:
    """Replace numpy scalars by Python ones.

    The engine's results can hold numpy scalars (inter-commodity credits are
    ``np.float64``, which makes ``short_option_minimum_binding`` an ``np.bool_``
    that ``json`` rejects); the report's dict must serialise as-is.
    """
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    if isinstance(data, np.generic):
        return data.item()
    return data


@dataclass(frozen=True)
class EfficiencyReport:
    """Isolated vs portfolio vs cross margin of one account, with attribution and marginal view."""

    levels: MarginLevels
    attribution: SavingsAttribution
    marginal: MarginalView | None

    @property
    def account(self) -> str:
        """Account id."""
        return self.levels.account

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``schema_version`` :data:`REPORT_SCHEMA_VERSION`); amounts in USD."""
        iso = self.levels.isolated
        return _plain({
            "schema_version": REPORT_SCHEMA_VERSION,
            "account": self.levels.account,
            "parameter_set": self.levels.parameter_set,
            "isolated_venue": iso.venue,
            "levels": [lv.to_dict() for lv in self.levels.levels],
            "attribution": self.attribution.to_dict(),
            "isolated_positions": [
                {"instrument": p.instrument, "quantity": p.quantity, "rule": p.rule,
                 "settlement_currency": p.settlement_currency, "initial_margin": p.initial_margin,
                 "maintenance_margin": p.maintenance_margin, "initial_margin_usd": p.initial_margin_usd,
                 "maintenance_margin_usd": p.maintenance_margin_usd}
                for p in iso.positions
            ],
            "marginal": self.marginal.to_dict() if self.marginal is not None else None,
            "cross_margin_result": self.levels.cross.to_dict(),
        })

    def format_table(self) -> str:
        """Readable text report (what ``spanlike efficiency`` prints)."""
        from spanlike.efficiency.text import format_efficiency_report

        return format_efficiency_report(self)


def analyse_book(
    universe: UniverseRisk,
    *,
    rows: ArrayLike,
    quantity: ArrayLike,
    account: str = "default",
    notes: Sequence[str] = (),
    marginal: bool = True,
) -> EfficiencyReport:
    """Levels, attribution and (optionally) the marginal view of one book on a revalued universe.

    Parameters
    ----------
    universe : UniverseRisk
        Revalued under a parameter set with an ``[isolated]`` section.
    rows, quantity : array_like, shape (k,)
        Universe rows and net quantities (contract units).
    account : str
    notes : sequence of str
    marginal : bool
        Compute incremental margins (``2k + 1`` extra margin runs).

    Returns
    -------
    EfficiencyReport
    """
    levels = margin_levels(universe, rows=rows, quantity=quantity, account=account, notes=notes)
    attribution = attribute_savings(levels, universe=universe, rows=rows, quantity=quantity)
    view = incremental_margins(universe, rows=rows, quantity=quantity, account=account) if marginal else None
    return EfficiencyReport(levels=levels, attribution=attribution, marginal=view)


def _as_inputs(market: MarketSnapshot | str | Path, parameter_set: ParameterSet | str | Path
               ) -> tuple[MarketSnapshot, ParameterSet]:
    m = market if isinstance(market, MarketSnapshot) else MarketSnapshot.from_file(market)
    ps = parameter_set if isinstance(parameter_set, ParameterSet) else params_pkg.load(parameter_set)
    return m, ps


def efficiency(
    portfolio: Portfolio | str | Path,
    market: MarketSnapshot | str | Path,
    parameter_set: ParameterSet | str | Path,
    *,
    marginal: bool = True,
) -> EfficiencyReport:
    """Efficiency report of one portfolio (files or objects, as :func:`spanlike.margin` takes).

    Raises
    ------
    SpanlikeError
        A typed subclass for every bad input; :class:`ParameterSetError` when
        the set has no isolated rules for a held instrument.
    """
    p = portfolio if isinstance(portfolio, Portfolio) else Portfolio.from_file(portfolio)
    m, ps = _as_inputs(market, parameter_set)
    book = prepare_accounts(portfolios=[p], market=m, parameter_set=ps)
    acc = book.accounts[0]
    return analyse_book(book.universe, rows=acc.rows, quantity=acc.quantity, account=acc.account,
                        notes=acc.notes, marginal=marginal)


def efficiency_accounts(
    portfolios: Sequence[Portfolio],
    market: MarketSnapshot | str | Path,
    parameter_set: ParameterSet | str | Path,
    *,
    marginal: bool = False,
) -> tuple[EfficiencyReport, ...]:
    """Efficiency reports of many accounts, revaluing the shared universe once.

    Returns
    -------
    tuple of EfficiencyReport
        In ``portfolios`` order.
    """
    m, ps = _as_inputs(market, parameter_set)
    book = prepare_accounts(portfolios=portfolios, market=m, parameter_set=ps)
    return tuple(
        analyse_book(book.universe, rows=a.rows, quantity=a.quantity, account=a.account, notes=a.notes,
                     marginal=marginal)
        for a in book.accounts
    )
