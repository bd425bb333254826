"""The batch on Dask: partitions of accounts margined on workers against broadcast risk arrays.

Optional extra ``spanlike[dask]`` (``dask[distributed]``). The prepared
engine travels once per worker as its two packed buffers
(:attr:`spanlike.batch.prepared.PackedEngine.fbuf` / ``ibuf``, scattered
with ``broadcast=True``); each task receives one partition of the CSR account
arrays and runs the same numba kernel as :func:`spanlike.batch.margin_batch`,
serially (one thread per task, parallelism comes from the workers). Each
account's margin depends only on its own positions, so the result equals
the in-process run bit for bit, whatever the partitioning.

:func:`margin_parquet_dask` goes one step further for books too large for
one machine's memory: the workers read the positions straight from parquet
files (one partition per file, or per row group of a file with several) and
build their partition's account book themselves; the client reads only the
files' footers, the distinct instrument and account names the workers
report, and the equity (one number per account, like the result).
"""

from __future__ import annotations

import copyreg
import io
import pickle
import types
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.batch import kernels as K
from spanlike.batch import layout as L
from spanlike.batch.accounts import AccountBook
from spanlike.batch.batch import BatchResult, result_from_totals
from spanlike.batch.prepared import PreparedEngine
from spanlike.universe import MAX_POSITION_NOTIONAL_USD
from spanlike.errors import InputFileError, InvalidInputError

__all__ = ["margin_batch_dask", "margin_partition", "margin_parquet_dask", "parquet_partitions"]


def margin_partition(
    fbuf: NDArray[np.float64],
    ibuf: NDArray[np.int64],
    part: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], int],
    cross_commodity: bool,
    components: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Margin one partition ``(offsets, rows, quantity, max positions)`` on a worker.

    Returns the kernel totals (n, N_TOT) and, if asked, the components.
    """
    from spanlike.batch.prepared import packed_from_buffers

    offsets, rows, quantity, k_max = part
    pk = packed_from_buffers(fbuf, ibuf)
    n = offsets.shape[0] - 1
    totals = np.empty((n, L.N_TOT))
    comps = np.empty((n, pk.n_commodities, L.N_COMP)) if components else np.empty((0, 0, L.N_COMP))
    K._batch_kernel(offsets, rows, quantity, *pk.kernel_args(), 1 if cross_commodity else 0, k_max,
                    bool(components), totals, comps, K.sub_book_switch(pk.glob_i))
    return totals, (comps if components else None)


def _client(client: Any, scheduler: str | None) -> tuple[Any, bool]:
    try:
        import distributed
    except ModuleNotFoundError:
        raise InvalidInputError(
            "Margining on Dask needs dask[distributed], which is not installed: pip install 'spanlike[dask]'."
        ) from None
    if client is not None:
        return client, False
    if scheduler is None:
        raise InvalidInputError("Give a Dask client or a scheduler address (e.g. tcp://10.0.0.5:8786).")
    try:
        return distributed.Client(scheduler, timeout="30s"), True
    except (OSError, TimeoutError) as err:
        raise InvalidInputError(
            f"Cannot connect to the Dask scheduler at {scheduler!r}: {err}. Check the address and that it runs."
        ) from None


def margin_batch_dask(
    engine: PreparedEngine,
    book: AccountBook,
    *,
    client: Any = None,
    scheduler: str | None = None,
    partitions: int | None = None,
    equity_usd: NDArray[np.float64] | None = None,
    components: bool = False,
    cross_commodity: bool = True,
    progress: Callable[[int, int], None] | None = None,
    timeout_s: float | None = None,
) -> BatchResult:
    """:func:`spanlike.batch.margin_batch` on a Dask cluster.

    Parameters
    ----------
    engine : PreparedEngine
    book : AccountBook
    client : distributed.Client, optional
        An existing client; otherwise ``scheduler`` is connected to (and closed after).
    scheduler : str, optional
        Scheduler address, e.g. ``"tcp://127.0.0.1:8786"``.
    partitions : int, optional
        Number of account partitions (default: 4 per worker, at least 1).
    equity_usd, components, cross_commodity
        As in :func:`spanlike.batch.margin_batch`.
    progress : callable, optional
        ``progress(accounts_done, accounts_total)`` after each partition.
    timeout_s : float, optional
        Give up waiting for results after this many seconds (``TimeoutError``).

    Returns
    -------
    BatchResult
        Identical to the in-process result.

    Raises
    ------
    InvalidInputError
        dask[distributed] missing, no client or scheduler, an unreachable
        scheduler, a bad partition count.
    """
    dask_client, owned = _client(client, scheduler)
    try:
        import distributed

        n = len(book)
        if partitions is None:
            n_workers = max(1, len(dask_client.scheduler_info().get("workers", {})))
            partitions = 4 * n_workers
        if partitions < 1:
            raise InvalidInputError(f"'partitions' must be >= 1. Got {partitions!r}.")
        parts = max(1, min(partitions, n))
        bounds = np.linspace(0, n, parts + 1).round().astype(np.int64)
        pk = engine.packed
        # hash=False: unique keys per call, so a later call never shares (and loses) an earlier one's data.
        fbuf_f, ibuf_f = dask_client.scatter([pk.fbuf, pk.ibuf], broadcast=True, hash=False)
        spans = [(lo, hi) for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()) if hi > lo]
        payloads = []
        for lo, hi in spans:
            part = book.slice(lo, hi)
            payloads.append((part.offsets, part.rows, part.quantity, part.max_positions))
        # Partitions travel as scattered data, not inside the task graph.
        part_f = dask_client.scatter(payloads, hash=False)
        futures = []
        sizes = {}
        for (lo, hi), pf in zip(spans, part_f):
            fut = dask_client.submit(margin_partition, fbuf_f, ibuf_f, pf, cross_commodity, components, pure=False)
            futures.append((lo, hi, fut))
            sizes[fut.key] = hi - lo
        done = 0
        results: dict[Any, Any] = {}
        for fut in distributed.as_completed([f for _, _, f in futures], timeout=timeout_s):
            results[fut.key] = fut.result()
            done += sizes[fut.key]
            if progress is not None:
                progress(done, n)
        totals = np.empty((n, L.N_TOT))
        comps = np.empty((n, pk.n_commodities, L.N_COMP)) if components else None
        for lo, hi, fut in futures:
            t, c = results[fut.key]
            totals[lo:hi] = t
            if comps is not None:
                comps[lo:hi] = c
        return result_from_totals(engine, book, totals, comps, equity_usd)
    finally:
        if owned:
            dask_client.close()


# --- partitions read on the workers, straight from parquet ------------------------------------------

def parquet_partitions(path: str | Path | Sequence[str | Path]) -> list[tuple[str, int | None]]:
    """``(file, row group)`` of every partition of parquet input, in file order (footers only).

    Parameters
    ----------
    path : str, Path, or sequence of them
        A parquet file, a folder of ``*.parquet`` files (sorted by name), or
        a list of files.

    Returns
    -------
    list of (str, int or None)
        One partition per row group of a file with several, else per file
        (row group None: the whole file).

    Raises
    ------
    InputFileError
        A missing or unreadable file, a folder without parquet files.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(path, (str, Path)):
        p = Path(path)
        files = sorted([*p.glob("*.parquet"), *p.glob("*.pq")]) if p.is_dir() else [p]
        if not files:
            raise InputFileError(f"Positions folder {p} holds no .parquet files. Give a parquet file or a folder of them.")
    else:
        files = [Path(f) for f in path]
        if not files:
            raise InputFileError("Give at least one positions parquet file.")
    parts: list[tuple[str, int | None]] = []
    for f in files:
        try:
            with pq.ParquetFile(f) as handle:
                groups = handle.metadata.num_row_groups
        except OSError as err:
            raise InputFileError(f"Positions file {f} cannot be read: {err.strerror or err}. Check the path.") from None
        except (pa.ArrowInvalid, pa.ArrowException) as err:
            raise InputFileError(f"Positions file {f} is not a readable parquet file: {err}. Check the file.") from None
        parts.extend([(str(f), g) for g in range(groups)] if groups > 1 else [(str(f), None)])
    return parts


