"""Report charts as PNG files (matplotlib, the optional extra ``spanlike[plot]``).

Every chart is :data:`FIGURE_SIZE_PX` = 1600 x 1000 pixels at :data:`DPI` =
200 (8 x 5 inches: a full-width figure in an A4 or letter report, labels at
8-11 pt stay legible when printed). Figures are drawn on matplotlib's Agg
canvas directly (``matplotlib.figure.Figure`` + ``FigureCanvasAgg``), without
pyplot, so no global backend or figure registry is touched and nothing needs
a display. Saved without ``bbox_inches="tight"``, which would change the size.

The data drawn comes from :mod:`spanlike.efficiency.chart_data`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from spanlike.params.errors import SpanlikeError
from spanlike.efficiency.chart_data import HeatmapData, SavingsBarsData, WaterfallData

__all__ = ["plot_heatmap", "plot_waterfall", "plot_savings_bars", "FIGURE_SIZE_PX", "DPI",
           "PlottingUnavailableError"]

DPI = 200
FIGURE_SIZE_PX = (1600, 1000)
_FIGSIZE_IN = (FIGURE_SIZE_PX[0] / DPI, FIGURE_SIZE_PX[1] / DPI)


class PlottingUnavailableError(SpanlikeError, ImportError):
    """matplotlib (the ``spanlike[plot]`` extra) is not installed."""


def _figure() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlottingUnavailableError(
            "Charts need matplotlib, the optional extra 'spanlike[plot]'. Install it with "
            "pip install 'spanlike[plot]' (or pip install matplotlib), or leave out --plot."
        ) from None
    fig = Figure(figsize=_FIGSIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, format="png")
    return out


def _usd_axis(value: float, _pos: object = None) -> str:
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if a >= 1e3:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}"


#: Point size of the values written in heatmap cells, and the smallest we accept (print-legible at 200 dpi).
_CELL_FONT_PT, _MIN_CELL_FONT_PT = 7.0, 5.5
#: Width of a character in ems for the cell text (DejaVu Sans digits are 0.64 em).
_CHAR_EM = 0.64


def _cell_decimals(span: float) -> int:
    """Decimals that give about three significant digits at the scale of the largest cell."""
    if not span > 0.0:
        return 0
    return max(0, 2 - math.floor(math.log10(span)))


def _cell_text(value: float, decimals: int) -> str:
    """A cell's loss: exact zeros as 0 (a hedged cell), others with the chart's decimals."""
    if value == 0.0:
        return "0"
    text = f"{value:,.{decimals}f}"
    if float(text.replace(",", "")) == 0.0:  # too small for the chart's decimals: say so, never "-0.00"
        return "~0"
    return text


def plot_heatmap(data: HeatmapData, *, path: str | Path) -> Path:
    """Price x vol heatmap of scenario losses (positive = loss, as the text report) with the worst cell outlined.

    Cells show the loss and the scenario number (``#n``, 1-based as in the
    text report) where the text fits the cell at a legible size; otherwise
    only the colour (the caption says so). Extreme/extended columns are set
    apart by white lines. The worst cell is outlined and named under the
    axis, away from the title.

    Parameters
    ----------
    data : HeatmapData
    path : str or Path
        PNG file to write (parent directories are created).

    Returns
    -------
    Path
        The file written, :data:`FIGURE_SIZE_PX` pixels.
    """
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Rectangle

    fig = _figure()
    ax = fig.add_subplot()
    loss = data.loss
    finite = loss[np.isfinite(loss)]
    span = float(np.max(np.abs(finite))) if finite.size else 1.0
    span = span if span > 0.0 else 1.0
    # Diverging colours centred on zero: red losses, green gains, equal scale both ways.
    norm = TwoSlopeNorm(vmin=-span, vcenter=0.0, vmax=span)
    image = ax.imshow(np.ma.masked_invalid(loss), cmap=_cmap(), norm=norm, aspect="auto")
    ax.set_facecolor("#e6e6e6")  # cells without a scenario
    n_rows, n_cols = loss.shape
    decimals = _cell_decimals(span)
    texts = {(r, c): (_cell_text(float(loss[r, c]), decimals), f"#{data.scenario_index[r, c] + 1}")
             for r in range(n_rows) for c in range(n_cols) if data.scenario_index[r, c] >= 0}
    # Cell width in points, from the axes' size once laid out: the text is written only if it fits.
    fig.canvas.draw()
    cell_pt = ax.get_window_extent().width / n_cols * 72.0 / fig.dpi
    widest = max((len(v) for v, _ in texts.values()), default=1)
    font = min(_CELL_FONT_PT, 0.9 * cell_pt / (widest * _CHAR_EM))
    show_values = font >= _MIN_CELL_FONT_PT
    for (r, c), (value_text, number) in texts.items():
        shade = abs(float(loss[r, c])) / span
        colour = "white" if shade > 0.6 else "black"
        if show_values:
            ax.text(c, r - 0.08, value_text, ha="center", va="bottom", fontsize=font, color=colour)
            ax.text(c, r + 0.08, number, ha="center", va="top", fontsize=font * 0.85, color=colour)
        else:
            ax.text(c, r, number, ha="center", va="center", fontsize=_MIN_CELL_FONT_PT, color=colour)
    for r in range(n_rows):
        for c in range(n_cols):
            if data.scenario_index[r, c] < 0:
                ax.text(c, r, "-", ha="center", va="center", fontsize=8, color="#808080")
    # Extended/extreme columns apart from the standard grid.
    ext = data.extended_cols
    for c in range(1, n_cols):
        if ext[c] != ext[c - 1]:
            ax.axvline(c - 0.5, color="white", linewidth=4.0)
    r0, c0 = data.marked_cell
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), 1.0, 1.0, fill=False, edgecolor="black", linewidth=3.0))
    rotate = n_cols > 11
    ax.set_xticks(range(n_cols), data.price_labels, fontsize=8, rotation=45 if rotate else 0,
                  ha="right" if rotate else "center", rotation_mode="anchor" if rotate else "default")
    ax.set_yticks(range(n_rows), data.vol_labels, fontsize=8)
    digits = 4 if data.currency not in ("USD", "USDC", "USDT") else 0
    usd = data.worst_loss * data.usd_per_unit
    caption = [
        "price move of the underlying (* extreme/extended move, counted at its weight)",
        f"outlined: {data.worst_text}, loss {data.worst_loss:,.{digits}f} {data.currency} = {usd:,.0f} USD",
    ]
    if not show_values:
        caption.append("cells too narrow for values: the colour gives the loss, the number the scenario")
    ax.set_xlabel("\n".join(caption), fontsize=9)
    ax.set_ylabel("volatility scenario", fontsize=9)
    ax.set_title(data.title, fontsize=10)
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label(f"loss counted for margin, {data.currency} (positive = loss, negative = gain)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return _save(fig, path)


def _cmap() -> Any:
    from matplotlib import colormaps

    return colormaps["RdYlGn_r"]  # reversed: high (loss) red, low (gain) green


def plot_waterfall(data: WaterfallData, *, path: str | Path) -> Path:
    """Waterfall from isolated to cross margin: totals in grey, savings in green, charges in red.

    Returns
    -------
    Path
        The file written, :data:`FIGURE_SIZE_PX` pixels.
    """
    fig = _figure()
    ax = fig.add_subplot()
    colours = {"total": "#5b6b7a", "saving": "#2e8b57", "charge": "#c0392b"}
    top = max(max(s.start_usd, s.end_usd) for s in data.steps)
    for i, step in enumerate(data.steps):
        low, high = sorted((step.start_usd, step.end_usd))
        ax.bar(i, high - low, bottom=low, color=colours[step.kind], width=0.65, edgecolor="black", linewidth=0.5)
        if step.kind == "total":
            text = _usd_axis(step.end_usd)
        else:
            # A saving lowers the margin: label it with the sign of the move, as on the axis.
            text = f"{step.end_usd - step.start_usd:+,.0f}"
        ax.text(i, high + 0.01 * top, text, ha="center", va="bottom", fontsize=8)
        if i + 1 < len(data.steps):
            # Connector: the next bar starts where this one ends.
            ax.plot([i + 0.33, i + 0.67], [step.end_usd, step.end_usd], color="#808080", linewidth=0.8)
    labels = [_wrap(s.label) for s in data.steps]
    ax.set_xticks(range(len(data.steps)), labels, fontsize=7)
    ax.set_ylabel(f"{data.measure}, USD", fontsize=9)
    ax.yaxis.set_major_formatter(_formatter())
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylim(0, top * 1.1)
    ax.set_title(data.title, fontsize=10)
    ax.grid(axis="y", linewidth=0.3)
    ax.set_axisbelow(True)
    return _save(fig, path)


def _wrap(label: str, width: int = 14) -> str:
    if "\n" in label:
        return label
    words, lines, line = label.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines)


def _formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_usd_axis)


def plot_savings_bars(data: SavingsBarsData, *, path: str | Path) -> Path:
    """Sorted bar chart of cross-margin IM savings per account (USD; % of isolated on each bar).

    Returns
    -------
    Path
        The file written, :data:`FIGURE_SIZE_PX` pixels.
    """
    fig = _figure()
    ax = fig.add_subplot()
    n = len(data.accounts)
    values = np.asarray(data.savings_usd, dtype=np.float64)
    colours = ["#2e8b57" if v >= 0 else "#c0392b" for v in values]
    ax.bar(range(n), values, color=colours, width=0.8)
    if n <= 40:  # beyond that the labels would overlap; the sorted shape is what matters then
        ax.set_xticks(range(n), data.accounts, rotation=60, ha="right", fontsize=7)
        span = float(np.max(np.abs(values))) if n else 1.0
        for i, (v, p) in enumerate(zip(values, data.savings_pct)):
            if p is not None and math.isfinite(p):
                ax.text(i, v + (0.01 if v >= 0 else -0.01) * span, f"{p:.0f}%", ha="center",
                        va="bottom" if v >= 0 else "top", fontsize=6)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{n} accounts, sorted by savings", fontsize=9)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylabel("IM savings, USD (isolated - cross)", fontsize=9)
    ax.yaxis.set_major_formatter(_formatter())
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(data.title, fontsize=10)
    ax.grid(axis="y", linewidth=0.3)
    ax.set_axisbelow(True)
    return _save(fig, path)
