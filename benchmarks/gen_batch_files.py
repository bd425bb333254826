"""Broker batch input files drawn from the bundled demo snapshot's instruments (fixed seed).

Usage: ``python benchmarks/gen_batch_files.py --accounts 100000 --out DIR [--parquet]``.

Writes ``DIR/positions.csv`` (``account,instrument,quantity,unit``) and
``DIR/equity.csv`` (``account,currency,amount``), and with ``--parquet`` the
same tables as ``positions.parquet`` / ``equity.parquet``. Every account
holds 1 to 14 positions (7.5 on average) drawn with replacement from the 398
instruments of ``spanlike/data/demo_market.json``, so a few accounts repeat
an instrument and the reader nets them, as it must for a real broker file.
Coin-settled futures and perpetuals are sized in USD (half of them) or coin;
options in coin; USDC-settled instruments have no unit. Equity: one or two
currencies per account (BTC, ETH, USDC).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO_MARKET = ROOT / "spanlike" / "data" / "demo_market.json"
#: Mean positions per account is (1 + 14) / 2 = 7.5.
MIN_POSITIONS, MAX_POSITIONS = 1, 14


def demo_instruments() -> list[str]:
    """Instrument names of the bundled demo snapshot, in file order."""
    data = json.loads(DEMO_MARKET.read_text())
    return [q["instrument"] for q in data["instruments"]]


def generate_tables(n_accounts: int, seed: int = 17) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Positions and equity columns for ``n_accounts`` accounts (deterministic for a seed).

    Returns
    -------
    positions : dict of str to ndarray
        ``account``, ``instrument``, ``unit`` (object arrays of str) and
        ``quantity`` (float64), about 7.5 rows per account, grouped by account.
    equity : dict of str to ndarray
        ``account``, ``currency`` (object), ``amount`` (float64).
    """
    rng = np.random.default_rng(seed)
    names = np.array(demo_instruments(), dtype=object)
    is_option = np.array([n.count("-") == 3 for n in names])
    is_usdc = np.array(["_USDC" in n for n in names])
    counts = rng.integers(MIN_POSITIONS, MAX_POSITIONS + 1, size=n_accounts)
    nnz = int(counts.sum())
    account_ids = np.array([f"acc-{i:07d}" for i in range(n_accounts)], dtype=object)
    which = rng.integers(0, names.size, size=nnz)
    account = np.repeat(account_ids, counts)
    usd = (~is_option[which]) & (~is_usdc[which]) & (rng.random(nnz) < 0.5)
    unit = np.where(is_usdc[which], "", np.where(usd, "usd", "coin")).astype(object)
    # Options and coin sizes: a few contracts; USD sizes: tens of thousands of dollars.
    quantity = np.where(usd, np.round(rng.normal(0.0, 50_000.0, nnz), -1),
                        np.round(rng.normal(0.0, 5.0, nnz), 1))
    quantity = np.where(quantity == 0.0, 1.0, quantity)
    positions = {"account": account, "instrument": names[which], "quantity": quantity, "unit": unit}
    two = rng.random(n_accounts) < 0.3
    eq_account = np.concatenate([account_ids, account_ids[two]])
    currencies = np.array(["BTC", "ETH", "USDC"], dtype=object)
    eq_currency = np.concatenate([currencies[rng.integers(0, 3, n_accounts)], np.full(int(two.sum()), "USDC", object)])
    scale = np.select([eq_currency == "BTC", eq_currency == "ETH"], [1.0, 20.0], 100_000.0)
    amount = np.round(rng.gamma(1.5, 1.0, eq_currency.size) * scale, 4)
    order = np.argsort(eq_account, kind="stable")
    equity = {"account": eq_account[order], "currency": eq_currency[order], "amount": amount[order]}
    return positions, equity


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Write columns as CSV (floats with ``repr``, the shortest round-trip text)."""
    names = list(columns)
    cells = [columns[n].astype(str) if columns[n].dtype != object else columns[n] for n in names]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(names) + "\n")
        handle.writelines(",".join(map(str, row)) + "\n" for row in zip(*cells))


def write_parquet(path: Path, columns: dict[str, np.ndarray], *, row_group_size: int | None = None) -> None:
    """Write columns as parquet (pyarrow); row groups of about ``row_group_size`` rows cut between accounts.

    Rows are grouped by account, and each row group ends where an account
    ends, so every row group is a partition the Dask path can margin alone.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({k: (pa.array(v.tolist(), pa.string()) if v.dtype == object else v) for k, v in columns.items()})
    n = table.num_rows
    if row_group_size is None or n <= row_group_size:
        pq.write_table(table, path)
        return
    account = columns["account"]
    starts = np.flatnonzero(np.concatenate([[True], account[1:] != account[:-1]]))
    cuts = [0]
    while cuts[-1] + row_group_size < n:
        k = int(np.searchsorted(starts, cuts[-1] + row_group_size))
        cuts.append(int(starts[k]) if k < starts.size else n)
    cuts.append(n)
    with pq.ParquetWriter(path, table.schema) as writer:
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            if hi > lo:
                writer.write_table(table.slice(lo, hi - lo), row_group_size=hi - lo)


def write_files(out: Path, n_accounts: int, *, parquet: bool, seed: int = 17) -> dict[str, Path]:
    """Generate and write the files; returns their paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    positions, equity = generate_tables(n_accounts, seed)
    paths = {"positions.csv": out / "positions.csv", "equity.csv": out / "equity.csv"}
    write_csv(paths["positions.csv"], positions)
    write_csv(paths["equity.csv"], equity)
    if parquet:
        paths["positions.parquet"] = out / "positions.parquet"
        paths["equity.parquet"] = out / "equity.parquet"
        write_parquet(paths["positions.parquet"], positions, row_group_size=1 << 20)
        write_parquet(paths["equity.parquet"], equity)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--parquet", action="store_true")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    paths = write_files(args.out, args.accounts, parquet=args.parquet, seed=args.seed)
    for name, p in paths.items():
        print(f"{name}: {p} ({p.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
