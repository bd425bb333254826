"""Reliability of the margin service: crash recovery, serialisable concurrency, fuzzed bodies.

Bounded and local: the server listens on 127.0.0.1 only, every wait has a
timeout, the fuzzing has a fixed example budget.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from test_service_support import make_client  # noqa: E402

BOOK = [{"instrument": "BTC-PERPETUAL", "quantity": -150000, "unit": "usd"},
        {"instrument": "BTC-25DEC26-110000-C", "quantity": -5}]
OPTIONS = ["BTC-25DEC26-110000-C", "BTC-25DEC26-80000-P", "BTC-29JAN27-100000-C", "ETH-25DEC26-2800-P"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(store: str, port: int) -> tuple[subprocess.Popen, str | None]:
    exe = [sys.executable, "-m", "spanlike", "serve", "--store", store, "--port", str(port), "--host", "127.0.0.1"]
    proc = subprocess.Popen(exe, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    key = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        if "demo API key" in line:
            key = line.rsplit(" ", 1)[1].strip()
        if "listening on" in line:
            break
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return proc, key
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the service did not start")


def test_sigkill_mid_stream_then_restart(tmp_path: Path) -> None:
    """Every acknowledged fill survives, none is applied twice, statuses equal a fresh batch run."""
    store = str(tmp_path / "crash.db")
    port = _free_port()
    proc, key = _start(store, port)
    assert key
    h = {"Authorization": f"Bearer {key}"}
    base = f"http://127.0.0.1:{port}"
    c = httpx.Client(base_url=base, headers=h, timeout=10)
    for a in ("k1", "k2", "k3"):
        assert c.post("/v1/accounts", json={"account": a, "positions": BOOK, "balances": {"USDC": 80_000}}).status_code == 201
    acked: dict[str, list[tuple[str, str, float]]] = {"k1": [], "k2": [], "k3": []}
    stop = threading.Event()

    def fills() -> None:
        i = 0
        while not stop.is_set():
            a = ("k1", "k2", "k3")[i % 3]
            fill = {"fill_id": f"f{i}", "instrument": OPTIONS[i % 4], "quantity": (-1) ** i * 0.5}
            try:
                r = c.post(f"/v1/accounts/{a}/fills", json={"fills": [fill]})
            except httpx.HTTPError:
                return
            if r.status_code == 200:
                acked[a].append((fill["fill_id"], fill["instrument"], fill["quantity"]))
            i += 1

    def markets() -> None:
        m = httpx.Client(base_url=base, headers=h, timeout=10)
        k = 0
        while not stop.is_set():
            try:
                m.put("/v1/market", json={"index_prices": {"BTC": 90_000 + 500 * (k % 20)}})
            except httpx.HTTPError:
                return
            k += 1

    threads = [threading.Thread(target=fills), threading.Thread(target=markets)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert sum(len(v) for v in acked.values()) > 5

    proc2, _ = _start(store, port)
    try:
        c2 = httpx.Client(base_url=base, headers=h, timeout=10)
        for a, done in acked.items():
            stored = {f["fill_id"]: f for f in c2.get(f"/v1/accounts/{a}/fills").json()["fills"]}
            assert {fid for fid, _, _ in done} <= set(stored), "an acknowledged fill is missing"
            # Positions equal the initial book plus each stored fill exactly once.
            legs = {(p["instrument"], p.get("unit") or "coin"): float(p["quantity"]) for p in BOOK}
            for f in sorted(stored.values(), key=lambda f: int(f["fill_id"][1:])):
                key_ = (f["instrument"], f["unit"])
                legs[key_] = math.fsum([legs.get(key_, 0.0), f["quantity"]])
            got = {(p["instrument"], p["unit"]): p["quantity"] for p in c2.get(f"/v1/accounts/{a}").json()["positions"]}
            assert got == {k: v for k, v in legs.items() if v != 0.0}
            # Re-sending an acknowledged fill does not apply it again.
            if done:
                fid, ins, q = done[-1]
                r = c2.post(f"/v1/accounts/{a}/fills", json={"fills": [{"fill_id": fid, "instrument": ins, "quantity": q}]})
                assert r.json()["duplicates"] == [fid]
        # Statuses equal a fresh batch run over the stored positions at the stored market.
        from spanlike.batch import build_account_book, equity_usd, margin_batch, prepare_engine
        from spanlike.service.core import market_from_mapping
        from spanlike.service.storage import open_store

        s = open_store(store)
        st_ = s.load()
        s.close()
        market = market_from_mapping(st_.market.snapshot, source="store")
        engine = prepare_engine(instruments=list(market.quotes), market=market, parameter_set="crypto-span")
        names = list(st_.accounts)
        book = build_account_book([(a, i, q, u) for a in names for (i, u), q in st_.positions[a].items()],
                                  engine=engine, accounts=names)
        eq = equity_usd(st_.balances, book=book, index_prices=market.index_prices)
        res = margin_batch(engine, book, equity_usd=eq, parallel=False)
        served = {x["account"]: x for x in c2.get("/v1/accounts").json()["accounts"]}
        for a in names:
            assert served[a]["status"] == res.account(a).status
            assert math.isclose(served[a]["initial_margin_usd"], res.account(a).initial_margin_usd, rel_tol=1e-12)
            assert st_.accounts[a] == res.account(a).status  # the stored status too
    finally:
        proc2.terminate()
        proc2.wait(timeout=30)


def test_concurrent_fills_and_what_ifs_are_serialisable(tmp_path: Path) -> None:
    """Interleaved fills and what-ifs on one account give what some serial order gives."""
    import asyncio

    from spanlike.service.app import create_app  # noqa: F401  (the app under test)

    client, state, key = make_client(str(tmp_path / "conc.db"))
    app = client.app
    h = {"Authorization": f"Bearer {key}"}
    client.post("/v1/accounts", json={"account": "c", "positions": BOOK, "balances": {"USDC": 1e6}}, headers=h)
    fills = [{"fill_id": f"c{i}", "instrument": OPTIONS[i % 4], "quantity": 1.0 + i} for i in range(12)]
    order = {"instrument": "BTC-29JAN27-100000-C", "quantity": -3}

    async def run() -> list[tuple[str, dict]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=h) as ac:
            async def fill(f: dict) -> tuple[str, dict]:
                return "fill", (await ac.post("/v1/accounts/c/fills", json={"fills": [f]})).json()

            async def check() -> tuple[str, dict]:
                return "what-if", (await ac.post("/v1/accounts/c/what-if", json={"orders": [order]})).json()

            tasks = [fill(f) for f in fills] + [check() for _ in range(24)]
            return await asyncio.gather(*tasks)

    out = asyncio.run(run())
    # Every serial order passes through the books "initial + some prefix of the fills in arrival order";
    # each what-if's 'before' must be the margin of one of those books, and its 'after' that book plus the order.
    import spanlike
    from spanlike.portfolio import Portfolio
    from test_service_support import demo_market

    applied = [r[1]["applied"][0] for r in out if r[0] == "fill"]
    order_of = {f["fill_id"]: f for f in fills}
    books, legs = [], [dict(p) for p in BOOK]
    prefixes = [list(legs)]
    for fid in applied:
        f = order_of[fid]
        legs = legs + [{"instrument": f["instrument"], "quantity": f["quantity"]}]
        prefixes.append(list(legs))
    market = demo_market()
    for p in prefixes:
        before = spanlike.margin(Portfolio.from_mapping({"positions": p}), market, "crypto-span").initial_margin_usd
        after = spanlike.margin(Portfolio.from_mapping({"positions": p + [order]}), market,
                                "crypto-span").initial_margin_usd
        books.append((before, after))
    for kind, body in out:
        if kind != "what-if":
            continue
        assert any(math.isclose(body["initial_margin_before_usd"], b, rel_tol=1e-9)
                   and math.isclose(body["initial_margin_after_usd"], a, rel_tol=1e-9) for b, a in books), body
    final = client.get("/v1/accounts/c", headers=h).json()
    assert math.isclose(final["initial_margin_usd"], books[-1][0], rel_tol=1e-9)
    state.store.close()


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_fields = st.fixed_dictionaries({}, optional={
    "orders": st.lists(st.fixed_dictionaries({"instrument": st.sampled_from(OPTIONS + ["BTC-PERPETUAL", "X", ""]) | st.text(max_size=8),
                                              "quantity": st.floats() | st.integers(-10**400, 10**400) | _json},
                                             optional={"unit": st.sampled_from(["usd", "coin", "USD", None]) | _json}),
                       max_size=3),
    "fills": _json, "positions": _json, "balances": _json, "account": _json, "market": _json,
    "mode": _json, "index_prices": _json, "instruments": _json, "valuation_time": _json, "parameter_set": _json,
})
_PATHS = ["/v1/accounts/z/what-if", "/v1/accounts/z/fills", "/v1/accounts", "/v1/margin", "/v1/accounts/z/max-order",
          "/v1/accounts/z/positions", "/v1/accounts/z/balances", "/v1/market"]


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory):
    client, state, key = make_client(str(tmp_path_factory.mktemp("fuzz") / "fuzz.db"))
    client.headers["Authorization"] = f"Bearer {key}"
    client.post("/v1/accounts", json={"account": "z", "positions": BOOK, "balances": {"USDC": 1e5}})
    yield client
    state.store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_PATHS), body=_fields | _json)
def test_fuzzed_bodies_never_500(fuzz_client, path: str, body: object) -> None:
    import json

    raw = json.dumps(body, allow_nan=True).encode() if not isinstance(body, bytes) else body
    method = "PUT" if path.endswith(("positions", "balances", "market")) else "POST"
    r = fuzz_client.request(method, path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code < 500, (path, body, r.text)
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        assert r.json()["error"]["message"]
