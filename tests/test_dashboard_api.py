"""The dashboard's JSON routes, checked against independent paths of the library (no browser).

References: the breakdown's IM/MM equal ``spanlike.margin`` on the same
book (a fresh universe, 1e-9 relative) and, for a stored account, the
service's own ``GET /v1/accounts/{a}/margin`` (exactly: same engine); the
heatmap cells equal the result's scenario losses one by one (exactly: they
are copied, loss-positive) with the worst cell at the result's worst
scenario; efficiency levels equal :func:`spanlike.efficiency.efficiency`
(prepared through its own universe, 1e-9); the posted-book what-if (two
full margin runs) equals the account what-if (incremental kernel) to 1e-9
relative of the book's IM; the sets table equals ``spanlike.margin`` under
each bundled set (1e-9).
"""

from __future__ import annotations

import json
import math
import re
from importlib.resources import files
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from test_service_support import demo_market, make_client  # noqa: E402

DATA = Path(__file__).parent / "data"
REL = 1e-9


def _demo_positions() -> list[dict]:
    from spanlike.portfolio import Portfolio

    p = Portfolio.from_csv(files("spanlike") / "data" / "demo_portfolio.csv")
    return [{"instrument": x.instrument.name, "quantity": x.quantity, "unit": x.unit} for x in p.positions]


def _reference(positions: list[dict], set_name: str):
    import spanlike
    from spanlike.portfolio import Portfolio

    return spanlike.margin(Portfolio.from_mapping({"positions": positions}), demo_market(), set_name)


@pytest.fixture
def svc(tmp_path: Path):
    client, state, key = make_client(str(tmp_path / "dash.db"))
    client.headers["Authorization"] = f"Bearer {key}"
    r = client.post("/v1/accounts", json={"account": "demo", "positions": _demo_positions(),
                                          "balances": {"USDC": 150_000.0, "BTC": 1.0}})
    assert r.status_code == 201, r.text
    yield client, state
    state.store.close()


def _close(a: float, b: float, scale: float | None = None) -> bool:
    return abs(a - b) <= REL * max(abs(b), abs(scale or 0.0), 1.0)


def test_reference_lists(svc) -> None:
    client, state = svc
    from spanlike import params

    sets = client.get("/v1/parameter-sets").json()
    # Every bundled set a book of positions and marks can be margined with; a venue set margined from its
    # own inputs (derive: feeds and SVI surfaces) is not offered.
    offered = [n for n in params.available() if n != "derive"]
    assert [s["name"] for s in sets["parameter_sets"]] == offered
    assert sets["in_force"] == "crypto-span"
    for s in sets["parameter_sets"]:
        assert s["label"] == params.load(s["name"]).label and s["version"] in s["label"]
    ins = client.get("/v1/instruments").json()["instruments"]
    assert {i["instrument"] for i in ins} == set(demo_market().quotes)
    perp = next(i for i in ins if i["instrument"] == "BTC-PERPETUAL")
    assert perp["default_unit"] == "usd" and perp["units"] == ["usd", "coin"]
    call = next(i for i in ins if i["instrument"] == "BTC-25DEC26-110000-C")
    assert call["units"] == ["coin"]


@pytest.mark.parametrize("set_name", ["crypto-span", "deribit-style"])
def test_detail_of_posted_book_equals_reference(svc, set_name: str) -> None:
    client, _ = svc
    pos = _demo_positions()
    d = client.post("/v1/margin/detail", json={"positions": pos, "parameter_set": set_name}).json()
    ref = _reference(pos, set_name)
    assert _close(d["summary"]["initial_margin_usd"], ref.initial_margin_usd)
    assert _close(d["summary"]["maintenance_margin_usd"], ref.maintenance_margin_usd)
    assert d["parameter_set"] == ref.parameter_set and d["summary"]["status"] is None
    want_from = "delta_one" if set_name == "crypto-span" else None  # deribit-style: no cross offsets
    assert d["summary"]["cross_offsets_from"] == ref.cross_offsets_from == want_from
    assert [c["name"] for c in d["commodities"]] == [c.name for c in ref.commodities]
    for h, c in zip(d["heatmaps"], ref.commodities):
        assert len(h["cells"]) == len(c.scenario_losses)  # every scenario drawn once
        for cell in h["cells"]:
            assert math.isclose(cell["loss"], c.scenario_losses[cell["scenario"] - 1], rel_tol=1e-12, abs_tol=1e-12)
            assert cell["label"] == c.scenario_labels[cell["scenario"] - 1]
            assert math.isclose(cell["loss_usd"], cell["loss"] * c.usd_per_unit, rel_tol=1e-12, abs_tol=1e-9)
        worst = [cell for cell in h["cells"] if cell["worst"]]
        assert len(worst) == 1 and worst[0]["scenario"] == c.worst_scenario.index + 1
        # The SVG draws the same cells: one focusable group per scenario, one marked worst, same losses.
        svg = h["svg"]
        assert svg.count('class="hm-cell') == len(c.scenario_losses) and svg.count("hm-cell hm-worst\"") == 1
        drawn = sorted(float(x) for x in re.findall(r'data-loss="([^"]+)"', svg))
        assert drawn == sorted(cell["loss"] for cell in h["cells"])
        if set_name == "crypto-span":
            assert h["grid"] == "SPAN 16 scenarios" and sum(h["extended_cols"]) == 2
        else:
            assert h["grid"] == "exchange grid" and len(h["vol_labels"]) == 3
            assert sum(1 for cell in h["cells"] if not cell["extended"]) == 27


