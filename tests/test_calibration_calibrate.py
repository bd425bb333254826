"""calibrate_parameter_set: hand-checkable ranges, vol ranges, correlation, metadata, round trip,
APC provenance, intraday recalibration, typed errors; the shared BTC/ETH histories; the synthetic file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from spanlike import params
from spanlike.params import ExchangeGrid, SpanGrid
from spanlike.calibration import (
    APCSettings,
    PriceHistory,
    VolHistory,
    calibrate,
    calibrate_parameter_set,
    correlation_of_returns,
    load_history,
    log_returns,
    recalibrate_intraday,
)
from spanlike.calibration.synthetic import DEFAULT_PATH, synthetic_csv_text
from spanlike.errors import InputFileError, InvalidInputError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "history"
CRYPTO_SPAN = params.load("crypto-span")
DERIBIT = params.load("deribit-style")

# 100 one-day moves: 97 x 0, -30 %, -20 %, +10 % (order scrambled). At 99 % (m = 100 x 0.01 = 1):
# down-tail VaR = 2nd largest fall = 0.20, ES = largest = 0.30; up-tail VaR 0, ES 0.10.
MOVES = np.zeros(100)
MOVES[[10, 50, 80]] = [-0.30, 0.10, -0.20]


def _history(moves_by_name: dict[str, np.ndarray], *, start: str = "2024-01-01", step_s: int = 86_400) -> PriceHistory:
    names = tuple(moves_by_name)
    n = len(next(iter(moves_by_name.values())))
    closes = np.empty((n + 1, len(names)))
    for j, name in enumerate(names):
        closes[:, j] = 100.0 * np.concatenate([[1.0], np.cumprod(1.0 + moves_by_name[name])])
    ts = np.datetime64(start, "s") + np.arange(n + 1) * np.timedelta64(step_s, "s")
    return PriceHistory(timestamps=ts, closes=closes, names=names, sources=("test",))


def _btc_eth() -> PriceHistory:
    eth = 0.9 * MOVES + 0.01 * np.sin(np.arange(100))  # strongly correlated with BTC, not identical
    return _history({"BTC": MOVES, "ETH": eth})


def test_var_and_es_ranges_written_to_span_grids_by_hand() -> None:
    h = _history({"BTC": MOVES})
    var = calibrate_parameter_set(history=h, base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_days=1)
    es = calibrate_parameter_set(history=h, base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=1)
    for name in ("BTC", "BTC_USDC"):
        assert var.commodity(name).grid.price_scan_range == pytest.approx(0.20, abs=1e-12)
        assert es.commodity(name).grid.price_scan_range == pytest.approx(0.30, abs=1e-12)
    # CCs on other underlyings keep the base's numbers
    assert var.commodity("ETH").grid == CRYPTO_SPAN.commodity("ETH").grid
    assert var.commodity("BTC").span == CRYPTO_SPAN.commodity("BTC").span


def test_exchange_grid_price_range_and_relative_vol_shocks() -> None:
    h = _history({"BTC": MOVES})
    # implied vol 0.50 with one-day relative changes: 97 x 0, +20 %, +10 %, -8 %, (101 levels, same days)
    rel = np.zeros(100)
    rel[[5, 40, 70]] = [0.20, -0.08, 0.10]
    levels = 0.5 * np.concatenate([[1.0], np.cumprod(1.0 + rel)])
    iv = VolHistory(timestamps=h.timestamps, vols=levels[:, None], names=("BTC",), sources=("test-dvol",))
    ps = calibrate_parameter_set(history=h, base=DERIBIT, method="es", confidence=0.99, mpor_days=1, iv_history=iv)
    g = ps.commodity("BTC").grid
    assert isinstance(g, ExchangeGrid)
    assert g.price_range == pytest.approx(0.30, abs=1e-12)
    # ES 99 %, m = 1: up = largest rise 0.20, down = largest fall 0.08
    assert g.vol_shock_up == pytest.approx(0.20, abs=1e-12)
    assert g.vol_shock_down == pytest.approx(0.08, abs=1e-12)
    assert ps.commodity("ETH").grid == DERIBIT.commodity("ETH").grid
    assert "vol_scan_range" in ps.metadata.provenance


def test_absolute_vol_scan_range_in_vol_points() -> None:
    h = _history({"BTC": MOVES})
    # absolute one-day changes (decimals): 97 x 0, +0.10, +0.05, -0.04. VaR 99 %: up 2nd largest rise = 0.05,
    # down 2nd largest fall = 0 -> VSR 0.05 (5 vol points)
    d = np.zeros(100)
    d[[3, 30, 60]] = [0.10, -0.04, 0.05]
    iv = VolHistory(timestamps=h.timestamps, vols=(0.5 + np.concatenate([[0.0], np.cumsum(d)]))[:, None], names=("BTC",))
    ps = calibrate_parameter_set(history=h, base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_days=1, iv_history=iv)
    assert ps.commodity("BTC").grid.vol_scan_range == pytest.approx(0.05, abs=1e-12)
    assert ps.commodity("ETH").grid.vol_scan_range == CRYPTO_SPAN.commodity("ETH").grid.vol_scan_range


def test_correlation_same_underlying_is_one_and_shrinkage_applies() -> None:
    h = _btc_eth()
    rho = correlation_of_returns(log_returns(h.closes))[0, 1]
    cal = calibrate(history=h, base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_days=1, shrinkage=0.5)
    corr = cal.parameter_set.correlation
    assert corr is not None
    m = corr.as_array()
    idx = {n: k for k, n in enumerate(corr.combined_commodities)}
    assert m[idx["BTC"], idx["BTC_USDC"]] == 1.0 and m[idx["ETH"], idx["ETH_USDC"]] == 1.0
    assert m[idx["BTC"], idx["ETH"]] == pytest.approx(0.5 * rho, abs=1e-12)  # (1 - 0.5) rho + 0.5 * 0
    assert m[idx["BTC_USDC"], idx["ETH"]] == pytest.approx(0.5 * rho, abs=1e-12)
    # SOL is not in the history: its pairs keep the base values
    base = CRYPTO_SPAN.correlation
    assert base is not None
    assert m[idx["BTC"], idx["SOL_USDC"]] == base.matrix[0][4]
    assert cal.correlation_repair is not None and not cal.correlation_repair.repaired
    assert cal.shrinkage_intensity == 0.5


def test_conflicting_base_correlations_are_repaired_and_recorded() -> None:
    # BTC and ETH nearly uncorrelated here, but the base keeps SOL at 0.70 / 0.72 with both:
    # [[1, ~0, .7], [~0, 1, .72], [.7, .72, 1]] has a negative determinant, so it is repaired.
    h = _history({"BTC": MOVES, "ETH": np.roll(MOVES, 7) + 0.001 * np.sin(np.arange(100))})
    cal = calibrate(history=h, base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_days=1)
    rep = cal.correlation_repair
    assert rep is not None and rep.repaired and rep.min_eigenvalue >= -1e-12
    assert "repaired (Higham 2002)" in cal.parameter_set.metadata.provenance["correlation"]
    m = cal.parameter_set.correlation.as_array()  # type: ignore[union-attr]
    assert np.abs(m).max() <= 1.0 and (np.diag(m) == 1.0).all()


def test_metadata_version_and_provenance() -> None:
    h = _btc_eth()
    ps = calibrate_parameter_set(history=h, base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=1)
    md = ps.metadata
    assert md.name == "crypto-span"
    assert md.version == "2026.12.1+cal.20240410"
    assert md.as_of == dt.date(2024, 4, 10)  # 2024-01-01 + 100 days
    prov = md.provenance
    assert prov["calibration.base_set"] == "crypto-span@2026.12.1"
    assert prov["calibration.confidence"] == "0.99" and prov["calibration.filtered"] == "false"
    assert prov["calibration.mpor"] == "1 days (overlapping windows)"
    assert "2024-01-01..2024-04-10, 101 daily bars" in prov["data"]
    assert prov["calibration.apc"] == "none"
    assert prov["spreads"] == CRYPTO_SPAN.metadata.provenance["spreads"]  # untouched keys kept
    again = calibrate_parameter_set(history=h, base=ps, method="es", confidence=0.99, mpor_days=1)
    assert again.metadata.version == "2026.12.1+cal.20240410.2"
    named = calibrate_parameter_set(
        history=h, base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=1, name="my-span", version="7"
    )
    assert named.metadata.name == "my-span" and named.metadata.version == "7"


def test_round_trip_through_toml(tmp_path: Path) -> None:
    ps = calibrate_parameter_set(history=_btc_eth(), base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=1)
    assert params.load(params.dump(ps, tmp_path / "cal.toml")) == ps


def test_apc_floor_buffer_and_cap_are_recorded() -> None:
    # 100 volatile days (MOVES) then 150 calm days of +-0.1 %. ES 99 %, MPOR 1:
    # raw over the last 150 returns: m = 1.5, every loss 0.001 -> ES = 0.001.
    # floor over the last 250 returns: m = 2.5, j = 2; down tail 0.30, 0.20, then 0.001:
    #   ES = VaR + ((0.30 - 0.001) + (0.20 - 0.001)) / 2.5 = 0.001 + 0.498 / 2.5 = 0.2002
    #   (up tail: 0.001 + 0.099 / 2.5 = 0.0406, smaller).
    # chain: max(0.001, 0.2002) = 0.2002 (floor), x 1.25 = 0.25025 (buffer).
    moves = np.concatenate([MOVES, 0.001 * (-1.0) ** np.arange(150)])
    h = _history({"BTC": moves})
    cal = calibrate(
        history=h, base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=1, lookback_days=150,
        apc=APCSettings(floor_lookback=250, buffer=0.25),
    )
    btc = cal.commodities[0]
    assert btc.price.range == pytest.approx(0.001, abs=1e-12)
    assert btc.apc is not None and btc.apc.binding == ("floor", "buffer")
    assert btc.apc.floor == pytest.approx(0.2002, abs=1e-12)
    assert btc.price_scan_range == pytest.approx(0.25025, abs=1e-12)
    assert cal.parameter_set.commodity("BTC").grid.price_scan_range == btc.price_scan_range
    prov = cal.parameter_set.metadata.provenance
    assert "floor from 250-bar look-back; buffer 0.25" in prov["calibration.apc"]
    assert "bound: floor, buffer" in prov["price_scan_range"]


def test_apc_change_cap_against_the_base_set() -> None:
    h = _history({"BTC": MOVES})
    cal = calibrate(
        history=h, base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_days=1, apc=APCSettings(max_change=0.1)
    )
    # raw 0.20 against the base's 0.12, cap 10 %: 0.132
    assert cal.commodities[0].price_scan_range == pytest.approx(0.132, abs=1e-12)
    assert cal.commodities[0].apc is not None and cal.commodities[0].apc.binding == ("cap_up",)


def test_extreme_multiple_times_range_must_stay_below_one() -> None:
    big = MOVES.copy()
    big[10] = -0.40  # ES 0.40 -> 3 x 0.40 = 1.2 with crypto-span's extreme_multiple 3
    h = _history({"BTC": big})
    with pytest.raises(InvalidInputError, match=r"price scan range of BTC is 0.4000 .*extreme_multiple 3.0.*Lower the confidence or the MPOR"):
        calibrate_parameter_set(history=h, base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.5}, r"confidence must lie strictly between 0 and 1 \(e.g. 0.99 for 99 %\); got 1.5"),
        ({"confidence": 0.0}, r"confidence must lie strictly between 0 and 1.*got 0.0"),
        ({"mpor_days": 0}, r"mpor_days must be an integer >= 1; got 0"),
        ({"mpor_days": 2.5}, r"mpor_days must be an integer >= 1; got 2.5"),
        ({"method": "cvar"}, r"method must be 'var' or 'es'; got 'cvar'"),
        ({"ewma_lambda": 1.0}, r"ewma_lambda .*strictly between 0 and 1.*got 1.0"),
        ({"shrinkage": 2.0}, r"shrinkage must lie in \[0, 1\]; got 2.0"),
        ({"lookback_days": 5000}, r"lookback_days=5000 needs 5001 prices but the history has 101"),
        ({"confidence": 0.999}, r"calibrating BTC over 2024-01-01..2024-04-10: 100 losses leave no observation"),
    ],
)
def test_bad_arguments_raise_typed_errors(kwargs: dict, message: str) -> None:
    args = {"method": "var", "confidence": 0.99, "mpor_days": 1} | kwargs
    with pytest.raises(InvalidInputError, match=message):
        calibrate_parameter_set(history=_history({"BTC": MOVES}), base=CRYPTO_SPAN, **args)


def test_history_without_the_sets_underlyings() -> None:
    with pytest.raises(InvalidInputError, match=r"No combined commodity of crypto-span@2026.12.1 has its underlying"):
        calibrate_parameter_set(history=_history({"DOGE": MOVES}), base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_days=1)


def test_bad_history_files_fail_before_calibration(tmp_path: Path) -> None:
    head = "Date,Open,High,Low,Close,Adj Close,Volume\n"
    p = tmp_path / "BTC-USD.csv"
    p.write_text(head + "2024-01-02,1,1,1,10,10,0\n2024-01-01,1,1,1,11,11,0\n")
    with pytest.raises(InputFileError, match="line 3.*earlier than.*strictly increasing"):
        load_history(p)
    p.write_text(head + "2024-01-01,1,1,1,10,10,0\n2024-01-02,1,1,1,-11,-11,0\n")
    with pytest.raises(InputFileError, match=r"line 3, column 'Close': '-11' is not a positive finite close price"):
        load_history(p)


def test_intraday_recalibration_bumps_a_datetime_version() -> None:
    h = _history({"BTC": MOVES / 10}, start="2024-05-01T00:00:00", step_s=3600)
    ps = recalibrate_intraday(history=h, base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_bars=1)
    assert ps.commodity("BTC").grid.price_scan_range == pytest.approx(0.02, abs=1e-12)
    assert ps.metadata.version == "2026.12.1+cal.20240505T0400Z"  # 100 hours after 2024-05-01 00:00
    assert ps.metadata.as_of == dt.date(2024, 5, 5)
    assert ps.metadata.provenance["calibration.mpor"] == "1 bars (overlapping windows)"
    with pytest.raises(InvalidInputError, match="recalibrate_intraday takes intraday bars"):
        recalibrate_intraday(history=_history({"BTC": MOVES}), base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_bars=1)
    with pytest.raises(InvalidInputError, match="takes daily bars.*recalibrate_intraday"):
        calibrate_parameter_set(history=h, base=CRYPTO_SPAN, method="var", confidence=0.99, mpor_days=1)


def test_synthetic_history_file_is_reproduced_by_its_generator() -> None:
    assert DEFAULT_PATH.read_text(encoding="utf-8") == synthetic_csv_text()
    h = load_history(DEFAULT_PATH)
    assert h.names == ("BTC", "ETH", "SOL") and h.n_rows == 2192 and h.notes == ()
    ps = calibrate_parameter_set(
        history=h, base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=2, lookback_days=1095
    )
    for name in ("BTC", "ETH", "SOL_USDC"):
        grid = ps.commodity(name).grid
        assert isinstance(grid, SpanGrid) and 0.03 < grid.price_scan_range < 0.33


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared history data (../shared/data/history) not present")
def test_shared_btc_eth_histories_calibrate_and_round_trip(tmp_path: Path) -> None:
    h = load_history([SHARED / "BTC-USD.csv", SHARED / "ETH-USD.csv"])
    ps = calibrate_parameter_set(
        history=h, base=CRYPTO_SPAN, method="es", confidence=0.99, mpor_days=2, lookback_days=1096
    )
    back = params.load(params.dump(ps, tmp_path / "crypto-span-calibrated.toml"))
    assert back == ps
    btc = back.commodity("BTC").grid.price_scan_range
    eth = back.commodity("ETH").grid.price_scan_range
    # Sane band: a 99 % 2-day ES of BTC is far above a 1 % daily move and far below a 30 % crash;
    # the bundled set's own 3-year figure (mean worst 1 % of |2-day log returns|) is 0.124.
    assert 0.08 < btc < 0.16
    assert btc < eth < 0.25
    assert back.metadata.as_of == dt.date(2026, 8, 17)
    assert back.metadata.version == "2026.12.1+cal.20260817"
    corr = back.correlation
    assert corr is not None
    m = corr.as_array()
    i, j = corr.combined_commodities.index("BTC"), corr.combined_commodities.index("ETH")
    assert 0.6 < m[i, j] < 0.95
