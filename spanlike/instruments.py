"""Instruments: what a position is in, described by its fields, whatever the venue.

An :class:`Instrument` is a dated future, a perpetual or a European option on
one underlying (``BTC``, ``ETH``, ...), settled either in the underlying coin
("coin", inverse contracts) or in a USD stablecoin ("linear"), with an expiry
(a UTC datetime), a strike (USD per coin) and a multiplier (coins per unit).

A *name* is what a venue calls the contract. Names are read and written by a
venue's naming adapter (:mod:`spanlike.venues`); :func:`parse_instrument` and
the default names of :func:`make_instrument` use the default venue's (Deribit:
``BTC-27DEC24-60000-C``, ``ETH_USDC-PERPETUAL``, see
:mod:`spanlike.venues.deribit.naming`). Instruments can always be given
explicitly instead (:func:`make_instrument`, :func:`instrument_from_mapping`).

Times are ACT/365 to the second (methodology section 0).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from spanlike.params.errors import InvalidInputError, InvalidInstrumentError
from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE, KIND_PUT

__all__ = [
    "Instrument",
    "parse_instrument",
    "make_instrument",
    "instrument_from_mapping",
    "parse_utc_datetime",
    "SECONDS_PER_YEAR",
    "MIN_STRIKE",
    "MAX_STRIKE",
    "MIN_MULTIPLIER",
    "MAX_MULTIPLIER",
]

#: ACT/365 year in seconds.
SECONDS_PER_YEAR: float = 365.0 * 86400.0

#: Plausible strikes, USD per coin: wide enough for any listed coin (a
#: SHIB-like coin at 1e-5 USD, BTC at 1e5), narrow enough that scenario
#: prices stay far from float overflow and underflow.
MIN_STRIKE: float = 1e-12
MAX_STRIKE: float = 1e12
#: Plausible multipliers, coins of underlying per unit of quantity.
MIN_MULTIPLIER: float = 1e-9
MAX_MULTIPLIER: float = 1e9

_CURRENCY = re.compile(r"^[A-Z0-9]{1,16}$")

Kind = Literal["future", "perpetual", "option"]
Right = Literal["call", "put"]
Settlement = Literal["coin", "linear"]


@dataclass(frozen=True)
class Instrument:
    """One tradable contract.

    Build with :func:`parse_instrument` (venue names) or
    :func:`make_instrument` (explicit form); the constructor checks that the
    fields are consistent and raises :class:`InvalidInstrumentError` otherwise.

    Attributes
    ----------
    name : str
        Unique name, e.g. ``"BTC-27DEC24-60000-C"``.
    underlying : str
        Ultimate underlying, e.g. ``"BTC"``; its USD index prices the contract.
    kind : {"future", "perpetual", "option"}
    right : {"call", "put"} or None
        Option right; None for futures and perpetuals.
    expiry : datetime or None
        Expiry as a timezone-aware UTC datetime; None for perpetuals.
    strike : float or None
        Strike in USD per one coin of underlying (options only).
    settlement : {"coin", "linear"}
        ``coin``: inverse contract, P&L in the underlying coin.
        ``linear``: P&L in ``settlement_currency`` (a USD stablecoin).
    settlement_currency : str
        Equal to ``underlying`` exactly when ``settlement == "coin"``.
    multiplier : float
        Coins of underlying one unit of quantity represents (e.g. 1.0 for
        every Deribit contract).
    """

    name: str
    underlying: str
    kind: Kind
    right: Right | None
    expiry: dt.datetime | None
    strike: float | None
    settlement: Settlement
    settlement_currency: str
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        _check_fields(self)

    @property
    def is_option(self) -> bool:
        """True for calls and puts."""
        return self.kind == "option"

    @property
    def is_call(self) -> bool:
        """True for calls (False for puts, futures and perpetuals)."""
        return self.right == "call"

    @property
    def is_inverse(self) -> bool:
        """True for coin-settled (inverse) contracts."""
        return self.settlement == "coin"

    @property
    def kernel_kind(self) -> int:
        """The :mod:`spanlike.risk_arrays.contracts` kind code: KIND_FUTURE, KIND_CALL or KIND_PUT."""
        if self.kind != "option":
            return KIND_FUTURE
        return KIND_CALL if self.right == "call" else KIND_PUT

    def days_to_expiry(self, valuation_time: dt.datetime) -> float:
        """Calendar days from ``valuation_time`` to expiry, to the second.

        Parameters
        ----------
        valuation_time : datetime
            Timezone-aware valuation time.

        Returns
        -------
        float
            ``(expiry - valuation_time)`` in days (86,400 s); negative once
            expired; ``0.0`` for perpetuals.

        Raises
        ------
        InvalidInputError
            If ``valuation_time`` is naive.
        """
        _require_aware(valuation_time)
        if self.expiry is None:
            return 0.0
        return (self.expiry - valuation_time).total_seconds() / 86400.0

    def years_to_expiry(self, valuation_time: dt.datetime) -> float:
        """ACT/365 years from ``valuation_time`` to expiry, to the second.

        ``days_to_expiry(valuation_time) / 365``; negative once expired;
        ``0.0`` for perpetuals.
        """
        return self.days_to_expiry(valuation_time) / 365.0


def _require_aware(t: dt.datetime) -> None:
    if not isinstance(t, dt.datetime) or t.tzinfo is None or t.utcoffset() is None:
        raise InvalidInputError(
            f"The valuation time must be a timezone-aware datetime (e.g. 2026-11-24T08:00:00+00:00). Got {_show(t)}."
        )


def _show(value: object) -> str:
    from spanlike.loaders import show_value  # lazy: loaders imports this module's users

    return show_value(value)


def _int_to_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:  # past float range: refused by the range check as inf
        return math.inf


def _bad(name: str, what: str) -> InvalidInstrumentError:
    return InvalidInstrumentError(f"Instrument {_show(name)}: {what}")


def _check_fields(ins: Instrument) -> None:
    """Consistency of an Instrument's fields; raises InvalidInstrumentError."""
    label = ins.name if isinstance(ins.name, str) and ins.name else "<unnamed>"
    if not isinstance(ins.name, str) or not ins.name.strip() or ins.name != ins.name.strip():
        raise _bad(label, f"the name must be a non-empty string without surrounding spaces. Got {_show(ins.name)}.")
    for field in ("underlying", "settlement_currency"):
        value = getattr(ins, field)
        if not isinstance(value, str) or not _CURRENCY.match(value):
            raise _bad(
                label,
                f"'{field}' must be an upper-case currency code of letters and digits (e.g. 'BTC', 'USDC'). Got {_show(value)}.",
            )
    if ins.kind not in ("future", "perpetual", "option"):
        raise _bad(label, f"'kind' must be 'future', 'perpetual' or 'option'. Got {_show(ins.kind)}.")
    if ins.settlement not in ("coin", "linear"):
        raise _bad(label, f"'settlement' must be 'coin' or 'linear'. Got {_show(ins.settlement)}.")
    coin = ins.settlement_currency == ins.underlying
    if (ins.settlement == "coin") != coin:
        raise _bad(
            label,
            f"settlement {ins.settlement!r} does not match settlement currency {ins.settlement_currency!r} "
            f"for underlying {ins.underlying!r}: a contract is coin-settled exactly when it settles in its underlying.",
        )
    if ins.kind == "perpetual":
        if ins.expiry is not None:
            raise _bad(label, f"a perpetual has no expiry; give expiry=None. Got {_show(ins.expiry)}.")
    else:
        if not isinstance(ins.expiry, dt.datetime):
            raise _bad(label, f"a {ins.kind} needs 'expiry' as a timezone-aware datetime. Got {_show(ins.expiry)}.")
        if ins.expiry.tzinfo is None or ins.expiry.utcoffset() is None:
            raise _bad(
                label,
                f"'expiry' must be timezone-aware (add a UTC offset, e.g. 2024-12-27T08:00:00+00:00). Got {ins.expiry.isoformat()}.",
            )
        if ins.expiry.utcoffset() != dt.timedelta(0):
            raise _bad(label, f"'expiry' must be in UTC (use make_instrument, which converts). Got {ins.expiry.isoformat()}.")
    if ins.kind == "option":
        if ins.right not in ("call", "put"):
            raise _bad(label, f"an option needs 'right' 'call' or 'put'. Got {_show(ins.right)}.")
        if isinstance(ins.strike, bool) or not isinstance(ins.strike, (int, float)) or not math.isfinite(ins.strike) or ins.strike <= 0:
            raise _bad(label, f"an option needs a positive finite 'strike' in USD. Got {_show(ins.strike)}.")
        if not MIN_STRIKE <= ins.strike <= MAX_STRIKE:
            raise _bad(
                label,
                f"'strike' {ins.strike!r} USD is outside the plausible range [{MIN_STRIKE:g}, {MAX_STRIKE:g}] USD per coin. "
                "Check the number.",
            )
    else:
        if ins.right is not None:
            raise _bad(label, f"only options have a 'right'; a {ins.kind} needs right=None. Got {_show(ins.right)}.")
        if ins.strike is not None:
            raise _bad(label, f"only options have a 'strike'; a {ins.kind} needs strike=None. Got {_show(ins.strike)}.")
    m = ins.multiplier
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m <= 0:
        raise _bad(label, f"'multiplier' must be a positive finite number of coins per unit. Got {_show(m)}.")
    if not MIN_MULTIPLIER <= m <= MAX_MULTIPLIER:
        raise _bad(
            label,
            f"'multiplier' {m!r} is outside the plausible range [{MIN_MULTIPLIER:g}, {MAX_MULTIPLIER:g}] coins per unit. "
            "Check the number.",
        )