def test_detail_of_account_equals_service_margin_and_efficiency(svc) -> None:
    client, _ = svc
    from spanlike.efficiency import efficiency
    from spanlike.portfolio import Portfolio

    d = client.post("/v1/margin/detail", json={"account": "demo"}).json()
    api = client.get("/v1/accounts/demo/margin").json()
    assert d["summary"]["initial_margin_usd"] == api["margin"]["initial_margin_usd"]
    assert d["summary"]["maintenance_margin_usd"] == api["margin"]["maintenance_margin_usd"]
    assert d["summary"]["equity_usd"] == api["equity_usd"] and d["summary"]["status"] == api["status"]
    rep = efficiency(Portfolio.from_mapping({"positions": _demo_positions()}), demo_market(), "crypto-span")
    for got, want in zip(d["efficiency"]["levels"], rep.levels.levels):
        assert got["name"] == want.name
        assert _close(got["initial_margin_usd"], want.initial_margin_usd)
        assert _close(got["maintenance_margin_usd"], want.maintenance_margin_usd)
    steps = d["efficiency"]["waterfall"]
    assert _close(steps[0]["end_usd"], rep.levels.level("isolated").initial_margin_usd)
    assert _close(steps[-1]["end_usd"], rep.levels.level("cross").initial_margin_usd)
    contrib = d["contributions"]
    assert contrib == sorted(contrib, key=lambda r: -abs(r["worst_scenario_loss_usd"]))


def test_sets_side_by_side_equal_reference(svc) -> None:
    client, _ = svc
    from spanlike import params

    out = client.post("/v1/margin/sets", json={"account": "demo"}).json()["sets"]
    assert [s["name"] for s in out] == [n for n in params.available() if n != "derive"]
    for s in out:
        ref = _reference(_demo_positions(), s["name"])
        assert _close(s["initial_margin_usd"], ref.initial_margin_usd)
        assert _close(s["maintenance_margin_usd"], ref.maintenance_margin_usd)
    low = min(s["initial_margin_usd"] for s in out)
    assert [s["cheapest"] for s in out] == [s["initial_margin_usd"] == low for s in out]


@pytest.mark.parametrize("order", [
    {"instrument": "BTC-25DEC26-110000-C", "quantity": -2.0},
    {"instrument": "BTC-PERPETUAL", "quantity": 250_000.0, "unit": "usd"},
    {"instrument": "ETH-25DEC26-2800-P", "quantity": 40.0},
])
def test_posted_what_if_equals_account_what_if(svc, order: dict) -> None:
    client, _ = svc
    acc = client.post("/v1/accounts/demo/what-if", json={"orders": [order]}).json()
    via_account = client.post("/v1/margin/what-if", json={"account": "demo", "orders": [order]}).json()
    posted = client.post("/v1/margin/what-if", json={"positions": _demo_positions(), "orders": [order],
                                                     "balances": {"USDC": 150_000.0, "BTC": 1.0}}).json()
    im = acc["initial_margin_before_usd"]
    for other in (via_account, posted):
        for k in ("incremental_initial_margin_usd", "incremental_maintenance_margin_usd",
                  "initial_margin_after_usd", "maintenance_margin_after_usd"):
            assert _close(other[k], acc[k], scale=im), (k, other[k], acc[k])
        assert other["accept"] == acc["accept"] and other["equity_usd"] == pytest.approx(acc["equity_usd"], rel=1e-12)


def test_what_if_reject_and_no_equity(svc) -> None:
    client, _ = svc
    pos = _demo_positions()
    im = _reference(pos, "crypto-span").initial_margin_usd
    big = {"instrument": "ETH-25DEC26-2800-P", "quantity": -400.0}  # selling more puts adds margin
    r = client.post("/v1/margin/what-if", json={"positions": pos, "orders": [big], "balances": {"USDC": im}}).json()
    assert r["incremental_initial_margin_usd"] > 0 and r["accept"] is False and "exceeds equity" in r["reason"]
    r = client.post("/v1/margin/what-if", json={"positions": pos, "orders": [big]}).json()
    assert r["accept"] is None and "no equity" in r["reason"]


