"""One prepared engine per bundled parameter set, over the snapshot in force.

The set in force is the service's own engine (so the page's numbers are
the service's); another set is prepared on first use and kept until the
market version changes (a set's preparation revalues every quoted
instrument once, about a second on the demo market).
"""

from __future__ import annotations

from typing import Any

from spanlike.service import core
from spanlike.service.core import errors

__all__ = ["EngineCache", "set_name_of", "book_sets"]


def book_sets() -> list[str]:
    """Bundled sets the page can margin a posted book with: those whose every method the batch engine runs.

    A venue set margined from its own inputs (Derive's subaccount with its feeds and SVI surfaces) has
    no place in a book of positions and a snapshot of marks, so the page does not offer it.
    """
    from spanlike.aggregation.methods import method_of

    out = []
    for name in core.params.available():
        ps = core.params.load(name)
        if all(method_of(cc.method).batch_code is not None for cc in ps.combined_commodities):
            out.append(name)
    return out


def set_name_of(label: str) -> str:
    """Bundled name of a set label (``crypto-span@2026.11.1`` -> ``crypto-span``)."""
    return label.split("@", 1)[0]


class EngineCache:
    """Engines by bundled set name for one :class:`ServiceState` (reads ``state.engine`` each call)."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._engines: dict[str, tuple[int, Any, Any]] = {}

    def in_force(self) -> str:
        """Bundled name of the set the service runs."""
        return set_name_of(self._state.parameter_set)

    def get(self, name: str | None) -> Any:
        """The engine of bundled set ``name`` (None: the set in force) at the current snapshot.

        Raises
        ------
        UnknownParameterSetError
            ``name`` is not a bundled set (the message lists them).
        """
        state = self._state
        if name is None or name == self.in_force():
            return state.engine
        if name not in book_sets():
            raise errors.UnknownParameterSetError(
                f"'parameter_set' must be a bundled set the page margins books with: {', '.join(book_sets())}. "
                f"Got {name!r}.")
        hit = self._engines.get(name)
        if hit is not None and hit[0] == state.market_version and hit[1] is state.market:
            return hit[2]
        engine = core.prepare_engine(instruments=list(state.market.quotes), market=state.market,
                                     parameter_set=core.params.load(name))
        self._engines[name] = (state.market_version, state.market, engine)
        return engine
