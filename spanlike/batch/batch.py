"""Batch margining: many accounts against one prepared engine, in numba, parallel over accounts.

Per account the full pipeline of :func:`spanlike.engine.margin_positions`
runs in :mod:`spanlike.batch.kernels` (scan risk, paired decomposition, intra
spreads, delivery, SOM, NOV, inter-commodity credits, exchange-style offsets,
dampener, roll and delta shock, correlation offsets, IM/MM), with the same
summation order, so results equal the reference to the last bit in practice
(the tests hold them to 1e-9 relative).

Status of an account with equity ``E`` (USD): ``"liquidation"`` if
``E < MM``, else ``"margin call"`` if ``E < IM``, else ``"ok"``; excess =
``E - IM`` (negative: deficit). Without equity (``equity_usd=None``) the
status is ``"n/a"``: a batch run for margins alone must not report every
account as in liquidation.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from numpy.typing import NDArray

from spanlike.batch import kernels as K
from spanlike.batch import layout as L
from spanlike.universe import MAX_POSITION_NOTIONAL_USD
from spanlike.batch.accounts import AccountBook
from spanlike.batch.prepared import PreparedEngine
from spanlike.errors import InputFileError, InvalidInputError, InvalidPositionError, NumericalError

__all__ = [
    "AccountMargin",
    "BatchResult",
    "BatchSummary",
    "margin_batch",
    "scan_risk_batch",
    "account_detail",
    "STATUS_NAMES",
    "COMPONENT_NAMES",
]

STATUS_OK, STATUS_MARGIN_CALL, STATUS_LIQUIDATION, STATUS_NA = 0, 1, 2, 3
STATUS_NAMES = ("ok", "margin call", "liquidation", "n/a")
COMPONENT_NAMES = L.COMPONENT_NAMES
#: Accounts per parallel work item: large enough to amortise scratch allocation, small enough to balance threads.
DEFAULT_CHUNK = 512

Status = Literal["ok", "margin call", "liquidation", "n/a"]
#: Components that are flags (written as booleans) and the worst scenario (an index, -1 if absent).
_FLAG_COMPONENTS = ("present", "short_option_minimum_binding")
#: Components without a unit: the directional share in [-1, 1].
_UNITLESS_COMPONENTS = ("direction",)


@dataclass(frozen=True)
class AccountMargin:
    """One account's batch result (amounts in USD).

    Attributes
    ----------
    account : str
    initial_margin_usd, maintenance_margin_usd : float
    equity_usd : float or None
        None when the batch was run without equity.
    excess_usd : float or None
        ``equity - IM`` (negative = deficit); None without equity.
    status : {"ok", "margin call", "liquidation", "n/a"}
    worst_commodity : str
        Combined commodity with the largest requirement ('' without positions).
    worst_scenario : str
        Label of that commodity's worst scenario ('' without positions).
    worst_scenario_index : int
        0-based, -1 without positions.
    """

    account: str
    initial_margin_usd: float
    maintenance_margin_usd: float
    equity_usd: float | None
    excess_usd: float | None
    status: Status
    worst_commodity: str
    worst_scenario: str
    worst_scenario_index: int


@dataclass(frozen=True)
class BatchSummary:
    """Totals over a batch (USD)."""

    accounts: int
    initial_margin_usd: float
    maintenance_margin_usd: float
    equity_usd: float
    margin_calls: int
    liquidations: int
    equity_given: bool = True

    def format(self) -> str:
        """One readable paragraph."""
        if not self.equity_given:
            return (
                f"{self.accounts:,} accounts: initial margin {self.initial_margin_usd:,.2f} USD, maintenance margin "
                f"{self.maintenance_margin_usd:,.2f} USD; no equity given, so no status (n/a)"
            )
        return (
            f"{self.accounts:,} accounts: initial margin {self.initial_margin_usd:,.2f} USD, maintenance margin "
            f"{self.maintenance_margin_usd:,.2f} USD, equity {self.equity_usd:,.2f} USD; "
            f"{self.margin_calls:,} in margin call, {self.liquidations:,} in liquidation"
        )


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Margin of many accounts (arrays aligned with :attr:`accounts`; amounts USD).

    Attributes
    ----------
    accounts : tuple of str, length n
    parameter_set : str
    valuation_time : datetime
    commodity_names : tuple of str
        Combined commodities of the universe (axis 1 of :attr:`components`).
    initial_margin_usd, maintenance_margin_usd, requirement_usd : ndarray, shape (n,)
    sum_of_requirements_usd, correlation_offset_usd : ndarray, shape (n,)
    joint_move_floor_usd, joint_move_addon_usd : ndarray, shape (n,)
        The cross level's joint-move floor and what it added
        (:class:`spanlike.results.MarginResult`); 0 where the set has no floor.
    joint_move_scenario : ndarray of int64, shape (n,)
        Index into :data:`spanlike.methodology.joint_move.JOINT_LABELS` of the
        floor's joint scenario, -1 where none applies.
    equity_usd : ndarray, shape (n,)
        Zeros when the batch was run without equity (:attr:`equity_given` False).
    equity_given : bool
        False: no equity was given; status is "n/a" and outputs leave equity
        and excess empty.
    worst_commodity : ndarray of int64, shape (n,)
        Index into :attr:`commodity_names` of the commodity with the largest
        requirement in USD (first on ties), -1 for an account without positions.
    worst_scenario : ndarray of int64, shape (n,)
        That commodity's worst scenario, -1 without positions.
    scenario_labels : tuple of tuple of str
        Scenario labels of each commodity (axis 1 of :attr:`components`), by scenario index.
    worst_scenario_labels : tuple of str, length n
        The label of :attr:`worst_scenario` per account ("" without positions);
        built on first access.
    components : ndarray, shape (n, n_cc, len(COMPONENT_NAMES)) or None
        Per account and commodity, in the settlement currency (flags as 0/1,
        the worst scenario as a float index, -1 if absent); only when asked for.
    """

    accounts: tuple[str, ...]
    parameter_set: str
    valuation_time: dt.datetime
    commodity_names: tuple[str, ...]
    initial_margin_usd: NDArray[np.float64]
    maintenance_margin_usd: NDArray[np.float64]
    requirement_usd: NDArray[np.float64]
    sum_of_requirements_usd: NDArray[np.float64]
    correlation_offset_usd: NDArray[np.float64]
    equity_usd: NDArray[np.float64]
    worst_commodity: NDArray[np.int64]
    worst_scenario: NDArray[np.int64]
    scenario_labels: tuple[tuple[str, ...], ...]
    components: NDArray[np.float64] | None = None
    joint_move_floor_usd: NDArray[np.float64] | None = None
    joint_move_addon_usd: NDArray[np.float64] | None = None
    joint_move_scenario: NDArray[np.int64] | None = None
    equity_given: bool = True
    commodity_units: tuple[tuple[str, str], ...] = ()

    @cached_property
    def worst_scenario_labels(self) -> tuple[str, ...]:
        """The label of :attr:`worst_scenario` per account, "" for an account without positions."""
        # One object-array gather (a Python loop over 10^5 accounts costs milliseconds); an extra
        # row of "" serves accounts without positions (commodity -1). Lazy: most batch runs only
        # need the amounts, and building 10^5 strings is 2 ms of a 60 ms batch.
        width = max([len(x) for x in self.scenario_labels] + [1])
        table = np.full((len(self.scenario_labels) + 1, width), "", dtype=object)
        for c, names in enumerate(self.scenario_labels):
            table[c, :len(names)] = names
        held = self.worst_commodity >= 0
        rows = np.where(held, self.worst_commodity, len(self.scenario_labels))
        return tuple(table[rows, np.where(held, self.worst_scenario, 0)].tolist())

    def __len__(self) -> int:
        return len(self.accounts)

    @property
    def excess_usd(self) -> NDArray[np.float64]:
        """``equity - IM`` per account (negative = deficit)."""
        return self.equity_usd - self.initial_margin_usd

    @property
    def status_code(self) -> NDArray[np.int8]:
        """0 ok, 1 margin call (equity < IM), 2 liquidation (equity < MM), 3 n/a (no equity given)."""
        if not self.equity_given:
            return np.full(len(self), STATUS_NA, dtype=np.int8)
        code = np.where(self.equity_usd < self.initial_margin_usd, STATUS_MARGIN_CALL, STATUS_OK)
        code = np.where(self.equity_usd < self.maintenance_margin_usd, STATUS_LIQUIDATION, code)
        return code.astype(np.int8)

    def account(self, account: str) -> AccountMargin:
        """The result of one account (:class:`spanlike.errors.UnknownAccountError` if absent)."""
        try:
            a = self.accounts.index(account)
        except ValueError:
            from spanlike.errors import UnknownAccountError

            raise UnknownAccountError(f"Account {account!r} is not in this batch ({len(self)} accounts).") from None
        c = int(self.worst_commodity[a])
        return AccountMargin(
            account=account,
            initial_margin_usd=float(self.initial_margin_usd[a]),
            maintenance_margin_usd=float(self.maintenance_margin_usd[a]),
            equity_usd=float(self.equity_usd[a]) if self.equity_given else None,
            excess_usd=float(self.excess_usd[a]) if self.equity_given else None,
            status=STATUS_NAMES[int(self.status_code[a])],  # type: ignore[arg-type]
            worst_commodity=self.commodity_names[c] if c >= 0 else "",
            worst_scenario=self.worst_scenario_labels[a],
            worst_scenario_index=int(self.worst_scenario[a]),
        )

    def component(self, name: str) -> NDArray[np.float64]:
        """One component for every account and commodity, shape (n, n_cc), settlement currency.

        Raises
        ------
        InvalidInputError
            Components were not computed (``margin_batch(..., components=True)``) or the name is unknown.
        """
        if self.components is None:
            raise InvalidInputError("This batch was run without components; pass components=True to margin_batch.")
        if name not in COMPONENT_NAMES:
            raise InvalidInputError(f"Unknown component {name!r}; choose one of {', '.join(COMPONENT_NAMES)}.")
        return self.components[:, :, COMPONENT_NAMES.index(name)]

    def summary(self) -> BatchSummary:
        """Totals and counts of margin calls and liquidations."""
        code = self.status_code
        return BatchSummary(
            accounts=len(self),
            initial_margin_usd=float(self.initial_margin_usd.sum()),
            maintenance_margin_usd=float(self.maintenance_margin_usd.sum()),
            equity_usd=float(self.equity_usd.sum()),
            margin_calls=int((code == STATUS_MARGIN_CALL).sum()),
            liquidations=int((code == STATUS_LIQUIDATION).sum()),
            equity_given=self.equity_given,
        )

    def component_columns(self) -> list[tuple[str, int, int, str]]:
        """``(column name, commodity, component, kind)`` of every per-commodity output column.

        Names carry the unit: ``BTC.scan_risk_btc`` (settlement currency),
        ``BTC_USDC.net_delta_btc`` (underlying units), ``BTC.present`` and
        ``BTC.short_option_minimum_binding`` (booleans),
        ``BTC.worst_scenario_index`` (0-based, -1 if absent), ``BTC.direction``
        (share in [-1, 1]). ``kind`` is "float", "bool" or "int".
        """
        out = []
        for c, cc in enumerate(self.commodity_names):
            settle, under = self.commodity_units[c] if self.commodity_units else ("", "")
            for k, comp in enumerate(COMPONENT_NAMES):
                if comp in _FLAG_COMPONENTS:
                    out.append((f"{cc}.{comp}", c, k, "bool"))
                elif comp == "worst_scenario":
                    out.append((f"{cc}.worst_scenario_index", c, k, "int"))
                elif comp in _UNITLESS_COMPONENTS:
                    out.append((f"{cc}.{comp}", c, k, "float"))
                elif comp == "net_delta":
                    out.append((f"{cc}.net_delta_{under.lower()}", c, k, "float"))
                else:
                    out.append((f"{cc}.{comp}_{settle.lower()}", c, k, "float"))
        return out

    def to_arrow(self) -> Any:
        """The output table (pyarrow): one row per account, the columns every writer writes.

        Columns: ``account``, ``initial_margin_usd``, ``maintenance_margin_usd``,
        ``equity_usd`` and ``excess_usd`` (null without equity), ``status``,
        ``worst_commodity``, ``worst_scenario``, ``requirement_usd``,
        ``correlation_offset_usd``, the joint-move floor and add-on where the
        set has one, then :meth:`component_columns` when computed.
        """
        import pyarrow as pa

        n = len(self)
        code = self.status_code
        status = pa.DictionaryArray.from_arrays(pa.array(code.astype(np.int32)), pa.array(list(STATUS_NAMES)))
        names = pa.array(list(self.commodity_names) + [""], type=pa.string())
        worst_cc = np.where(self.worst_commodity >= 0, self.worst_commodity, len(self.commodity_names))
        no_equity = None if self.equity_given else np.ones(n, dtype=bool)
        cols: dict[str, Any] = {
            "account": pa.array(self.accounts, type=pa.string()),
            "initial_margin_usd": pa.array(self.initial_margin_usd),
            "maintenance_margin_usd": pa.array(self.maintenance_margin_usd),
            "equity_usd": pa.array(self.equity_usd, mask=no_equity),
            "excess_usd": pa.array(self.excess_usd, mask=no_equity),
            "status": status.cast(pa.string()),
            "worst_commodity": names.take(pa.array(worst_cc)),
            "worst_scenario": pa.array(self.worst_scenario_labels, type=pa.string()),
            "requirement_usd": pa.array(self.requirement_usd),
            "correlation_offset_usd": pa.array(self.correlation_offset_usd),
        }
        if self.joint_move_addon_usd is not None:
            cols["joint_move_floor_usd"] = pa.array(self.joint_move_floor_usd)
            cols["joint_move_addon_usd"] = pa.array(self.joint_move_addon_usd)
        if self.components is not None:
            for name, c, k, kind in self.component_columns():
                v = self.components[:, c, k]
                cols[name] = pa.array(v != 0.0 if kind == "bool" else v.astype(np.int64) if kind == "int" else v)
        return pa.table(cols)

    def to_frame(self) -> Any:
        """:meth:`to_arrow` as a pandas DataFrame (the optional extra ``spanlike[frame]``).

        The columns of the CSV, parquet and JSON Lines outputs, with their
        units in the names: amounts ``*_usd`` in USD, ``status`` one of
        ``ok``, ``margin call``, ``liquidation``, ``n/a``; ``equity_usd`` and
        ``excess_usd`` NaN without equity; per-commodity components (with
        ``components=True``) named ``BTC.scan_risk_btc`` (settlement
        currency), ``BTC.net_delta_btc`` (underlying units), booleans for the
        flags (:meth:`component_columns`).

        Raises
        ------
        FrameUnavailableError
            pandas is not installed.
        """
        from spanlike.results import pandas_module

        pandas_module()
        return self.to_arrow().to_pandas()

    def columns(self) -> dict[str, Any]:
        """Output columns (name -> numpy array; strings as object arrays, None where empty)."""
        table = self.to_arrow()
        return {name: table.column(name).to_numpy() for name in table.column_names}

    def write(self, path: str | Path) -> None:
        """Write :meth:`to_arrow` to ``.csv``, ``.parquet`` or ``.jsonl`` (:func:`spanlike.batch.io.write_table`).

        Raises
        ------
        InputFileError
            Another suffix, a missing directory or a directory as the path.
        """
        from spanlike.batch.io import check_output_path, write_table

        write_table(self.to_arrow(), check_output_path(path))