def test_parse_files_and_pasted_rows(svc) -> None:
    client, _ = svc
    csv_text = (files("spanlike") / "data" / "demo_portfolio.csv").read_text()
    r = client.post("/v1/books/parse", json={"filename": "demo_portfolio.csv", "content": csv_text}).json()
    assert r["positions"] == _demo_positions()
    deribit = (DATA / "deribit_positions_btc.json").read_text()
    r = client.post("/v1/books/parse", json={"filename": "positions.json", "content": deribit})
    assert r.status_code == 200, r.text
    # The Deribit reader's own netting: a zero-size position is dropped with a note naming it.
    held = [x["instrument_name"] for x in json.loads(deribit)["result"] if x["size"] != 0]
    assert sorted(p["instrument"] for p in r.json()["positions"]) == sorted(held)
    assert any("positions.json" in n and "dropped" in n for n in r.json()["notes"])
    r = client.post("/v1/books/parse", json={"filename": "pasted rows",
                                             "content": "BTC-PERPETUAL,-150000,usd\nBTC-25DEC26-110000-C,-5,coin\n"})
    assert r.json()["positions"][0] == {"instrument": "BTC-PERPETUAL", "quantity": -150000.0, "unit": "usd"}


@pytest.mark.parametrize("filename,content,field,words", [
    ("bad_book.csv", "instrument,quantity,unit\nBTC-PERPETUAL,abc,usd\n", "file",
     ["bad_book.csv", "line 2", "quantity", "'abc'"]),
    ("pasted rows", "BTC-PERPETUAL,1e400,usd\n", "rows", ["pasted rows", "line 1", "quantity"]),
    ("book.txt", "x", "file", ["book.txt", ".csv", ".json"]),
    ("bad.json", "{\"positions\": [1,", "file", ["bad.json"]),
    ("unknown.csv", "instrument,quantity,unit\nBTC-1JAN30-1-C,1,coin\n", "file", ["BTC-1JAN30-1-C", "not quoted"]),
])
def test_parse_errors_name_the_file_and_field(svc, filename: str, content: str, field: str, words: list) -> None:
    client, _ = svc
    r = client.post("/v1/books/parse", json={"filename": filename, "content": content})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field and "spanlike-book-" not in err["message"]
    for w in words:
        assert w in err["message"], (w, err["message"])


@pytest.mark.parametrize("body,field", [
    ({"positions": [], "parameter_set": "nope"}, "parameter_set"),
    ({"account": "demo", "positions": []}, "account"),
    ({}, "account"),
    ({"account": "demo", "balances": {"USDC": 1.0}}, "balances"),
    ({"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1.0}]}, "positions[0].unit"),
    ({"positions": [{"instrument": "BTC-NOPE", "quantity": 1.0}]}, "positions[0].instrument"),
])
def test_detail_errors_name_the_field(svc, body: dict, field: str) -> None:
    client, _ = svc
    r = client.post("/v1/margin/detail", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field and r.json()["error"]["message"]


@pytest.mark.parametrize("order,field", [
    ({"instrument": "BTC-NOPE", "quantity": 1.0}, "orders[0].instrument"),
    ({"instrument": "BTC-PERPETUAL", "quantity": 1.0}, "orders[0].unit"),
    ({"instrument": "BTC-25DEC26-110000-C", "quantity": 1.0, "unit": "usd"}, "orders[0].unit"),
])
def test_what_if_errors_name_the_order_field(svc, order: dict, field: str) -> None:
    client, _ = svc
    r = client.post("/v1/margin/what-if", json={"positions": _demo_positions(), "orders": [order]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field, r.json()


def test_roles_and_page(svc) -> None:
    client, state = svc
    from fastapi.testclient import TestClient

    from spanlike.service.auth import new_key

    keys = {}
    for role, accounts in (("read", None), ("limited", ("other",))):
        key, rec = new_key(role="read", accounts=accounts, label=role)
        state.store.add_key(rec)
        keys[role] = key
    app = client.app
    # Keys are loaded when the app is made; a fresh app over the same state sees the new ones.
    from spanlike.service.app import create_app

    fresh = TestClient(create_app(state), raise_server_exceptions=False)
    anon = fresh.post("/v1/margin/detail", json={"account": "demo"})
    assert anon.status_code == 401
    h = {"Authorization": f"Bearer {keys['read']}"}
    assert fresh.post("/v1/margin/detail", json={"account": "demo"}, headers=h).status_code == 200
    order = {"orders": [{"instrument": "BTC-25DEC26-110000-C", "quantity": 1.0}]}
    assert fresh.post("/v1/margin/what-if", json={"account": "demo", **order}, headers=h).status_code == 403
    assert fresh.post("/v1/margin/what-if", json={"positions": _demo_positions(), **order}, headers=h).status_code == 200
    lim = {"Authorization": f"Bearer {keys['limited']}"}
    assert fresh.post("/v1/margin/detail", json={"account": "demo"}, headers=lim).status_code == 404
    page = fresh.get("/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert 'name="spanlike-demo-key" content=""' in page.text
    fresh.app.fastapi.state.demo_key = "sl_demo_key"
    assert 'content="sl_demo_key"' in fresh.get("/").text
    assert fresh.get("/dashboard/app.js").headers["content-type"].startswith("text/javascript")
    assert fresh.get("/dashboard/other.js").status_code == 422 or fresh.get("/dashboard/other.js").status_code == 404
    assert app is not None
