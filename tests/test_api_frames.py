"""DataFrames of results, short reprs, MarketSnapshot.from_file of several files (issue 15).

References: every frame cell against the result object it flattens (exact);
the batch frame against the batch's own arrays (exact) and the engine
(``spanlike.margin`` per account, 1e-9 relative as in tests/test_batch.py).
"""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest

import spanlike
from spanlike.batch import build_account_book, margin_batch, prepare_engine, read_positions_csv, update_engine
from spanlike.market import MarketSnapshot
from spanlike.results import COMPONENT_KEYS, FRAME_COLUMNS, FrameUnavailableError

pd = pytest.importorskip("pandas")

DATA = Path(__file__).parent / "data"
FILES = spanlike.demo_files()


def test_margin_result_to_frame_matches_the_result():
    result = spanlike.margin(FILES.portfolio, FILES.market, "crypto-span")
    df = result.to_frame()
    assert list(df.columns) == [*FRAME_COLUMNS, *COMPONENT_KEYS]
    assert list(df["combined_commodity"]) == [c.name for c in result.commodities]
    for i, c in enumerate(result.commodities):
        row = df.iloc[i]
        assert row["initial_margin"] == c.initial_margin and row["initial_margin_usd"] == c.initial_margin_usd
        assert row["settlement_currency"] == c.settlement_currency
        assert row["worst_scenario_index"] == c.worst_scenario.index  # 0-based, as in to_dict()
        assert row["worst_scenario"] == c.worst_scenario.label
        for key in COMPONENT_KEYS:
            assert row[key] == c.component(key)
    assert df["short_option_minimum_binding"].dtype == bool
    assert df.attrs["initial_margin_usd"] == result.initial_margin_usd
    assert df["initial_margin_usd"].sum() == pytest.approx(result.sum_of_requirements_usd * 1.1, rel=1e-12)


def test_to_frame_without_pandas_names_the_extra(monkeypatch):
    result = spanlike.margin(FILES.portfolio, FILES.market, "crypto-span")
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(FrameUnavailableError, match=r"spanlike\[frame\]"):
        result.to_frame()


def test_batch_result_to_frame():
    rows = read_positions_csv(DATA / "batch_accounts.csv")
    market = MarketSnapshot.from_file(DATA / "batch_market.json")
    engine = prepare_engine(instruments=sorted({r.instrument for r in rows}), market=market,
                            parameter_set="crypto-span")
    book = build_account_book(rows, engine=engine)
    res = margin_batch(engine, book, components=True)
    df = res.to_frame()
    assert list(df["account"]) == list(res.accounts)
    np.testing.assert_array_equal(df["initial_margin_usd"].to_numpy(), res.initial_margin_usd)
    assert set(df["status"]) == {"n/a"} and df["equity_usd"].isna().all()
    assert df["BTC.short_option_minimum_binding"].dtype == bool
    assert "BTC.scan_risk_btc" in df.columns and "BTC_USDC.scan_risk_usdc" in df.columns
    a = res.accounts[0]
    from spanlike.portfolio import Portfolio

    book_a = Portfolio.from_positions([(r.instrument, r.quantity, r.unit) for r in rows if r.account == a])
    ref = spanlike.margin(book_a, market, "crypto-span")
    assert df["initial_margin_usd"].iloc[0] == pytest.approx(ref.initial_margin_usd, rel=1e-9)


def test_short_reprs():
    market = MarketSnapshot.from_file(FILES.market)
    text = repr(market)
    assert len(text) < 200 and "quotes=398" in text and "BTC=95,000.00" in text
    engine = prepare_engine(instruments=[q for q in market.quotes], market=market, parameter_set="deribit-style")
    assert len(repr(engine)) < 200 and f"instruments={len(market.quotes)}" in repr(engine)
    update = update_engine(engine, market)
    assert len(repr(update)) < 200 and "changed_rows=0" in repr(update)


def test_market_from_file_takes_a_list_of_venue_payloads():
    files = [DATA / "deribit_book_summary_btc_options.json", DATA / "deribit_book_summary_btc_futures.json"]
    both = MarketSnapshot.from_file(files)
    from spanlike.loaders import load_market

    assert set(both.quotes) == set(load_market(files).quotes)
    assert len(both.quotes) > len(MarketSnapshot.from_file(files[0]).quotes)
