"""Derive (formerly Lyra) venue: its subaccount and market inputs and its portfolio margin.

``margin_files(portfolio=..., market=..., parameter_set="derive")`` reads a
Derive portfolio and market snapshot (:mod:`spanlike.venues.derive.inputs`)
and returns :class:`spanlike.aggregation.derive.DeriveResult`. The rules are
:mod:`spanlike.methodology.derive`, derived from derivexyz/v2-core's
``PMRMLib_2.sol`` and ``PMRM_2.sol`` (BUSL-1.1; read for the formulas only,
none of their code copied).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

__all__ = ["margin_files"]


def margin_files(*, portfolio: str | os.PathLike[str] | Mapping[str, Any],
                 market: str | os.PathLike[str] | Mapping[str, Any], parameter_set: Any = "derive") -> Any:
    """Derive margin of a portfolio file (or mapping) against a market file (or mapping).

    Parameters
    ----------
    portfolio, market : path or mapping
        See :mod:`spanlike.venues.derive.inputs` for the formats.
    parameter_set : ParameterSet, bundled name or path, default "derive"

    Returns
    -------
    spanlike.aggregation.derive.DeriveResult
    """
    from spanlike import params
    from spanlike.aggregation.derive import derive_margin, derive_section
    from spanlike.params.parameter_set import ParameterSet
    from spanlike.venues.derive.inputs import read_market, read_portfolio

    ps = parameter_set if isinstance(parameter_set, ParameterSet) else params.load(
        Path(parameter_set) if isinstance(parameter_set, os.PathLike) else parameter_set)
    book = read_portfolio(portfolio)
    snapshot = read_market(market)
    return derive_margin(portfolio=book, market=snapshot, section=derive_section(ps, book.currency))
