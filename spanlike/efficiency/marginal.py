"""Marginal view: each position's incremental margin and which positions are hedges.

``incremental_i = margin(book) - margin(book without position i)`` at the
cross level (or per underlying with ``cross_commodity=False``), IM and MM in
USD. A position whose removal raises the book's margin (incremental < 0)
is a hedge. Incremental margins do not sum to the book's margin (margin is
not additive); ``standalone`` is the position margined alone for comparison.
With one position, its incremental margin equals its standalone margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from spanlike.params.errors import InvalidPositionError
from spanlike.engine import margin_positions
from spanlike.revalue import UniverseRisk

__all__ = ["IncrementalMargin", "MarginalView", "incremental_margins", "HEDGE_TOLERANCE_USD"]

#: An incremental IM must be below ``-HEDGE_TOLERANCE_USD`` to call the position
#: a hedge: a millionth of a dollar is far below any reportable amount and far
#: above the rounding left when a position changes nothing (sums of ~1e6 USD
#: carry ~1e-10 USD of rounding).
HEDGE_TOLERANCE_USD = 1e-6


@dataclass(frozen=True)
class IncrementalMargin:
    """One position's effect on the book's margin (USD).

    Attributes
    ----------
    instrument : str
    quantity : float
        Net quantity in contract units.
    incremental_im_usd, incremental_mm_usd : float
        Book margin with the position minus without it.
    standalone_im_usd, standalone_mm_usd : float
        The position margined alone under the same methodology.
    is_hedge : bool
        ``incremental_im_usd < -HEDGE_TOLERANCE_USD``.
    """

    instrument: str
    quantity: float
    incremental_im_usd: float
    incremental_mm_usd: float
    standalone_im_usd: float
    standalone_mm_usd: float
    is_hedge: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class MarginalView:
    """Incremental margins of every position of one book."""

    account: str
    cross_commodity: bool
    initial_margin_usd: float
    maintenance_margin_usd: float
    positions: tuple[IncrementalMargin, ...]

    @property
    def hedges(self) -> tuple[IncrementalMargin, ...]:
        """Positions with negative incremental IM, most margin-reducing first."""
        return tuple(sorted((p for p in self.positions if p.is_hedge), key=lambda p: p.incremental_im_usd))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"account": self.account, "cross_commodity": self.cross_commodity,
                "initial_margin_usd": self.initial_margin_usd, "maintenance_margin_usd": self.maintenance_margin_usd,
                "positions": [p.to_dict() for p in self.positions]}


def incremental_margins(
    universe: UniverseRisk,
    *,
    rows: ArrayLike,
    quantity: ArrayLike,
    account: str = "default",
    cross_commodity: bool = True,
) -> MarginalView:
    """Incremental and standalone margin of every position (``2k + 1`` margin runs, no repricing).

    Parameters
    ----------
    universe : UniverseRisk
    rows : array_like of int, shape (k,)
        Rows of ``universe.table``, each once.
    quantity : array_like of float, shape (k,)
        Net quantity per row, contract units, non-zero.
    account : str
    cross_commodity : bool
        Margin level: cross (True) or per-underlying portfolio (False).

    Returns
    -------
    MarginalView
        Positions in ``rows`` order.

    Raises
    ------
    InvalidPositionError
        Shapes differ or a quantity is zero (a zero position has no margin
        effect to report; drop it).
    """
    r = np.asarray(rows, dtype=np.intp)
    q = np.asarray(quantity, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1:
        raise InvalidPositionError(f"rows and quantity must be 1-D of equal length; got {r.shape} and {q.shape}.")
    if (q == 0.0).any():
        i = int(np.flatnonzero(q == 0.0)[0])
        raise InvalidPositionError(
            f"The quantity of {universe.table.instruments[r[i]].name} is 0: drop zero positions before the marginal view."
        )

    def run(rr: np.ndarray, qq: np.ndarray) -> tuple[float, float]:
        res = margin_positions(universe, rows=rr, quantity=qq, account=account, cross_commodity=cross_commodity)
        return res.initial_margin_usd, res.maintenance_margin_usd

    full_im, full_mm = run(r, q)
    out = []
    for i in range(r.size):
        keep = np.arange(r.size) != i
        without_im, without_mm = run(r[keep], q[keep])
        alone_im, alone_mm = run(r[i:i + 1], q[i:i + 1])
        inc_im = full_im - without_im
        out.append(IncrementalMargin(
            instrument=universe.table.instruments[r[i]].name, quantity=float(q[i]),
            incremental_im_usd=inc_im, incremental_mm_usd=full_mm - without_mm,
            standalone_im_usd=alone_im, standalone_mm_usd=alone_mm,
            is_hedge=inc_im < -HEDGE_TOLERANCE_USD,
        ))
    return MarginalView(account=account, cross_commodity=cross_commodity, initial_margin_usd=full_im,
                        maintenance_margin_usd=full_mm, positions=tuple(out))