def _threads_chunk(n_accounts: int, chunk: int | None) -> int:
    if chunk is not None:
        if chunk < 1:
            raise InvalidInputError(f"'chunk' must be a positive number of accounts. Got {chunk!r}.")
        return chunk
    return DEFAULT_CHUNK


def _kernel_book(book: AccountBook, engine: PreparedEngine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(book, AccountBook):
        raise InvalidInputError(f"'book' must be an AccountBook (build_account_book). Got {type(book).__name__}.")
    if book.rows.size and int(book.rows.max()) >= engine.packed.n_rows:
        raise InvalidInputError(
            f"The book refers to universe row {int(book.rows.max())} but the engine has {engine.packed.n_rows} rows; "
            "build the book against this engine."
        )
    return (np.ascontiguousarray(book.offsets, dtype=np.int64), np.ascontiguousarray(book.rows, dtype=np.int64),
            np.ascontiguousarray(book.quantity, dtype=np.float64))


def run_kernel(
    engine: PreparedEngine,
    book: AccountBook,
    *,
    components: bool,
    cross_commodity: bool,
    parallel: bool,
    chunk: int | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Raw kernel call: ``totals`` (n, N_TOT) and optional ``components`` (n, n_cc, N_COMP)."""
    offsets, rows, qty = _kernel_book(book, engine)
    n = len(book)
    pk = engine.packed
    totals = np.empty((n, L.N_TOT))
    comps = np.empty((n, pk.n_commodities, L.N_COMP)) if components else np.empty((0, 0, L.N_COMP))
    args = (offsets, rows, qty, *pk.kernel_args(), 1 if cross_commodity else 0, book.max_positions,
            bool(components), totals, comps, K.sub_book_switch(pk.glob_i))
    if parallel:
        K._batch_kernel_parallel(*args, _threads_chunk(n, chunk))
    else:
        K._batch_kernel(*args)
    if not np.isfinite(totals[:, :L.T_MM + 1]).all():
        a = int(np.flatnonzero(~np.isfinite(totals[:, :L.T_MM + 1]).all(axis=1))[0])
        raise NumericalError(
            f"The margin of account {book.accounts[a]!r} is not finite for valid inputs; please report the book."
        )
    return totals, (comps if components else None)


def result_from_totals(
    engine: PreparedEngine,
    book: AccountBook,
    totals: NDArray[np.float64],
    components: NDArray[np.float64] | None,
    equity: NDArray[np.float64] | None,
) -> BatchResult:
    """Wrap kernel output into a :class:`BatchResult`."""
    worst_cc = totals[:, L.T_WORST_CC].astype(np.int64)
    worst_scen = totals[:, L.T_WORST_SCEN].astype(np.int64)
    given = equity is not None
    eq = np.zeros(len(book)) if equity is None else np.asarray(equity, dtype=np.float64)
    if eq.shape != (len(book),):
        raise InvalidInputError(
            f"'equity_usd' must hold one amount per account: shape ({len(book)},). Got shape {eq.shape}."
        )
    bad = np.flatnonzero(~np.isfinite(eq))
    if bad.size:
        a = int(bad[0])
        raise InvalidInputError(
            f"The equity of account {book.accounts[a]!r} is {eq[a]!r} USD; it must be a finite amount. "
            "Check that account's amounts and currencies in the equity file."
        )
    return BatchResult(
        accounts=book.accounts,
        parameter_set=engine.parameter_set.label,
        valuation_time=engine.universe.table.valuation_time,
        commodity_names=engine.commodity_names,
        initial_margin_usd=totals[:, L.T_IM].copy(),
        maintenance_margin_usd=totals[:, L.T_MM].copy(),
        requirement_usd=totals[:, L.T_REQ].copy(),
        sum_of_requirements_usd=totals[:, L.T_SUM].copy(),
        correlation_offset_usd=totals[:, L.T_OFFSET].copy(),
        joint_move_floor_usd=totals[:, L.T_FLOOR].copy(),
        joint_move_addon_usd=totals[:, L.T_ADDON].copy(),
        joint_move_scenario=totals[:, L.T_JOINT].astype(np.int64),
        equity_usd=eq,
        worst_commodity=worst_cc,
        worst_scenario=worst_scen,
        scenario_labels=tuple(tuple(r.scenarios.labels) for r in engine.universe.commodities),
        components=components,
        equity_given=given,
        commodity_units=tuple((r.commodity.settlement_currency, r.commodity.underlying)
                              for r in engine.universe.commodities),
    )


def _check_notional(engine: PreparedEngine, book: AccountBook, bound: float | None) -> None:
    """Refuse a position past ``bound`` USD of notional, as the single-account path does (one compiled pass)."""
    if bound is None or book.rows.size == 0:
        return
    table = engine.universe.table
    rows = book.rows
    # One fused pass (24 ms of numpy temporaries on 5 million positions before).
    p = int(K._first_implausible(np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(book.quantity,
                                 dtype=np.float64), np.ascontiguousarray(table.contracts.multiplier, dtype=np.float64),
                                 np.ascontiguousarray(table.index_price, dtype=np.float64), float(bound)))
    if p >= 0:
        notional = abs(float(book.quantity[p])) * float(table.contracts.multiplier[rows[p]]) * float(
            table.index_price[rows[p]])
        account = book.accounts[int(np.searchsorted(book.offsets, p, side="right")) - 1]
        ins = table.instruments[int(rows[p])]
        hint = (" A coin-settled future sized in coins: did you mean unit 'usd'?"
                if ins.is_inverse and not ins.is_option else "")
        raise InvalidPositionError(
            f"Account {account!r}: {ins.name} with quantity {float(book.quantity[p])!r} is a notional of "
            f"{notional:,.0f} USD, beyond the plausible {bound:,.0f} USD per position.{hint} To margin it "
            "on purpose, pass max_notional_usd=None (or a larger bound)."
        )


def margin_batch(
    engine: PreparedEngine,
    book: AccountBook,
    *,
    equity_usd: NDArray[np.float64] | None = None,
    components: bool = False,
    cross_commodity: bool = True,
    parallel: bool = True,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_notional_usd: float | None = MAX_POSITION_NOTIONAL_USD,
) -> BatchResult:
    """Initial and maintenance margin of every account of ``book``.

    Parameters
    ----------
    engine : PreparedEngine
        From :func:`spanlike.batch.prepare_engine`.
    book : AccountBook
        Built against ``engine`` (:func:`spanlike.batch.build_account_book`).
    equity_usd : ndarray, shape (n,), optional
        Equity per account in USD (:func:`spanlike.batch.equity_usd`). None:
        margins only, status "n/a" (an account with no equity given is not
        "in liquidation"; pass zeros for that).
    components : bool
        Also return every component per account and commodity (memory
        ``n x n_cc x 16`` floats).
    cross_commodity : bool
        False: no inter-commodity credits and no correlation offsets (as in
        :func:`spanlike.engine.margin_positions`).
    parallel : bool
        Threads over chunks of accounts (numba ``prange``; ``NUMBA_NUM_THREADS``).
    chunk : int, optional
        Accounts per parallel work item (default 512).
    progress : callable, optional
        ``progress(accounts_done, accounts_total)``, called after each of
        about 50 blocks (the batch then runs block by block).
    max_notional_usd : float or None
        Largest USD notional (``|coins| x index price``) of one position, as
        for a single account (:data:`spanlike.universe.MAX_POSITION_NOTIONAL_USD`);
        None margins any size on purpose.

    Returns
    -------
    BatchResult

    Raises
    ------
    InvalidInputError
        A book built for another engine, bad equity.
    InvalidPositionError
        A position past ``max_notional_usd`` (account, instrument, quantity, notional named).
    NumericalError
        A non-finite margin from valid inputs.
    """
    _check_notional(engine, book, max_notional_usd)
    if progress is None or len(book) == 0:
        totals, comps = run_kernel(engine, book, components=components, cross_commodity=cross_commodity,
                                   parallel=parallel, chunk=chunk)
        return result_from_totals(engine, book, totals, comps, equity_usd)
    n = len(book)
    bounds = np.unique(np.linspace(0, n, min(n, 50) + 1).round().astype(np.int64))
    t_parts, c_parts = [], []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        t, c = run_kernel(engine, book.slice(lo, hi), components=components, cross_commodity=cross_commodity,
                          parallel=parallel, chunk=chunk)
        t_parts.append(t)
        c_parts.append(c)
        progress(hi, n)
    comps_all = np.concatenate(c_parts) if components else None  # type: ignore[arg-type]
    return result_from_totals(engine, book, np.concatenate(t_parts), comps_all, equity_usd)


def scan_risk_batch(
    engine: PreparedEngine, book: AccountBook, *, parallel: bool = True, chunk: int | None = None
) -> NDArray[np.float64]:
    """Scan risk alone per account and commodity: ``max(0, max_j sum_i q_i R_ij)``.

    Returns
    -------
    ndarray, shape (n, n_cc)
        Settlement currency of each commodity; 0 where the account holds none.
    """
    offsets, rows, qty = _kernel_book(book, engine)
    pk = engine.packed
    out = np.empty((len(book), pk.n_commodities))
    row_cc = np.ascontiguousarray(pk.row_i[:, L.RI_CC])
    cc_m = np.ascontiguousarray(pk.cc_i[:, L.CI_M])
    if parallel:
        K._scan_kernel_parallel(offsets, rows, qty, pk.R, row_cc, cc_m, out, _threads_chunk(len(book), chunk))
    else:
        K._scan_kernel(offsets, rows, qty, pk.R, row_cc, cc_m, out)
    return out


def account_detail(engine: PreparedEngine, book: AccountBook, account: str, *, cross_commodity: bool = True) -> Any:
    """The full :class:`spanlike.results.MarginResult` of one account (spreads, contributions, scenarios).

    Runs the reference engine on the account's positions: the tree the batch
    summarises, for drill-down on request.
    """
    from spanlike.engine import margin_positions

    rows, qty = book.positions(account)
    return margin_positions(
        engine.universe, rows=rows.astype(np.intp), quantity=qty, account=account,
        notes=book.notes.get(account, ()), cross_commodity=cross_commodity,
    )


def default_threads() -> int:
    """Threads numba will use (``NUMBA_NUM_THREADS`` or the CPU count)."""
    return int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))
