"""Load benchmark of ``spanlike serve`` on localhost (not a test; run: python benchmarks/bench_service.py).

Workload: N accounts (default 10,000) x 20 positions drawn from the bundled
demo market, balances around each account's initial margin so that price
moves flip statuses; the store is filled directly, then the service is
started as a subprocess (start-up = rebuild from the store is timed).

Figures, each beside the in-process reference of the same run:

- pre-trade what-if over HTTP at 1, 16 and 64 concurrent keep-alive clients
  and open loop at a fixed rate: p50/p99 latency, checks per second, server and
  generator CPU per check; reference: ``PreparedAccount.what_if_quantity`` in
  this process;
- market update (PUT /v1/market) with 1 % and 100 % of instruments changed:
  wall time until the reply, which comes after every new status is stored
  (one transaction) and its event published; reference: ``update_engine`` +
  ``margin_batch`` in this process.

The load generator is a small asyncio HTTP/1.1 client (pre-encoded requests,
uvloop when installed) in a process of its own. It shares the machine with the
server (2 cores here) and so does other work, so each level is run in
``--rounds`` rounds and medians are printed, with the CPU each side used per
check: the server's (utime + stime from /proc, Linux) and the generator's
(getrusage). Server CPU per check is the figure the machine's load does not
distort much; 1e6 / (server us per check) is what one core can answer.

Closed-loop levels (1, 16, 64 clients, each with one request in flight) show
queueing: at 16 clients p50 is about 16 / throughput. The open-loop level
sends at a fixed rate (``--rate``, default 2,000 checks/s) over 32
connections and times each check from its scheduled send time (so a stalled
server is not hidden by the generator waiting): the latency a gateway sees
at that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
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


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; ``request`` returns when the whole response is read."""

    def __init__(self) -> None:
        self.buf = b""
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = self.buf[:end]
        i = head.lower().find(b"content-length:")
        n = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
        if len(self.buf) >= end + 4 + n:
            whole, self.buf = self.buf[:end + 4 + n], self.buf[end + 4 + n:]
            self.waiter.set_result(whole)
            self.waiter = None

    async def request(self, data: bytes) -> bytes:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)  # type: ignore[union-attr]
        return await self.waiter


async def _connect(port: int) -> _Conn:
    _, conn = await asyncio.get_running_loop().create_connection(_Conn, "127.0.0.1", port)
    return conn


def _load_worker(port: int, clients: int, seconds: float, rate: float, path: str) -> None:
    """Run one level in this process and print JSON: p50/p99 latency (s), count, wall time, CPU seconds used here."""
    import resource

    requests = [r.encode("latin-1") for r in json.loads(Path(path).read_text())]
    lat: list[float] = []

    def check(resp: bytes) -> None:
        if not resp.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(resp[:500])

    async def closed(k: int, stop_at: float) -> None:
        conn = await _connect(port)
        i = k
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            check(await conn.request(requests[i % len(requests)]))
            lat.append(time.perf_counter() - t0)
            i += clients

    async def opened(k: int, start: float, stop_at: float, every: float) -> None:
        conn = await _connect(port)
        due, i = start + k * every / clients, k
        while due < stop_at:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            check(await conn.request(requests[i % len(requests)]))
            lat.append(time.perf_counter() - due)  # from the scheduled time: a late send counts as waiting
            due += every
            i += clients

    async def main() -> None:
        now = time.perf_counter()
        if rate > 0:
            await asyncio.gather(*[opened(k, now + 0.05, now + 0.05 + seconds, clients / rate)
                                   for k in range(clients)])
        else:
            await asyncio.gather(*[closed(k, now + seconds) for k in range(clients)])

    try:
        import uvloop  # the generator's own CPU per request is lower with it

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    run(main())
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({"p50": _pct(lat, 50), "p99": _pct(lat, 99), "n": len(lat), "wall": wall, "cpu": cpu}))


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _load(port: int, server_pid: int, reqs_path: str, clients: int, seconds: float, rate: float = 0.0) -> dict:
    """One level in a generator process: p50/p99 ms, checks/s, server and generator CPU us per check."""
    s0 = _cpu_seconds(server_pid)
    out = subprocess.run([sys.executable, __file__, "--load-worker", str(port), str(clients), str(seconds), str(rate),
                          reqs_path], capture_output=True, text=True, check=True)
    s1 = _cpu_seconds(server_pid)
    res = json.loads(out.stdout)
    n = max(1, res["n"])
    return {"p50": res["p50"] * 1e3, "p99": res["p99"] * 1e3, "rps": n / res["wall"],
            "server_us": (s1 - s0) / n * 1e6, "client_us": res["cpu"] / n * 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--positions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=5.0, help="per concurrency level and round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every level (medians are printed)")
    ap.add_argument("--rate", type=float, default=2000.0, help="open-loop level: checks per second sent")
    ap.add_argument("--load-worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.load_worker:
        port, clients, seconds, rate, path = args.load_worker
        _load_worker(int(port), int(clients), float(seconds), float(rate), path)
        return 0

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
    atexit.register(proc.terminate)  # a failed run does not leave the service running
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
    sample = rng.sample(accounts, min(2000, len(accounts)))
    reqs = []
    for a in sample:
        body = json.dumps({"orders": [{"instrument": rng.choice(options), "quantity": -1.0}]}).encode()
        reqs.append(f"POST /v1/accounts/{a}/what-if HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    reqs_path = str(tmp / "requests.json")
    Path(reqs_path).write_text(json.dumps([r.decode("latin-1") for r in reqs]))
    _load(port, proc.pid, reqs_path, 16, 1.0)  # warm: every sampled account prepared once
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
    levels = [(f"HTTP, {c} client{'s' if c > 1 else ''}", c, 0.0) for c in (1, 16, 64)]
    levels.append((f"HTTP, open loop {args.rate:,.0f}/s", 32, args.rate))
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in levels}
    for _ in range(args.rounds):  # rounds interleave the levels, so a burst of other work hits them alike
        for name, clients, rate in levels:
            runs[name].append(_load(port, proc.pid, reqs_path, clients, args.seconds, rate))
    rows = [(name, {k: statistics.median(r[k] for r in runs[name]) for k in runs[name][0]}) for name, _, _ in levels]

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
    print(f"\n{'what-if (median of ' + str(args.rounds) + ' rounds)':<30}{'p50 ms':>9}{'p99 ms':>9}{'checks/s':>10}"
          f"{'server us/check':>17}{'generator us/check':>20}")
    print(f"{'in-process (reference)':<30}{in_p50:>9.3f}{in_p99:>9.3f}{1e3 / in_p50:>10,.0f}")
    for name, r in rows:
        print(f"{name:<30}{r['p50']:>9.3f}{r['p99']:>9.3f}{r['rps']:>10,.0f}{r['server_us']:>17.0f}"
              f"{r['client_us']:>20.0f}")
    print(f"\n{'market update':<28}{'instruments':>12}{'HTTP ms':>10}{'in-proc ms':>12}{'changes':>9}")
    for frac in (0.01, 1.0):
        sel = [u for u in updates if u[0] == frac]
        print(f"{f'{frac:.0%} changed (median of {len(sel)})':<28}{sel[0][1]:>12}"
              f"{statistics.median(u[2] for u in sel) * 1e3:>10.1f}{statistics.median(u[3] for u in sel) * 1e3:>12.1f}"
              f"{int(statistics.median(u[4] for u in sel)):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
