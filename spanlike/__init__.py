"""spanlike: an options-aware portfolio margin engine in the style of CME SPAN.

>>> import spanlike
>>> files = spanlike.demo_files()                 # the bundled demo book and snapshot
>>> result = spanlike.margin(files.portfolio, files.market, "crypto-span")
>>> round(result.initial_margin_usd, 2)
61205.56

Public names are imported lazily so that light commands (``spanlike params
list``) do not pay numba's start-up cost.
"""

from __future__ import annotations

from spanlike._lazy import lazy_exports

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
    "load_portfolio": "spanlike.loaders",
    "load_market": "spanlike.loaders",
    "Venue": "spanlike.venues",
    "get_venue": "spanlike.venues",
    "available_venues": "spanlike.venues",
    "InstrumentTable": "spanlike.universe",
    "build_instrument_table": "spanlike.universe",
    "MarginResult": "spanlike.results",
    "CommodityMargin": "spanlike.results",
    "what_if": "spanlike.api",
    "prepare_what_if": "spanlike.api",
    "demo_files": "spanlike.api",
}

__all__ = sorted(_LAZY) + ["__version__", "errors"]

# `spanlike.errors` is cheap: import it eagerly so `spanlike.errors.X` always works.
from spanlike import errors  # noqa: E402

__getattr__, __dir__ = lazy_exports("spanlike", globals(), _LAZY)
