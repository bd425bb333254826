"""``spanlike calibrate`` and ``spanlike backtest`` end to end: synthetic history (always), shared history (if present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanlike import params
import spanlike
from spanlike.cli import main

DATA = Path(spanlike.__file__).parent / "data"
SYNTHETIC = DATA / "synthetic_history.csv"
DEMO = ["--portfolio", str(DATA / "demo_portfolio.csv"), "--market", str(DATA / "demo_market.json")]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "history"
SHARED_FILES = [SHARED / "BTC-USD.csv", SHARED / "ETH-USD.csv"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _calibrate_margin_backtest(history: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               extra: list[str]) -> str:
    out_file = tmp_path / "var.toml"
    code, out, err = _run(["calibrate", "--history", *history, "--method", "var", "--confidence", "0.99",
                           "--mpor-days", "2", "--model", "var", "--lookback-days", "730", *extra,
                           "--out", str(out_file)], capsys)
    assert code == 0, err
    assert f"wrote {out_file}" in out and "VaR/ES model: VAR 0.99 over 729 joint 2-day" in out
    ps = params.load(out_file)
    assert ps.var_model is not None and ps.var_model.mpor_days == 2
    code, out, err = _run(["margin", *DEMO, "--params", str(out_file)], capsys)
    assert code == 0, err
    assert "BTC (var, settled in BTC" in out and "scan risk (standalone VaR/ES)" in out
    plot = tmp_path / "bt.png"
    code, out, err = _run(["backtest", "--history", *history, *DEMO, "--params", str(out_file), "--days", "60",
                           "--plot", str(plot)], capsys)
    assert code == 0, err
    assert "60 days" in out and "exceptions:" in out and "Kupiec POF: LR" in out and "traffic light:" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return out


def test_synthetic_history_calibrate_margin_backtest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _calibrate_margin_backtest([str(SYNTHETIC)], tmp_path, capsys, [])


@pytest.mark.skipif(not all(p.is_file() for p in SHARED_FILES),
                    reason=f"shared Yahoo histories not found in {SHARED} (not redistributable, read in place)")
def test_shared_btc_eth_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # BTC and ETH only: the SOL_USDC commodity of the base set has no history and is left out on request
    _calibrate_margin_backtest([str(p) for p in SHARED_FILES], tmp_path, capsys, ["--drop-uncovered"])


def test_grid_model_and_backtest_of_a_span_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "grid.toml"
    # VaR, not ES: the synthetic SOL's 2-day ES (0.39) times extreme_multiple 3 would cross -100 %
    code, out, err = _run(["calibrate", "--history", str(SYNTHETIC), "--method", "var", "--out", str(out_file)], capsys)
    assert code == 0, err
    assert "scan ranges: BTC" in out
    assert params.load(out_file).combined_commodities[0].method == "span"
    code, out, err = _run(["backtest", "--history", str(SYNTHETIC), *DEMO, "--params", str(out_file),
                           "--mpor-days", "2", "--days", "20", "--format", "json"], capsys)
    assert code == 0, err
    assert '"observations": 20' in out and '"kupiec"' in out


@pytest.mark.parametrize("argv, message", [
    (["calibrate", "--history", str(SYNTHETIC), "--method", "var", "--out", "x.yaml"],
     "--out must name a .toml or .json file; got 'x.yaml'"),
    (["calibrate", "--history", str(SYNTHETIC), "--method", "var", "--confidence", "99", "--model", "var",
      "--out", "x.toml"], "confidence must lie strictly between 0 and 1 (e.g. 0.99 for 99 %); got 99.0"),
    (["calibrate", "--history", "no-such-file.csv", "--method", "var", "--out", "x.toml"], "no-such-file.csv"),
    (["calibrate", "--history", str(SYNTHETIC), "--method", "es", "--model", "var", "--lookback-days", "50",
      "--out", "x.toml"], "gives 49 2-day scenarios"),
    (["calibrate", "--history", str(SYNTHETIC), "--method", "es", "--stress-start", "2020-03-01",
      "--out", "x.toml"], "Give both --stress-start and --stress-end"),
    # crypto-span records its 2-day MPOR (the backtest defaults to it); deribit-style records none.
    (["backtest", "--history", str(SYNTHETIC), *DEMO, "--params", "deribit-style"],
     "does not record its margin period of risk"),
    (["backtest", "--history", str(SYNTHETIC), *DEMO, "--params", "crypto-span", "--mpor-days", "2",
      "--plot", "chart.jpg"], "--plot writes a PNG; give a path ending in .png, got 'chart.jpg'"),
])
def test_bad_input_exits_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert message in err
    assert not (tmp_path / "x.toml").exists()


def test_grid_model_refuses_a_var_base(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    var_file = tmp_path / "var.toml"
    assert _run(["calibrate", "--history", str(SYNTHETIC), "--method", "var", "--model", "var",
                 "--lookback-days", "200", "--confidence", "0.95", "--out", str(var_file)], capsys)[0] == 0
    code, _, err = _run(["calibrate", "--history", str(SYNTHETIC), "--method", "var", "--base", str(var_file),
                         "--out", str(tmp_path / "g.toml")], capsys)
    assert code == 2 and "--model grid recalibrates scan ranges, but the base" in err
