"""Pre-trade what-if: margin before and after orders without recomputing the book.

A :class:`PreparedAccount` keeps, per combined commodity, the account's
scenario loss vector and the small sums every later charge reads (delta per
spread tier and per delivery tier, delta per expiry, net delta, short calls
and puts, option value, position count; see :mod:`spanlike.batch.kernels`).
An order moves one row's quantity ``q_old -> q_new``: each sum changes by
``(q_new - q_old) x per-unit value`` (short-option units by removing the old
short and adding the new one), a commodity left empty is reset to exact
zeros, and then scan risk, spreads, delivery, SOM, NOV, inter credits,
exchange add-ons and correlation offsets are recomputed from those vectors.
Cost: ``O(M)`` for the order plus ``O(n_cc (M + T + E))`` for the charges,
independent of the number of positions.

The "after" margin equals a full recompute of the book with the order added
to rounding (incremental sums, about 1e-15 relative); the "before" margin is
built with the reference summation order and equals it exactly.

Largest order within equity (:meth:`PreparedAccount.max_order_quantity`):
margin is piecewise smooth in the order quantity ``x`` (kinks where the worst
scenario, a spread or a SOM switch changes) and need not be monotone (a hedge
lowers it first). From ``x = 0`` the search doubles ``x`` until the margin
exceeds equity, then bisects that bracket on the exact what-if until
``hi - lo <= max(rel_tol x hi, abs_tol)``. The answer ``lo`` is within equity;
``hi`` (at most the tolerance above it) is not. If the feasible set has a gap
beyond the bracket, the answer is the first crossing found, not a later one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Literal, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.batch import kernels as K
from spanlike.batch import layout as L
from spanlike.batch.accounts import checked_unit
from spanlike.batch.prepared import PreparedEngine
from spanlike.errors import InvalidInputError, InvalidPositionError
from spanlike.portfolio import NET_ZERO_RELATIVE_TOLERANCE
from spanlike.universe import MAX_POSITION_NOTIONAL_USD

if TYPE_CHECKING:
    from spanlike.portfolio import Portfolio

__all__ = ["Order", "WhatIfResult", "MaxQuantityResult", "PreparedAccount", "prepare_account", "prepare_positions"]


@dataclass(frozen=True)
class Order:
    """An order: signed quantity (positive buy) of an instrument, in ``unit`` (portfolio rules)."""

    instrument: str
    quantity: float
    unit: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Order":
        """``INSTRUMENT:QTY[:UNIT]`` as on the command line, e.g. ``BTC-PERPETUAL:-50000:usd``.

        Raises
        ------
        InvalidPositionError
            Not of that form, or QTY not a number.
        """
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0]:
            raise InvalidPositionError(
                f"An order must look like INSTRUMENT:QTY[:UNIT], e.g. BTC-25DEC26-100000-C:-2 or "
                f"BTC-PERPETUAL:50000:usd. Got {text!r}."
            )
        try:
            q = float(parts[1])
        except ValueError:
            raise InvalidPositionError(f"The quantity of order {text!r} must be a number like -2.5. Got {parts[1]!r}.") from None
        return cls(parts[0], q, parts[2] if len(parts) == 3 and parts[2] else None)


def _as_order(o: "Order | tuple | str") -> Order:
    """An :class:`Order` from an Order, a tuple ``(instrument, quantity[, unit])`` or ``"INSTRUMENT:QTY[:UNIT]"``."""
    if isinstance(o, Order):
        return o
    if isinstance(o, str):
        return Order.parse(o)
    if isinstance(o, tuple) and len(o) in (2, 3):
        return Order(*o)
    raise InvalidPositionError(
        f"An order must be an Order, a tuple (instrument, quantity[, unit]) or a string "
        f"'INSTRUMENT:QTY[:UNIT]' such as 'BTC-PERPETUAL:-20000:usd'. Got {o!r}."
    )


def _check_finite(im: float, mm: float, what: str) -> None:
    """An order so large that margin overflows is bad input, not an infinite margin."""
    if not (math.isfinite(im) and math.isfinite(mm)):
        raise InvalidPositionError(
            f"What-if of {what} gives a non-finite margin (IM {im!r}, MM {mm!r}): the order quantity is beyond "
            "what float64 arithmetic can margin. Give a realistic quantity."
        )


@dataclass(frozen=True)
class WhatIfResult:
    """Margin before and after orders, USD.

    Attributes
    ----------
    initial_margin_before_usd, maintenance_margin_before_usd : float
    initial_margin_after_usd, maintenance_margin_after_usd : float
    """

    initial_margin_before_usd: float
    maintenance_margin_before_usd: float
    initial_margin_after_usd: float
    maintenance_margin_after_usd: float

    @property
    def incremental_initial_margin_usd(self) -> float:
        """IM after - IM before (negative: the orders reduce margin)."""
        return self.initial_margin_after_usd - self.initial_margin_before_usd

    @property
    def incremental_maintenance_margin_usd(self) -> float:
        """MM after - MM before."""
        return self.maintenance_margin_after_usd - self.maintenance_margin_before_usd


@dataclass(frozen=True)
class MaxQuantityResult:
    """Largest order of one instrument and side whose margin stays within equity.

    Attributes
    ----------
    instrument : str
    side : {1, -1}
        +1 buy, -1 sell.
    quantity : float
        Largest quantity found (>= 0, in ``unit``); the order is ``side x quantity``.
    unit : str
    margin_at_quantity_usd : float
        The measured margin after that order (<= equity unless ``within_equity_now`` is False).
    margin_above_usd : float
        Margin at ``quantity + tolerance`` (> equity), NaN if unbounded.
    equity_usd : float
    measure : {"initial", "maintenance"}
    tolerance : float
        Final bracket width, ``unit``.
    bounded : bool
        False if margin stayed within equity up to the search cap.
    within_equity_now : bool
        False if the account exceeds equity before any order (quantity is then 0).
    evaluations : int
        What-if evaluations used.
    """

    instrument: str
    side: int
    quantity: float
    unit: str
    margin_at_quantity_usd: float
    margin_above_usd: float
    equity_usd: float
    measure: str
    tolerance: float
    bounded: bool
    within_equity_now: bool
    evaluations: int


@dataclass(frozen=True, eq=False)
class PreparedAccount:
    """One account prepared for what-if checks (immutable; :meth:`apply` returns a new one).

    Attributes
    ----------
    engine : PreparedEngine
    account : str
    rows : ndarray of int64, shape (k,)
        Universe rows held, strictly increasing.
    quantity : ndarray of float64, shape (k,)
        Net quantities, contract units.
    state : ndarray of float64, shape (n_cc, W)
        Per-commodity loss vector and ladders (layout in :mod:`spanlike.batch.kernels`).
    initial_margin_usd, maintenance_margin_usd : float
        Of the book as held.
    cross_commodity : bool
    """

    engine: PreparedEngine
    account: str
    rows: NDArray[np.int64]
    quantity: NDArray[np.float64]
    state: NDArray[np.float64]
    initial_margin_usd: float
    maintenance_margin_usd: float
    cross_commodity: bool = True
    _held: dict[int, float] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        # The engine and the state arrays would flood a notebook: name what the account is.
        return (f"PreparedAccount(account={self.account!r}, positions={self.rows.size}, "
                f"parameter_set={self.engine.parameter_set.label!r}, "
                f"initial_margin_usd={self.initial_margin_usd:,.2f}, "
                f"maintenance_margin_usd={self.maintenance_margin_usd:,.2f})")

    @property
    def positions(self) -> tuple[tuple[str, float], ...]:
        """``(instrument, net quantity in contract units)`` of every position held."""
        names = self.engine.instrument_names
        return tuple((names[int(r)], float(q)) for r, q in zip(self.rows, self.quantity))

    # ----------------------------------------------------------------- orders

    def _resolve(self, orders: Iterable[Order | tuple]) -> tuple[list[int], list[float], list[float]]:
        """Net orders per row onto the book: rows, old and new quantities (contract units)."""
        eng = self.engine
        moved: dict[int, list[float]] = {}
        for i, o in enumerate(orders):
            o = _as_order(o)
            row = eng.row_of(o.instrument)
            q = eng.contract_quantity(row, float(o.quantity), o.unit, where=f"order #{i}")
            moved.setdefault(row, []).append(q)
        rows, old, new = [], [], []
        for row, qs in moved.items():
            q_old = self._held.get(row, 0.0)
            legs = [q_old, *qs]
            q_new = math.fsum(legs)
            # A position that nets to zero is closed, as Portfolio netting would drop it.
            if abs(q_new) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(x) for x in legs):
                q_new = 0.0
            rows.append(row)
            old.append(q_old)
            new.append(q_new)
        return rows, old, new

    def what_if(self, orders: Sequence[Order | tuple]) -> WhatIfResult:
        """IM/MM before and after ``orders`` (netted per instrument), without touching the account.

        Parameters
        ----------
        orders : sequence of Order, tuple or str
            ``Order(instrument, quantity, unit)``, ``(instrument, quantity[, unit])``
            or ``"INSTRUMENT:QTY[:UNIT]"`` as on the command line; quantity
            signed (positive buy) in ``unit`` (portfolio rules).

        Returns
        -------
        WhatIfResult

        Raises
        ------
        UnknownInstrumentError
            An instrument outside the prepared universe.
        InvalidPositionError
            A non-finite quantity or a unit that does not fit the instrument.
        """
        pk = self.engine.packed
        if len(orders) == 1:
            # The latency path: one order needs no netting dictionary (same arithmetic as _resolve:
            # fsum of two numbers is their IEEE sum).
            o = _as_order(orders[0])
            return self._what_if_single(o.instrument, o.quantity, o.unit, "order #0")
        rows, old, new = self._resolve(orders)
        comp = np.empty((pk.state_rows, L.N_COMP))
        tot = np.empty(L.N_TOT)
        K._what_if_kernel(
            self.state, np.asarray(rows, dtype=np.int64), np.asarray(old, dtype=np.float64),
            np.asarray(new, dtype=np.float64), *pk.kernel_args(), 1 if self.cross_commodity else 0,
            np.empty_like(self.state), comp, tot,
        )
        im, mm = tot[L.T_IM], tot[L.T_MM]
        _check_finite(im, mm, "the orders given")
        return WhatIfResult(self.initial_margin_usd, self.maintenance_margin_usd, float(im), float(mm))

    def what_if_quantity(self, instrument: str, quantity: float, unit: str | None = None) -> WhatIfResult:
        """:meth:`what_if` of one order given by its parts (the latency path, no Order object)."""
        return self._what_if_single(instrument, quantity, unit, "order")

    def _what_if_single(self, instrument: str, quantity: float, unit: str | None, where: str) -> WhatIfResult:
        eng = self.engine
        row = eng.row_of(instrument)
        q = eng.contract_quantity(row, float(quantity), unit, where=where)
        q_old = self._held.get(row, 0.0)
        q_new = q_old + q
        if abs(q_new) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(q_old), abs(q)):
            q_new = 0.0
        pk = eng.packed
        im, mm = K._what_if_one(self.state, row, q_old, q_new, pk.fbuf, pk.ibuf, 1 if self.cross_commodity else 0)
        _check_finite(im, mm, f"{instrument} {quantity!r}")
        return WhatIfResult(self.initial_margin_usd, self.maintenance_margin_usd, float(im), float(mm))

    def apply(self, orders: Sequence[Order | tuple]) -> "PreparedAccount":
        """A new prepared account holding the book with ``orders`` filled (state rebuilt exactly)."""
        rows, old, new = self._resolve(orders)
        held = dict(self._held)
        for row, q in zip(rows, new):
            if q == 0.0:
                held.pop(row, None)
            else:
                held[row] = q
        r = np.array(sorted(held), dtype=np.int64)
        q = np.array([held[x] for x in r.tolist()], dtype=np.float64)
        return prepare_account(self.engine, rows=r, quantity=q, account=self.account,
                               cross_commodity=self.cross_commodity)

    def rebase(self, engine: PreparedEngine, *, changed_rows: NDArray[np.int64] | None = None) -> "PreparedAccount":
        """The account against a new engine of the same universe (intraday update).

        The state is rebuilt only if the account holds a row in
        ``changed_rows`` (rows whose risk array, delta, tier, delivery flag,
        expiry bucket or mark value changed; None = rebuild); the charges are
        always recomputed, since index prices and rates may have moved.
        """
        if engine.packed.n_rows != self.engine.packed.n_rows or engine.instrument_names != self.engine.instrument_names:
            raise InvalidInputError("rebase needs an engine over the same instruments (spanlike.batch.update_engine).")
        pk = engine.packed
        if changed_rows is None or np.isin(self.rows, changed_rows).any():
            return prepare_account(engine, rows=self.rows, quantity=self.quantity, account=self.account,
                                   cross_commodity=self.cross_commodity)
        comp = np.empty((pk.state_rows, L.N_COMP))
        tot = np.empty(L.N_TOT)
        K._finish_totals(self.state, *pk.kernel_args()[3:], 1 if self.cross_commodity else 0, comp, tot)
        return PreparedAccount(
            engine=engine, account=self.account, rows=self.rows, quantity=self.quantity, state=self.state,
            initial_margin_usd=float(tot[L.T_IM]), maintenance_margin_usd=float(tot[L.T_MM]),
            cross_commodity=self.cross_commodity, _held=self._held,
        )

    # ----------------------------------------------------------------- max quantity

    def max_order_quantity(
        self,
        instrument: str,
        *,
        equity_usd: float,
        side: Literal[1, -1] = 1,
        unit: str | None = None,
        measure: Literal["initial", "maintenance"] = "initial",
        rel_tol: float = 1e-9,
        abs_tol: float = 1e-9,
        cap: float = 1e15,
    ) -> MaxQuantityResult:
        """Largest ``x >= 0`` such that the margin after an order of ``side x x`` stays within equity.

        Parameters
        ----------
        instrument : str
        equity_usd : float
            Account equity, USD.
        side : {1, -1}
            Buy (+1) or sell (-1).
        unit : str, optional
            Unit of the quantity (portfolio rules; ``"usd"`` for USD-sized coin futures).
        measure : {"initial", "maintenance"}
            Which margin must stay ``<= equity_usd``.
        rel_tol, abs_tol : float
            Stop when the bracket is narrower than ``max(rel_tol x hi, abs_tol)`` (``unit``).
        cap : float
            Largest quantity tried; beyond it the answer is reported unbounded.

        Returns
        -------
        MaxQuantityResult

        Raises
        ------
        InvalidInputError
            Non-finite equity, a side other than +-1, non-positive tolerances.
        """
        if not math.isfinite(equity_usd):
            raise InvalidInputError(f"'equity_usd' must be a finite USD amount. Got {equity_usd!r}.")
        if side not in (1, -1):
            raise InvalidInputError(f"'side' must be 1 (buy) or -1 (sell). Got {side!r}.")
        if not (rel_tol > 0.0 and abs_tol > 0.0 and cap > 0.0):
            raise InvalidInputError("'rel_tol', 'abs_tol' and 'cap' must be positive.")
        if measure not in ("initial", "maintenance"):
            raise InvalidInputError(f"'measure' must be 'initial' or 'maintenance'. Got {measure!r}.")
        eng = self.engine
        row = eng.row_of(instrument)
        per_unit = eng.contract_quantity(row, 1.0, unit, where="order")  # contracts per unit of quantity
        unit_name = checked_unit(eng.universe.table.instruments[row], unit, where="order")
        q_old = self._held.get(row, 0.0)
        fbuf, ibuf = eng.packed.fbuf, eng.packed.ibuf
        cross = 1 if self.cross_commodity else 0
        count = 0

        def margin(x: float) -> float:
            nonlocal count
            count += 1
            q = x * per_unit * side
            q_new = q_old + q
            if abs(q_new) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(q_old), abs(q)):
                q_new = 0.0
            im, mm = K._what_if_one(self.state, row, q_old, q_new, fbuf, ibuf, cross)
            return float(im if measure == "initial" else mm)

        m0 = margin(0.0)
        if m0 > equity_usd:
            return MaxQuantityResult(instrument, side, 0.0, unit_name, m0, m0, equity_usd, measure, 0.0, True,
                                     False, count)
        lo, m_lo = 0.0, m0
        hi = 1.0
        m_hi = margin(hi)
        while m_hi <= equity_usd:
            lo, m_lo = hi, m_hi
            if hi >= cap:
                return MaxQuantityResult(instrument, side, lo, unit_name, m_lo, math.nan, equity_usd, measure,
                                         math.inf, False, True, count)
            hi = min(2.0 * hi, cap)
            m_hi = margin(hi)
        while hi - lo > max(rel_tol * hi, abs_tol):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break  # the bracket is one ulp wide
            m_mid = margin(mid)
            if m_mid <= equity_usd:
                lo, m_lo = mid, m_mid
            else:
                hi, m_hi = mid, m_mid
        return MaxQuantityResult(instrument, side, lo, unit_name, m_lo, m_hi, equity_usd, measure, hi - lo, True,
                                 True, count)


def prepare_account(
    engine: PreparedEngine,
    *,
    rows: Sequence[int] | NDArray[np.int64],
    quantity: Sequence[float] | NDArray[np.float64],
    account: str = "default",
    cross_commodity: bool = True,
) -> PreparedAccount:
    """Build the what-if state of one account from its positions (reference summation order).

    Parameters
    ----------
    engine : PreparedEngine
    rows : array_like of int, shape (k,)
        Universe rows, each at most once (e.g. ``AccountBook.positions(account)[0]``).
    quantity : array_like of float, shape (k,)
        Net quantities in contract units, finite (zeros are dropped).
    account : str
    cross_commodity : bool
        As in :func:`spanlike.engine.margin_positions`.

    Returns
    -------
    PreparedAccount

    Raises
    ------
    InvalidPositionError
        Shapes differ, a duplicate or out-of-range row, a non-finite quantity.
    """
    r = np.asarray(rows, dtype=np.int64)
    q = np.asarray(quantity, dtype=np.float64)
    if r.ndim != 1 or r.shape != q.shape:
        raise InvalidPositionError(f"rows and quantity must be 1-D of equal length; got {r.shape} and {q.shape}.")
    if r.size and (r.min() < 0 or r.max() >= engine.packed.n_rows):
        raise InvalidPositionError(f"rows must be universe rows in [0, {engine.packed.n_rows}).")
    if not np.isfinite(q).all():
        i = int(np.flatnonzero(~np.isfinite(q))[0])
        raise InvalidPositionError(
            f"The quantity of {engine.instrument_names[int(r[i])]} must be a finite number. Got {q[i]!r}."
        )
    order = np.argsort(r, kind="stable")
    r, q = r[order], q[order]
    if (np.diff(r) == 0).any():
        raise InvalidPositionError("each universe row may appear once; net duplicate positions first.")
    keep = q != 0.0
    r, q = np.ascontiguousarray(r[keep]), np.ascontiguousarray(q[keep])
    pk = engine.packed
    state = np.empty((pk.state_rows, pk.state_width))
    comp = np.empty((pk.state_rows, L.N_COMP))
    tot = np.empty(L.N_TOT)
    K._account_state_kernel(r, q, *pk.kernel_args(), 1 if cross_commodity else 0, state, comp, tot)
    state.setflags(write=False)
    r.setflags(write=False)
    q.setflags(write=False)
    return PreparedAccount(
        engine=engine, account=account, rows=r, quantity=q, state=state,
        initial_margin_usd=float(tot[L.T_IM]), maintenance_margin_usd=float(tot[L.T_MM]),
        cross_commodity=cross_commodity, _held=dict(zip(r.tolist(), q.tolist())),
    )


def prepare_positions(
    engine: PreparedEngine,
    positions: "Portfolio | Iterable[tuple]",
    *,
    account: str | None = None,
    cross_commodity: bool = True,
    max_notional_usd: float | None = MAX_POSITION_NOTIONAL_USD,
) -> PreparedAccount:
    """:func:`prepare_account` from instrument names and quantities instead of universe rows.

    Parameters
    ----------
    engine : PreparedEngine
        Prepared with every instrument held (and every instrument to be traded).
    positions : Portfolio or iterable of tuple
        A :class:`~spanlike.portfolio.Portfolio`, or ``(instrument, quantity[, unit])``
        tuples as :meth:`Portfolio.from_positions` takes them (quantities signed,
        in ``unit``; ``"usd"`` for USD-sized coin-settled futures and perpetuals).
    account : str, optional
        Defaults to the portfolio's account (``"default"`` for tuples).
    cross_commodity : bool
    max_notional_usd : float or None
        Plausibility bound of one position (:func:`spanlike.universe.resolve_positions`);
        None margins any size.

    Returns
    -------
    PreparedAccount

    Raises
    ------
    UnknownInstrumentError
        A position outside the engine's universe.
    InvalidPositionError
        A malformed position, a unit that does not fit, a notional past the bound.
    """
    from spanlike.portfolio import Portfolio
    from spanlike.universe import resolve_positions

    portfolio = positions if isinstance(positions, Portfolio) else Portfolio.from_positions(
        list(positions), account=account or "default")
    table = engine.universe.table
    for ins in portfolio.instruments:
        engine.row_of(ins)  # an instrument outside the universe is named with the fix
    rows, qty, _ = resolve_positions(portfolio, table=table, max_notional_usd=max_notional_usd)
    return prepare_account(engine, rows=rows, quantity=qty, account=account or portfolio.account,
                           cross_commodity=cross_commodity)
