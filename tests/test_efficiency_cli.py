"""The efficiency and compare-params commands, the accounts CSV, parameter comparison, [isolated] validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spanlike import params
import spanlike
from spanlike.cli import main
from spanlike.efficiency.accounts import read_accounts_csv
from spanlike.efficiency.compare import change_distribution, compare_margins, compare_parameter_sets
from spanlike.errors import InputFileError, InvalidInputError, InvalidPositionError, ParameterSetError
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio

DATA = Path(spanlike.__file__).parent / "data"
BOOK, MARKET_FILE = str(DATA / "demo_portfolio.csv"), str(DATA / "demo_market.json")
ACCOUNTS = str(Path(__file__).parent / "data" / "efficiency_accounts.csv")


def test_efficiency_on_the_demo_book_prints_levels_and_writes_charts(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    code = main(["efficiency", "--portfolio", BOOK, "--market", MARKET_FILE, "--params", "crypto-span",
                 "--plot", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    for text in ("isolated", "portfolio", "cross", "scenario netting within an underlying",
                 "correlation offsets", "total (= isolated - cross)", "Marginal view"):
        assert text in out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["default_heatmap_BTC.png", "default_heatmap_ETH.png", "default_waterfall.png"]


def test_efficiency_json_matches_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["efficiency", "--portfolio", BOOK, "--market", MARKET_FILE, "--format", "json", "--no-marginal"]) == 0
    data = json.loads(capsys.readouterr().out)
    api = spanlike.efficiency.efficiency(BOOK, MARKET_FILE, "crypto-span", marginal=False)  # type: ignore[attr-defined]
    assert [lv["initial_margin_usd"] for lv in data["levels"]] == [
        lv.initial_margin_usd for lv in api.levels.levels]
    assert data["marginal"] is None


def test_efficiency_many_accounts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    assert main(["efficiency", "--accounts", ACCOUNTS, "--market", MARKET_FILE, "--plot", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 accounts" in out and "straddle" in out
    assert (tmp_path / "savings_by_account.png").stat().st_size > 0


def test_compare_params_one_book_and_many(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare-params", "--portfolio", BOOK, "--market", MARKET_FILE,
                 "--params", "crypto-span", "--params", "deribit-style"]) == 0
    out = capsys.readouterr().out
    assert "a = crypto-span" in out and "roll_shock" in out
    assert main(["compare-params", "--accounts", ACCOUNTS, "--market", MARKET_FILE,
                 "--params", "crypto-span", "--params", "deribit-style", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["distribution"]["n_accounts"] == 4 and len(data["accounts"]) == 4


def test_compare_params_needs_two_sets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare-params", "--portfolio", BOOK, "--market", MARKET_FILE, "--params", "crypto-span"]) == 2
    assert "--params exactly twice" in capsys.readouterr().err


def test_efficiency_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sol = tmp_path / "sol.csv"
    sol.write_text("instrument,quantity\nSOL_USDC-PERPETUAL,10\n")
    market = json.loads(Path(MARKET_FILE).read_text())
    market["index_prices"]["SOL"] = 200.0
    market["instruments"].append({"instrument": "SOL_USDC-PERPETUAL", "mark_price": 200.1})
    mfile = tmp_path / "m.json"
    mfile.write_text(json.dumps(market))
    assert main(["efficiency", "--portfolio", str(sol), "--market", str(mfile)]) == 2
    assert "no isolated futures rules for underlying SOL" in capsys.readouterr().err


def test_comparison_component_by_component() -> None:
    market = MarketSnapshot.from_file(MARKET_FILE)
    book = Portfolio.from_file(BOOK)
    (c,) = compare_parameter_sets([book], market, a=params.load("crypto-span"), b=params.load("deribit-style"))
    a, b = c.a, c.b
    assert c.initial_margin_change.change_usd == pytest.approx(b.initial_margin_usd - a.initial_margin_usd, rel=1e-15)
    btc = next(x for x in c.commodities if x.name == "BTC")
    assert btc.change("scan_risk").a_usd == pytest.approx(a.commodity("BTC").scan_risk * 95_000.0, rel=1e-15)
    assert btc.change("roll_shock").b_usd == pytest.approx(b.commodity("BTC").roll_shock * 95_000.0, rel=1e-15)
    # Identical sets: every change is exactly zero.
    same = compare_margins(a, a)
    assert all(t.change_usd == 0.0 for t in same.totals)
    with pytest.raises(InvalidInputError, match="one account"):
        compare_margins(a, spanlike.margin(Portfolio(account="x", positions=book.positions), market, "crypto-span"))


def test_change_distribution_by_hand() -> None:
    market = MarketSnapshot.from_file(MARKET_FILE)
    comps = compare_parameter_sets(read_accounts_csv(ACCOUNTS), market, a=params.load("crypto-span"),
                                   b=params.load("deribit-style"))
    d = change_distribution(comps)
    changes = sorted(c.initial_margin_change.change_usd for c in comps)
    assert d.n_accounts == 4 and d.n_increase + d.n_decrease + d.n_unchanged == 4
    assert d.change_usd["min"] == changes[0] and d.change_usd["max"] == changes[-1]
    # Linear-interpolated median of 4 values: mean of the middle two.
    assert d.change_usd["median"] == pytest.approx((changes[1] + changes[2]) / 2, rel=1e-15)
    assert d.total_b_usd - d.total_a_usd == pytest.approx(sum(changes), rel=1e-12)


# --- accounts CSV --------------------------------------------------------------------------------

def test_accounts_csv_reads_and_nets() -> None:
    books = read_accounts_csv(ACCOUNTS)
    assert [b.account for b in books] == ["covered-call", "pair", "straddle", "naked-put"]
    assert len(books[2].positions) == 3


@pytest.mark.parametrize("text, error, match", [
    ("instrument,quantity\nBTC-PERPETUAL,1\n", InputFileError,
     r"line 1: the header must be 'account,instrument,quantity,unit' \(unit optional\); got 'instrument,quantity'"),
    ("account,instrument,quantity\nx,BTC-25DEC26-80000-P,abc\n", InputFileError, r"line 2: the quantity.*'abc'"),
    ("account,instrument,quantity\n,BTC-25DEC26-80000-P,1\n", InputFileError, r"line 2: the 'account' cell is empty"),
    ("account,instrument,quantity\nx,BTC-PERPETUAL,100\n", InvalidPositionError, r"line 2 \(account x\).*needs a unit"),
    ("account,instrument,quantity\n", InputFileError, "no positions"),
])
def test_accounts_csv_errors_name_line_value_and_fix(tmp_path: Path, text: str, error: type, match: str) -> None:
    f = tmp_path / "accounts.csv"
    f.write_text(text)
    with pytest.raises(error, match=match):
        read_accounts_csv(f)


# --- [isolated] parameter section ----------------------------------------------------------------

def _with_isolated(mutate) -> dict:  # type: ignore[no-untyped-def]
    d = params.load("deribit-style").model_dump(mode="json")
    mutate(d["isolated"])
    return d


@pytest.mark.parametrize("mutate, match", [
    (lambda s: s["underlyings"][0].update(underlying="SOL"), r"isolated: .*underlying 'SOL', which no combined"),
    (lambda s: s["underlyings"].append(s["underlyings"][0]), r"list an underlying twice: \['BTC'\]"),
    (lambda s: s["underlyings"][0]["options"].update(im_min_rate=0.2), "im_min_rate 0.2 exceeds im_base_rate"),
    (lambda s: s["underlyings"][0]["options"].update(mm_rate=0.12), "initial margin must not fall below"),
    (lambda s: s["underlyings"][0]["futures"].update(mm_base_rate=0.03), "maintenance rates"),
    (lambda s: s["underlyings"][0].update(options=None, futures=None), "need an 'options' or a 'futures'"),
    (lambda s: s.update(typo=1), r"isolated.typo: Extra inputs are not permitted"),
])
def test_isolated_section_validation(mutate, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterSetError, match=match):
        params.from_mapping(_with_isolated(mutate))


def test_bundled_sets_carry_the_deribit_standard_numbers() -> None:
    for name in ("crypto-span", "deribit-style"):
        iso = params.load(name).isolated
        assert iso is not None and str(iso.as_of) == "2022-01-11"
        btc, eth = iso.rules_for("BTC"), iso.rules_for("ETH")
        assert btc.options == params.OptionStandardMargin(im_base_rate=0.15, im_min_rate=0.10, mm_rate=0.075)
        assert btc.futures == params.FuturesStandardMargin(im_base_rate=0.02, im_rate_per_coin=5e-5,
                                                           mm_base_rate=0.01, mm_rate_per_coin=5e-5)
        assert eth.futures.im_rate_per_coin == 4e-6 and eth.futures.mm_rate_per_coin == 4e-6
        assert iso.rules_for("SOL") is None
