"""Deribit's two published private/pme/simulate responses, every number to the last printed digit.

References: tests/data/deribit_pme/ (README there: Deribit's API documentation example of
2024-06-17, BTC; a response of 2026-02-15, ETH). spanlike.venues.deribit.simulate lays out
the engine's numbers in Deribit's shape; each is compared with the number as Deribit printed
it: exactly for the per-position standard cells, the aggregated vectors, the worst case and its
bucket, the risk-matrix margin, IM and MM; within 2 float spacings (the 17th significant digit)
for the futures' extended cells and the roll shock, where Deribit's floating-point order
differs from ours (methodology 2.2, 4).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from spanlike import params
from spanlike.instruments import parse_instrument
from spanlike.market import InstrumentQuote, MarketSnapshot
from spanlike.portfolio import Portfolio, Position
from spanlike.venues.deribit.simulate import simulate, worst_case_bucket

DATA = Path(__file__).parent / "data" / "deribit_pme"
CASES = [("btc_2024-06-17.json", "BTC"), ("eth_2026-02-15.json", "ETH")]


def _layout(name: str, currency: str, set_name: str = "deribit-style") -> tuple[dict[str, Any], dict[str, Any]]:
    r = json.loads((DATA / name).read_text())["result"]
    t = dt.datetime.fromtimestamp(r["model_params"]["general"]["timestamp"] / 1000, tz=dt.timezone.utc)
    market = MarketSnapshot(
        valuation_time=t, index_prices={currency: r["index_price"][f"{currency.lower()}_usd"]},
        quotes={k: InstrumentQuote(mark_price=v["mark_price"]) for k, v in r["ticker"].items()},
    )
    book = Portfolio(account="a", positions=tuple(
        Position(parse_instrument(k), v, "coin") for k, v in r["portfolio"]["position"].items()))
    details = r["margins"][currency.lower()]["initial_margin_details"]
    ours = simulate(book, market, params.load(set_name), currency=currency,
                    open_orders_margin=details["open_orders_margin"], mmp_margin=details["mmp_margin"])
    return r, ours


@pytest.mark.parametrize("name,currency", CASES)
def test_vectors_to_the_last_digit(name: str, currency: str) -> None:
    theirs, ours = _layout(name, currency)
    for instrument, vec in theirs["initial_risk_vectors"].items():
        assert ours["initial_risk_vectors"][instrument]["standard"] == vec["standard"]  # bit for bit
        for a, b in zip(ours["initial_risk_vectors"][instrument]["extended"], vec["extended"], strict=True):
            assert abs(a - b) <= 2 * math.ulp(b)  # Deribit's own extended cells differ from its edge cells by 1 ulp
    for section in ("pre_aggregated_risk_vectors", "aggregated_risk_vectors"):
        for pair, vec in theirs.get(section, {}).items():
            assert ours[section][pair] == vec  # bit for bit, both parts


@pytest.mark.parametrize("name,currency", CASES)
def test_margins_to_the_last_digit(name: str, currency: str) -> None:
    theirs, ours = _layout(name, currency)
    t, o = theirs["margins"][currency.lower()], ours["margins"][currency.lower()]
    assert o["initial_margin"] == t["initial_margin"]
    assert o["maintenance_margin"] == t["maintenance_margin"]
    td, od = t["initial_margin_details"], o["initial_margin_details"]
    assert od["risk_matrix_margin"] == td["risk_matrix_margin"]
    tr, orr = td["risk_matrix_margin_details"], od["risk_matrix_margin_details"]
    assert orr["worst_case"] == tr["worst_case"]
    assert orr["worst_case_bucket"] == tr["worst_case_bucket"]
    assert orr["delta_shock"] == tr["delta_shock"] == 0
    assert abs(orr["roll_shock"] - tr["roll_shock"]) <= 2 * math.ulp(tr["roll_shock"])


def test_worked_by_hand_btc() -> None:
    """The BTC example written out: cells q x m/(1+m), worst at -16 % (middle vol), roll, rounding."""
    _, ours = _layout("btc_2024-06-17.json", "BTC")
    q_perp, q_fut = 0.314538364, -0.001187534
    m = -0.16
    assert ours["initial_risk_vectors"]["BTC-PERPETUAL"]["standard"][0] == q_perp * (m / (1 + m))
    worst = -(q_perp * (m / (1 + m)) + q_fut * (m / (1 + m)))
    b = ours["margins"]["btc"]["initial_margin_details"]
    assert b["risk_matrix_margin_details"]["worst_case"] == worst
    roll = (abs(q_perp) + abs(q_fut)) * 0.01  # 28JUN24 is 11 days out: 0.075 x 11/365 < 0.01
    assert b["risk_matrix_margin_details"]["roll_shock"] == pytest.approx(roll, rel=1e-15)
    assert b["risk_matrix_margin"] == pytest.approx(round(worst, 9) + roll, abs=1e-15)
    assert ours["margins"]["btc"]["initial_margin"] == round(round(worst, 9) + roll + 0.06 + 0.000018212, 9)


def test_older_version_keeps_its_numbers() -> None:
    """deribit-style@2024-06-17 scales futures' extended cells and rounds nothing (the set as it was)."""
    _, old = _layout("btc_2024-06-17.json", "BTC", "deribit-style@2024-06-17")
    ext = old["initial_risk_vectors"]["BTC-PERPETUAL"]["extended"]
    edge = old["initial_risk_vectors"]["BTC-PERPETUAL"]["standard"][0]
    assert ext[0] == pytest.approx(edge * 0.16 / 0.66, rel=1e-14)
    rmm = old["margins"]["btc"]["initial_margin_details"]["risk_matrix_margin"]
    assert rmm != 0.06284313098 and rmm == pytest.approx(0.06284313098, abs=1e-9)


