"""Typed exceptions raised by spanlike (re-exported from :mod:`spanlike.params.errors`).

Catch :class:`SpanlikeError` for everything spanlike raises on purpose; every
subclass also inherits the builtin it refines (``ValueError``, ``KeyError``,
``ArithmeticError``).
"""

from spanlike.params.errors import (
    ExpiredInstrumentError,
    ImpliedVolatilityError,
    InputFileError,
    InvalidInputError,
    InvalidInstrumentError,
    InvalidPositionError,
    MarketDataError,
    MissingMarketDataError,
    NumericalError,
    ParameterSetError,
    SpanlikeError,
    FrameUnavailableError,
    UnknownAccountError,
    UnknownCommodityError,
    UnknownInstrumentError,
    UnknownParameterSetError,
)

__all__ = [
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
    "UnknownCommodityError",
    "FrameUnavailableError",
]
