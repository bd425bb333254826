"""The batch on Dask: partitions of accounts margined on workers against broadcast risk arrays.

Optional extra ``spanlike[dask]`` (``dask[distributed]``). The prepared
engine travels once per worker as its two packed buffers
(:attr:`spanlike.batch.prepared.PackedEngine.fbuf` / ``ibuf``, scattered
with ``broadcast=True``); each task receives one partition of the CSR account
arrays and runs the same numba kernel as :func:`spanlike.batch.margin_batch`,
serially (one thread per task, parallelism comes from the workers). Each
account's margin depends only on its own positions, so the result equals
the in-process run bit for bit, whatever the partitioning.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from spanlike.batch import kernels as K
from spanlike.batch import layout as L
from spanlike.batch.accounts import AccountBook
from spanlike.batch.batch import BatchResult, result_from_totals
from spanlike.batch.prepared import PreparedEngine
from spanlike.errors import InvalidInputError

__all__ = ["margin_batch_dask", "margin_partition"]


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
                    bool(components), totals, comps)
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
