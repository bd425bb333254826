"""Three margin levels of one book, side by side.

1. **isolated**: each position alone under the venue's standard rules, summed
   (:mod:`spanlike.efficiency.isolated`, methodology 5);
2. **portfolio**: portfolio margin per combined commodity, no cross-underlying
   offsets (``margin_positions(..., cross_commodity=False)``);
3. **cross**: full cross margin, with inter-commodity spread credits and
   correlation offsets (``margin_positions(..., cross_commodity=True)``).

Savings of a level are measured against isolated: ``isolated - level`` in USD
and ``100 x (isolated - level) / isolated`` percent, separately for initial
and maintenance margin (the isolated rules and the portfolio methodology each
define their own IM/MM relation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from numpy.typing import ArrayLike

from spanlike.efficiency.isolated import IsolatedResult, isolated_margin
from spanlike.engine import margin_positions
from spanlike.results import MarginResult
from spanlike.revalue import UniverseRisk

__all__ = ["MarginLevel", "MarginLevels", "margin_levels", "savings_percent"]

LevelName = Literal["isolated", "portfolio", "cross"]

_DESCRIPTIONS: dict[str, str] = {
    "isolated": "each position alone, standard margin, summed",
    "portfolio": "portfolio margin per combined commodity, no cross-underlying offsets",
    "cross": "cross margin: inter-commodity credits and correlation offsets",
}


def savings_percent(savings: float, baseline: float) -> float | None:
    """``100 x savings / baseline``; None when the baseline is 0 (no percentage exists)."""
    return 100.0 * savings / baseline if baseline != 0.0 else None


@dataclass(frozen=True)
class MarginLevel:
    """One level's margin and its savings against isolated.

    Attributes
    ----------
    name : {"isolated", "portfolio", "cross"}
    description : str
    initial_margin_usd, maintenance_margin_usd : float
        USD.
    savings_im_usd, savings_mm_usd : float
        ``isolated - this level``, USD (negative: this level charges more).
    savings_im_pct, savings_mm_pct : float or None
        Percent of the isolated amount; None when that is 0.
    """

    name: LevelName
    description: str
    initial_margin_usd: float
    maintenance_margin_usd: float
    savings_im_usd: float
    savings_mm_usd: float
    savings_im_pct: float | None
    savings_mm_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class MarginLevels:
    """Isolated, portfolio and cross margin of one account with the full results behind them."""

    account: str
    parameter_set: str
    isolated: IsolatedResult
    portfolio: MarginResult
    cross: MarginResult
    levels: tuple[MarginLevel, MarginLevel, MarginLevel]

    def level(self, name: LevelName) -> MarginLevel:
        """The level called ``name``."""
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(name)


def _level(name: LevelName, im: float, mm: float, iso: IsolatedResult) -> MarginLevel:
    s_im = iso.initial_margin_usd - im
    s_mm = iso.maintenance_margin_usd - mm
    return MarginLevel(
        name=name, description=_DESCRIPTIONS[name], initial_margin_usd=im, maintenance_margin_usd=mm,
        savings_im_usd=s_im, savings_mm_usd=s_mm,
        savings_im_pct=savings_percent(s_im, iso.initial_margin_usd),
        savings_mm_pct=savings_percent(s_mm, iso.maintenance_margin_usd),
    )


def margin_levels(
    universe: UniverseRisk,
    *,
    rows: ArrayLike,
    quantity: ArrayLike,
    account: str = "default",
    notes: Sequence[str] = (),
) -> MarginLevels:
    """Isolated, per-underlying portfolio and cross margin of one book.

    Parameters
    ----------
    universe : UniverseRisk
        Revalued under the parameter set to analyse (which needs ``[isolated]``).
    rows : array_like of int, shape (k,)
        Rows of ``universe.table``, each once.
    quantity : array_like of float, shape (k,)
        Net quantity per row in contract units.
    account : str
    notes : sequence of str
        Carried into the margin results.

    Returns
    -------
    MarginLevels

    Raises
    ------
    ParameterSetError
        No isolated rules for a held instrument (see :func:`isolated_margin`).
    InvalidPositionError
        Bad rows or quantities (see :func:`spanlike.engine.margin_positions`).
    """
    iso = isolated_margin(universe, rows=rows, quantity=quantity)
    portfolio = margin_positions(universe, rows=rows, quantity=quantity, account=account, notes=notes,
                                 cross_commodity=False)
    cross = margin_positions(universe, rows=rows, quantity=quantity, account=account, notes=notes,
                             cross_commodity=True)
    levels = (
        _level("isolated", iso.initial_margin_usd, iso.maintenance_margin_usd, iso),
        _level("portfolio", portfolio.initial_margin_usd, portfolio.maintenance_margin_usd, iso),
        _level("cross", cross.initial_margin_usd, cross.maintenance_margin_usd, iso),
    )
    return MarginLevels(account=account, parameter_set=universe.parameter_set.label, isolated=iso,
                        portfolio=portfolio, cross=cross, levels=levels)
