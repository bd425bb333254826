"""The instrument universe as a struct of arrays, and positions mapped onto it.

:func:`build_instrument_table` joins instruments, a :class:`MarketSnapshot` and
a :class:`ParameterSet` into an :class:`InstrumentTable`: one row per
instrument, sorted by (combined commodity order in the parameter set, expiry
with perpetuals first, strike, right), holding the kernel inputs
(:class:`spanlike.risk_arrays.contracts.ContractArrays`) and the values aggregation needs
(index price, current option value). The table is computed once and shared:
single-account margin uses it for one portfolio, batch margining for thousands.

:func:`resolve_positions` maps a :class:`Portfolio` onto the rows: quantities in
contract units (coins of underlying for multiplier 1), with USD-sized
coin-settled futures converted at their futures price, ``q_coin = q_usd / F``.

Inputs per row (methodology sections 0 and 1)
---------------------------------------------
* forward ``F``: options -> ``underlying_price``; futures and perpetuals ->
  ``mark_price`` (USD).
* ``t_years = (expiry - valuation_time) / 365 days``, to the second; 0 for
  perpetuals.
* vol: ``mark_iv``; if absent, implied from ``mark_price`` with Black-76 at the
  combined commodity's ``interest_rate`` (USD price = coin mark x ``F`` for
  coin-settled options, the mark as-is for linear ones).
* ``mark_value``: value of one unit (``multiplier`` coins) in the settlement
  currency: ``mark_price x multiplier`` when quoted, else the Black-76 value
  (divided by ``F`` for coin-settled options); 0 for futures and perpetuals.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.params.errors import (
    ExpiredInstrumentError,
    InvalidInstrumentError,
    InvalidPositionError,
    MarketDataError,
    MissingMarketDataError,
    UnknownInstrumentError,
)
from spanlike.params.parameter_set import ParameterSet
from spanlike.risk_arrays.contracts import ContractArrays, make_contract_arrays
from spanlike.instruments import Instrument, parse_instrument
from spanlike.market import MarketSnapshot
from spanlike.portfolio import NET_ZERO_RELATIVE_TOLERANCE, Portfolio, Position

__all__ = [
    "InstrumentTable",
    "build_instrument_table",
    "resolve_positions",
    "table_for_portfolio",
    "MAX_POSITION_NOTIONAL_USD",
    "MARK_IV_TOLERANCE",
]

#: Largest notional one position may have, USD (|coins| x index price). The
#: largest single positions on crypto venues are a few hundred million USD;
#: a position past 1 bn USD is almost always a unit slip (a USD size given as
#: coins: ``BTC-PERPETUAL,-150000,coin`` is 14 bn USD at 95,000). Refused with
#: the fix; pass ``max_notional_usd=None`` (or a larger bound) to
#: :func:`resolve_positions` to margin such a position on purpose.
MAX_POSITION_NOTIONAL_USD: float = 1e9

#: How far an option's quoted mark may sit from the Black-76 value of its
#: quoted ``mark_iv`` before the quote is refused as inconsistent: a factor
#: ``ratio`` either way, past an absolute ``tick x F`` (USD): ratio = 2 and
#: tick = 1e-4 (one Deribit tick, 0.0001 coin, at the forward ``F``). Wide
#: enough for a different interest rate, a stale mark or a smile the venue
#: marks differently; a vol divided by 100 twice, a percent read as a decimal
#: or a mark in the wrong unit (USD for coin) is off by far more. The margin
#: uses ``mark_iv`` for scenarios and the mark for the option value, so a
#: mismatch past this is refused rather than margined.
MARK_IV_TOLERANCE: tuple[float, float] = (2.0, 1e-4)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class InstrumentTable:
    """Instruments as parallel arrays, all of length ``n`` (one row per instrument).

    Attributes
    ----------
    instruments : tuple of Instrument
        Row order: (combined commodity order in the parameter set, expiry
        with perpetuals first, futures before options, strike, call before put).
    contracts : ContractArrays
        Kernel inputs: forward (USD), strike (USD), t_years (ACT/365), vol
        (annual decimal), rate, kind, inverse, multiplier, names.
    commodity : tuple of str
        Combined-commodity name of each row.
    days_to_expiry : ndarray of float64, shape (n,)
        Calendar days to expiry, to the second; 0 for perpetuals.
    index_price : ndarray of float64, shape (n,)
        USD index price of the row's underlying.
    mark_value : ndarray of float64, shape (n,)
        Current value of one long unit in the settlement currency (coin for
        coin-settled options, USDC for linear ones); 0 for futures and
        perpetuals. Used for net option value.
    valuation_time : datetime
        UTC valuation time of the market snapshot.
    implied_vol_rows : tuple of str
        Names whose vol was implied from the mark price (no ``mark_iv``).
    """

    instruments: tuple[Instrument, ...]
    contracts: ContractArrays
    commodity: tuple[str, ...]
    days_to_expiry: NDArray[np.float64]
    index_price: NDArray[np.float64]
    mark_value: NDArray[np.float64]
    valuation_time: dt.datetime
    implied_vol_rows: tuple[str, ...] = ()
    _row_of: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_row_of", {ins.name: i for i, ins in enumerate(self.instruments)})
        n = len(self.instruments)
        for name in ("days_to_expiry", "index_price", "mark_value"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"InstrumentTable.{name} must have shape ({n},). Got {arr.shape}.")
        if len(self.contracts) != n or len(self.commodity) != n:
            raise ValueError(f"InstrumentTable: contracts and commodity must have {n} rows.")

    def __len__(self) -> int:
        return len(self.instruments)

    @property
    def names(self) -> tuple[str, ...]:
        """Instrument names in row order."""
        return self.contracts.names

    def index_of(self, name: str) -> int:
        """Row of instrument ``name``.

        Raises
        ------
        UnknownInstrumentError
            If the table has no such instrument.
        """
        try:
            return self._row_of[name]
        except KeyError:
            raise UnknownInstrumentError(
                f"Instrument {name!r} is not in the instrument table ({len(self)} instruments). "
                "Build the table from the instruments the portfolio holds (table_for_portfolio) or add it."
            ) from None

    def rows_of_commodity(self, name: str) -> NDArray[np.intp]:
        """Rows of combined commodity ``name`` (contiguous, in row order)."""
        return np.flatnonzero(np.asarray(self.commodity) == name).astype(np.intp)


def _sort_key(ins: Instrument, cc_order: int) -> tuple:
    expiry = ins.expiry.timestamp() if ins.expiry is not None else -math.inf
    return (
        cc_order,
        expiry,
        1 if ins.is_option else 0,
        ins.strike if ins.strike is not None else 0.0,
        0 if ins.right in (None, "call") else 1,
        ins.name,
    )


def build_instrument_table(
    *,
    instruments: Sequence[Instrument | str],
    market: MarketSnapshot,
    parameter_set: ParameterSet,
) -> InstrumentTable:
    """Build the instrument table: kernel inputs and current values per instrument.

    Parameters
    ----------
    instruments : sequence of Instrument or str
        Instruments or names of the default venue (read by
        :func:`spanlike.instruments.parse_instrument`); duplicates are merged.
    market : MarketSnapshot
        Quotes and index prices at the valuation time.
    parameter_set : ParameterSet
        Gives each row's combined commodity (by underlying and settlement
        currency), its order and its ``interest_rate``.

    Returns
    -------
    InstrumentTable
        Rows sorted and de-duplicated (see :class:`InstrumentTable`).

    Raises
    ------
    InvalidInstrumentError
        An unparseable name, two different instruments with one name, or no
        combined commodity of the parameter set covers the instrument.
    ExpiredInstrumentError
        Expiry at or before the valuation time.
    MissingMarketDataError
        No quote, no forward (``underlying_price`` for options, ``mark_price``
        for futures), neither ``mark_iv`` nor ``mark_price`` for an option, or
        no index price of the underlying.
    ImpliedVolatilityError
        A mark price no volatility reproduces.
    """
    order = {cc.name: i for i, cc in enumerate(parameter_set.combined_commodities)}
    unique: dict[str, Instrument] = {}
    for item in instruments:
        ins = parse_instrument(item) if isinstance(item, str) else item
        if not isinstance(ins, Instrument):
            raise InvalidInstrumentError(
                f"Instruments must be Instrument objects or instrument names (e.g. 'BTC-27DEC24-60000-C'). Got {item!r}."
            )
        prev = unique.setdefault(ins.name, ins)
        if prev != ins:
            raise InvalidInstrumentError(
                f"Two different instruments are both named {ins.name!r}: {prev} and {ins}. One name must mean one contract."
            )
    vt = market.valuation_time
    rows: list[tuple[tuple, Instrument, str]] = []
    for ins in unique.values():
        cc = parameter_set.commodity_for(underlying=ins.underlying, settlement_currency=ins.settlement_currency)
        if cc is None:
            have = ", ".join(f"{c.name} ({c.underlying}/{c.settlement_currency})" for c in parameter_set.combined_commodities)
            raise InvalidInstrumentError(
                f"Instrument {ins.name} ({ins.underlying} settled in {ins.settlement_currency}) belongs to no combined "
                f"commodity of parameter set {parameter_set.label}, which defines: {have}. "
                "Use a parameter set that covers it or remove the position."
            )
        if ins.expiry is not None and ins.expiry <= vt:
            raise ExpiredInstrumentError(
                f"Instrument {ins.name} expired at {ins.expiry.isoformat()}, at or before the valuation time "
                f"{vt.isoformat()}. Remove the position or use market data from before the expiry."
            )
        rows.append((_sort_key(ins, order[cc.name]), ins, cc.name))
    rows.sort(key=lambda r: r[0])

    n = len(rows)
    table_ins = tuple(r[1] for r in rows)
    commodity = tuple(r[2] for r in rows)
    forward = np.empty(n)
    strike = np.zeros(n)
    days = np.empty(n)
    vol = np.zeros(n)
    rate = np.empty(n)
    kind = np.empty(n, dtype=np.int8)
    inverse = np.empty(n, dtype=bool)
    multiplier = np.empty(n)
    index = np.empty(n)
    mark = np.full(n, np.nan)  # option mark price per coin; NaN = not quoted
    need_iv: list[int] = []
    for i, ins in enumerate(table_ins):
        q = market.quotes.get(ins.name)
        if q is None:
            raise MissingMarketDataError(
                f"No market data for {ins.name}, which is held. Add a quote with "
                f"{'mark_iv (or mark_price) and underlying_price' if ins.is_option else 'mark_price'} to the market snapshot."
            )
        if ins.is_option:
            if q.underlying_price is None:
                raise MissingMarketDataError(
                    f"The 'underlying_price' of {ins.name} is absent: an option needs the USD forward of its expiry. "
                    "Add underlying_price to its quote."
                )
            forward[i] = q.underlying_price
            strike[i] = ins.strike
            if q.mark_iv is not None:
                vol[i] = q.mark_iv
            elif q.mark_price is not None:
                need_iv.append(i)
            else:
                raise MissingMarketDataError(
                    f"Both 'mark_iv' and 'mark_price' of {ins.name} are absent: give its implied vol (annual decimal) "
                    "or its mark price to imply it from."
                )
            if q.mark_price is not None:
                mark[i] = q.mark_price
        else:
            if q.mark_price is None:
                raise MissingMarketDataError(
                    f"The 'mark_price' of {ins.name} is absent: a {ins.kind} is valued at its mark price (USD). "
                    "Add mark_price to its quote."
                )
            forward[i] = q.mark_price
        if ins.underlying not in market.index_prices:
            raise MissingMarketDataError(
                f"The index price of {ins.underlying} is absent (needed for {ins.name}). "
                f"Add '{ins.underlying}' to index_prices (USD per coin)."
            )
        index[i] = market.index_prices[ins.underlying]
        days[i] = ins.days_to_expiry(vt)
        rate[i] = parameter_set.commodity(commodity[i]).interest_rate
        kind[i] = ins.kernel_kind
        inverse[i] = ins.is_inverse
        multiplier[i] = ins.multiplier
    t_years = days / 365.0

    implied: tuple[str, ...] = ()
    if need_iv:
        from spanlike.risk_arrays.implied_vol import implied_vol  # lazy: the solver is optional for quoted vols

        idx = np.asarray(need_iv, dtype=np.intp)
        usd_price = np.where(inverse[idx], mark[idx] * forward[idx], mark[idx])
        vol[idx] = implied_vol(
            price=usd_price,
            forward=forward[idx],
            strike=strike[idx],
            t_years=t_years[idx],
            rate=rate[idx],
            is_call=kind[idx] == 1,
            names=[table_ins[j].name for j in idx],
        )
        implied = tuple(table_ins[j].name for j in idx)

    contracts = make_contract_arrays(
        forward=forward, strike=strike, t_years=t_years, vol=vol, kind=kind, rate=rate,
        inverse=inverse, multiplier=multiplier, names=[ins.name for ins in table_ins],
    )

    _check_marks_match_ivs(table_ins, mark, forward, strike, t_years, vol, rate, kind, inverse, need_iv)

    mark_value = np.zeros(n)
    opt = contracts.is_option
    quoted = opt & ~np.isnan(mark)
    mark_value[quoted] = mark[quoted]
    model = opt & np.isnan(mark)
    if model.any():
        from spanlike.risk_arrays.pricing import black76_price

        usd = black76_price(
            forward=forward[model], strike=strike[model], t_years=t_years[model], vol=vol[model],
            rate=rate[model], is_call=kind[model] == 1,
        )
        mark_value[model] = np.where(inverse[model], usd / forward[model], usd)
    mark_value *= multiplier

    return InstrumentTable(
        instruments=table_ins,
        contracts=contracts,
        commodity=commodity,
        days_to_expiry=_readonly(days),
        index_price=_readonly(index),
        mark_value=_readonly(mark_value),
        valuation_time=vt,
        implied_vol_rows=implied,
    )


def _norm_cdf_for_check(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard normal CDF in numpy: the Hart / West (2005) algorithm of :mod:`spanlike.risk_arrays._normal`.

    Same coefficients and branches as the kernels' ``norm_cdf`` (agrees to
    about 1e-16 absolute; ``tests/test_universe_mark_check.py`` compares).
    """
    from spanlike.risk_arrays import _normal as H

    xabs = np.abs(x)
    num = H._HART_P6 * xabs + H._HART_P5
    for c in (H._HART_P4, H._HART_P3, H._HART_P2, H._HART_P1, H._HART_P0):
        num = num * xabs + c
    den = H._HART_Q7 * xabs + H._HART_Q6
    for c in (H._HART_Q5, H._HART_Q4, H._HART_Q3, H._HART_Q2, H._HART_Q1, H._HART_Q0):
        den = den * xabs + c
    cf_num, cf_den = xabs + 0.65, np.ones_like(xabs)
    for a in (4.0, 3.0, 2.0, 1.0):
        cf_num, cf_den = xabs * cf_num + a * cf_den, cf_num
    rational = xabs < H._HART_SWITCH
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        tail = np.exp(-0.5 * x * x) * np.where(rational, num, cf_den) / np.where(
            rational, den, cf_num * H._HART_CF_DENOMINATOR)
    tail = np.where(xabs > H._HART_CUTOFF, 0.0, tail)
    return np.where(x > 0.0, 1.0 - tail, tail)


