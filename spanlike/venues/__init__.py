"""Venues: what one exchange's data looks like, apart from the venue-neutral core.

The core (:mod:`spanlike.instruments`, :mod:`spanlike.portfolio`,
:mod:`spanlike.market`, the engine) knows instruments by their fields
(underlying, settlement currency, kind, expiry, strike, multiplier). Everything
that is one exchange's convention lives in a venue module and is found here by
name: the loader (:mod:`spanlike.loaders`) asks the registry which venue a
payload comes from, :func:`spanlike.instruments.parse_instrument` asks it how
a name reads, and the efficiency baseline asks it for standard margin rules.

The venue interface
-------------------
A venue is a module (or package) ``spanlike/venues/<name>`` that defines a
module attribute ``VENUE``, a :class:`Venue` with:

``name``
    Registry key, lower case (``"deribit"``). The same word names the venue
    everywhere: its parameter sets (``deribit-style``), its tests
    (``tests/test_venues_deribit.py``) and the first word of a parameter
    set's ``[isolated] venue`` label (``"Deribit standard margin"``).
``title``, ``name_example``
    For messages: ``"Deribit"``, ``"BTC-27DEC24-60000-C"``.
``parse_name(name) -> Instrument``
    The naming adapter, read direction: a venue instrument name to an
    :class:`~spanlike.instruments.Instrument` whose ``name`` is the given
    name. Raises :class:`~spanlike.errors.InvalidInstrumentError` naming the
    name, the wrong part and the expected form.
``format_name(instrument) -> str``
    The naming adapter, write direction: the venue's name of a
    (validated) instrument; ``parse_name(format_name(i))`` equals ``i`` for
    every instrument the venue lists.
``expiry_time_utc``
    The venue's expiry convention: the UTC time of day dated contracts
    expire at (Deribit 08:00).
``positions_format``, ``is_positions_payload(data) -> bool``, ``read_positions(path_or_obj, *, account, source) -> Portfolio``
    The positions payload reader (optional, ``None`` if the venue has none):
    a description for messages, a cheap shape test of decoded JSON used by
    the loader's format detection, and the reader.
``market_format``, ``is_market_payload(data) -> bool``, ``read_market(*paths_or_objs) -> MarketSnapshot``
    The market payload reader (optional), as above; several payloads (e.g.
    options and futures) make one snapshot.
``standard_margin(*, rule, size, unit_value, underlying_price, strike, mark, options, futures) -> (im, mm)``
    The venue's standard (isolated, per-position) margin formula, or
    ``None``. Its numbers come from a parameter set's ``[isolated]``
    section; :func:`spanlike.efficiency.isolated.isolated_margin` picks the
    formula by the first word of that section's ``venue`` label.

Adding a venue is a new module here plus a parameter set; no edit in the
core. Venues in this package are found by scanning it; a venue defined
elsewhere is added with :func:`register_venue`.
"""

from __future__ import annotations

import datetime as dt
import pkgutil
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from spanlike.params.errors import InvalidInputError

if TYPE_CHECKING:  # pragma: no cover
    from spanlike.instruments import Instrument
    from spanlike.market import MarketSnapshot
    from spanlike.portfolio import Portfolio

__all__ = [
    "Venue",
    "StandardMarginRule",
    "StandardMarginCase",
    "DEFAULT_VENUE",
    "available_venues",
    "get_venue",
    "default_venue",
    "register_venue",
    "venue_for_label",
]

#: The venue whose names :func:`spanlike.instruments.parse_instrument` reads
#: when no venue is given (the names the bundled data and examples use).
DEFAULT_VENUE: str = "deribit"


#: Which standard-margin case a position falls in (perpetuals use "future").
StandardMarginCase = Literal["short call", "short put", "long option", "future"]


class StandardMarginRule(Protocol):
    """A venue's standard margin formula: (initial, maintenance) margin of one position.

    Parameters (keyword-only)
    -------------------------
    rule : {"short call", "short put", "long option", "future"}
    size : float
        ``|quantity| x multiplier`` coins of underlying (> 0).
    unit_value : float
        Value of one coin in the settlement currency (1 for coin-settled).
    underlying_price, strike : float
        USD per coin (options).
    mark : float
        Mark value of one coin of the option, settlement currency.
    options, futures : spanlike.params.isolated.OptionStandardMargin, FuturesStandardMargin
        The numbers, from the parameter set.

    Returns
    -------
    (initial_margin, maintenance_margin) : tuple of float
        Settlement currency, >= 0.
    """

    def __call__(self, *, rule: StandardMarginCase, size: float, unit_value: float, underlying_price: float = ...,
                 strike: float = ..., mark: float = ..., options: Any = ..., futures: Any = ...) -> tuple[float, float]: ...


