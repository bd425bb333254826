"""The in-memory margin state of every account, rebuilt from the store on start.

Pipeline::

    store (legs, balances, fills, latest snapshot, parameter set)
        --prepare_engine--> PreparedEngine over every quoted instrument
        --build_account_book + margin_batch--> IM, MM, equity, status per account
    fill / positions / balances  --> prepare_account of that account --> status
    what-if                      --> PreparedAccount.what_if (no change)
    new snapshot --update_engine (changed instruments only)--> margin_batch of every account

Every change is computed first, written to the store in one transaction,
and only then applied in memory and published: a failed write changes
nothing. The service runs all of this inside its event loop without an
``await`` between reading and writing an account, so requests touching one
account are serialised: every state is one some serial order gives.

Status of an account (the batch rule): ``liquidation`` if equity < MM,
``margin call`` if equity < IM, else ``ok``; equity is the balances in USD
at the snapshot's index prices (USD and USDC at 1).

Pre-trade rule [our choice]: orders are accepted when the initial margin
after them is within equity, or when they do not raise the initial margin
(an order that reduces risk is never refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.service import core
from spanlike.service.core import errors
from spanlike.service.events import EventLog, utc_now
from spanlike.service.storage import Event, Snapshot, SqlStore

__all__ = ["AccountState", "ServiceState", "NotFound", "Conflict"]

Legs = dict[tuple[str, str], float]


class NotFound(errors.UnknownAccountError):
    """An account that does not exist (or that the key may not see): HTTP 404."""


class Conflict(errors.InvalidInputError):
    """A request that contradicts stored state (an existing account, a reused fill id): HTTP 409."""


@dataclass
class AccountState:
    """One account in memory (amounts USD; ``rows``/``qty`` in contract units at the current engine)."""

    account: str
    created_at: str
    legs: Legs
    balances: dict[str, float]
    fills: dict[str, tuple[str, str, float]]
    rows: NDArray[np.int64]
    qty: NDArray[np.float64]
    equity_usd: float = 0.0
    initial_margin_usd: float = 0.0
    maintenance_margin_usd: float = 0.0
    status: str = "ok"
    prepared: Any = None  # PreparedAccount, built on first use after each revaluation

    def summary(self) -> dict[str, Any]:
        """Plain JSON summary (amounts USD)."""
        return {
            "account": self.account,
            "status": self.status,
            "initial_margin_usd": self.initial_margin_usd,
            "maintenance_margin_usd": self.maintenance_margin_usd,
            "equity_usd": self.equity_usd,
            "excess_usd": self.equity_usd - self.initial_margin_usd,
            "positions": len(self.legs),
        }


@dataclass
class ServiceState:
    """Engine, accounts and event log of one service process."""

    store: SqlStore
    log: EventLog
    engine: Any
    parameter_set_source: str
    market_version: int
    accounts: dict[str, AccountState] = field(default_factory=dict)
    _context: tuple[tuple[Any, int], dict[str, Any]] | None = field(default=None, repr=False)
    # The whole book as arrays at the engine in force (see _Columns); None after an account is created or deleted.
    _cols: "_Columns | None" = field(default=None, repr=False)
    # Accounts changed (positions, balances) since the columns were built: their entries are read from AccountState.
    _dirty: set[str] = field(default_factory=set, repr=False)
    # instrument -> accounts holding a USD-sized leg on it (their contract quantity moves with its price).
    _usd_holders: dict[str, set[str]] = field(default_factory=dict, repr=False)
    _usd_of: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------- start

    @classmethod
    def open(cls, store: SqlStore, *, parameter_set: str, market: Any) -> "ServiceState":
        """Rebuild the state from ``store``; seed an empty store with ``parameter_set`` and ``market``.

        The store's recorded parameter set and its latest snapshot win over
        the arguments (they seed a new store only); statuses are recomputed
        and any that differ from the stored ones are recorded as events.

        Raises
        ------
        ParameterSetError
            The store was made with another parameter set than the one given explicitly.
        SpanlikeError
            The typed errors of the engine for stored data it cannot margin.
        """
        st = store.load()
        ps_source = st.meta.get("parameter_set", parameter_set)
        if st.market is not None:
            snapshot = core.market_from_mapping(st.market.snapshot, source=f"store market version {st.market.version}")
            version = st.market.version
        else:
            snapshot = market
            version = 1
            store.apply_revaluation(
                market=Snapshot(1, utc_now(), snapshot.valuation_time.isoformat(), core.market_to_mapping(snapshot)),
                meta={"parameter_set": ps_source, "schema": "1"}, statuses={}, events=[])
        ps = core.params.load(ps_source)
        engine = core.prepare_engine(instruments=list(snapshot.quotes), market=snapshot, parameter_set=ps)
        state = cls(store=store, log=EventLog(store, st.last_seq), engine=engine, parameter_set_source=ps_source,
                    market_version=version)
        names = list(st.accounts)
        book = core.account_book(engine, st.positions, accounts=names)
        for a in names:
            rows, qty = book.positions(a)
            state.accounts[a] = AccountState(
                account=a, created_at=st.created_at[a], legs=dict(st.positions.get(a, {})),
                balances=dict(st.balances.get(a, {})), fills=dict(st.fills.get(a, {})),
                rows=np.array(rows), qty=np.array(qty), status=st.accounts[a],
            )
            state._index_usd_legs(a, state.accounts[a].legs)
        state._revalue_all(engine, book=book, market=None, meta={}, reason="restart")
        return state

    # ----------------------------------------------------------------- context

    @property
    def parameter_set(self) -> str:
        """Label of the parameter set in force."""
        return str(self.engine.parameter_set.label)

    @property
    def market(self) -> Any:
        """The snapshot in force."""
        return self.engine.market

    def context(self) -> dict[str, Any]:
        """What every response carries: parameter set, market version and valuation time (a fresh dict)."""
        key = (self.engine, self.market_version)
        held = self._context
        # Built once per engine and version, not per request (the engine compared by identity).
        if held is None or held[0][0] is not self.engine or held[0][1] != self.market_version:
            self._context = (key, {"parameter_set": self.parameter_set, "market_version": self.market_version,
                                   "valuation_time": self.market.valuation_time.isoformat()})
        return dict(self._context[1])

    def get(self, account: str) -> AccountState:
        """The account, or :class:`NotFound`."""
        acc = self.accounts.get(account)
        if acc is None:
            raise NotFound(f"Account {account!r} does not exist. List accounts with GET /v1/accounts.")
        return acc

    # ----------------------------------------------------------------- per-account margin

    def _canonical_legs(self, positions: Sequence[tuple[str, float, str | None]], *, where: str) -> Legs:
        """Net ``(instrument, quantity, unit)`` per (instrument, unit) after the library's checks."""
        eng = self.engine
        parts: dict[tuple[str, str], list[float]] = {}
        for i, (instrument, quantity, unit) in enumerate(positions):
            w = f"{where}[{i}]"
            row = self._row(instrument, w)
            eng.contract_quantity(row, float(quantity), unit, where=w)  # the library's checks and messages
            parts.setdefault((instrument, unit or "coin"), []).append(float(quantity))
        return {k: math.fsum(v) for k, v in parts.items()}

    def _row(self, instrument: str, where: str) -> int:
        try:
            return int(self.engine.row_of(instrument))
        except errors.UnknownInstrumentError:
            raise errors.UnknownInstrumentError(
                f"{where}.instrument: {instrument!r} is not quoted in the market in force "
                f"({self.engine.packed.n_rows} instruments, version {self.market_version}). Use a name listed by "
                "GET /v1/market?full=true, or add its quote with PUT /v1/market.") from None

    def _margin_of(self, account: str, legs: Legs, balances: Mapping[str, float]) -> tuple[Any, float, Any]:
        """Prepared account and equity of ``legs`` and ``balances`` at the current engine."""
        for currency, amount in balances.items():
            if not currency or not math.isfinite(amount):
                raise errors.InvalidInputError(
                    f"balances: the amount of {currency!r} must be a finite number in that currency "
                    f"(e.g. {{\"USDC\": 25000}}). Got {amount!r}.")
        book = core.account_book(self.engine, {account: legs}, accounts=[account])
        rows, qty = book.positions(account)
        prepared = core.prepare_account(self.engine, rows=rows, quantity=qty, account=account)
        if not (math.isfinite(prepared.initial_margin_usd) and math.isfinite(prepared.maintenance_margin_usd)):
            raise errors.InvalidPositionError(
                f"positions of {account!r}: the margin is not a finite number (IM {prepared.initial_margin_usd!r}); "
                "a quantity is beyond what float64 arithmetic can margin. Give realistic quantities.")
        equity = float(core.account_equity_usd({account: balances}, book=book, market=self.market)[0])
        return prepared, equity, book

    def _status_event(self, acc: AccountState, *, status: str, im: float, mm: float, equity: float,
                      reason: str) -> tuple[str | None, str, dict[str, Any]]:
        return (acc.account, "status", {
            "status_before": acc.status, "status": status, "initial_margin_usd": im, "maintenance_margin_usd": mm,
            "equity_usd": equity, "reason": reason, "market_version": self.market_version,
            "parameter_set": self.parameter_set,
        })

    def _commit_account(self, acc: AccountState, prepared: Any, equity: float) -> None:
        self._dirty.add(acc.account)
        self._index_usd_legs(acc.account, acc.legs)
        acc.prepared = prepared
        acc.rows = np.asarray(prepared.rows)
        acc.qty = np.asarray(prepared.quantity)
        acc.initial_margin_usd = prepared.initial_margin_usd
        acc.maintenance_margin_usd = prepared.maintenance_margin_usd
        acc.equity_usd = equity
        acc.status = core.status_of(equity_usd=equity, initial_margin_usd=prepared.initial_margin_usd,
                                    maintenance_margin_usd=prepared.maintenance_margin_usd)

    def _index_usd_legs(self, account: str, legs: Legs | None) -> None:
        """Record which instruments ``account`` holds through USD-sized legs (``None``: the account is gone)."""
        for instrument in self._usd_of.pop(account, ()):
            self._usd_holders[instrument].discard(account)
        held = tuple(sorted({i for (i, u) in legs if u == "usd"})) if legs else ()
        if held:
            self._usd_of[account] = held
            for instrument in held:
                self._usd_holders.setdefault(instrument, set()).add(account)

    def prepared(self, acc: AccountState) -> Any:
        """The account's what-if state at the current engine (built once per revaluation)."""
        if acc.prepared is None or acc.prepared.engine is not self.engine:
            acc.prepared = core.prepare_account(self.engine, rows=acc.rows, quantity=acc.qty, account=acc.account)
        return acc.prepared

    def _change(self, acc: AccountState, legs: Legs, balances: Mapping[str, float], reason: str,
                write: Any) -> tuple[Any, float, list[Event]]:
        """Compute an account's new margin, write it with its events (one transaction), return what to apply."""
        prepared, equity, _ = self._margin_of(acc.account, legs, balances)
        status = core.status_of(equity_usd=equity, initial_margin_usd=prepared.initial_margin_usd,
                                maintenance_margin_usd=prepared.maintenance_margin_usd)
        items = []
        if status != acc.status:
            items.append(self._status_event(acc, status=status, im=prepared.initial_margin_usd,
                                            mm=prepared.maintenance_margin_usd, equity=equity, reason=reason))
        events = self.log.draft(items)
        try:
            write(status, events)
        except BaseException:
            self.log.release(events)
            raise
        return prepared, equity, events

    # ----------------------------------------------------------------- accounts

    def create_account(self, account: str, *, positions: Sequence[tuple[str, float, str | None]],
                       balances: Mapping[str, float]) -> tuple[AccountState, list[Event]]:
        """A new account with positions and balances.

        Raises
        ------
        Conflict
            The account exists.
        """
        if account in self.accounts:
            raise Conflict(f"Account {account!r} already exists. Choose another id or DELETE it first.")
        legs = {k: q for k, q in self._canonical_legs(positions, where="positions").items() if q != 0.0}
        prepared, equity, _ = self._margin_of(account, legs, balances)
        status = core.status_of(equity_usd=equity, initial_margin_usd=prepared.initial_margin_usd,
                                maintenance_margin_usd=prepared.maintenance_margin_usd)
        created = utc_now()
        events = self.log.draft([(account, "account_created", {
            "status": status, "initial_margin_usd": prepared.initial_margin_usd,
            "maintenance_margin_usd": prepared.maintenance_margin_usd, "equity_usd": equity,
            "market_version": self.market_version, "parameter_set": self.parameter_set})])
        try:
            self.store.create_account(account, created_at=created, status=status, balances=balances, legs=legs,
                                      events=events)
        except BaseException:
            self.log.release(events)
            raise
        acc = AccountState(account=account, created_at=created, legs=legs, balances=dict(balances), fills={},
                           rows=np.zeros(0, np.int64), qty=np.zeros(0))
        self._commit_account(acc, prepared, equity)
        self.accounts[account] = acc
        self._cols = None  # the book's account list changed: the next revaluation builds it again
        self.log.publish(events)
        return acc, events

    def delete_account(self, account: str) -> list[Event]:
        """Remove an account and everything stored about it."""
        acc = self.get(account)
        events = self.log.draft([(account, "account_deleted", {"status_before": acc.status})])
        try:
            self.store.delete_account(account, events=events)
        except BaseException:
            self.log.release(events)
            raise
        del self.accounts[account]
        self._index_usd_legs(account, None)
        self._dirty.discard(account)
        self._cols = None
        self.log.publish(events)
        return events

    def set_positions(self, account: str, positions: Sequence[tuple[str, float, str | None]]) -> AccountState:
        """Replace an account's positions (netted per instrument and unit)."""
        acc = self.get(account)
        legs = {k: q for k, q in self._canonical_legs(positions, where="positions").items() if q != 0.0}
        prepared, equity, events = self._change(
            acc, legs, acc.balances, "positions set",
            lambda status, ev: self.store.replace_positions(account, legs, status=status, events=ev))
        acc.legs = legs
        self._commit_account(acc, prepared, equity)
        self.log.publish(events)
        return acc

    def set_balances(self, account: str, balances: Mapping[str, float]) -> AccountState:
        """Replace an account's balances (currency -> amount)."""
        acc = self.get(account)
        prepared, equity, events = self._change(
            acc, acc.legs, balances, "balances set",
            lambda status, ev: self.store.replace_balances(account, balances, status=status, events=ev))
        acc.balances = dict(balances)
        self._commit_account(acc, prepared, equity)
        self.log.publish(events)
        return acc

    def apply_fills(self, account: str, fills: Sequence[tuple[str, str, float, str | None]]) -> dict[str, Any]:
        """Apply fills ``(fill_id, instrument, quantity, unit)``; a fill id seen before is not applied again.

        Returns
        -------
        dict
            ``applied`` and ``duplicates`` (fill ids), the account summary after.

        Raises
        ------
        Conflict
            A known fill id with different content, or one id twice in the request.
        """
        acc = self.get(account)
        ids = [f[0] for f in fills]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise Conflict(f"fills: fill id {dup!r} appears twice in this request; give each fill its own id.")
        new: list[tuple[str, str, float, str | None]] = []
        duplicates: list[str] = []
        for i, (fid, instrument, quantity, unit) in enumerate(fills):
            seen = acc.fills.get(fid)
            if seen is None:
                new.append((fid, instrument, quantity, unit))
                continue
            if seen[0] != instrument or seen[1] != (unit or "coin") or seen[2] != float(quantity):
                raise Conflict(
                    f"fills[{i}]: fill id {fid!r} was already applied as {seen[2]!r} {seen[1]} of {seen[0]}; "
                    f"got {quantity!r} {unit or 'coin'} of {instrument}. A fill id names one fill: use a new id."
                )
            duplicates.append(fid)
        if not new:
            return {"applied": [], "duplicates": duplicates, **acc.summary()}
        checked = self._canonical_legs([(i, q, u) for _, i, q, u in new], where="fills")
        del checked  # validation only; legs move fill by fill below
        legs = dict(acc.legs)
        touched: Legs = {}
        rows_out = []
        for fid, instrument, quantity, unit in new:
            key = (instrument, unit or "coin")
            old = legs.get(key, 0.0)
            q = math.fsum([old, float(quantity)])
            # A leg that nets to zero is closed, as Portfolio netting drops it.
            if abs(q) <= core.NET_ZERO_RELATIVE_TOLERANCE * max(abs(old), abs(float(quantity))):
                q = 0.0
            if q == 0.0:
                legs.pop(key, None)
            else:
                legs[key] = q
            touched[key] = q
            rows_out.append((fid, instrument, key[1], float(quantity)))
        received = utc_now()
        prepared, equity, events = self._change(
            acc, legs, acc.balances, "fills",
            lambda status, ev: self.store.apply_fills(account, rows_out, legs=touched, received_at=received,
                                                      status=status, events=ev))
        acc.legs = legs
        for fid, instrument, unit, quantity in rows_out:
            acc.fills[fid] = (instrument, unit, quantity)
        self._commit_account(acc, prepared, equity)
        self.log.publish(events)
        return {"applied": [r[0] for r in rows_out], "duplicates": duplicates, **acc.summary()}

    # ----------------------------------------------------------------- pre-trade

    def what_if(self, account: str, orders: Sequence[tuple[str, float, str | None]]) -> dict[str, Any]:
        """Margin before and after ``orders`` and the accept/reject decision against equity (USD)."""
        acc = self.get(account)
        prepared = self.prepared(acc)
        for i, (instrument, _, _) in enumerate(orders):
            self._row(instrument, f"orders[{i}]")
        if len(orders) == 1:
            r = prepared.what_if_quantity(*orders[0])
        else:
            r = prepared.what_if([core.Order(i, q, u) for i, q, u in orders])
        equity = acc.equity_usd
        im_after = r.initial_margin_after_usd
        inc = r.incremental_initial_margin_usd
        if im_after <= equity:
            accept, reason = True, f"initial margin after {im_after:,.2f} USD is within equity {equity:,.2f} USD"
        elif inc <= 0.0:
            accept, reason = True, (f"the orders reduce initial margin by {-inc:,.2f} USD (after {im_after:,.2f} "
                                    f"USD, equity {equity:,.2f} USD)")
        else:
            accept, reason = False, (f"initial margin after {im_after:,.2f} USD exceeds equity {equity:,.2f} USD "
                                     f"by {im_after - equity:,.2f} USD")
        return {
            "account": account, "accept": accept, "reason": reason, "equity_usd": equity,
            "initial_margin_before_usd": r.initial_margin_before_usd,
            "maintenance_margin_before_usd": r.maintenance_margin_before_usd,
            "initial_margin_after_usd": im_after, "maintenance_margin_after_usd": r.maintenance_margin_after_usd,
            "incremental_initial_margin_usd": inc,
            "incremental_maintenance_margin_usd": r.incremental_maintenance_margin_usd,
            "excess_after_usd": equity - im_after,
        }

    def max_order(self, account: str, *, instrument: str, side: int, unit: str | None, measure: str) -> dict[str, Any]:
        """Largest order of ``instrument`` on ``side`` whose margin stays within equity."""
        acc = self.get(account)
        self._row(instrument, "body")
        r = self.prepared(acc).max_order_quantity(instrument, equity_usd=acc.equity_usd, side=side, unit=unit,
                                                  measure=measure)  # type: ignore[arg-type]
        finite = (lambda x: x if math.isfinite(x) else None)
        return {"account": account, "instrument": r.instrument, "side": "buy" if r.side == 1 else "sell",
                "quantity": r.quantity, "unit": r.unit, "margin_at_quantity_usd": r.margin_at_quantity_usd,
                "margin_above_usd": finite(r.margin_above_usd), "equity_usd": r.equity_usd, "measure": r.measure,
                "tolerance": finite(r.tolerance), "bounded": r.bounded, "within_equity_now": r.within_equity_now}

    def margin_detail(self, account: str) -> dict[str, Any]:
        """The account's full :class:`MarginResult` tree (components, worst scenarios) and status."""
        acc = self.get(account)
        result = core.margin_positions(self.engine.universe, rows=acc.rows.astype(np.intp), quantity=acc.qty,
                                       account=account)
        return {**acc.summary(), "balances": dict(acc.balances),
                "legs": [{"instrument": i, "unit": u, "quantity": q} for (i, u), q in sorted(acc.legs.items())],
                "margin": result.to_dict()}

    # ----------------------------------------------------------------- revaluation

    def _revalue_all(self, engine: Any, *, book: Any, market: Snapshot | None, meta: Mapping[str, str],
                     reason: str, equity: NDArray[np.float64] | None = None, before: "_Columns | None" = None,
                     rebooked: Sequence[int] = ()) -> list[Event]:
        """Margin every account of ``book`` at ``engine``; store snapshot, statuses and events; apply.

        ``equity`` (per book account, USD) is computed from the balances when
        not given. ``before`` holds every account's previous figures in book
        order (None: read them from the accounts); with it, only accounts whose
        figures changed, or whose positions were rebooked (``rebooked`` slots),
        are touched in memory.
        """
        names = list(book.accounts)
        if equity is None:
            equity = core.account_equity_usd({a: self.accounts[a].balances for a in names}, book=book,
                                             market=engine.market)
        res = core.batch_margins(engine, book, equity)
        im, mm = res.initial_margin_usd, res.maintenance_margin_usd
        code = np.asarray(res.status_code, dtype=np.int8)
        old_code = before.code if before is not None else np.fromiter(
            (_CODE[self.accounts[n].status] for n in names), dtype=np.int8, count=len(names))
        version = market.version if market is not None else self.market_version
        changed: dict[str, str] = {}
        items = []
        label = str(engine.parameter_set.label)
        flipped = np.flatnonzero(code != old_code)
        im_f, mm_f, eq_f, code_f = (x[flipped].tolist() for x in (im, mm, equity, code))
        for k, a in enumerate(flipped.tolist()):
            name = names[a]
            status = core.STATUS_NAMES[code_f[k]]
            changed[name] = status
            items.append((name, "status", {
                "status_before": self.accounts[name].status, "status": status,
                "initial_margin_usd": im_f[k], "maintenance_margin_usd": mm_f[k],
                "equity_usd": eq_f[k], "reason": reason, "market_version": version, "parameter_set": label}))
        if market is not None:
            items.append((None, "market", {"market_version": version, "valuation_time": market.valuation_time,
                                           "status_changes": len(changed), "parameter_set": label}))
        if meta.get("parameter_set"):
            items.append((None, "parameter_set", {"parameter_set": label, "status_changes": len(changed)}))
        events = self.log.draft(items)
        if events or market is not None or meta:
            try:
                self.store.apply_revaluation(market=market, meta=meta, statuses=changed, events=events)
            except BaseException:
                self.log.release(events)
                raise
        self.engine = engine
        self.market_version = version
        # In memory: every account, or (with ``before``) only those whose figures or positions moved; the
        # others keep equal values, and their prepared what-if state is rebuilt lazily for the new engine.
        if before is None:
            touched = np.arange(len(names))
        else:
            moved = (im != before.im) | (mm != before.mm) | (equity != before.eq) | (code != old_code)
            moved[np.asarray(rebooked, dtype=np.int64)] = True
            touched = np.flatnonzero(moved)
        idx = touched.tolist()
        im_t, mm_t, eq_t, code_t = (x[touched].tolist() for x in (im, mm, equity, code))
        lo_t, hi_t = book.offsets[touched].tolist(), book.offsets[touched + 1].tolist()
        for j, k in enumerate(idx):
            acc = self.accounts[names[k]]
            acc.rows, acc.qty = book.rows[lo_t[j]:hi_t[j]], book.quantity[lo_t[j]:hi_t[j]]
            acc.initial_margin_usd, acc.maintenance_margin_usd, acc.equity_usd = im_t[j], mm_t[j], eq_t[j]
            acc.status = core.STATUS_NAMES[code_t[j]]
        self._cols = _Columns(names=names, book=book, im=im, mm=mm, eq=equity, code=code,
                              index_prices=dict(engine.market.index_prices))
        self._dirty.clear()
        self.log.publish(events)
        return events

    def _current_columns(self) -> "_Columns | None":
        """The columns with every account changed since they were built read back from it (None: no columns)."""
        cols = self._cols
        if cols is None or not self._dirty:
            return cols
        slots = {cols.book.index_of(a): a for a in self._dirty}
        accs = [self.accounts[slots[k]] for k in sorted(slots)]
        book = core.replace_accounts(cols.book, {k: (self.accounts[a].rows, self.accounts[a].qty)
                                                 for k, a in slots.items()}, n_rows=self.engine.packed.n_rows)
        at = np.array(sorted(slots), dtype=np.int64)
        im, mm, eq, code = cols.im.copy(), cols.mm.copy(), cols.eq.copy(), cols.code.copy()
        im[at] = [a.initial_margin_usd for a in accs]
        mm[at] = [a.maintenance_margin_usd for a in accs]
        eq[at] = [a.equity_usd for a in accs]
        code[at] = [_CODE[a.status] for a in accs]
        self._cols = _Columns(names=cols.names, book=book, im=im, mm=mm, eq=eq, code=code,
                              index_prices=cols.index_prices)
        self._dirty.clear()
        return self._cols

    def apply_market(self, data: Mapping[str, Any], *, mode: str) -> dict[str, Any]:
        """Apply a full snapshot (``mode="full"``) or changed instruments only (``"changes"``).

        Only instruments whose inputs changed are revalued (``update_engine``)
        when the instrument set is unchanged; every account is re-margined in
        one batch over the book kept from the last revaluation, in which only
        accounts holding a USD-sized leg on a moved instrument are rebooked
        (their contract quantity follows the price). Equity is recomputed
        only when an index price changed (it depends on balances and index
        prices alone).
        """
        if data.get("valuation_time") is None:
            if mode == "full":
                raise errors.InvalidInputError("'valuation_time' is required with mode 'full' (ISO-8601 with offset, "
                                               "e.g. 2026-11-24T08:05:00Z).")
            data = {**data, "valuation_time": self.market.valuation_time.isoformat()}
        if mode == "full":
            snapshot = core.market_from_mapping(data, source="request body")
        else:
            snapshot = core.merge_market(self.market, data, source="request body")
        old = self.engine
        equity = before = None
        rebooked: list[int] = []
        if set(snapshot.quotes) == set(old.instrument_names):
            update = core.update_engine(old, snapshot)
            engine = update.engine
            cols = self._current_columns()
            if cols is None:  # accounts created or deleted since: the book from every account's arrays
                accounts = list(self.accounts)
                book = core.concat_books([(a, self.accounts[a].rows, self.accounts[a].qty) for a in accounts],
                                         n_rows=engine.packed.n_rows)
            else:
                accounts, book, before = cols.names, cols.book, cols
                if dict(engine.market.index_prices) == cols.index_prices:
                    equity = cols.eq
            names = engine.instrument_names
            moved = {names[r] for r in np.union1d(update.revalued_rows, update.changed_rows).tolist()}
            reprice: dict[str, list[str]] = {}
            for instrument in sorted(moved):
                for a in self._usd_holders.get(instrument, ()):
                    reprice.setdefault(a, []).append(instrument)
            book, rebooked = core.reprice_usd_legs(engine, book, {a: self.accounts[a].legs for a in reprice},
                                                   instruments=reprice)
            revalued = int(update.revalued_rows.size)
        else:
            engine = core.prepare_engine(instruments=list(snapshot.quotes), market=snapshot,
                                         parameter_set=old.parameter_set)
            accounts = list(self.accounts)
            book = core.account_book(engine, {a: self.accounts[a].legs for a in accounts}, accounts=accounts)
            revalued = engine.packed.n_rows
        version = self.market_version + 1
        snap = Snapshot(version, utc_now(), snapshot.valuation_time.isoformat(), core.market_to_mapping(snapshot))
        events = self._revalue_all(engine, book=book, market=snap, meta={}, reason="market update", equity=equity,
                                   before=before, rebooked=rebooked)
        return {"market_version": version, "instruments": engine.packed.n_rows, "revalued_instruments": revalued,
                "accounts": len(accounts), "status_changes": sum(e.kind == "status" for e in events),
                "last_event_seq": self.log.last_seq}

    def set_parameter_set(self, name: str) -> dict[str, Any]:
        """Switch to a bundled parameter set: full revaluation, every account re-margined."""
        if name not in core.params.available():
            raise errors.UnknownParameterSetError(
                f"'parameter_set' must be a bundled set name: {', '.join(core.params.available())}. Got {name!r}.")
        ps = core.params.load(name)
        engine = core.prepare_engine(instruments=list(self.market.quotes), market=self.market, parameter_set=ps)
        accounts = list(self.accounts)
        book = core.account_book(engine, {a: self.accounts[a].legs for a in accounts}, accounts=accounts)
        events = self._revalue_all(engine, book=book, market=None, meta={"parameter_set": name},
                                   reason="parameter set change")
        self.parameter_set_source = name
        return {"parameter_set": self.parameter_set, "accounts": len(accounts),
                "status_changes": sum(e.kind == "status" for e in events)}


_CODE = {name: i for i, name in enumerate(core.STATUS_NAMES)}


@dataclass(frozen=True)
class _Columns:
    """Every account's book and figures at the engine in force, in book order, from the last revaluation.

    A market update margins the next engine over this book (patched where
    accounts changed) and compares against these figures with array
    operations, instead of walking every account in Python.
    """

    names: list[str]
    book: Any  # AccountBook
    im: NDArray[np.float64]
    mm: NDArray[np.float64]
    eq: NDArray[np.float64]
    code: NDArray[np.int8]
    index_prices: dict[str, float]  # the prices ``eq`` was computed at
