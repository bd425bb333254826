"""The margin service's API on both stores (SQLite and PostgreSQL run the same tests).

References: margins equal the library's reference engine
(``spanlike.margin`` on the same book) to 1e-9 relative, statuses equal a fresh
``margin_batch`` over the positions read back from the store, and the
what-if equals a full recompute of the book with the order added (1e-9).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from test_service_support import demo_market, fresh_store_url, make_client  # noqa: E402

BACKENDS = ["sqlite", "postgresql"]
BOOK = [
    {"instrument": "BTC-PERPETUAL", "quantity": -150000, "unit": "usd"},
    {"instrument": "BTC-25DEC26-110000-C", "quantity": -5},
    {"instrument": "ETH-25DEC26-2800-P", "quantity": -50},
]


@pytest.fixture(params=BACKENDS)
def svc(request: pytest.FixtureRequest, tmp_path: Path):
    url = fresh_store_url(request.param, tmp_path)
    client, state, key = make_client(url)
    client.headers["Authorization"] = f"Bearer {key}"
    yield client, state, url
    state.store.close()


def _reference_im(positions: list[dict]) -> float:
    import spanlike
    from spanlike.portfolio import Portfolio

    return spanlike.margin(Portfolio.from_mapping({"positions": positions}), demo_market(), "crypto-span").initial_margin_usd


def _fresh_batch_statuses(url: str, tmp_state) -> dict[str, str]:
    """Statuses of a fresh batch run over what the store holds (an independent path: CSV-style records)."""
    from spanlike.batch import build_account_book, equity_usd, margin_batch
    from spanlike.service.storage import open_store

    store = open_store(url)
    st = store.load()
    store.close()
    engine = tmp_state.engine
    names = list(st.accounts)
    records = [(a, i, q, u) for a in names for (i, u), q in st.positions.get(a, {}).items()]
    book = build_account_book(records, engine=engine, accounts=names)
    eq = equity_usd({a: b for a, b in st.balances.items() if b}, book=book, index_prices=engine.market.index_prices)
    res = margin_batch(engine, book, equity_usd=eq, parallel=False)
    return {a: res.account(a).status for a in names}


def test_health_ready_and_context(svc) -> None:
    client, state, _ = svc
    r = client.get("/v1/health")
    assert r.status_code == 200 and r.json()["parameter_set"].startswith("crypto-span")
    assert r.headers["x-spanlike-market-version"] == "1"
    r = client.get("/v1/ready")
    assert r.status_code == 200 and r.json()["store"] in ("sqlite", "postgresql")


def test_stateless_margin_equals_library(svc) -> None:
    client, _, _ = svc
    r = client.post("/v1/margin", json={"positions": BOOK})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["market_version"] == 1
    assert math.isclose(body["result"]["initial_margin_usd"], _reference_im(BOOK), rel_tol=1e-12)
    assert body["result"]["combined_commodities"][0]["worst_scenario"]["label"]


def test_accounts_fills_idempotent_and_statuses_match_batch(svc) -> None:
    client, state, url = svc
    r = client.post("/v1/accounts", json={"account": "a1", "positions": BOOK, "balances": {"USDC": 1e6}})
    assert r.status_code == 201, r.text
    assert math.isclose(r.json()["initial_margin_usd"], _reference_im(BOOK), rel_tol=1e-9)
    assert r.json()["status"] == "ok"
    assert client.post("/v1/accounts", json={"account": "a1"}).status_code == 409
    client.post("/v1/accounts", json={"account": "a2", "positions": BOOK[:1], "balances": {"BTC": 0.01}})
    fill = {"fill_id": "f-1", "instrument": "BTC-25DEC26-110000-C", "quantity": -2}
    r1 = client.post("/v1/accounts/a1/fills", json={"fills": [fill]})
    r2 = client.post("/v1/accounts/a1/fills", json={"fills": [fill]})
    assert r1.json()["applied"] == ["f-1"] and r2.json()["duplicates"] == ["f-1"] and r2.json()["applied"] == []
    conflict = client.post("/v1/accounts/a1/fills", json={"fills": [{**fill, "quantity": -3}]})
    assert conflict.status_code == 409 and "f-1" in conflict.json()["error"]["message"]
    book_after = [BOOK[0], {**BOOK[1], "quantity": -7}, BOOK[2]]
    assert math.isclose(r2.json()["initial_margin_usd"], _reference_im(book_after), rel_tol=1e-9)
    detail = client.get("/v1/accounts/a1/margin").json()
    assert math.isclose(detail["margin"]["initial_margin_usd"], _reference_im(book_after), rel_tol=1e-9)
    assert {c["name"] for c in detail["margin"]["combined_commodities"]} >= {"BTC", "ETH"}
    statuses = {a["account"]: a["status"] for a in client.get("/v1/accounts").json()["accounts"]}
    assert statuses == _fresh_batch_statuses(url, state)
    assert statuses["a2"] == "liquidation"
    listed = client.get("/v1/accounts", params={"status": "liquidation"}).json()["accounts"]
    assert [a["account"] for a in listed] == ["a2"]
    fills = client.get("/v1/accounts/a1/fills").json()["fills"]
    assert [f["fill_id"] for f in fills] == ["f-1"]


def test_positions_bulk_balances_delete(svc) -> None:
    client, state, url = svc
    client.post("/v1/accounts", json={"account": "b", "balances": {"USDC": 10}})
    r = client.put("/v1/accounts/b/positions", json={"positions": BOOK})
    assert r.status_code == 200 and r.json()["status"] == "liquidation"
    r = client.put("/v1/accounts/b/balances", json={"balances": {"USDC": 5e6}})
    assert r.json()["status"] == "ok"
    events = client.get("/v1/events", params={"after": 0, "follow": "false"}).text
    kinds = [line.split(": ", 1)[1] for line in events.splitlines() if line.startswith("event: ")]
    assert kinds == ["account_created", "status", "status"]
    ids = [int(line.split(": ")[1]) for line in events.splitlines() if line.startswith("id: ")]
    assert ids == [1, 2, 3]
    resumed = client.get("/v1/events", params={"after": 2, "follow": "false"}).text
    assert "id: 3" in resumed and "id: 2\n" not in resumed
    assert client.delete("/v1/accounts/b").status_code == 200
    assert client.get("/v1/accounts/b").status_code == 404


def test_what_if_accept_reject_and_equals_recompute(svc) -> None:
    client, _, _ = svc
    # Equity above the book's IM (about 105,000 USD under crypto-span) and below the big order's.
    equity = 150_000
    client.post("/v1/accounts", json={"account": "w", "positions": BOOK, "balances": {"USDC": equity}})
    order = {"instrument": "BTC-25DEC26-110000-C", "quantity": -1}
    r = client.post("/v1/accounts/w/what-if", json={"orders": [order]}).json()
    after = [BOOK[0], {**BOOK[1], "quantity": -6}, BOOK[2]]
    assert math.isclose(r["initial_margin_after_usd"], _reference_im(after), rel_tol=1e-9)
    assert r["accept"] == (r["initial_margin_after_usd"] <= equity)
    big = client.post("/v1/accounts/w/what-if", json={"orders": [{**order, "quantity": -100}]}).json()
    assert big["accept"] is False and "exceeds equity" in big["reason"]
    hedge = client.post("/v1/accounts/w/what-if", json={"orders": [{**order, "quantity": 5}]}).json()
    assert hedge["incremental_initial_margin_usd"] < 0 and hedge["accept"] is True
    mx = client.post("/v1/accounts/w/max-order", json={"instrument": "BTC-25DEC26-110000-C", "side": "sell"})
    assert mx.status_code == 200 and 0 < mx.json()["margin_at_quantity_usd"] <= equity


def test_market_update_revalues_changes_and_emits_status_events(svc) -> None:
    client, state, url = svc
    client.post("/v1/accounts", json={"account": "m", "positions": BOOK, "balances": {"USDC": 60_000}})
    before = client.get("/v1/accounts/m").json()
    r = client.put("/v1/market", json={"mode": "changes", "index_prices": {"BTC": 120_000},
                                       "instruments": [{"instrument": "BTC-PERPETUAL", "mark_price": 120_010}]})
    assert r.status_code == 200, r.text
    assert r.json()["revalued_instruments"] == 1 and r.json()["market_version"] == 2
    after = client.get("/v1/accounts/m").json()
    assert after["market_version"] == 2 and after["initial_margin_usd"] != before["initial_margin_usd"]
    assert {a["account"]: a["status"] for a in client.get("/v1/accounts").json()["accounts"]} == \
        _fresh_batch_statuses(url, state)
    old = client.put("/v1/market", json={"mode": "changes", "valuation_time": "2026-11-23T08:00:00Z"})
    assert old.status_code == 422 and "older" in old.json()["error"]["message"]
    full = json.loads((Path(__file__).parents[1] / "spanlike/data/demo_market.json").read_text())
    full["valuation_time"] = "2026-11-24T09:00:00Z"
    r = client.put("/v1/market", json={"mode": "full", **full})
    assert r.status_code == 200 and r.json()["market_version"] == 3


def test_restart_rebuilds_from_store(svc, tmp_path: Path) -> None:
    client, state, url = svc
    client.post("/v1/accounts", json={"account": "r", "positions": BOOK, "balances": {"USDC": 70_000}})
    client.put("/v1/market", json={"index_prices": {"BTC": 99_000}})
    client.post("/v1/accounts/r/fills", json={"fills": [{"fill_id": "x", "instrument": "BTC-PERPETUAL",
                                                          "quantity": 50_000, "unit": "usd"}]})
    want = client.get("/v1/accounts/r").json()
    state.store.close()
    client2, state2, _ = make_client(url)
    client2.headers["Authorization"] = client.headers["Authorization"]
    got = client2.get("/v1/accounts/r").json()
    assert got["market_version"] == 2
    for k in ("status", "positions", "balances"):
        assert got[k] == want[k]
    assert math.isclose(got["initial_margin_usd"], want["initial_margin_usd"], rel_tol=1e-9)
    state2.store.close()


def test_bad_fields_are_422_naming_field_value_and_fix(svc) -> None:
    client, _, _ = svc
    client.post("/v1/accounts", json={"account": "e", "positions": BOOK})
    cases = [
        ("/v1/accounts/e/what-if", {"orders": [{"instrument": "BTC-PERPETUAL", "quantity": "x", "unit": "usd"}]},
         "orders[0].quantity"),
        ("/v1/accounts/e/what-if", {"orders": [{"instrument": "BTC-NOPE", "quantity": 1}]}, "BTC-NOPE"),
        ("/v1/accounts/e/what-if", {"orders": [{"instrument": "BTC-PERPETUAL", "quantity": 1}]}, "usd"),
        ("/v1/accounts/e/fills", {"fills": [{"fill_id": "a", "instrument": "BTC-PERPETUAL", "quantity": 1,
                                             "unit": "usd", "extra": 1}]}, "extra"),
        ("/v1/margin", {"positions": [{"instrument": "BTC-25DEC26-110000-C", "quantity": 1}], "parameter_set": "../x"},
         "parameter_set"),
    ]
    for path, body, word in cases:
        r = client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        err = r.json()["error"]
        assert word in err["message"] + str(err.get("field")), err
        assert "Traceback" not in r.text
    r = client.post("/v1/accounts/e/what-if", content=b'{"orders": [{"instrument": "BTC-PERPETUAL", "quantity": NaN, '
                                                         b'"unit": "usd"}]}', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.json()["error"]["message"]


def test_security_roles_scopes_and_limits(svc) -> None:
    client, state, url = svc
    for a in ("mine", "theirs"):
        client.post("/v1/accounts", json={"account": a, "positions": BOOK, "balances": {"USDC": 1}})
    read = client.post("/v1/keys", json={"role": "read"}).json()["key"]
    trade = client.post("/v1/keys", json={"role": "trade", "accounts": ["mine"]}).json()["key"]
    anon = client.get("/v1/accounts", headers={"Authorization": ""})
    assert anon.status_code == 401 and "mine" not in anon.text
    assert client.get("/v1/accounts", headers={"Authorization": "Bearer sl_nope"}).status_code == 401
    h_read, h_trade = {"Authorization": f"Bearer {read}"}, {"Authorization": f"Bearer {trade}"}
    order = {"orders": [{"instrument": "BTC-25DEC26-110000-C", "quantity": 1}]}
    assert client.post("/v1/accounts/mine/what-if", json=order, headers=h_read).status_code == 403
    assert client.post("/v1/accounts/mine/what-if", json=order, headers=h_trade).status_code == 200
    assert client.put("/v1/market", json={}, headers=h_trade).status_code == 403
    for path in ("/v1/accounts/theirs", "/v1/accounts/theirs/margin", "/v1/accounts/theirs/fills"):
        r = client.get(path, headers=h_trade)
        assert r.status_code == 404 and "equity" not in r.text
    r = client.post("/v1/accounts/theirs/what-if", json=order, headers=h_trade)
    assert r.status_code == 404
    assert [a["account"] for a in client.get("/v1/accounts", headers=h_trade).json()["accounts"]] == ["mine"]
    events = client.get("/v1/events", params={"after": 0, "follow": "false"}, headers=h_trade).text
    assert '"account":"mine"' in events and "theirs" not in events
    from spanlike.service.storage import open_store

    store = open_store(url)
    assert all(read not in k.key_hash and len(k.key_hash) == 64 for k in store.load().keys)
    store.close()
    too_big = client.post("/v1/accounts/mine/what-if", content=b"{" + b" " * 2_000_000 + b"}",
                          headers={"content-type": "application/json"})
    assert too_big.status_code == 413


def test_rate_limit(tmp_path: Path) -> None:
    client, state, key = make_client(str(tmp_path / "rl.db"), rate=1.0, burst=3.0)
    h = {"Authorization": f"Bearer {key}"}
    codes = [client.get("/v1/accounts", headers=h).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429
    assert "retry-after" in client.get("/v1/accounts", headers=h).headers
    state.store.close()


def test_openapi_schema_in_docs_is_current(tmp_path: Path) -> None:
    client, state, _ = make_client(str(tmp_path / "oa.db"))
    current = client.get("/v1/openapi.json").json()
    published = json.loads((Path(__file__).parents[1] / "docs" / "openapi.json").read_text())
    assert published == current, "docs/openapi.json is stale: run spanlike serve --openapi docs/openapi.json"
    state.store.close()


def test_what_if_direct_path_answers_as_the_fastapi_route(svc) -> None:
    """The direct path of the pre-trade check gives the FastAPI route's status, body and auth headers.

    Reference: the same app without the direct layer (``.fastapi``), on the same state and keys.
    """
    from fastapi.testclient import TestClient

    client, state, _ = svc
    route = TestClient(client.app.fastapi, raise_server_exceptions=False)
    admin = client.headers["Authorization"]
    for a in ("mine", "theirs"):
        client.post("/v1/accounts", json={"account": a, "positions": BOOK, "balances": {"USDC": 60_000}})
    read = "Bearer " + client.post("/v1/keys", json={"role": "read"}).json()["key"]
    trade = "Bearer " + client.post("/v1/keys", json={"role": "trade", "accounts": ["mine"]}).json()["key"]
    order = {"orders": [{"instrument": "BTC-25DEC26-110000-C", "quantity": -1}]}
    js = {"content-type": "application/json"}
    cases = [
        ("/v1/accounts/mine/what-if", json.dumps(order), {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps({"orders": [{"instrument": "BTC-PERPETUAL", "quantity": 5e4,
                                                              "unit": "usd"}, order["orders"][0]]}),
         {"content-type": "application/json; charset=utf-8", "Authorization": trade}),
        ("/v1/accounts/mine/what-if", json.dumps(order), js),
        ("/v1/accounts/mine/what-if", json.dumps(order), {**js, "Authorization": "Bearer sl_nope"}),
        ("/v1/accounts/mine/what-if", json.dumps(order), {**js, "Authorization": "Basic " + admin[7:]}),
        ("/v1/accounts/mine/what-if", json.dumps(order), {**js, "Authorization": "Bearer"}),
        ("/v1/accounts/mine/what-if", json.dumps(order), {**js, "Authorization": read}),
        ("/v1/accounts/theirs/what-if", json.dumps(order), {**js, "Authorization": trade}),
        ("/v1/accounts/nobody/what-if", json.dumps(order), {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps({"orders": [{"instrument": "BTC-1JAN20-1-C", "quantity": 1}]}),
         {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps({"orders": [{"instrument": "BTC-PERPETUAL", "quantity": 1e400}]}),
         {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", '{"orders": [{"instrument": "BTC-PERPETUAL", "quantity": NaN}]}',
         {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps({"orders": [{**order["orders"][0], "unit": "lots"}]}),
         {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps({**order, "extra": 1}), {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps({"orders": []}), {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", '{"orders": [', {**js, "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps(order), {"content-type": "text/plain", "Authorization": admin}),
        ("/v1/accounts/mine/what-if", json.dumps(order), {"Authorization": admin}),
        ("/v1/accounts/mine/what-if/", json.dumps(order), {**js, "Authorization": admin}),
        ("/v1/accounts/a%2Fb/what-if", json.dumps(order), {**js, "Authorization": admin}),
    ]
    for path, body, headers in cases:
        got = client.post(path, content=body.encode(), headers={"Authorization": "", **headers},
                          follow_redirects=False)
        want = route.post(path, content=body.encode(), headers=headers, follow_redirects=False)
        assert got.status_code == want.status_code, (path, body, headers, got.text, want.text)
        assert got.content == want.content, (path, body, headers)
        for h in ("content-type", "www-authenticate", "location"):
            assert got.headers.get(h) == want.headers.get(h), (path, h)
    assert got.status_code in (307, 404)


def test_what_if_direct_path_rate_limit_and_size_limit(tmp_path: Path) -> None:
    client, state, key = make_client(str(tmp_path / "d.db"), rate=0.01, burst=2.0, max_body=2_000)
    h = {"Authorization": f"Bearer {key}"}
    client.post("/v1/accounts", json={"account": "a", "positions": BOOK, "balances": {"USDC": 1}}, headers=h)
    order = {"orders": [{"instrument": "BTC-25DEC26-110000-C", "quantity": 1}]}
    codes = [client.post("/v1/accounts/a/what-if", json=order, headers=h).status_code for _ in range(2)]
    assert codes[0] == 200  # the burst of 2: the account creation took the first token
    r = client.post("/v1/accounts/a/what-if", json=order, headers=h)
    assert r.status_code == 429 and "retry-after" in r.headers and r.json()["error"]["type"] == "RateLimited"
    big = {"orders": [order["orders"][0]] * 60}
    r = client.post("/v1/accounts/a/what-if", json=big, headers=h)
    assert r.status_code == 413 and r.json()["error"]["type"] == "RequestTooLarge"
    state.store.close()


def test_market_updates_between_account_changes_equal_a_fresh_batch(svc) -> None:
    """After each market update, every account's figures and contract positions equal a fresh batch run.

    The service margins a market update over the book kept from the last
    revaluation, patched where accounts changed (fills, positions, balances)
    and where USD-sized legs follow a moved futures price, and recomputes
    equity only when an index price moved. Reference: ``build_account_book`` +
    ``equity_usd`` + ``margin_batch`` over the legs and balances read back
    from the store, at the service's engine (same kernels: equal to 1e-12).
    """
    from spanlike.batch import build_account_book, equity_usd, margin_batch
    from spanlike.service.storage import open_store

    client, state, url = svc
    books = {
        "usd-perp": BOOK,
        "usd-fut": [{"instrument": "BTC-25DEC26", "quantity": 80_000, "unit": "usd"},
                    {"instrument": "BTC-25DEC26-110000-C", "quantity": -3}],
        "coin": [{"instrument": "ETH-25DEC26-2800-P", "quantity": -40}],
        "eth-mix": [{"instrument": "ETH-PERPETUAL", "quantity": -20_000, "unit": "usd"},
                    {"instrument": "ETH-25DEC26-2800-P", "quantity": 10}],
    }
    for k, (a, positions) in enumerate(books.items()):
        r = client.post("/v1/accounts", json={"account": a, "positions": positions,
                                              "balances": {"USDC": 40_000 + 7_000 * k, "BTC": 0.2}})
        assert r.status_code == 201, r.text

    def check() -> None:
        store = open_store(url)
        st = store.load()
        store.close()
        names = list(st.accounts)
        records = [(a, i, q, u) for a in names for (i, u), q in st.positions.get(a, {}).items()]
        book = build_account_book(records, engine=state.engine, accounts=names)
        eq = equity_usd({a: b for a, b in st.balances.items() if b}, book=book,
                        index_prices=state.engine.market.index_prices)
        res = margin_batch(state.engine, book, equity_usd=eq, parallel=False)
        for k, a in enumerate(names):
            acc = state.accounts[a]
            assert acc.status == res.account(a).status == st.accounts[a], a
            assert math.isclose(acc.initial_margin_usd, res.initial_margin_usd[k], rel_tol=1e-12, abs_tol=1e-9), a
            assert math.isclose(acc.maintenance_margin_usd, res.maintenance_margin_usd[k], rel_tol=1e-12,
                                abs_tol=1e-9), a
            assert acc.equity_usd == eq[k], a
            rows, qty = book.positions(a)
            assert acc.rows.tolist() == rows.tolist() and np.allclose(acc.qty, qty, rtol=1e-15, atol=0), a
            wi = client.post(f"/v1/accounts/{a}/what-if", json={"orders": [{"instrument": "BTC-25DEC26-110000-C",
                                                                            "quantity": 0.5}]}).json()
            assert math.isclose(wi["initial_margin_before_usd"], res.initial_margin_usd[k], rel_tol=1e-12,
                                abs_tol=1e-9), a

    import numpy as np

    steps = [
        ("market", {"instruments": [{"instrument": "BTC-25DEC26-110000-C", "mark_price": 0.031, "mark_iv": 0.58,
                                     "underlying_price": 96_000}]}),
        ("fill", ("usd-perp", {"fill_id": "f1", "instrument": "BTC-25DEC26", "quantity": 30_000, "unit": "usd"})),
        ("market", {"instruments": [{"instrument": "BTC-25DEC26", "mark_price": 97_500}]}),
        ("balances", ("coin", {"USDC": 5_000, "ETH": 1.5})),
        ("market", {"index_prices": {"ETH": 3_000}, "instruments": [{"instrument": "ETH-PERPETUAL",
                                                                     "mark_price": 3_001}]}),
        ("positions", ("usd-fut", [{"instrument": "BTC-PERPETUAL", "quantity": 10_000, "unit": "usd"}])),
        ("market", {"index_prices": {"BTC": 90_000}}),
        ("delete", "eth-mix"),
        ("market", {"instruments": [{"instrument": "BTC-PERPETUAL", "mark_price": 89_000}]}),
        ("balances", ("usd-perp", {"USDC": 1_000})),
        ("market", {"instruments": [{"instrument": "BTC-25DEC26-110000-C", "mark_price": 0.03, "mark_iv": 0.57,
                                     "underlying_price": 96_000}]}),
        ("create", ("late", [{"instrument": "ETH-PERPETUAL", "quantity": 50_000, "unit": "usd"}])),
        ("fill", ("late", {"fill_id": "f2", "instrument": "ETH-PERPETUAL", "quantity": -50_000, "unit": "usd"})),
        ("market", {"instruments": [{"instrument": "ETH-PERPETUAL", "mark_price": 3_100}]}),
    ]
    for kind, arg in steps:
        if kind == "market":
            r = client.put("/v1/market", json={"mode": "changes", **arg})
        elif kind == "fill":
            r = client.post(f"/v1/accounts/{arg[0]}/fills", json={"fills": [arg[1]]})
        elif kind == "balances":
            r = client.put(f"/v1/accounts/{arg[0]}/balances", json={"balances": arg[1]})
        elif kind == "positions":
            r = client.put(f"/v1/accounts/{arg[0]}/positions", json={"positions": arg[1]})
        elif kind == "delete":
            r = client.delete(f"/v1/accounts/{arg}")
        else:
            r = client.post("/v1/accounts", json={"account": arg[0], "positions": arg[1], "balances": {"USDC": 900}})
        assert r.status_code in (200, 201), (kind, r.text)
        if kind == "market":
            check()
