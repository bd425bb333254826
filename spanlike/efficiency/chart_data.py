"""The data each chart draws, as small frozen dataclasses (testable without matplotlib or pixels).

* :func:`heatmap_data`: a combined commodity's scenario losses (positive =
  loss, the text report's sign) laid out as price move (columns) x vol state
  (rows), from the :class:`MarginResult`'s own scenario losses, so the cell
  marked worst is the result's worst scenario. Scenarios are numbered from 1
  for people (``#16``, as the text report), 0-based in ``scenario_index``.
  SPAN 16: 7 price levels x vol up/down plus the two extreme moves at vol
  unchanged (other cells of those columns are empty); exchange grid: 9 price
  points x 3 vol states plus the extended moves (vol up).
* :func:`waterfall_data`: isolated margin stepping down (savings) or up
  (charges) through the attribution lines to cross margin.
* :func:`savings_bars_data`: cross-margin savings per account, largest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.params.errors import InvalidInputError
from spanlike.params.parameter_set import ParameterSet
from spanlike.risk_arrays.grids import scenario_arrays
from spanlike.efficiency.attribution import SavingsAttribution
from spanlike.efficiency.levels import MarginLevels
from spanlike.results import MarginResult

__all__ = [
    "HeatmapData", "heatmap_data", "WaterfallStep", "WaterfallData", "waterfall_data",
    "SavingsBarsData", "savings_bars_data",
]

_VOL_ORDER = ("vol up", "vol unchanged", "vol down")


@dataclass(frozen=True, eq=False)
class HeatmapData:
    """Scenario losses of one combined commodity on a price x vol grid (positive = loss).

    Attributes
    ----------
    commodity, currency : str
        Combined commodity and its settlement currency (the unit of ``loss``).
    usd_per_unit : float
        USD per unit of ``currency`` at the index price.
    price_labels : tuple of str, length n_cols
        Column labels in increasing price move (``*`` marks extreme/extended
        moves, whose losses are counted at their weight).
    vol_labels : tuple of str, length n_rows
        Row labels: vol up, unchanged, down (those the grid has).
    loss : ndarray, shape (n_rows, n_cols)
        Portfolio loss as counted for margin (positive = loss, gains
        negative; weighted, after any gains offset), settlement currency, as
        the text report and ``MarginResult.to_dict()`` give it; NaN where the
        grid has no scenario. ``pnl`` is ``-loss``.
    scenario_index : ndarray of int, shape (n_rows, n_cols)
        0-based scenario of each cell, -1 where none (people read
        ``scenario_index + 1``, the text report's ``#n``).
    extended_cols : tuple of bool, length n_cols
        Columns of extreme/extended moves (counted at their weight), drawn apart.
    marked_cell : tuple of int
        ``(row, col)`` of the largest loss (ties: lowest scenario
        index, the engine's rule): the cell the chart marks.
    marked_scenario : int
        ``scenario_index[marked_cell]``.
    worst_loss : float
        Loss in the marked cell, settlement currency.
    title : str
    worst_text : str
        The marked scenario in words: ``worst: #28 extended price -66%, ...``.
    """

    commodity: str
    currency: str
    usd_per_unit: float
    price_labels: tuple[str, ...]
    vol_labels: tuple[str, ...]
    loss: NDArray[np.float64]
    scenario_index: NDArray[np.int64]
    extended_cols: tuple[bool, ...]
    marked_cell: tuple[int, int]
    marked_scenario: int
    worst_loss: float
    title: str
    worst_text: str

    @property
    def pnl(self) -> NDArray[np.float64]:
        """P&L, ``-loss`` (gains positive); NaN where the grid has no scenario."""
        return -self.loss


def _vol_state(abs_shift: float, rel_shift: float) -> str:
    v = abs_shift + rel_shift
    return "vol up" if v > 0 else ("vol down" if v < 0 else "vol unchanged")


def heatmap_data(
    result: MarginResult,
    *,
    parameter_set: ParameterSet | str | Path,
    commodity: str | None = None,
) -> HeatmapData:
    """Lay out ``result``'s scenario losses of ``commodity`` as a price x vol grid.

    Parameters
    ----------
    result : MarginResult
        Margined under ``parameter_set``.
    parameter_set : ParameterSet, bundled name or path
        Gives each scenario's price move and vol state (its grid); a name
        such as ``"crypto-span"`` is loaded as :func:`spanlike.margin` does.
    commodity : str, optional
        A combined commodity of the result; default the one with the largest
        initial margin in USD.

    Returns
    -------
    HeatmapData

    Raises
    ------
    InvalidInputError
        ``commodity`` is not in the result, the parameter set's grid does not
        produce the result's scenarios (a different set), or two scenarios
        share one (price, vol) cell.
    """
    if not isinstance(parameter_set, ParameterSet):
        from spanlike import params

        parameter_set = params.load(parameter_set)
    if commodity is None:
        if not result.commodities:
            raise InvalidInputError(f"The margin result of account {result.account!r} holds no position to draw.")
        commodity = max(result.commodities, key=lambda x: x.initial_margin_usd).name
    try:
        c = result.commodity(commodity)
    except KeyError:
        have = [x.name for x in result.commodities]
        raise InvalidInputError(
            f"Combined commodity {commodity!r} is not in the margin result (it holds {have}). Pick one of those."
        ) from None
    s = scenario_arrays(parameter_set.commodity(commodity).grid)
    if s.labels != c.scenario_labels:
        raise InvalidInputError(
            f"The grid of {commodity} in {parameter_set.label} does not produce the result's scenarios "
            f"(result computed under {result.parameter_set}). Pass the parameter set the result was computed with."
        )
    relative = bool(np.any(s.price_move_option != 0.0)) or not bool(np.any(s.price_shift_abs != 0.0))
    price = np.round(s.price_move_option if relative else s.price_shift_abs, 12)
    states = [_vol_state(a, r) for a, r in zip(s.vol_shift_abs, s.vol_shift_rel)]
    cols = sorted(set(price.tolist()))
    rows = [v for v in _VOL_ORDER if v in states]
    losses = np.asarray(c.scenario_losses, dtype=np.float64)
    loss = np.full((len(rows), len(cols)), np.nan)
    index = np.full((len(rows), len(cols)), -1, dtype=np.int64)
    extreme_cols: set[int] = set()
    for j, (p, v) in enumerate(zip(price.tolist(), states)):
        rr, cc = rows.index(v), cols.index(p)
        if index[rr, cc] >= 0:
            raise InvalidInputError(
                f"Scenarios #{index[rr, cc] + 1} and #{j + 1} of {commodity} share the heatmap cell "
                f"({v}, price {p:+g}); this grid cannot be drawn as price x vol."
            )
        index[rr, cc] = j
        loss[rr, cc] = losses[j] + 0.0  # + 0.0: an exact zero loss is drawn as 0, never -0
        if s.is_extended[j] or s.weight[j] != 1.0:
            extreme_cols.add(cc)
    # The marked cell is found from the laid-out data itself, so a test comparing it with
    # the result's worst scenario checks the layout, not a copy of the engine's index.
    valid = index >= 0
    worst_loss = float(np.max(loss[valid]))
    candidates = np.argwhere(valid & (loss == worst_loss))
    r0, c0 = min((tuple(rc) for rc in candidates), key=lambda rc: index[rc[0], rc[1]])
    if relative:
        labels = [f"{p * 100:+.4g}%" for p in cols]
    else:
        labels = [f"{p:+,.6g}" for p in cols]
    labels = [lab + ("*" if k in extreme_cols else "") for k, lab in enumerate(labels)]
    grid = parameter_set.commodity(commodity).grid
    vol_desc = {}
    for v in rows:
        j = states.index(v)
        if v == "vol unchanged":
            vol_desc[v] = v
        elif s.vol_shift_abs[j] != 0.0:
            vol_desc[v] = f"{v} ({s.vol_shift_abs[j] * 100:+.4g} pts)"
        else:
            vol_desc[v] = f"{v} ({s.vol_shift_rel[j] * 100:+.4g}% rel.)"
    family = "SPAN 16 scenarios" if getattr(grid, "family", "") == "span16" else "exchange grid"
    title = f"{commodity} scenario loss ({family}), {c.settlement_currency}, positive = loss"
    worst = int(index[r0, c0])
    worst_text = f"worst: #{worst + 1} {c.scenario_labels[worst]}"
    return HeatmapData(
        commodity=commodity, currency=c.settlement_currency, usd_per_unit=c.usd_per_unit,
        price_labels=tuple(labels), vol_labels=tuple(vol_desc[v] for v in rows), loss=loss,
        scenario_index=index, extended_cols=tuple(k in extreme_cols for k in range(len(cols))),
        marked_cell=(int(r0), int(c0)), marked_scenario=worst, worst_loss=worst_loss, title=title,
        worst_text=worst_text,
    )


@dataclass(frozen=True)
class WaterfallStep:
    """One bar: totals span 0..end, moves span start..end (USD)."""

    label: str
    start_usd: float
    end_usd: float
    kind: Literal["total", "saving", "charge"]


@dataclass(frozen=True)
class WaterfallData:
    """Isolated -> per-underlying portfolio -> cross margin, step by step (USD).

    ``steps[0]`` is the isolated total, the last step the cross total; each
    move starts where the previous bar ended. Attribution lines below half a
    cent are left out (they would be invisible bars).
    """

    title: str
    measure: Literal["initial margin", "maintenance margin"]
    steps: tuple[WaterfallStep, ...]


#: Lines smaller than this (USD) are not drawn: below a reported cent.
_INVISIBLE_USD = 0.005


def waterfall_data(levels: MarginLevels, attribution: SavingsAttribution, *,
                   measure: Literal["im", "mm"] = "im") -> WaterfallData:
    """Steps of the waterfall chart from isolated to cross margin.

    Parameters
    ----------
    levels : MarginLevels
    attribution : SavingsAttribution
        Of the same book.
    measure : {"im", "mm"}
        Initial or maintenance margin.

    Returns
    -------
    WaterfallData
    """
    key = "initial_margin_usd" if measure == "im" else "maintenance_margin_usd"
    name: Literal["initial margin", "maintenance margin"] = (
        "initial margin" if measure == "im" else "maintenance margin")
    iso, pf, cr = (getattr(lv, key) for lv in levels.levels)
    steps = [WaterfallStep("isolated", 0.0, iso, "total")]
    level = iso
    for stage, subtotal, sub_label in (("within underlying", pf, "portfolio\n(per underlying)"),
                                       ("across underlyings", cr, "cross")):
        for ln in attribution.lines:
            if ln.stage != stage:
                continue
            saving = ln.savings_im_usd if measure == "im" else ln.savings_mm_usd
            if abs(saving) < _INVISIBLE_USD:
                continue
            steps.append(WaterfallStep(ln.label, level, level - saving, "saving" if saving > 0 else "charge"))
            level -= saving
        # Totals come from the levels themselves; the attribution sums to them (to rounding).
        steps.append(WaterfallStep(sub_label, 0.0, subtotal, "total"))
        level = subtotal
    title = f"{levels.account}: {name} from isolated to cross margin ({levels.parameter_set})"
    return WaterfallData(title=title, measure=name, steps=tuple(steps))


@dataclass(frozen=True)
class SavingsBarsData:
    """Cross-margin IM savings per account, sorted largest first (USD and % of isolated)."""

    title: str
    accounts: tuple[str, ...]
    savings_usd: tuple[float, ...]
    savings_pct: tuple[float | None, ...]


def savings_bars_data(levels: Sequence[MarginLevels]) -> SavingsBarsData:
    """Sorted cross-vs-isolated IM savings of many accounts.

    Raises
    ------
    InvalidInputError
        No accounts.
    """
    if not levels:
        raise InvalidInputError("The savings chart needs at least one account.")
    rows = sorted(((lv.account, lv.level("cross").savings_im_usd, lv.level("cross").savings_im_pct)
                   for lv in levels), key=lambda t: (-t[1], t[0]))
    ps = levels[0].parameter_set
    return SavingsBarsData(
        title=f"Initial-margin savings of cross margin over isolated, {len(rows)} accounts ({ps})",
        accounts=tuple(r[0] for r in rows), savings_usd=tuple(r[1] for r in rows),
        savings_pct=tuple(r[2] for r in rows),
    )
