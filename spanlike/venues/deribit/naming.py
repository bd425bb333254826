"""Deribit instrument names: parse and format (the venue's naming adapter).

=============================  ==========================================
``BTC-PERPETUAL``              coin-settled (inverse) perpetual
``BTC-27DEC24``                coin-settled dated future
``BTC-27DEC24-60000-C``        coin-settled call, strike 60,000 USD
``ETH_USDC-27DEC24-3000-P``    USDC-settled (linear) put
``SOL_USDC-PERPETUAL``         USDC-settled perpetual
``XRP_USDC-30JUN25-0d625-C``   strike 0.625 (Deribit writes ``d`` for ``.``)
=============================  ==========================================

The part before ``_`` is the underlying, the part after it the settlement
currency; without ``_CCY`` the contract settles in its underlying coin. Day of
month has one or two digits; Deribit expiries are at 08:00 UTC
(:data:`EXPIRY_HOUR_UTC`). Multiplier 1: a unit of quantity is one coin.
"""

from __future__ import annotations

import datetime as dt
import re

from spanlike.instruments import Instrument, make_instrument
from spanlike.params.errors import InvalidInstrumentError

__all__ = ["parse_name", "format_name", "EXPIRY_HOUR_UTC", "EXPIRY_TIME_UTC", "NAME_FORMS"]

#: Deribit's futures and options expire at 08:00 UTC.
EXPIRY_HOUR_UTC: int = 8
EXPIRY_TIME_UTC: dt.time = dt.time(EXPIRY_HOUR_UTC, 0)

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_CURRENCY = re.compile(r"^[A-Z0-9]{1,16}$")
_DATE = re.compile(r"^(\d{1,2})([A-Z]{3})(\d{2})$")
_STRIKE = re.compile(r"^(\d+)(?:d(\d+))?$")

#: The accepted forms, quoted by every parse error.
NAME_FORMS = (
    "UNDERLYING[_SETTLEMENT]-PERPETUAL, UNDERLYING[_SETTLEMENT]-DMMMYY or "
    "UNDERLYING[_SETTLEMENT]-DMMMYY-STRIKE-C|P (e.g. BTC-PERPETUAL, BTC-27DEC24, "
    "BTC-27DEC24-60000-C, ETH_USDC-27DEC24-3000-P, XRP_USDC-30JUN25-0d625-C)"
)
_FORMS = NAME_FORMS


def _bad(name: str, what: str) -> InvalidInstrumentError:
    return InvalidInstrumentError(f"Instrument {name!r}: {what}")


def _parse_date(name: str, token: str) -> dt.datetime:
    m = _DATE.match(token)
    if m is None:
        raise _bad(
            name,
            f"the expiry {token!r} is not a Deribit date DMMMYY (one or two digit day, upper-case month, "
            f"two-digit year, e.g. 27DEC24 or 3JAN25). Expected {_FORMS}.",
        )
    day_s, mon_s, yy = m.groups()
    if mon_s not in _MONTHS:
        raise _bad(name, f"the expiry month {mon_s!r} is not one of {', '.join(_MONTHS)}. Expected {_FORMS}.")
    if len(day_s) == 2 and day_s.startswith("0"):
        raise _bad(name, f"the expiry day {day_s!r} has a leading zero; Deribit writes e.g. 3JAN25. Expected {_FORMS}.")
    try:
        return dt.datetime(2000 + int(yy), _MONTHS.index(mon_s) + 1, int(day_s), EXPIRY_HOUR_UTC, tzinfo=dt.timezone.utc)
    except ValueError:
        raise _bad(name, f"the expiry {token!r} is not a calendar date. Expected {_FORMS}.") from None


def _parse_strike(name: str, token: str) -> float:
    m = _STRIKE.match(token)
    if m is None:
        hint = " Deribit writes the decimal point as 'd' (0.625 -> 0d625)." if "." in token else ""
        raise _bad(name, f"the strike {token!r} is not a number of digits with an optional 'd' decimal point.{hint} Expected {_FORMS}.")
    strike = float(token.replace("d", "."))
    if strike <= 0:
        raise _bad(name, f"the strike {token!r} must be positive. Expected {_FORMS}.")
    return strike