# --------------------------------------------------------------------------- names


def parse_instrument(name: str, *, venue: str | None = None) -> Instrument:
    """Parse a venue instrument name (Deribit's by default).

    A thin wrapper: the naming rules live in the venue's naming adapter
    (:mod:`spanlike.venues.deribit.naming` for the default venue).

    Parameters
    ----------
    name : str
        e.g. ``"BTC-PERPETUAL"``, ``"BTC-27DEC24"``, ``"BTC-27DEC24-60000-C"``,
        ``"ETH_USDC-27DEC24-3000-P"``, ``"XRP_USDC-30JUN25-0d625-C"``.
    venue : str, optional
        Registered venue name (:func:`spanlike.venues.available_venues`);
        default :data:`spanlike.venues.DEFAULT_VENUE`.

    Returns
    -------
    Instrument
        Named ``name``; expiry, strike and multiplier as the venue's
        conventions give them (Deribit: 08:00 UTC, USD per coin, 1).

    Raises
    ------
    InvalidInstrumentError
        Naming the name, the part that is wrong and the expected form.
    InvalidInputError
        An unknown ``venue``.

    Examples
    --------
    >>> parse_instrument("ETH_USDC-27DEC24-3000-P").settlement
    'linear'
    """
    return _venue(venue).parse_name(name)