def _mapping_proxy(mapping: dict[Any, Any]) -> types.MappingProxyType:  # type: ignore[type-arg]
    return types.MappingProxyType(mapping)


def _engine_blob(engine: PreparedEngine) -> bytes:
    """The engine pickled; its market's read-only mappings travel as dicts and are wrapped again on load."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.dispatch_table = {**copyreg.dispatch_table,  # type: ignore[attr-defined]
                              types.MappingProxyType: lambda m: (_mapping_proxy, (dict(m),))}
    pickler.dump(engine)
    return buf.getvalue()


#: The engine each worker process unpickled last, by token: one unpickling per worker, not per task.
_WORKER_ENGINE: dict[str, PreparedEngine] = {}


def _worker_engine(token: str, blob: bytes) -> PreparedEngine:
    engine = _WORKER_ENGINE.get(token)
    if engine is None:
        engine = pickle.loads(blob)
        _WORKER_ENGINE.clear()
        _WORKER_ENGINE[token] = engine
    return engine


def _part_text(part: tuple[str, int | None]) -> str:
    return part[0] if part[1] is None else f"{part[0]} row group {part[1]}"


def _read_part(path: str, row_group: int | None) -> Any:
    """One partition's position rows (a PositionTable kept on the worker)."""
    from spanlike.batch.accounts import read_positions

    return read_positions(path, row_group=row_group)