def parse_name(name: str) -> Instrument:
    """Parse a Deribit instrument name.

    Parameters
    ----------
    name : str
        e.g. ``"BTC-PERPETUAL"``, ``"BTC-27DEC24"``, ``"BTC-27DEC24-60000-C"``,
        ``"ETH_USDC-27DEC24-3000-P"``, ``"XRP_USDC-30JUN25-0d625-C"``.

    Returns
    -------
    Instrument
        Named ``name``; expiry at 08:00 UTC on the named date; strike in USD
        per coin; multiplier 1.

    Raises
    ------
    InvalidInstrumentError
        Naming the name, the part that is wrong and the expected form.

    Examples
    --------
    >>> parse_name("ETH_USDC-27DEC24-3000-P").settlement
    'linear'
    """
    if not isinstance(name, str):
        raise InvalidInstrumentError(f"An instrument name must be a string like 'BTC-27DEC24-60000-C'. Got {name!r}.")
    if not name or name != name.strip():
        raise _bad(name, f"the name is empty or has surrounding spaces. Expected {_FORMS}.")
    parts = name.split("-")
    head = parts[0]
    if "_" in head:
        underlying, _, settle = head.partition("_")
        if not settle or "_" in settle:
            raise _bad(name, f"the prefix {head!r} must be UNDERLYING or UNDERLYING_SETTLEMENT (e.g. BTC, ETH_USDC). Expected {_FORMS}.")
    else:
        underlying, settle = head, head
    for code in (underlying, settle):
        if not _CURRENCY.match(code):
            hint = f" Did you mean {name.upper()!r}?" if name.upper() != name else ""
            raise _bad(name, f"the currency {code!r} must be upper-case letters and digits.{hint} Expected {_FORMS}.")
    if underlying == settle and "_" in head:
        raise _bad(name, f"write a coin-settled contract without the '_{settle}' suffix. Expected {_FORMS}.")

    if len(parts) == 2 and parts[1] == "PERPETUAL":
        return make_instrument(underlying=underlying, kind="perpetual", expiry=None, settlement_currency=settle, name=name)
    if len(parts) == 2:
        expiry = _parse_date(name, parts[1])
        return make_instrument(underlying=underlying, kind="future", expiry=expiry, settlement_currency=settle, name=name)
    if len(parts) == 4:
        expiry = _parse_date(name, parts[1])
        strike = _parse_strike(name, parts[2])
        if parts[3] not in ("C", "P"):
            raise _bad(name, f"the option right {parts[3]!r} must be 'C' (call) or 'P' (put). Expected {_FORMS}.")
        return make_instrument(
            underlying=underlying,
            kind="option",
            expiry=expiry,
            strike=strike,
            right="call" if parts[3] == "C" else "put",
            settlement_currency=settle,
            name=name,
        )
    if len(parts) >= 2 and len(parts[1]) == 2 and parts[1].isalpha():
        raise _bad(name, f"combination instruments ({parts[1]}) are not supported; give the legs. Expected {_FORMS}.")
    if len(parts) == 1:
        raise _bad(name, f"the name has no '-' separated expiry or PERPETUAL part. Expected {_FORMS}.")
    raise _bad(name, f"the name has {len(parts)} '-' separated parts; 2 (future, perpetual) or 4 (option) are allowed. Expected {_FORMS}.")


def _format_strike(strike: float) -> str:
    if float(strike).is_integer():
        return str(int(strike))
    text = f"{float(strike):.12f}".rstrip("0")
    return text.replace(".", "d")


def _format_expiry(expiry: dt.datetime) -> str:
    text = f"{expiry.day}{_MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"
    if (expiry.hour, expiry.minute, expiry.second, expiry.microsecond) != (EXPIRY_HOUR_UTC, 0, 0, 0):
        # Not a Deribit expiry time: keep it in the name so two expiries on one day stay distinct.
        text += f"T{expiry:%H%M%S}Z"
    return text


def format_name(instrument: Instrument) -> str:
    """The Deribit-form name of an instrument.

    Parameters
    ----------
    instrument : Instrument
        Validated; its ``name`` is ignored.

    Returns
    -------
    str
        ``BTC-27DEC24-60000-C``, ``ETH_USDC-PERPETUAL``, ...; a non-integer
        strike is written with ``d`` (``0d625``); an expiry other than
        08:00 UTC adds ``THHMMSSZ`` to the date (``BTC_USD-27DEC24T160000Z``),
        a form :func:`parse_name` does not read back, so two expiries on one
        day keep distinct names.
    """
    ins = instrument
    head = ins.underlying if ins.settlement == "coin" else f"{ins.underlying}_{ins.settlement_currency}"
    if ins.kind == "perpetual":
        return f"{head}-PERPETUAL"
    assert ins.expiry is not None
    if ins.kind == "future":
        return f"{head}-{_format_expiry(ins.expiry)}"
    assert ins.strike is not None
    return f"{head}-{_format_expiry(ins.expiry)}-{_format_strike(ins.strike)}-{'C' if ins.right == 'call' else 'P'}"