def _venue(venue: str | None) -> Any:
    from spanlike.venues import default_venue, get_venue

    return default_venue() if venue is None else get_venue(venue)


def __getattr__(attr: str) -> Any:
    # Kept for existing imports: the expiry hour is a Deribit convention,
    # spanlike.venues.deribit.naming.EXPIRY_HOUR_UTC.
    if attr == "DERIBIT_EXPIRY_HOUR_UTC":
        from spanlike.venues.deribit.naming import EXPIRY_HOUR_UTC

        return EXPIRY_HOUR_UTC
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


# --------------------------------------------------------------------------- explicit form


def make_instrument(
    *,
    underlying: str,
    kind: Kind,
    expiry: dt.datetime | None,
    strike: float | None = None,
    right: Right | None = None,
    settlement_currency: str,
    multiplier: float = 1.0,
    name: str | None = None,
    venue: str | None = None,
) -> Instrument:
    """Build an instrument from its explicit description, validating every field.

    Parameters
    ----------
    underlying : str
        Upper-case code, e.g. ``"BTC"``.
    kind : {"future", "perpetual", "option"}
    expiry : datetime or None
        Timezone-aware expiry (converted to UTC); required for futures and
        options, None for perpetuals.
    strike : float, optional
        Options only: positive strike in USD per coin.
    right : {"call", "put"}, optional
        Options only.
    settlement_currency : str
        Equal to ``underlying`` for coin-settled (inverse) contracts, else the
        stablecoin (e.g. ``"USDC"``): the contract is then linear.
    multiplier : float, default 1.0
        Coins of underlying per unit of quantity; positive and finite.
    name : str, optional
        Defaults to the name the venue's naming adapter gives (Deribit's:
        ``BTC-27DEC24-60000-C``, ``ETH_USDC-PERPETUAL``; a non-08:00 UTC
        expiry adds ``THHMMSSZ`` to the date, a non-integer strike is
        written with ``d``; see :func:`spanlike.venues.deribit.naming.format_name`).
    venue : str, optional
        Whose naming makes the default ``name``; default
        :data:`spanlike.venues.DEFAULT_VENUE`.

    Returns
    -------
    Instrument

    Raises
    ------
    InvalidInstrumentError
        Naming the field, the value and what is expected.
    """
    label = name if name is not None else f"{underlying} {kind}"
    if expiry is not None:
        if not isinstance(expiry, dt.datetime):
            raise _bad(label, f"'expiry' must be a timezone-aware datetime. Got {_show(expiry)}.")
        if expiry.tzinfo is None or expiry.utcoffset() is None:
            raise _bad(
                label,
                f"'expiry' must be timezone-aware (add a UTC offset, e.g. 2024-12-27T08:00:00+00:00). Got {expiry.isoformat()}.",
            )
        expiry = expiry.astimezone(dt.timezone.utc)
    if isinstance(strike, int) and not isinstance(strike, bool):
        strike = _int_to_float(strike)
    if isinstance(multiplier, int) and not isinstance(multiplier, bool):
        multiplier = _int_to_float(multiplier)
    settlement: Settlement = "coin" if settlement_currency == underlying else "linear"
    if name is None:
        # Validate first (the constructor checks) so that a bad field is reported
        # instead of a failure to format it.
        unnamed = Instrument(label, underlying, kind, right, expiry, strike, settlement, settlement_currency, multiplier)
        name = _venue(venue).format_name(unnamed)
    return Instrument(
        name=name,
        underlying=underlying,
        kind=kind,
        right=right,
        expiry=expiry,
        strike=strike,
        settlement=settlement,
        settlement_currency=settlement_currency,
        multiplier=multiplier,
    )


