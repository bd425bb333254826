"""Broker margin checks: batch margining, pre-trade what-if, intraday recalculation, Dask.

Pipeline (STYLE.md "layers you can see")::

    instruments of every account + MarketSnapshot + ParameterSet
        --prepare_engine--> PreparedEngine (risk arrays once, packed kernel arrays)
    positions table --build_account_book--> AccountBook (CSR: offsets, rows, quantities)
        --margin_batch--> BatchResult (IM, MM, equity, excess, status, worst scenario, components)
    one account --prepare_account--> PreparedAccount --what_if / max_order_quantity-->
    new snapshot --update_engine--> IntradayUpdate (revalue changed rows only) --> rebase accounts

Public names are imported lazily so that ``import spanlike.batch`` does not start numba.
"""

from __future__ import annotations

from spanlike._lazy import lazy_exports


_LAZY = {
    "PreparedEngine": "spanlike.batch.prepared",
    "PackedEngine": "spanlike.batch.prepared",
    "prepare_engine": "spanlike.batch.prepared",
    "pack_universe": "spanlike.batch.prepared",
    "AccountBook": "spanlike.batch.accounts",
    "PositionRecord": "spanlike.batch.accounts",
    "read_positions_csv": "spanlike.batch.accounts",
    "read_equity_csv": "spanlike.batch.accounts",
    "build_account_book": "spanlike.batch.accounts",
    "equity_usd": "spanlike.batch.accounts",
    "BatchResult": "spanlike.batch.batch",
    "BatchSummary": "spanlike.batch.batch",
    "AccountMargin": "spanlike.batch.batch",
    "margin_batch": "spanlike.batch.batch",
    "scan_risk_batch": "spanlike.batch.batch",
    "account_detail": "spanlike.batch.batch",
    "COMPONENT_NAMES": "spanlike.batch.batch",
    "PreparedAccount": "spanlike.batch.whatif",
    "Order": "spanlike.batch.whatif",
    "WhatIfResult": "spanlike.batch.whatif",
    "MaxQuantityResult": "spanlike.batch.whatif",
    "prepare_account": "spanlike.batch.whatif",
    "IntradayUpdate": "spanlike.batch.intraday",
    "update_engine": "spanlike.batch.intraday",
    "margin_batch_dask": "spanlike.batch.dask_backend",
    "margin_parquet_dask": "spanlike.batch.dask_backend",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports('spanlike.batch', globals(), _LAZY)
