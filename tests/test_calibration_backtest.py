"""Backtest replay: exception counts on constructed series, the replay convention against vollib, Kupiec wiring."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vollib.black import black

from spanlike import params
from spanlike.calibration.backtest import backtest_margin
from spanlike.calibration.backtest_plot import plot_backtest
from spanlike.calibration.history import PriceHistory, VolHistory
from spanlike.calibration.kupiec import kupiec_pof, traffic_light
from spanlike.errors import InvalidInputError
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio

VALUATION = "2026-11-24T08:00:00Z"
# 10 scenarios at 0.9: m = 1, VaR = the 2nd largest loss; a long loses 10 % of its value in the 2nd worst move.
SCENARIO_MOVES = [-0.20, -0.10, 0.0, 0.01, 0.02, 0.03, -0.01, -0.02, 0.05, 0.04]


def _var_set(mpor_days: int = 1) -> params.ParameterSet:
    data: dict[str, Any] = {
        "metadata": {"name": "bt", "version": "1", "as_of": "2026-11-24"},
        "combined_commodities": [{
            "name": "BTC_USDC", "underlying": "BTC", "settlement": "linear", "settlement_currency": "USDC",
            "grid": {"family": "historical", "scenario_set": "hs", "scenario_count": 10,
                     "time_advance_days": float(mpor_days)},
        }, {
            "name": "BTC", "underlying": "BTC", "settlement": "coin", "settlement_currency": "BTC",
            "grid": {"family": "historical", "scenario_set": "hs", "scenario_count": 10,
                     "time_advance_days": float(mpor_days)},
        }],
        "var_model": {"measure": "var", "confidence": 0.9, "mpor_days": mpor_days, "scenarios": {
            "name": "hs", "underlyings": ["BTC"], "dates": [f"2024-01-{d:02d}" for d in range(1, 11)],
            "price_moves": [[m] for m in SCENARIO_MOVES]}},
    }
    return params.from_mapping(data)


def _history(moves: list[float], start: float = 100.0) -> PriceHistory:
    closes = start * np.cumprod([1.0] + [1.0 + m for m in moves])
    ts = (np.datetime64("2025-01-01") + np.arange(closes.size).astype("timedelta64[D]")).astype("datetime64[s]")
    return PriceHistory(timestamps=ts, closes=closes[:, None], names=("BTC",))


def _perp_market(price: float = 100.0) -> MarketSnapshot:
    return MarketSnapshot.from_mapping({
        "valuation_time": VALUATION, "index_prices": {"BTC": price},
        "instruments": [{"instrument": "BTC_USDC-PERPETUAL", "mark_price": price}],
    })


# Day moves: falls of 12 % and 11 % beat the 10 % margin; 9.5 % and rises do not.
DAY_MOVES = [0.01, -0.12, 0.02, -0.095, 0.03, -0.11, 0.0, 0.05, -0.02, 0.04, -0.15, 0.01]


def test_exception_count_on_a_constructed_series() -> None:
    history = _history(DAY_MOVES)
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 3.0)])
    result = backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set())
    closes = history.closes[:, 0]
    # margin on day k: 3 x F_k x 0.10 with F_k = 100 x close_k / 100; realised loss 3 (F_k - F_{k+1})
    assert result.observations == len(DAY_MOVES)
    assert result.margin_usd == pytest.approx(3 * closes[:-1] * 0.10, rel=1e-12)
    assert result.realised_loss_usd == pytest.approx(3 * (closes[:-1] - closes[1:]), rel=1e-12, abs=1e-9)
    assert result.n_exceptions == 3
    assert result.exception_dates() == ["2025-01-02", "2025-01-06", "2025-01-11"]
    # Kupiec and the traffic light are the calibration's functions of (3, 12, 0.9)
    assert result.kupiec == kupiec_pof(exceptions=3, observations=12, confidence=0.9)
    assert result.traffic_light == traffic_light(exceptions=3, observations=12, confidence=0.9)
    text = result.summary()
    assert "exceptions: 3 of 12" in text and "Kupiec POF: LR" in text and "traffic light:" in text
    assert result.to_dict()["exceptions"] == 3


def test_window_step_and_confidence() -> None:
    history = _history(DAY_MOVES)
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 3.0)])
    last5 = backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set(), days=5)
    assert [str(d) for d in last5.dates] == ["2025-01-08", "2025-01-09", "2025-01-10", "2025-01-11", "2025-01-12"]
    assert last5.n_exceptions == 1
    stepped = backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set(),
                              step_days=3, confidence=0.95, start="2025-01-02", end="2025-01-11")
    # every 3rd day counted back from the last: 01-11, 01-08, 01-05, 01-02
    assert [str(d) for d in stepped.dates] == ["2025-01-02", "2025-01-05", "2025-01-08", "2025-01-11"]
    assert stepped.n_exceptions == 2 and stepped.confidence == 0.95
    assert stepped.kupiec == kupiec_pof(exceptions=2, observations=4, confidence=0.95)


def test_two_day_mpor_realised_loss() -> None:
    history = _history(DAY_MOVES)
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", -1.0)])
    result = backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set(2))
    closes = history.closes[:, 0]
    assert result.mpor_days == 2 and result.observations == len(DAY_MOVES) - 1
    assert result.realised_loss_usd == pytest.approx(closes[2:] - closes[:-2], rel=1e-12, abs=1e-9)
    # a short loses in rises: +5 %, +4 %, ... -> VaR = the 2nd largest, 0.04 x F_k
    assert result.margin_usd == pytest.approx(0.04 * closes[:-2], rel=1e-12)


def test_replay_convention_option_against_vollib() -> None:
    """Fixed book: day d valued at t0 - (d_last - d), forward scaled by close/index, vol by the IV index."""
    moves = [0.02, -0.03, 0.04, -0.01]
    history = _history(moves, start=90_000.0)
    closes = history.closes[:, 0]
    iv_levels = np.array([0.50, 0.55, 0.60, 0.52, 0.58])
    iv = VolHistory(timestamps=history.timestamps, vols=iv_levels[:, None], names=("BTC",))
    f_snap, index_snap, sigma = 96_000.0, 95_000.0, 0.6
    market = MarketSnapshot.from_mapping({
        "valuation_time": VALUATION, "index_prices": {"BTC": index_snap},
        "instruments": [{"instrument": "BTC-25DEC26-100000-C", "mark_iv": sigma, "underlying_price": f_snap}],
    })
    book = Portfolio.from_positions([("BTC-25DEC26-100000-C", -2.0)])
    result = backtest_margin(history=history, portfolio=book, market=market, parameter_set=_var_set(),
                             iv_history=iv)
    last = 3  # the last observation day (row 3) is pinned to the snapshot time; expiry 31 days after it
    for k in range(4):
        t_k = (31 + (last - k)) / 365
        f_k, f_next = f_snap * closes[k] / index_snap, f_snap * closes[k + 1] / index_snap
        vol_k = sigma * iv_levels[k] / iv_levels[last]
        vol_next = vol_k * iv_levels[k + 1] / iv_levels[k]
        v0 = black("c", f_k, 100_000.0, t_k, 0.0, vol_k) / f_k
        v1 = black("c", f_next, 100_000.0, t_k - 1 / 365, 0.0, vol_next) / f_next
        hand_usd = -2.0 * (v0 - v1) * closes[k]  # coin loss of the short at day k's index
        assert result.realised_loss_usd[k] == pytest.approx(hand_usd, rel=1e-9)
    rolling = backtest_margin(history=history, portfolio=book, market=market, parameter_set=_var_set(),
                              book="rolling")
    # constant time to expiry: every day's option has the snapshot's 31 days
    k = 0
    f_k, f_next = f_snap * closes[k] / index_snap, f_snap * closes[k + 1] / index_snap
    hand = -2.0 * (black("c", f_k, 1e5, 31 / 365, 0.0, sigma) / f_k
                   - black("c", f_next, 1e5, 30 / 365, 0.0, sigma) / f_next) * closes[k]
    assert rolling.realised_loss_usd[0] == pytest.approx(hand, rel=1e-9)
    assert "vols kept" in rolling.notes[0]


def test_plot_writes_a_report_sized_png(tmp_path: Path) -> None:
    result = backtest_margin(history=_history(DAY_MOVES), portfolio=Portfolio.from_positions(
        [("BTC_USDC-PERPETUAL", 3.0)]), market=_perp_market(), parameter_set=_var_set())
    out = plot_backtest(result, tmp_path / "bt.png", width_px=1200, height_px=600, dpi=100)
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1200, 600)
    with pytest.raises(InvalidInputError, match=r"ending in .png, got '.*bt.jpg'"):
        plot_backtest(result, tmp_path / "bt.jpg")


def test_bad_input() -> None:
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 3.0)])
    history = _history(DAY_MOVES)
    ps = params.load("crypto-span")
    silent = ps.model_copy(update={"metadata": ps.metadata.model_copy(update={"provenance": {}})})
    with pytest.raises(InvalidInputError, match=r"crypto-span@.* does not record its margin period of risk.*"
                                                r"pass mpor_days"):
        backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=silent)
    eth = PriceHistory(timestamps=history.timestamps, closes=history.closes, names=("ETH",))
    with pytest.raises(InvalidInputError, match=r"no closes for \['BTC'\], which the book holds"):
        backtest_margin(history=eth, portfolio=book, market=_perp_market(), parameter_set=_var_set())
    with pytest.raises(InvalidInputError, match=r"either start or days"):
        backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set(),
                        start="2025-01-02", days=3)
    with pytest.raises(InvalidInputError, match=r"No observation day with 1 days of history after it"):
        backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set(),
                        start="2030-01-01")
    with pytest.raises(InvalidInputError, match=r"book must be 'fixed' or 'rolling'; got 'static'"):
        backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set(),
                        book="static")  # type: ignore[arg-type]
    short_iv = VolHistory(timestamps=history.timestamps[:5], vols=np.full((5, 1), 0.5), names=("BTC",))
    with pytest.raises(InvalidInputError, match=r"has no value on 2025-01-06, which the backtest needs"):
        backtest_margin(history=history, portfolio=book, market=_perp_market(), parameter_set=_var_set(),
                        iv_history=short_iv)


# --- issue 15: the MPOR from the set, what a Kupiec rejection means, a history far from the snapshot ---


def test_mpor_days_default_from_the_set() -> None:
    from spanlike import params
    from spanlike.calibration.backtest import set_mpor_days

    assert set_mpor_days(params.load("crypto-span")) == 2  # "... 2-day MPOR" in its provenance
    assert set_mpor_days(params.load("deribit-style")) is None


def test_kupiec_rejection_says_which_way() -> None:
    from spanlike.calibration.backtest import _kupiec_reading
    from spanlike.calibration.kupiec import kupiec_pof

    few = kupiec_pof(exceptions=0, observations=1000, confidence=0.99)
    many = kupiec_pof(exceptions=30, observations=1000, confidence=0.99)
    fine = kupiec_pof(exceptions=10, observations=1000, confidence=0.99)
    assert few.rejects(significance=0.05) and "too few exceptions" in _kupiec_reading(few)
    assert "conservative" in _kupiec_reading(few)
    assert many.rejects(significance=0.05) and "too many exceptions" in _kupiec_reading(many)
    assert _kupiec_reading(fine) == ""


def test_backtest_cli_grid_set_without_mpor_and_far_history(capsys) -> None:
    import spanlike
    from spanlike.cli import main

    f = spanlike.demo_files()
    code = main(["backtest", "--history", str(f.history), "--portfolio", str(f.portfolio), "--market", str(f.market),
                 "--params", "crypto-span", "--days", "60"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "vs 2-day realised loss" in out.out
    assert "far from the snapshot's index" in out.out and "strikes stay those of the snapshot" in out.out
    # A set that records no MPOR still asks for it by name.
    code = main(["backtest", "--history", str(f.history), "--portfolio", str(f.portfolio), "--market", str(f.market),
                 "--params", "deribit-style", "--days", "30"])
    assert code == 2 and "--mpor-days" in capsys.readouterr().err
