"""Margin methods as registered components: what each method computes per combined commodity.

A combined commodity of a parameter set names its method (``CombinedCommodity.method``:
``"span"``, ``"exchange"``, ``"var"``; a venue's method registers the same way).
A :class:`MarginMethod` declares

* ``stage``: the method's computation over one commodity's book before the
  cross level (scan risk or worst case, charges), returning a
  :class:`CommodityStage` whose ``finish(credit)`` gives the typed component
  record (:mod:`spanlike.results`) and the requirement once the
  inter-commodity credit is known;
* ``takes_inter_credit``: whether inter-commodity spread credits apply;
* ``report_rows``: the component keys and labels the text report shows;
* ``requirement_with``: the requirement with only some components switched
  on (the savings attribution chain of :mod:`spanlike.efficiency`);
* ``batch_code``: the method's code in the batch kernels, or None where they
  do not compute it (the batch then refuses the set by name);
* ``account_margin``: for a venue method whose rules need the venue's own
  inputs (Derive's feeds and SVI surfaces), the function margining a whole
  account from the venue's files, named ``"module:function"`` because the
  venue layer sits above this one; ``spanlike margin`` imports and calls it.

The engine, the report, the batch packing and the efficiency attribution read
methods from :data:`METHODS` instead of testing the method's name.

Adding a method: write its stage over a :class:`CommodityBook` (rules from
:mod:`spanlike.methodology`), its component record, and call
:func:`register_method`. See ``docs/architecture.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.params.errors import ParameterSetError
from spanlike.params.parameter_set import ParameterSet
from spanlike.results import ComponentRecord, SpreadFormed

__all__ = ["CommodityStage", "MarginMethod", "METHODS", "register_method", "method_of", "BATCH_SPAN",
           "BATCH_EXCHANGE"]

#: Method codes of the batch kernels (spanlike.batch.kernels reads them from here).
BATCH_SPAN, BATCH_EXCHANGE = 0, 1


@dataclass(frozen=True, eq=False)
class CommodityStage:
    """One commodity after its method's own computation, before the cross level.

    Attributes
    ----------
    book : CommodityBook
    raw_losses : ndarray, shape (m,)
        ``q @ R`` per scenario, settlement currency (direction and joint-move
        floor read these).
    losses : ndarray, shape (m,)
        The losses the worst scenario is taken over (exchange style: after
        gains offset and dampener).
    worst : int
        Worst scenario.
    price_risk : float
        Directional price risk (settlement currency, >= 0 for any offset).
    net_option_value : float
        Option value the requirement nets (0 where the method nets none).
    available_delta : float
        Delta left for inter-commodity spreads (methods that take them).
    spreads : tuple of SpreadFormed
        Intra-commodity spreads formed.
    finish : callable
        ``finish(credit) -> (record, requirement)`` once the inter-commodity
        credit (settlement currency) is known.
    """

    book: CommodityBook
    raw_losses: NDArray[np.float64]
    losses: NDArray[np.float64]
    worst: int
    price_risk: float
    net_option_value: float
    available_delta: float
    spreads: tuple[SpreadFormed, ...]
    finish: Callable[[float], tuple[ComponentRecord, float]]


@dataclass(frozen=True)
class MarginMethod:
    """A margin method and what it declares (module notes)."""

    name: str
    description: str
    stage: Callable[[CommodityBook, ParameterSet], CommodityStage]
    takes_inter_credit: bool
    scan_label: str
    report_rows: tuple[tuple[str, str], ...]
    requirement_with: Callable[[Any, float, frozenset[str]], float] | None
    batch_code: int | None
    #: A method whose rules read inputs the engine's books do not carry (a venue's feeds, surfaces and
    #: collateral) margins a whole account from the venue's own files instead:
    #: ``account_margin(portfolio=path, market=path, parameter_set=ps)`` returning a result with
    #: ``format_table()`` and ``to_dict()``, named as ``"module:function"`` (imported by the caller,
    #: so this layer never imports a venue). None: the engine's pipeline margins it.
    account_margin: str | None = None


METHODS: dict[str, MarginMethod] = {}


def register_method(method: MarginMethod) -> MarginMethod:
    """Add ``method`` to :data:`METHODS` (its name must be new); returns it."""
    if method.name in METHODS:
        raise ValueError(f"a margin method named {method.name!r} is already registered")
    METHODS[method.name] = method
    return method


def method_of(name: str) -> MarginMethod:
    """The registered method ``name`` (the built-in ones are registered on first use).

    Raises
    ------
    ParameterSetError
        No method of that name.
    """
    if name not in METHODS:
        _register_builtin()
    try:
        return METHODS[name]
    except KeyError:
        raise ParameterSetError(
            f"No margin method {name!r} is registered; the methods are {', '.join(sorted(METHODS))}."
        ) from None


def _register_builtin() -> None:
    # The built-in methods register themselves on import (each module's last lines).
    import spanlike.aggregation.exchange  # noqa: F401
    import spanlike.aggregation.span  # noqa: F401
    import spanlike.aggregation.var_model  # noqa: F401
    import spanlike.aggregation.derive  # noqa: F401
