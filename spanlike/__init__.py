"""spanlike: an options-aware portfolio margin engine in the style of CME SPAN.

>>> import spanlike
>>> result = spanlike.margin("book.csv", "market.json", "crypto-span")   # doctest: +SKIP
>>> result.initial_margin_usd                                           # doctest: +SKIP

Public names are imported lazily so that light commands (``spanlike params
list``) do not pay numba's start-up cost.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "margin": "spanlike.engine",
    "margin_positions": "spanlike.engine",
    "revalue": "spanlike.revalue",
    "Portfolio": "spanlike.portfolio",
    "Position": "spanlike.portfolio",
    "MarketSnapshot": "spanlike.market",
    "InstrumentQuote": "spanlike.market",
    "Instrument": "spanlike.instruments",
    "parse_instrument": "spanlike.instruments",
    "make_instrument": "spanlike.instruments",
    "InstrumentTable": "spanlike.universe",
    "build_instrument_table": "spanlike.universe",
    "MarginResult": "spanlike.results",
    "CommodityMargin": "spanlike.results",
}

__all__ = sorted(_LAZY) + ["__version__", "errors"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name == "errors":
        return import_module("spanlike.errors")
    raise AttributeError(f"module 'spanlike' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