# --------------------------------------------------------------------------- from plain data

_EXPLICIT_KEYS = ("underlying", "kind", "expiry", "strike", "right", "settlement_currency", "multiplier", "name")


def parse_utc_datetime(value: object, *, what: str) -> dt.datetime:
    """A timezone-aware UTC datetime from a datetime or an ISO-8601 string.

    Parameters
    ----------
    value : datetime or str
        e.g. ``"2026-11-24T08:00:00Z"`` or ``"2026-11-24T09:00:00+01:00"``.
    what : str
        Description used in error messages (``"the expiry of positions[2]"``).

    Returns
    -------
    datetime
        Converted to UTC.

    Raises
    ------
    InvalidInputError
        If the value is not a datetime/ISO string or has no UTC offset.
    """
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInputError(
                f"{what} must be an ISO-8601 time with a UTC offset, e.g. 2026-11-24T08:00:00Z. Got {_show(value)}."
            ) from None
    elif isinstance(value, dt.datetime):
        parsed = value
    else:
        raise InvalidInputError(
            f"{what} must be an ISO-8601 time with a UTC offset, e.g. 2026-11-24T08:00:00Z. Got {_show(value)}."
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInputError(
            f"{what} has no UTC offset: add one, e.g. 'Z' or '+00:00' ({parsed.isoformat()}Z). Got {_show(value)}."
        )
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past year 9999 in UTC
        raise InvalidInputError(f"{what} is out of the range of dates (years 1-9999 in UTC). Got {_show(value)}.") from None


def instrument_from_mapping(data: object, *, where: str = "instrument") -> Instrument:
    """An instrument from a name or from its explicit form as a mapping.

    Parameters
    ----------
    data : str or mapping
        A name of the default venue (see :func:`parse_instrument`) or a mapping with keys
        ``underlying``, ``kind``, ``expiry`` (ISO-8601 with offset, omitted or
        null for perpetuals), ``strike``, ``right``, ``settlement_currency``
        and optionally ``multiplier`` and ``name``: the keyword arguments of
        :func:`make_instrument`.
    where : str
        Location for error messages, e.g. ``"positions[3] of book.json"``.

    Raises
    ------
    InvalidInstrumentError
        Prefixed with ``where``, naming the bad key or value.
    """
    if isinstance(data, str):
        try:
            return parse_instrument(data)
        except InvalidInstrumentError as err:
            raise InvalidInstrumentError(f"{where}: {err}") from None
    if not isinstance(data, dict):
        naming = _venue(None)
        raise InvalidInstrumentError(
            f"{where}: an instrument must be a {naming.title} name (e.g. {naming.name_example!r}) or an object with keys "
            f"{', '.join(_EXPLICIT_KEYS)}. Got {_show(data)}."
        )
    unknown = sorted(set(data) - set(_EXPLICIT_KEYS))
    if unknown:
        raise InvalidInstrumentError(
            f"{where}: unknown instrument key(s) {unknown}; allowed: {', '.join(_EXPLICIT_KEYS)}."
        )
    missing = [k for k in ("underlying", "kind", "settlement_currency") if k not in data]
    if missing:
        raise InvalidInstrumentError(f"{where}: the explicit instrument form needs key(s) {missing}.")
    kwargs = dict(data)
    expiry = kwargs.pop("expiry", None)
    if expiry is not None:
        try:
            expiry = parse_utc_datetime(expiry, what=f"{where}: 'expiry'")
        except InvalidInputError as err:
            raise InvalidInstrumentError(str(err)) from None
    for key in ("strike", "multiplier"):
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidInstrumentError(f"{where}: '{key}' must be a number. Got {_show(value)}.")
    try:
        return make_instrument(expiry=expiry, **kwargs)
    except InvalidInstrumentError as err:
        raise InvalidInstrumentError(f"{where}: {err}") from None
