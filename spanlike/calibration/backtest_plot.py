"""Chart of a margin backtest: margin vs realised MPOR loss per day, exceptions marked.

Needs matplotlib (the ``plot`` extra); it is imported inside
:func:`plot_backtest` with the non-interactive Agg backend, so the rest of
spanlike never needs it and no display is opened.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spanlike.calibration.backtest import BacktestResult
from spanlike.errors import InvalidInputError

__all__ = ["plot_backtest"]


def plot_backtest(
    result: BacktestResult,
    path: str | Path,
    *,
    title: str | None = None,
    width_px: int = 1600,
    height_px: int = 800,
    dpi: int = 160,
) -> Path:
    """Write a PNG of margin and realised loss per observation day.

    Parameters
    ----------
    result : BacktestResult
    path : str or Path
        Output file; must end in ``.png``.
    title : str, optional
        Default: the parameter set, window and exception count.
    width_px, height_px : int
        Image size in pixels (default 1600 x 800, a report-width figure).
    dpi : int
        Dots per inch (fonts scale with it).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InvalidInputError
        ``path`` does not end in ``.png``, or a non-positive size.
    ModuleNotFoundError
        matplotlib is not installed (``pip install spanlike[plot]``).
    """
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise InvalidInputError(f"The backtest chart is written as PNG; give a path ending in .png, got {str(out)!r}.")
    if width_px <= 0 or height_px <= 0 or dpi <= 0:
        raise InvalidInputError(
            f"width_px, height_px and dpi must be positive; got {width_px}, {height_px}, {dpi}."
        )
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window, works headless
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    dates = result.dates.astype("datetime64[D]").astype(object)
    fig, ax = plt.subplots(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    try:
        ax.step(dates, result.margin_usd, where="post", color="#1f4e79", lw=1.4,
                label=f"{result.margin_kind} margin (USD)")
        ax.plot(dates, result.realised_loss_usd, color="#7f7f7f", lw=0.8,
                label=f"realised {result.mpor_days}-day loss (USD)")
        ax.axhline(0.0, color="black", lw=0.5)
        hit = result.exceptions
        if hit.any():
            ax.scatter(np.asarray(dates)[hit], result.realised_loss_usd[hit], color="#c00000", marker="v", s=36,
                       zorder=3, label=f"exception ({result.n_exceptions})")
        k, tl = result.kupiec, result.traffic_light
        ax.set_title(title or (
            f"{result.parameter_set}: {result.n_exceptions} exceptions in {result.observations} days "
            f"(expected {k.expected_rate * result.observations:.1f}); Kupiec p = {k.p_value:.3f}, {tl.zone}"
        ), fontsize=9)
        ax.set_ylabel("USD")
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator())
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        ax.grid(True, lw=0.3, alpha=0.6)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out
