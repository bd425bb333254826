"""Parameter sets: bundled sets load, every validation rule fails with a clear message."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from spanlike import params
from spanlike.params.errors import ParameterSetError, UnknownParameterSetError


@pytest.mark.parametrize("name", params.available())
def test_every_bundled_set_loads_and_round_trips(name: str, tmp_path: Path) -> None:
    ps = params.load(name)
    assert ps.metadata.name == name
    assert ps.metadata.sources, "a bundled set must name its sources"
    for suffix in (".toml", ".json"):
        out = params.dump(ps, tmp_path / f"copy{suffix}")
        assert params.load(out) == ps


def test_bundled_names() -> None:
    assert {"crypto-span", "deribit-style"} <= set(params.available())


def test_unknown_name_lists_the_available_sets() -> None:
    with pytest.raises(UnknownParameterSetError, match="No bundled parameter set is called 'nope'.*crypto-span"):
        params.load("nope")


def test_standard_span_points_follow_the_cme_table() -> None:
    pts = params.standard_span_points(extreme_multiple=3.0, cover_fraction=0.32)
    assert len(pts) == 16
    expected_price = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1, 3, -3]
    expected_vol = [1, -1] * 7 + [0, 0]
    assert [p.price_fraction for p in pts] == pytest.approx(expected_price, abs=1e-15)
    assert [p.vol_fraction for p in pts] == expected_vol
    assert [p.weight for p in pts] == [1.0] * 14 + [0.32, 0.32]
    # pairs: 1<->2, 3<->4, ...; extremes unpaired
    assert [p.paired_point for p in pts] == [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, None, None]


def test_deribit_style_has_the_published_btc_numbers() -> None:
    btc = params.load("deribit-style").commodity("BTC")
    g = btc.grid
    assert isinstance(g, params.ExchangeGrid)
    assert (g.price_range, g.buckets_count, g.vol_shock_up, g.vol_shock_down) == (0.16, 4, 0.5, 0.25)
    assert (g.short_power, g.long_power, g.min_vol_for_shock_up) == (0.30, 0.13, 0.5)
    assert btc.exchange is not None and btc.exchange.pnl_offset == 0.0
    assert btc.exchange.roll_shock == params.RollShock(min_annualised_move=0.01, annualised_move_risk=0.075)
    eth = params.load("deribit-style").commodity("ETH")
    assert eth.grid.price_range == 0.18 and eth.exchange.pnl_offset == 0.6  # type: ignore[union-attr]
    assert params.load("deribit-style").margin_relation.mm_factor == 0.8


def test_committed_schema_file_is_current() -> None:
    """params/parameter_set.schema.json is what editors and other tools validate against."""
    committed = json.loads((Path(params.__file__).parent / "parameter_set.schema.json").read_text())
    assert committed == params.json_schema(), "regenerate: spanlike params schema > params/parameter_set.schema.json"


def test_json_schema_exports() -> None:
    schema = params.json_schema()
    assert schema["title"] == "spanlike parameter set"
    json.dumps(schema)  # serialisable
    assert "combined_commodities" in schema["properties"]


# --- each validation rule, with the message a user sees --------------------------------------

def _base() -> dict[str, Any]:
    return params.load("crypto-span").model_dump(mode="json")


def _cc(d: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return d["combined_commodities"][i]


Mutation = Callable[[dict[str, Any]], None]

CASES: list[tuple[str, Mutation, str]] = [
    ("negative scan range", lambda d: _cc(d)["grid"].update(price_scan_range=-0.1),
     r"combined_commodities\[0\]\.grid\.span16\.price_scan_range: Input should be greater than 0"),
    ("relative scan range >= 100%", lambda d: _cc(d)["grid"].update(price_scan_range=1.5),
     r"relative price_scan_range must be below 1.0"),
    ("extreme move beyond -100%", lambda d: _cc(d)["grid"].update(price_scan_range=0.4),
     r"extreme_multiple x price_scan_range must stay below 1.0"),
    ("cover fraction above 1", lambda d: _cc(d)["grid"].update(cover_fraction=1.2),
     r"grid\.span16\.cover_fraction: Input should be less than or equal to 1"),
    ("unknown key", lambda d: _cc(d).update(colour="red"),
     r"combined_commodities\[0\]\.colour: Extra inputs are not permitted"),
    ("unknown grid family", lambda d: _cc(d)["grid"].update(family="mystery"),
     r"grid: Input tag 'mystery' found using 'family' does not match"),
    ("tiers overlap", lambda d: _cc(d)["span"]["tiers"][1].update(start_days=20.0),
     r"tiers 1 \[0.0, 30.0\) and 2 \[20.0, 90.0\) overlap"),
    ("tier ends before it starts", lambda d: _cc(d)["span"]["tiers"][0].update(end_days=0.0),
     r"greater than 0|end_days \(0.0\) must exceed"),
    ("spread to undefined tier", lambda d: _cc(d)["span"]["intra_spreads"][0]["legs"][0].update(tier=9),
     r"references tier 9, which is not defined"),
    ("spread with one side", lambda d: _cc(d)["span"]["intra_spreads"][0]["legs"][0].update(side="B"),
     r"needs legs on both sides A and B"),
    ("negative rate", lambda d: _cc(d)["span"]["intra_spreads"][0].update(rate=-0.01),
     r"intra_spreads\[0\]\.rate: Input should be greater than or equal to 0"),
    ("credit rate above 1", lambda d: d["inter_spreads"][0].update(credit_rate=1.5),
     r"inter_spreads\[0\]\.credit_rate: Input should be less than or equal to 1"),
    ("inter spread to undefined commodity",
     lambda d: d["inter_spreads"][0]["legs"][0].update(combined_commodity="DOGE"),
     r"references combined commodity 'DOGE', which is not defined"),
    ("correlation not symmetric", lambda d: d["correlation"]["matrix"][0].__setitem__(1, 0.5),
     r"must be symmetric: \[BTC, BTC_USDC\] = 0.5"),
    ("correlation diagonal not 1", lambda d: d["correlation"]["matrix"][2].__setitem__(2, 0.9),
     r"diagonal must be 1; \[ETH, ETH\] = 0.9"),
    ("correlation outside [-1, 1]", lambda d: (d["correlation"]["matrix"][0].__setitem__(2, 1.2),
                                               d["correlation"]["matrix"][2].__setitem__(0, 1.2)),
     r"\[BTC, ETH\] = 1.2 is outside \[-1, 1\]"),
    ("correlation not PSD", lambda d: d["correlation"].update(
        combined_commodities=["BTC", "ETH", "SOL_USDC"],
        matrix=[[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]),
     r"must be positive semi-definite; its smallest eigenvalue is -0.8"),
    ("correlation to undefined commodity", lambda d: d["correlation"].update(
        combined_commodities=["BTC", "XRP"], matrix=[[1.0, 0.5], [0.5, 1.0]]),
     r"correlation references combined commodity 'XRP'"),
    ("duplicate commodity", lambda d: d["combined_commodities"].append(copy.deepcopy(_cc(d))),
     r"combined commodity names must be unique; repeated: \['BTC'\]"),
    ("coin-settled in USDC", lambda d: _cc(d).update(settlement_currency="USDC"),
     r"coin-settled, so settlement_currency must be its underlying 'BTC'"),
    ("IM below MM", lambda d: d["margin_relation"].update(im_factor=0.5),
     r"im_factor 0.5 < mm_factor 1.0"),
    ("span grid without span section", lambda d: _cc(d).pop("span"),
     r"has a span16 grid: give a 'span' section"),
    ("paired point out of range", lambda d: _cc(d)["grid"].update(
        scan_points=[{"price_fraction": 0.0, "vol_fraction": 1.0, "paired_point": 3}]),
     r"scan point 1 pairs with point 3, which does not exist"),
]


@pytest.mark.parametrize("label,mutate,message", CASES, ids=[c[0] for c in CASES])
def test_each_rule_fails_with_field_path(label: str, mutate: Mutation, message: str, tmp_path: Path) -> None:
    data = _base()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ParameterSetError, match=message) as info:
        params.load(path)
    assert str(path) in str(info.value), "the message must name the file"


def test_exchange_rules() -> None:
    data = params.load("deribit-style").model_dump(mode="json")
    data["combined_commodities"][0]["grid"]["extended_moves"] = [0.1, 0.5]
    with pytest.raises(ParameterSetError, match=r"extended move 0.1 lies inside the standard price_range 0.16"):
        params.from_mapping(data)
    data["combined_commodities"][0]["grid"]["extended_moves"] = [-1.2]
    with pytest.raises(ParameterSetError, match=r"extended_moves must be non-zero and above -1.0"):
        params.from_mapping(data)


def test_malformed_files(tmp_path: Path) -> None:
    bad_toml = tmp_path / "x.toml"
    bad_toml.write_text("metadata = [\n")
    with pytest.raises(ParameterSetError, match=r"x.toml is not valid TOML"):
        params.load(bad_toml)
    bad_json = tmp_path / "x.json"
    bad_json.write_text("{\"a\": ")
    with pytest.raises(ParameterSetError, match=r"x.json is not valid JSON: .* line 1"):
        params.load(bad_json)
    with pytest.raises(ParameterSetError, match=r"does not exist"):
        params.load(tmp_path / "missing.toml")
    with pytest.raises(ParameterSetError, match=r"must end in .toml or .json"):
        (tmp_path / "x.yaml").write_text("a: 1")
        params.load(tmp_path / "x.yaml")


def test_models_are_frozen() -> None:
    ps = params.load("crypto-span")
    with pytest.raises(Exception):
        ps.metadata.name = "other"  # type: ignore[misc]


def test_correlation_matrix_as_array() -> None:
    corr = params.load("crypto-span").correlation
    assert corr is not None
    m = corr.as_array()
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 1.0)
