"""Load benchmark of ``spanlike serve`` on localhost (not a test; run: python benchmarks/bench_service.py).

Workload: N accounts (default 10,000) x 20 positions drawn from the bundled
demo market, balances around each account's initial margin so that price
moves flip statuses; the store is filled directly, then the service is
started as a subprocess (start-up = rebuild from the store is timed).

Figures, each beside the in-process reference of the same run:

- pre-trade what-if over HTTP at 1, 16 and 64 concurrent keep-alive clients:
  p50/p99 latency and checks per second; reference: ``PreparedAccount.what_if_quantity``
  in this process;
- market update (PUT /v1/market) with 1 % and 100 % of instruments changed:
  wall time until the reply, which comes after every new status is stored
  (one transaction) and its event published; reference: ``update_engine`` +
  ``margin_batch`` in this process.

The load generator is a small asyncio HTTP/1.1 client (pre-encoded requests),
so that on a 2-core machine the client takes as little CPU from the server as
possible; it shares the machine all the same, and so does other work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


async def _client(host: str, port: int, requests: list[bytes], lat: list[float], stop_at: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    while time.perf_counter() < stop_at:
        req = requests[i % len(requests)]
        i += 1
        t0 = time.perf_counter()
        writer.write(req)
        head = await reader.readuntil(b"\r\n\r\n")
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":")[1])
        body = await reader.readexactly(n)
        lat.append(time.perf_counter() - t0)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head + body)
    writer.close()


def _load(port: int, requests: list[bytes], clients: int, seconds: float) -> tuple[float, float, float]:
    lat: list[float] = []

    async def main() -> None:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*[_client("127.0.0.1", port, requests[k::clients] or requests, lat, stop_at)
                               for k in range(clients)])

    t0 = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - t0
    return _pct(lat, 50) * 1e3, _pct(lat, 99) * 1e3, len(lat) / wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--positions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=5.0, help="per concurrency level")
    args = ap.parse_args()

    import numpy as np

    from spanlike.batch import build_account_book, equity_usd, margin_batch, prepare_account, prepare_engine, update_engine
    from spanlike.service.auth import new_key
    from spanlike.service.core import MarketSnapshot, market_from_mapping, market_to_mapping, merge_market
    from spanlike.service.storage import open_store

    rng = random.Random(7)
    market = MarketSnapshot.from_file(files("spanlike") / "data" / "demo_market.json")
    names = list(market.quotes)
    engine = prepare_engine(instruments=names, market=market, parameter_set="crypto-span")
    accounts = [f"acc-{i:05d}" for i in range(args.accounts)]
    legs: dict[str, dict[tuple[str, str], float]] = {}
    for a in accounts:
        picked = rng.sample(names, args.positions)
        legs[a] = {(n, "usd" if "PERPETUAL" in n or n.count("-") == 1 else "coin"):
                   (rng.choice([-1, 1]) * (rng.randint(1, 20) * 10_000 if n.count("-") == 1 or "PERPETUAL" in n
                                           else rng.randint(1, 20) * 0.5))
                   for n in picked}
    records = [(a, i, q, u) for a in accounts for (i, u), q in legs[a].items()]
    book = build_account_book(records, engine=engine, accounts=accounts)
    res = margin_batch(engine, book, parallel=True)
    balances = {a: {"USDC": float(res.initial_margin_usd[k]) * rng.uniform(0.95, 1.3)} for k, a in enumerate(accounts)}

    tmp = Path(tempfile.mkdtemp(prefix="spanlike-bench-"))
    db = str(tmp / "bench.db")
    store = open_store(db)
    t0 = time.perf_counter()
    store.bulk_load(accounts={a: "ok" for a in accounts}, created_at="2026-11-24T08:00:00+00:00", balances=balances,
                    positions=legs)
    load_s = time.perf_counter() - t0
    key, rec = new_key(role="admin", accounts=None, label="bench")
    store.add_key(rec)
    store.close()
    cfg = tmp / "service.toml"
    cfg.write_text(f'store = "{db}"\nrate_limit_per_second = 1e9\nrate_limit_burst = 1e9\ndemo_key = false\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "spanlike", "serve", "--config", str(cfg), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:  # type: ignore[union-attr]
        if "listening on" in line:
            break
    import httpx

    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    start_s = time.perf_counter() - t0

    options = [n for n in names if n.count("-") == 3]
    sample = rng.sample(accounts, 2000)
    reqs = []
    for a in sample:
        body = json.dumps({"orders": [{"instrument": rng.choice(options), "quantity": -1.0}]}).encode()
        reqs.append(f"POST /v1/accounts/{a}/what-if HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    _load(port, reqs, 16, 1.0)  # warm: every sampled account prepared once
    # In-process reference: the same checks on prepared accounts in this process.
    prepared = {a: prepare_account(engine, rows=book.positions(a)[0], quantity=book.positions(a)[1], account=a)
                for a in sample}
    t_in = []
    for a in sample * 3:
        ins = rng.choice(options)
        t = time.perf_counter()
        prepared[a].what_if_quantity(ins, -1.0)
        t_in.append(time.perf_counter() - t)
    in_p50, in_p99 = _pct(t_in, 50) * 1e3, _pct(t_in, 99) * 1e3
    rows = []
    for clients in (1, 16, 64):
        p50, p99, rps = _load(port, reqs, clients, args.seconds)
        rows.append((clients, p50, p99, rps))

    h = {"Authorization": f"Bearer {key}"}
    c = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=h, timeout=300)
    updates = []
    current = market
    for frac in (0.01, 1.0, 0.01, 1.0, 0.01, 1.0):
        k = max(1, round(frac * len(names)))
        changed = rng.sample(names, k)
        factor = rng.choice([0.97, 1.03])
        instruments = []
        for n in changed:
            q = current.quotes[n]
            # Options: a vol move (their mark stays consistent with it); futures: a price move.
            if q.mark_iv is not None:
                item = {"instrument": n, "mark_price": q.mark_price, "mark_iv": q.mark_iv * factor,
                        "underlying_price": q.underlying_price}
            else:
                item = {"instrument": n, "mark_price": q.mark_price * factor}
            instruments.append(item)
        body = {"mode": "changes", "instruments": instruments}
        t = time.perf_counter()
        r = c.put("/v1/market", json=body)
        http_s = time.perf_counter() - t
        assert r.status_code == 200, r.text
        new = merge_market(current, {"valuation_time": current.valuation_time.isoformat(), "instruments": instruments},
                           source="bench")
        t = time.perf_counter()
        up = update_engine(engine, new)
        margin_batch(up.engine, book, equity_usd=None, parallel=True)
        inproc_s = time.perf_counter() - t
        engine, current = up.engine, new
        updates.append((frac, k, http_s, inproc_s, r.json()["status_changes"], r.json()["revalued_instruments"]))
    proc.terminate()
    proc.wait(timeout=30)

    print(f"machine: {os.cpu_count()} cores ({os.uname().machine}), Python {sys.version.split()[0]}; "
          f"{args.accounts:,} accounts x {args.positions} positions over {len(names)} instruments; "
          f"store bulk load {load_s:.2f} s; service start (rebuild from store) {start_s:.2f} s")
    print(f"\n{'what-if':<28}{'p50 ms':>10}{'p99 ms':>10}{'checks/s':>12}")
    print(f"{'in-process (reference)':<28}{in_p50:>10.3f}{in_p99:>10.3f}{1e3 / in_p50:>12,.0f}")
    for clients, p50, p99, rps in rows:
        print(f"{f'HTTP, {clients} clients':<28}{p50:>10.3f}{p99:>10.3f}{rps:>12,.0f}")
    print(f"\n{'market update':<28}{'instruments':>12}{'HTTP ms':>10}{'in-proc ms':>12}{'changes':>9}")
    for frac in (0.01, 1.0):
        sel = [u for u in updates if u[0] == frac]
        print(f"{f'{frac:.0%} changed (median of {len(sel)})':<28}{sel[0][1]:>12}"
              f"{statistics.median(u[2] for u in sel) * 1e3:>10.1f}{statistics.median(u[3] for u in sel) * 1e3:>12.1f}"
              f"{int(statistics.median(u[4] for u in sel)):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
