"""The batch on a local Dask cluster of worker processes equals the in-process batch exactly.

Skipped only when dask[distributed] is not installed (the optional extra
``spanlike[dask]``). Small (a few hundred accounts) and bounded: results are
awaited for at most 240 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="dask[distributed] is not installed (optional extra spanlike[dask])")

from distributed import Client, LocalCluster  # noqa: E402

from spanlike.batch.accounts import AccountBook  # noqa: E402
from spanlike.batch.batch import margin_batch  # noqa: E402
from spanlike.batch.dask_backend import margin_batch_dask  # noqa: E402
from spanlike.batch.prepared import prepare_engine  # noqa: E402
from spanlike.errors import InvalidInputError  # noqa: E402
from spanlike.market import MarketSnapshot  # noqa: E402

MARKET = Path(__file__).parent / "data" / "batch_market.json"


@pytest.fixture(scope="module")
def client() -> Client:
    cluster = LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0")
    c = Client(cluster, timeout="60s")
    yield c
    c.close()
    cluster.close()


def _book(n_rows: int, n_accounts: int, seed: int) -> AccountBook:
    rng = np.random.default_rng(seed)
    accounts, offsets, rows, qty = [], [0], [], []
    for a in range(n_accounts):
        r = np.sort(rng.choice(n_rows, size=int(rng.integers(0, 20)), replace=False))
        accounts.append(f"acc-{a}")
        rows.extend(r.tolist())
        qty.extend((rng.normal(size=r.size) * 3).tolist())
        offsets.append(len(rows))
    return AccountBook.from_arrays(accounts=accounts, offsets=offsets, rows=rows, quantity=qty, n_rows=n_rows)


@pytest.mark.parametrize("name", ["crypto-span", "deribit-style"])
def test_dask_equals_in_process(client: Client, name: str) -> None:
    market = MarketSnapshot.from_file(MARKET)
    instruments = [n for n in sorted(market.quotes) if name == "crypto-span" or "_USDC" not in n]
    engine = prepare_engine(instruments=instruments, market=market, parameter_set=name)
    book = _book(engine.packed.n_rows, 300, seed=len(name))
    equity = np.linspace(0.0, 1e6, len(book))
    local = margin_batch(engine, book, equity_usd=equity, components=True)
    seen: list[int] = []
    remote = margin_batch_dask(engine, book, client=client, partitions=5, equity_usd=equity, components=True,
                               progress=lambda done, total: seen.append(done), timeout_s=240)
    assert remote.accounts == local.accounts
    for field in ("initial_margin_usd", "maintenance_margin_usd", "requirement_usd", "correlation_offset_usd",
                  "worst_commodity", "worst_scenario", "components"):
        np.testing.assert_array_equal(getattr(remote, field), getattr(local, field))
    assert remote.worst_scenario_labels == local.worst_scenario_labels
    np.testing.assert_array_equal(remote.status_code, local.status_code)
    assert sorted(seen)[-1] == len(book)


def test_dask_needs_a_client_or_scheduler() -> None:
    market = MarketSnapshot.from_file(MARKET)
    engine = prepare_engine(instruments=["BTC-PERPETUAL"], market=market, parameter_set="crypto-span")
    with pytest.raises(InvalidInputError, match="scheduler"):
        margin_batch_dask(engine, AccountBook.from_arrays(accounts=["a"], offsets=[0, 1], rows=[0], quantity=[1.0], n_rows=1))