def test_worst_case_bucket_layout() -> None:
    grid = params.load("deribit-style").commodity("BTC").grid
    assert worst_case_bucket(1, grid=grid).to_dict() == {"bucket": 1, "side": "left", "source": "standard", "index": 1}
    assert worst_case_bucket(25, grid=grid).to_dict() == {"bucket": 9, "side": "right", "source": "standard",
                                                         "index": 25}
    assert worst_case_bucket(13, grid=grid).side == "center"
    ext = worst_case_bucket(27 + 3, grid=grid)
    assert (ext.source, ext.index, ext.bucket, ext.side) == ("extended", 3, 4, "right")


def test_account_inputs_refused_when_negative() -> None:
    from spanlike.errors import InvalidPositionError

    with pytest.raises(InvalidPositionError, match="'mmp_margin' must be a finite amount >= 0"):
        r = json.loads((DATA / "eth_2026-02-15.json").read_text())["result"]
        market = MarketSnapshot(valuation_time=dt.datetime(2026, 2, 15, tzinfo=dt.timezone.utc),
                                index_prices={"ETH": 1949.34}, quotes={})
        book = Portfolio(account="a", positions=(Position(parse_instrument("ETH-PERPETUAL"), -1.0, "coin"),))
        simulate(book, market, params.load("deribit-style"), currency="ETH", mmp_margin=-1.0)
        del r


def test_versioned_names() -> None:
    from spanlike.params.errors import UnknownParameterSetError
    from spanlike.params.loader import versions

    assert versions("deribit-style") == ["deribit-style@2024-06-17", "deribit-style@2026-02-15"]
    assert params.load("deribit-style@2026-02-15") == params.load("deribit-style")
    assert params.load("deribit-style@2024-06-17").commodity("ETH").grid.vol_shock_up == 0.5
    assert params.load("deribit-style").commodity("ETH").grid.vol_shock_up == 0.4
    with pytest.raises(UnknownParameterSetError, match="no version '2025-01-01'. Versions: deribit-style@2024-06-17"):
        params.load("deribit-style@2025-01-01")
    assert "deribit-style" in params.available() and "deribit-style@2024-06-17" not in params.available()
