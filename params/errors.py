"""Exception hierarchy shared by every layer of spanlike.

The hierarchy lives in the leaf package so that ``risk_arrays`` and ``params``
can raise the same typed errors that users catch from :mod:`spanlike.errors`
(imports only point down: ``spanlike -> risk_arrays -> params``).

Every class also inherits the builtin it refines, so ``except ValueError``
keeps working for callers that do not know spanlike's types. Messages name the
thing, the value and the fix.
"""

from __future__ import annotations

__all__ = [
    "UnknownCommodityError",
    "FrameUnavailableError",
    "SpanlikeError",
    "InvalidInputError",
    "ImpliedVolatilityError",
    "NumericalError",
    "ParameterSetError",
    "UnknownParameterSetError",
    "InputFileError",
    "InvalidInstrumentError",
    "ExpiredInstrumentError",
    "UnknownInstrumentError",
    "InvalidPositionError",
    "MarketDataError",
    "MissingMarketDataError",
    "UnknownAccountError",
]


class SpanlikeError(Exception):
    """Base class of every error spanlike raises on purpose."""


class _KeyErrorMessage(KeyError):
    """KeyError whose ``str()`` is the plain message, not its ``repr``."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidInputError(SpanlikeError, ValueError):
    """A numeric input is outside its domain (NaN, negative price, vol <= 0, ...)."""


class ImpliedVolatilityError(InvalidInputError):
    """No volatility reproduces the given option price."""


class NumericalError(SpanlikeError, ArithmeticError):
    """A computation produced a non-finite number from finite, valid inputs."""


class ParameterSetError(SpanlikeError, ValueError):
    """A parameter set file or object fails validation."""


class UnknownParameterSetError(SpanlikeError, _KeyErrorMessage):
    """No bundled parameter set has the requested name."""


class InputFileError(SpanlikeError, ValueError):
    """A portfolio, market, history or SPAN file is malformed."""


class InvalidInstrumentError(SpanlikeError, ValueError):
    """An instrument name or definition cannot be understood."""


class ExpiredInstrumentError(InvalidInstrumentError):
    """An instrument expired at or before the valuation time."""


class UnknownInstrumentError(SpanlikeError, _KeyErrorMessage):
    """An instrument is referenced that the universe does not define."""


class InvalidPositionError(SpanlikeError, ValueError):
    """A position quantity or unit is invalid."""


class MarketDataError(SpanlikeError, ValueError):
    """Market data is present but invalid (crossed, stale, negative, expired)."""


class MissingMarketDataError(MarketDataError, _KeyErrorMessage):
    """Market data needed for a held instrument is absent."""


class UnknownAccountError(SpanlikeError, _KeyErrorMessage):
    """An account id is referenced that the input does not define."""


class UnknownCommodityError(SpanlikeError, _KeyErrorMessage):
    """A combined commodity is asked for that a margin result does not hold (a ``KeyError``)."""


class FrameUnavailableError(SpanlikeError, ImportError):
    """pandas (the optional extra ``spanlike[frame]``) is not installed."""
