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


# --- partitions read by the workers straight from parquet ----------------------------------------------

def _parquet_inputs(tmp_path: Path) -> tuple[Path, list[Path], Path, Path]:
    """The fixture positions (sorted by account) as one file of several row groups and as three files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from spanlike.batch.accounts import read_positions_csv

    data = Path(__file__).parent / "data"
    records = sorted(read_positions_csv(data / "batch_accounts.csv"), key=lambda r: r.account)
    table = pa.table({"account": [r.account for r in records], "instrument": [r.instrument for r in records],
                      "quantity": [r.quantity for r in records], "unit": [r.unit for r in records]})
    # Row groups cut at account boundaries: every account's rows in one group.
    starts = [0] + [i for i in range(1, len(records)) if records[i].account != records[i - 1].account]
    cuts = starts[:: max(1, len(starts) // 4)] + [len(records)]
    one = tmp_path / "one.parquet"
    with pq.ParquetWriter(one, table.schema) as writer:
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            if hi > lo:
                writer.write_table(table.slice(lo, hi - lo))
    folder = tmp_path / "parts"
    folder.mkdir()
    files = []
    for k, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
        if hi > lo:
            files.append(folder / f"part-{k}.parquet")
            pq.write_table(table.slice(lo, hi - lo), files[-1])
    return one, files, folder, data / "batch_equity.csv"


def test_parquet_partitions_on_workers_equal_in_process(client: Client, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from spanlike.batch.accounts import build_account_book, equity_usd, read_equity, read_positions
    from spanlike.batch.dask_backend import margin_parquet_dask, parquet_partitions

    one, files, folder, equity_path = _parquet_inputs(tmp_path)
    assert pq.ParquetFile(one).metadata.num_row_groups > 1
    assert len(parquet_partitions(one)) == pq.ParquetFile(one).metadata.num_row_groups
    market = MarketSnapshot.from_file(MARKET)
    positions = read_positions(one)
    engine = prepare_engine(instruments=list(positions.instrument_names), market=market, parameter_set="crypto-span")
    book = build_account_book(positions, engine=engine)
    eq = equity_usd(read_equity(equity_path), book=book, index_prices=market.index_prices)
    local = margin_batch(engine, book, equity_usd=eq, components=True)
    for source in (one, folder, files):
        seen: list[int] = []
        remote = margin_parquet_dask(source, market=market, parameter_set="crypto-span", client=client,
                                     equity=equity_path, components=True, progress=lambda d, t: seen.append(d),
                                     timeout_s=240)
        assert remote.accounts == local.accounts
        assert remote.to_arrow().equals(local.to_arrow())
        np.testing.assert_array_equal(remote.components, local.components)
        assert sorted(seen)[-1] == len(local.accounts)


def test_parquet_partitions_refuse_an_account_split_across_them(client: Client, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from spanlike.batch.dask_backend import margin_parquet_dask

    for k, q in enumerate((1.0, -2.0)):
        pq.write_table(pa.table({"account": ["a"], "instrument": ["BTC-PERPETUAL"], "quantity": [q],
                                 "unit": ["usd"]}), tmp_path / f"p{k}.parquet")
    with pytest.raises(InvalidInputError, match=r"Account 'a' has rows in two partitions .*p0.parquet and .*p1.parquet"):
        margin_parquet_dask(tmp_path, market=MarketSnapshot.from_file(MARKET), parameter_set="crypto-span",
                            client=client, timeout_s=240)


def test_parquet_partition_bad_row_named_by_its_place_in_the_file(client: Client, tmp_path: Path) -> None:
    """A row of the second row group is named by its row in the whole file, as the in-process reader names it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from spanlike.batch.accounts import read_positions
    from spanlike.batch.dask_backend import margin_parquet_dask
    from spanlike.errors import InputFileError

    path = tmp_path / "p.parquet"
    schema = pa.schema([("account", pa.string()), ("instrument", pa.string()), ("quantity", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        writer.write_table(pa.table({"account": ["a", "a"], "instrument": ["BTC-PERPETUAL"] * 2,
                                     "quantity": ["1", "2"]}, schema=schema))
        writer.write_table(pa.table({"account": ["b", "b"], "instrument": ["BTC-25DEC26-100000-C"] * 2,
                                     "quantity": ["1", "x"]}, schema=schema))
    with pytest.raises(InputFileError) as local:
        read_positions(path)
    with pytest.raises(InputFileError) as remote:
        margin_parquet_dask(path, market=MarketSnapshot.from_file(MARKET), parameter_set="crypto-span",
                            client=client, timeout_s=240)
    assert str(remote.value) == str(local.value)
    assert f"{path} row 4: the quantity of BTC-25DEC26-100000-C must be a number" in str(remote.value)