def _black76_for_check(
    forward: NDArray[np.float64], strike: NDArray[np.float64], t_years: NDArray[np.float64],
    vol: NDArray[np.float64], rate: NDArray[np.float64], sign: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Discounted Black-76 value, USD: ``exp(-r T) s (F N(s d1) - K N(s d2))`` (``sign`` s: +1 call, -1 put).

    The formula of :func:`spanlike.risk_arrays.pricing.black76_price` in
    numpy, for the mark/IV consistency test only (equal to the kernel to
    about 1e-15 relative; a zero total vol gives the intrinsic value's limit).
    """
    total_vol = vol * np.sqrt(t_years)
    log_fk = np.log(forward / strike)
    positive = total_vol > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.where(positive, log_fk / np.where(positive, total_vol, 1.0) + 0.5 * total_vol,
                      np.where(log_fk > 0.0, np.inf, np.where(log_fk < 0.0, -np.inf, 0.0)))
    n1 = _norm_cdf_for_check(sign * d1)
    n2 = _norm_cdf_for_check(sign * (d1 - total_vol))
    return np.exp(-rate * t_years) * sign * (forward * n1 - strike * n2)


def _check_marks_match_ivs(
    instruments: Sequence[Instrument],
    mark: NDArray[np.float64],
    forward: NDArray[np.float64],
    strike: NDArray[np.float64],
    t_years: NDArray[np.float64],
    vol: NDArray[np.float64],
    rate: NDArray[np.float64],
    kind: NDArray[np.int8],
    inverse: NDArray[np.bool_],
    implied: Sequence[int],
) -> None:
    """Refuse an option whose quoted mark and quoted IV disagree (see :data:`MARK_IV_TOLERANCE`)."""
    done = set(implied)
    rows = [i for i, ins in enumerate(instruments) if ins.is_option and not np.isnan(mark[i]) and i not in done]
    if not rows:
        return
    idx = np.asarray(rows, dtype=np.intp)
    # numpy, not the numba pricer: a factor-of-two test needs no kernel, and loading one from numba's
    # cache cost about 0.1 s of every engine preparation (0.5 s when it was the process's first kernel).
    model = _black76_for_check(forward[idx], strike[idx], t_years[idx], vol[idx], rate[idx],
                               np.where(kind[idx] == 1, 1.0, -1.0))
    quoted = np.where(inverse[idx], mark[idx] * forward[idx], mark[idx])
    ratio, tick = MARK_IV_TOLERANCE
    far = (model > ratio * quoted) | (quoted > ratio * model)
    bad = far & (np.abs(model - quoted) > tick * forward[idx])
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        i = rows[j]
        ins = instruments[i]
        unit = "coin" if inverse[i] else ins.settlement_currency
        model_in_unit = model[j] / forward[i] if inverse[i] else model[j]
        raise MarketDataError(
            f"The quote of {ins.name} is inconsistent: mark_price {float(mark[i])!r} {unit} but mark_iv "
            f"{float(vol[i])!r} gives {float(model_in_unit):.6g} {unit} (Black-76 at forward {float(forward[i])!r}); "
            f"tolerance a factor {ratio:g} either way (past {tick:g} x forward). Check the units: mark_iv is a decimal "
            "(0.55 = 55%), a coin-settled option's mark is in coin per coin. Or drop one of the two."
        )


def _notional_error(
    account: str, pos: Position, q_units: float, row: int, table: InstrumentTable, bound: float
) -> InvalidPositionError:
    index = float(table.index_price[row])
    notional = abs(q_units) * float(table.contracts.multiplier[row]) * index
    hint = ""
    if pos.unit == "coin" and pos.instrument.is_inverse and not pos.instrument.is_option:
        hint = (f" Did you mean unit 'usd'? {pos.instrument.name} is coin-settled, usually sized in USD: "
                f"{pos.quantity!r} USD is {pos.quantity / index:.6g} coins.")
    elif pos.unit == "usd":
        hint = " A USD size counts dollars of notional; check for extra digits."
    return InvalidPositionError(
        f"Account {account}: the position {pos.quantity!r} {pos.unit} of {pos.instrument.name} has a "
        f"notional of {notional:,.0f} USD at {index!r} USD per coin, beyond the plausible {bound:,.0f} USD per "
        f"position.{hint} To margin it on purpose, pass max_notional_usd=None (or a larger bound)."
    )


def resolve_positions(
    portfolio: Portfolio,
    *,
    table: InstrumentTable,
    max_notional_usd: float | None = MAX_POSITION_NOTIONAL_USD,
) -> tuple[NDArray[np.intp], NDArray[np.float64], tuple[str, ...]]:
    """Map a portfolio onto table rows, with quantities in contract units.

    Parameters
    ----------
    portfolio : Portfolio
    table : InstrumentTable
        Must contain every instrument the portfolio holds.
    max_notional_usd : float or None, default :data:`MAX_POSITION_NOTIONAL_USD`
        Largest USD notional (``|coins| x index price``) of one position;
        None margins any size.

    Returns
    -------
    row_index : ndarray of intp, shape (m,)
        Table rows, strictly increasing.
    quantity : ndarray of float64, shape (m,)
        Signed quantity in contract units (each ``multiplier`` coins; coins
        when the multiplier is 1). USD-sized coin-settled futures and perpetuals
        are converted at the row's forward ``F`` (USD): ``q = q_usd / (F x
        multiplier)``. Rows of one instrument (e.g. a USD and a coin position
        in one future) are summed.
    notes : tuple of str
        Rows that net to zero after conversion and were dropped.

    Raises
    ------
    UnknownInstrumentError
        A position's instrument is not in the table (or the table holds a
        different instrument of that name).
    InvalidPositionError
        A position past ``max_notional_usd``, naming the account, the
        position, its notional and (for a coin-sized inverse contract) the
        likely unit slip.
    """
    qty: dict[int, list[float]] = {}
    for pos in portfolio.positions:
        row = table.index_of(pos.instrument.name)
        if table.instruments[row] != pos.instrument:
            raise UnknownInstrumentError(
                f"The table's {pos.instrument.name} is defined differently from the portfolio's "
                f"({table.instruments[row]} vs {pos.instrument}). Rebuild the table from the portfolio's instruments."
            )
        q = pos.quantity
        if pos.unit == "usd":
            q = q / (float(table.contracts.forward[row]) * float(table.contracts.multiplier[row]))
        if max_notional_usd is not None:
            notional = abs(q) * float(table.contracts.multiplier[row]) * float(table.index_price[row])
            if not notional <= max_notional_usd:
                raise _notional_error(portfolio.account, pos, q, row, table, max_notional_usd)
        qty.setdefault(row, []).append(q)
    notes: list[str] = []
    rows: list[int] = []
    values: list[float] = []
    for row in sorted(qty):
        legs = qty[row]
        net = math.fsum(legs)
        if abs(net) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(x) for x in legs):
            notes.append(
                f"{table.names[row]}: the positions in USD and coin net to zero after conversion at "
                f"{float(table.contracts.forward[row])!r} USD and were dropped."
            )
            continue
        rows.append(row)
        values.append(net)
    return np.asarray(rows, dtype=np.intp), np.asarray(values, dtype=np.float64), tuple(notes)


def table_for_portfolio(
    portfolio: Portfolio,
    *,
    market: MarketSnapshot,
    parameter_set: ParameterSet,
) -> InstrumentTable:
    """:func:`build_instrument_table` over the instruments ``portfolio`` holds."""
    return build_instrument_table(instruments=portfolio.instruments, market=market, parameter_set=parameter_set)