@dataclass(frozen=True, kw_only=True)
class Venue:
    """One venue's conventions (the interface is in the module docstring).

    Attributes
    ----------
    name : str
        Lower-case registry key, e.g. ``"deribit"``.
    title : str
        Display name, e.g. ``"Deribit"``.
    name_example : str
        An instrument name of the venue, for messages.
    parse_name : callable
        ``str -> Instrument``.
    format_name : callable
        ``Instrument -> str``.
    expiry_time_utc : datetime.time
        UTC time of day dated contracts expire at.
    positions_format, market_format : str or None
        Payload descriptions for messages (``"a Deribit get_positions response"``).
    is_positions_payload, is_market_payload : callable or None
        ``decoded JSON -> bool``: cheap shape tests for format detection.
    read_positions : callable or None
        ``(path_or_obj, *, account="default", source=None) -> Portfolio``.
    read_market : callable or None
        ``(*paths_or_objs) -> MarketSnapshot``.
    standard_margin : StandardMarginRule or None
        The venue's isolated margin formula.
    """

    name: str
    title: str
    name_example: str
    parse_name: Callable[[str], "Instrument"]
    format_name: Callable[["Instrument"], str]
    expiry_time_utc: dt.time
    positions_format: str | None = None
    is_positions_payload: Callable[[Any], bool] | None = None
    read_positions: Callable[..., "Portfolio"] | None = None
    market_format: str | None = None
    is_market_payload: Callable[[Any], bool] | None = None
    read_market: Callable[..., "MarketSnapshot"] | None = None
    standard_margin: StandardMarginRule | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name != self.name.lower() or not self.name.isidentifier():
            raise InvalidInputError(
                f"A venue's 'name' must be a lower-case identifier such as 'deribit'. Got {self.name!r}."
            )
        if (self.read_positions is None) != (self.is_positions_payload is None):
            raise InvalidInputError(
                f"Venue {self.name}: give both 'read_positions' and 'is_positions_payload', or neither."
            )
        if (self.read_market is None) != (self.is_market_payload is None):
            raise InvalidInputError(f"Venue {self.name}: give both 'read_market' and 'is_market_payload', or neither.")


_REGISTERED: dict[str, Venue] = {}
_SCANNED = False


def _scan() -> None:
    """Import every module of this package once and register its ``VENUE``."""
    global _SCANNED
    if _SCANNED:
        return
    # Set first: a venue module that calls register_venue while it is imported must not rescan.
    _SCANNED = True
    for info in pkgutil.iter_modules(__path__):
        module = import_module(f"{__name__}.{info.name}")
        venue = getattr(module, "VENUE", None)
        if isinstance(venue, Venue):
            _REGISTERED.setdefault(venue.name, venue)


def register_venue(venue: Venue, *, replace: bool = False) -> Venue:
    """Add a venue defined outside this package to the registry.

    Parameters
    ----------
    venue : Venue
    replace : bool, default False
        Allow replacing a registered venue of the same name.

    Returns
    -------
    Venue
        ``venue``, so a module can write ``VENUE = register_venue(Venue(...))``.

    Raises
    ------
    InvalidInputError
        ``venue`` is not a :class:`Venue`, or its name is taken and
        ``replace`` is False.
    """
    if not isinstance(venue, Venue):
        raise InvalidInputError(f"register_venue needs a spanlike.venues.Venue. Got {venue!r}.")
    _scan()
    if venue.name in _REGISTERED and _REGISTERED[venue.name] is not venue and not replace:
        raise InvalidInputError(
            f"A venue named {venue.name!r} is already registered. Pick another name or pass replace=True."
        )
    _REGISTERED[venue.name] = venue
    return venue


def available_venues() -> tuple[str, ...]:
    """Names of the registered venues, sorted."""
    _scan()
    return tuple(sorted(_REGISTERED))


def get_venue(name: str) -> Venue:
    """The registered venue called ``name`` (case-insensitive).

    Raises
    ------
    InvalidInputError
        No venue has that name; the message lists the registered ones.
    """
    _scan()
    venue = _REGISTERED.get(name.strip().lower()) if isinstance(name, str) else None
    if venue is None:
        raise InvalidInputError(
            f"Unknown venue {name!r}. Registered venues: {', '.join(available_venues())}. "
            "Use one of them, or add a module to spanlike/venues (see its docstring)."
        )
    return venue


def default_venue() -> Venue:
    """The venue of :data:`DEFAULT_VENUE`."""
    return get_venue(DEFAULT_VENUE)


def venue_for_label(label: str) -> Venue | None:
    """The venue whose name is the first word of ``label``, or None.

    ``"Deribit standard margin"`` -> the ``deribit`` venue. Used to find the
    standard-margin formula of a parameter set's ``[isolated]`` section.
    """
    _scan()
    words = label.split() if isinstance(label, str) else []
    return _REGISTERED.get(words[0].lower()) if words else None
