"""Chart data (no matplotlib needed) and the PNG files (matplotlib, spanlike[plot])."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from spanlike import params
import spanlike
from spanlike.efficiency.chart_data import heatmap_data, savings_bars_data, waterfall_data
from spanlike.efficiency.report import efficiency, efficiency_accounts
from spanlike.errors import InvalidInputError
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio

DATA = Path(spanlike.__file__).parent / "data"
MARKET = MarketSnapshot.from_file(DATA / "demo_market.json")
BOOK = Portfolio.from_file(DATA / "demo_portfolio.csv")


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk (bytes 16..24, big-endian)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("name", ["crypto-span", "deribit-style"])
def test_heatmap_marks_the_results_worst_scenario(name: str) -> None:
    ps = params.load(name)
    result = spanlike.margin(BOOK, MARKET, ps)
    for c in result.commodities:
        data = heatmap_data(result, parameter_set=ps, commodity=c.name)
        assert data.marked_scenario == c.worst_scenario.index
        r, col = data.marked_cell
        assert data.scenario_index[r, col] == c.worst_scenario.index
        assert -data.pnl[r, col] == c.scenario_losses[c.worst_scenario.index]
        # Every scenario appears exactly once, with its own loss negated.
        placed = data.scenario_index[data.scenario_index >= 0]
        assert sorted(placed.tolist()) == list(range(len(c.scenario_losses)))
        for (i, j), k in np.ndenumerate(data.scenario_index):
            if k >= 0:
                assert data.pnl[i, j] == -c.scenario_losses[k]
            else:
                assert math.isnan(data.pnl[i, j])


def test_heatmap_layout_of_the_two_grid_families() -> None:
    span = params.load("crypto-span")
    d = heatmap_data(spanlike.margin(BOOK, MARKET, span), parameter_set=span, commodity="BTC")
    # SPAN 16: 7 price levels + 2 extremes (columns) x vol up / unchanged / down; 16 of 27 cells used.
    assert d.pnl.shape == (3, 9) and int((d.scenario_index >= 0).sum()) == 16
    assert d.price_labels[0] == "-36%*" and d.price_labels[4] == "+0%" and d.price_labels[-1] == "+36%*"
    assert d.vol_labels == ("vol up (+12 pts)", "vol unchanged", "vol down (-12 pts)")
    exch = params.load("deribit-style")
    d = heatmap_data(spanlike.margin(BOOK, MARKET, exch), parameter_set=exch, commodity="BTC")
    # 9 price points x 3 vol states, plus 8 extended moves (vol up) as their own columns.
    assert d.pnl.shape == (3, 17) and int((d.scenario_index >= 0).sum()) == 27 + 8


def test_heatmap_rejects_a_foreign_parameter_set_and_unknown_commodity() -> None:
    result = spanlike.margin(BOOK, MARKET, "crypto-span")
    with pytest.raises(InvalidInputError, match="does not produce the result's scenarios"):
        heatmap_data(result, parameter_set=params.load("deribit-style"), commodity="BTC")
    with pytest.raises(InvalidInputError, match="'SOL_USDC' is not in the margin result"):
        heatmap_data(result, parameter_set=params.load("crypto-span"), commodity="SOL_USDC")


def test_waterfall_steps_chain_from_isolated_to_cross() -> None:
    r = efficiency(BOOK, MARKET, "crypto-span", marginal=False)
    data = waterfall_data(r.levels, r.attribution)
    steps = data.steps
    assert steps[0].label == "isolated" and steps[0].end_usd == r.levels.level("isolated").initial_margin_usd
    assert steps[-1].label == "cross" and steps[-1].end_usd == r.levels.level("cross").initial_margin_usd
    level = steps[0].end_usd
    for s in steps[1:]:
        if s.kind == "total":
            # A subtotal equals where the moves arrived (rel 1e-12: a few additions of ~1e5 USD).
            assert s.end_usd == pytest.approx(level, rel=1e-12)
            level = s.end_usd
        else:
            assert s.start_usd == level
            assert (s.kind == "saving") == (s.end_usd < s.start_usd)
            level = s.end_usd


def test_savings_bars_are_sorted_largest_first() -> None:
    accounts = [Portfolio.from_positions(p, account=a) for a, p in (
        ("a", [("BTC-25DEC26-80000-P", -2.0)]), ("b", [("BTC-26MAR27", 2.0, "coin"), ("BTC-25DEC26", -2.0, "coin")]),
        ("c", [("ETH-25DEC26-4000-C", -10.0)]))]
    reports = efficiency_accounts(accounts, MARKET, "crypto-span")
    data = savings_bars_data([r.levels for r in reports])
    assert list(data.savings_usd) == sorted(data.savings_usd, reverse=True)
    assert set(data.accounts) == {"a", "b", "c"}
    with pytest.raises(InvalidInputError):
        savings_bars_data([])


def test_png_files_have_the_stated_size(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from spanlike.efficiency.plots import FIGURE_SIZE_PX, plot_heatmap, plot_savings_bars, plot_waterfall

    assert FIGURE_SIZE_PX == (1600, 1000)
    ps = params.load("crypto-span")
    r = efficiency(BOOK, MARKET, ps, marginal=False)
    files = [
        plot_waterfall(waterfall_data(r.levels, r.attribution), path=tmp_path / "w.png"),
        plot_heatmap(heatmap_data(r.levels.cross, parameter_set=ps, commodity="ETH"), path=tmp_path / "sub" / "h.png"),
        plot_savings_bars(savings_bars_data([r.levels]), path=tmp_path / "s.png"),
    ]
    exch = params.load("deribit-style")
    files.append(plot_heatmap(heatmap_data(spanlike.margin(BOOK, MARKET, exch), parameter_set=exch, commodity="BTC"),
                              path=tmp_path / "hx.png"))
    for f in files:
        assert f.is_file() and f.stat().st_size > 10_000
        assert _png_size(f) == (1600, 1000)


# --- issue 15: one sign convention, one numbering, a set by name, a readable exchange heatmap ---


def test_heatmap_takes_the_set_by_name_and_defaults_the_commodity() -> None:
    result = spanlike.margin(BOOK, MARKET, "crypto-span")
    by_name = heatmap_data(result, parameter_set="crypto-span")  # raised a pydantic/attribute error before
    by_object = heatmap_data(result, parameter_set=params.load("crypto-span"), commodity="BTC")
    # Default commodity: the largest initial margin in USD (BTC for the demo book).
    assert max(result.commodities, key=lambda c: c.initial_margin_usd).name == "BTC" == by_name.commodity
    np.testing.assert_array_equal(by_name.loss, by_object.loss)


def test_heatmap_is_loss_positive_like_the_text_report() -> None:
    result = spanlike.margin(BOOK, MARKET, "crypto-span")
    d = heatmap_data(result, parameter_set="crypto-span", commodity="BTC")
    c = result.commodity("BTC")
    r, col = d.marked_cell
    # The report prints scan risk 0.692198 BTC as a positive loss; the chart's worst cell is the same number.
    assert d.loss[r, col] == c.scenario_losses[c.worst_scenario.index] == d.worst_loss > 0
    assert "positive = loss" in d.title and "P&L" not in d.title
    # People read scenarios from 1, as the report's "worst scenario #16".
    assert d.worst_text.startswith(f"worst: #{c.worst_scenario.index + 1} ")
    assert f"worst scenario #{c.worst_scenario.index + 1}:" in result.format_table()
    assert "worst" not in d.title  # the marker's text sits under the axis, not on the title
    np.testing.assert_array_equal(d.pnl[np.isfinite(d.pnl)], -d.loss[np.isfinite(d.loss)])


def test_exchange_heatmap_sets_extended_columns_apart() -> None:
    exch = params.load("deribit-style")
    d = heatmap_data(spanlike.margin(BOOK, MARKET, exch), parameter_set="deribit-style", commodity="BTC")
    assert d.extended_cols == tuple(lab.endswith("*") for lab in d.price_labels)
    assert sum(d.extended_cols) == 8 and len(d.extended_cols) == 17


def test_cell_text_prints_zero_as_zero_and_never_minus_zero() -> None:
    pytest.importorskip("matplotlib")
    from spanlike.efficiency.plots import _cell_decimals, _cell_text

    assert _cell_text(0.0, 2) == "0" and _cell_text(-0.0, 2) == "0"
    assert _cell_text(-0.0004, 2) == "~0" and _cell_text(0.6293, _cell_decimals(1.5158)) == "0.63"
    assert _cell_decimals(20_000.0) == 0 and _cell_decimals(0.69) == 3


def test_exchange_heatmap_png_labels_do_not_collide(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from spanlike.efficiency import plots

    exch = params.load("deribit-style")
    d = heatmap_data(spanlike.margin(BOOK, MARKET, exch), parameter_set=exch, commodity="BTC")
    drawn: list[Figure] = []
    real = plots._save

    def keep(fig, path):  # the figure as saved, to measure its tick labels and title
        drawn.append(fig)
        return real(fig, path)

    plots._save = keep
    try:
        plots.plot_heatmap(d, path=tmp_path / "hx.png")
    finally:
        plots._save = real
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = ax.get_xticklabels()
    assert len(labels) == 17
    # 17 labels side by side at 8 pt would touch ("+50%*+100%*" before); turned 45 degrees, two
    # neighbours stay apart when the step between them, across the text direction, exceeds a line.
    assert all(t.get_rotation() == 45 for t in labels)
    step_px = float(np.diff(ax.transData.transform([(0, 0), (1, 0)])[:, 0])[0])
    line_px = max(t.get_fontsize() for t in labels) * fig.dpi / 72.0
    assert step_px * math.sin(math.radians(45)) > 1.5 * line_px
    title = ax.title.get_window_extent(renderer)
    for text in ax.texts:  # no cell text or marker above the axes, into the title
        assert not text.get_window_extent(renderer).overlaps(title)