def _part_names(table: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Distinct instrument and account names of one partition (what the client needs)."""
    return table.instrument_names, table.account_names


def _margin_part(
    token: str, blob: bytes, table: Any, cross_commodity: bool, components: bool, max_notional_usd: float | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Build one partition's book on the worker and margin it, serially, as :func:`spanlike.batch.margin_batch`."""
    from spanlike.batch.accounts import build_account_book
    from spanlike.batch.batch import _check_notional, run_kernel

    engine = _worker_engine(token, blob)
    book = build_account_book(table, engine=engine)
    _check_notional(engine, book, max_notional_usd)
    totals, comps = run_kernel(engine, book, components=components, cross_commodity=cross_commodity, parallel=False)
    return totals, comps


def margin_parquet_dask(
    positions: str | Path | Sequence[str | Path],
    *,
    market: Any,
    parameter_set: Any,
    client: Any = None,
    scheduler: str | None = None,
    equity: Any = None,
    components: bool = False,
    cross_commodity: bool = True,
    progress: Callable[[int, int], None] | None = None,
    timeout_s: float | None = None,
) -> BatchResult:
    """Margin parquet position files on a Dask cluster, each partition read and booked on a worker.

    Parameters
    ----------
    positions : str, Path, or sequence of them
        Parquet file(s) or a folder of them with columns
        ``account,instrument,quantity[,unit]`` (:func:`parquet_partitions`).
        Every account's rows must lie in one partition (one file, or one
        row group): rows of one account in two partitions are refused, as
        they would not net together.
    market : MarketSnapshot
    parameter_set : ParameterSet or str
    client, scheduler
        As in :func:`margin_batch_dask`.
    equity : EquityTable, mapping, path, or None
        Equity rows (:func:`spanlike.batch.accounts.read_equity`), read in
        the client: one amount per account, like the result itself.
    components, cross_commodity, progress, timeout_s
        As in :func:`margin_batch_dask` (progress counts accounts).

    Returns
    -------
    BatchResult
        Identical to reading the same rows in one process and calling
        :func:`spanlike.batch.margin_batch` (accounts in order of first
        appearance, partition after partition).

    Raises
    ------
    InputFileError
        A bad file or row (file and row named; with several partitions
        holding a bad row, the first partition's).
    InvalidInputError
        An account in two partitions, no client or scheduler.
    UnknownInstrumentError, InvalidPositionError, MissingMarketDataError
        As the in-process batch.

    Notes
    -----
    The client never holds the positions: workers read them and keep each
    partition's table until they margin it; the engine (risk arrays once,
    prepared in the client from the names the workers found) travels once
    to each worker.
    """
    import uuid

    from spanlike.batch.accounts import equity_usd, read_equity
    from spanlike.batch.prepared import prepare_engine

    parts = parquet_partitions(positions)
    dask_client, owned = _client(client, scheduler)
    try:
        import distributed

        tables = [dask_client.submit(_read_part, f, g, pure=False) for f, g in parts]
        names = [dask_client.submit(_part_names, t, pure=False) for t in tables]
        # In partition order, so the first partition with a bad row is the one named.
        found = [f.result(timeout=timeout_s) for f in names]
        instruments: dict[str, None] = {}
        owner: dict[str, int] = {}
        for k, (ins, accs) in enumerate(found):
            instruments.update(dict.fromkeys(ins))
            for a in accs:
                j = owner.setdefault(a, k)
                if j != k:
                    raise InvalidInputError(
                        f"Account {a!r} has rows in two partitions ({_part_text(parts[j])} and "
                        f"{_part_text(parts[k])}); its positions "
                        "would not net together. Keep each account's rows in one file and row group (sort the "
                        "rows by account before writing), or run without --scheduler."
                    )
        engine = prepare_engine(instruments=list(instruments), market=market, parameter_set=parameter_set,
                                parallel=len(instruments) > 10_000)
        accounts = tuple(owner)
        book = AccountBook(accounts=accounts, offsets=np.zeros(len(accounts) + 1, dtype=np.int64),
                           rows=np.zeros(0, dtype=np.int64), quantity=np.zeros(0), notes={})
        eq = None
        if equity is not None:
            source = read_equity(equity) if isinstance(equity, (str, Path)) else equity
            eq = equity_usd(source, book=book, index_prices=market.index_prices, where=str(equity)
                            if isinstance(equity, (str, Path)) else "equity")
        token = uuid.uuid4().hex
        [blob] = dask_client.scatter([_engine_blob(engine)], broadcast=True, hash=False)
        futures = [dask_client.submit(_margin_part, token, blob, t, cross_commodity, components,
                                      MAX_POSITION_NOTIONAL_USD, pure=False) for t in tables]
        del tables  # the futures above keep each partition's table alive until it is margined
        sizes = {f.key: len(accs) for f, (_, accs) in zip(futures, found)}
        n = len(accounts)
        done = 0
        for fut in distributed.as_completed(futures, timeout=timeout_s):
            if fut.status == "finished":
                done += sizes[fut.key]
                if progress is not None:
                    progress(done, n)
        totals = np.empty((n, L.N_TOT))
        comps = np.empty((n, engine.packed.n_commodities, L.N_COMP)) if components else None
        lo = 0
        for fut, (_, accs) in zip(futures, found):
            t, c = fut.result()  # in partition order: the first partition's error is the one raised
            hi = lo + len(accs)
            totals[lo:hi] = t
            if comps is not None:
                comps[lo:hi] = c
            lo = hi
        return result_from_totals(engine, book, totals, comps, eq)
    finally:
        if owned:
            dask_client.close()
