"""Parameter-change impact: one book under two parameter sets (or two versions of one).

:func:`compare_margins` lines up two :class:`MarginResult` s component by
component, per combined commodity (matched by name) and for the account, all
in USD (settlement amounts x ``usd_per_unit``, so coin and USDC commodities
compare on one scale). :func:`compare_parameter_sets` margins the books under
both sets (each set revalues the universe once for all accounts), and
:func:`change_distribution` summarises the initial-margin changes across many
accounts.

A change is ``b - a``: positive means set ``b`` charges more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from spanlike.params.errors import InvalidInputError
from spanlike.params.parameter_set import ParameterSet
from spanlike.efficiency.inputs import prepare_accounts
from spanlike.efficiency.levels import savings_percent
from spanlike.engine import margin_positions
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.results import CommodityMargin, MarginResult

__all__ = [
    "ComponentChange", "CommodityComparison", "ParameterComparison", "ChangeDistribution",
    "compare_margins", "compare_parameter_sets", "change_distribution", "COMMODITY_COMPONENTS",
]

#: CommodityMargin fields compared (settlement currency in the result; USD here).
COMMODITY_COMPONENTS: tuple[str, ...] = (
    "scan_risk", "time_risk", "vol_risk", "price_risk", "intra_spread_charge", "delivery_charge",
    "inter_spread_credit", "short_option_minimum", "net_option_value", "roll_shock", "delta_shock",
    "requirement", "maintenance_margin", "initial_margin",
)

#: MarginResult fields compared (already USD).
ACCOUNT_COMPONENTS: tuple[str, ...] = (
    "sum_of_requirements_usd", "inter_spread_credit_usd", "correlation_offset_usd", "requirement_usd",
    "maintenance_margin_usd", "initial_margin_usd",
)


@dataclass(frozen=True)
class ComponentChange:
    """One component under set a and set b, USD; ``change_usd = b - a``."""

    component: str
    a_usd: float
    b_usd: float

    @property
    def change_usd(self) -> float:
        """``b - a``, USD."""
        return self.b_usd - self.a_usd

    @property
    def change_pct(self) -> float | None:
        """``100 x (b - a) / a``; None when ``a`` is 0."""
        return savings_percent(self.change_usd, self.a_usd)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"component": self.component, "a_usd": float(self.a_usd), "b_usd": float(self.b_usd),
                "change_usd": float(self.change_usd),
                "change_pct": None if self.change_pct is None else float(self.change_pct)}


@dataclass(frozen=True)
class CommodityComparison:
    """Components of one combined commodity under both sets (0 where a set has no such commodity)."""

    name: str
    in_a: bool
    in_b: bool
    changes: tuple[ComponentChange, ...]

    def change(self, component: str) -> ComponentChange:
        """The change of ``component`` (KeyError if not compared)."""
        for c in self.changes:
            if c.component == component:
                return c
        raise KeyError(component)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"name": self.name, "in_a": self.in_a, "in_b": self.in_b,
                "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class ParameterComparison:
    """One account under parameter sets a and b."""

    account: str
    a_label: str
    b_label: str
    a: MarginResult
    b: MarginResult
    totals: tuple[ComponentChange, ...]
    commodities: tuple[CommodityComparison, ...]

    def total(self, component: str) -> ComponentChange:
        """The account-level change of ``component`` (e.g. ``"initial_margin_usd"``)."""
        for c in self.totals:
            if c.component == component:
                return c
        raise KeyError(component)

    @property
    def initial_margin_change(self) -> ComponentChange:
        """Initial margin under a and b, USD."""
        return self.total("initial_margin_usd")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"account": self.account, "a": self.a_label, "b": self.b_label,
                "totals": [c.to_dict() for c in self.totals],
                "combined_commodities": [c.to_dict() for c in self.commodities]}


def _usd(c: CommodityMargin | None, field: str) -> float:
    return 0.0 if c is None else float(getattr(c, field)) * c.usd_per_unit


def compare_margins(a: MarginResult, b: MarginResult) -> ParameterComparison:
    """Line up two results of the same account component by component (USD).

    Parameters
    ----------
    a, b : MarginResult
        The same book under two parameter sets.

    Returns
    -------
    ParameterComparison
        Commodities in a's order, then those only in b.

    Raises
    ------
    InvalidInputError
        The results belong to different accounts.
    """
    if a.account != b.account:
        raise InvalidInputError(
            f"Compare results of one account: got accounts {a.account!r} and {b.account!r}. "
            "Margin the same book under both parameter sets."
        )
    names = [c.name for c in a.commodities] + [c.name for c in b.commodities
                                                if c.name not in {x.name for x in a.commodities}]
    by_a = {c.name: c for c in a.commodities}
    by_b = {c.name: c for c in b.commodities}
    commodities = tuple(
        CommodityComparison(
            name=n, in_a=n in by_a, in_b=n in by_b,
            changes=tuple(ComponentChange(f, _usd(by_a.get(n), f), _usd(by_b.get(n), f))
                          for f in COMMODITY_COMPONENTS),
        )
        for n in names
    )
    totals = tuple(ComponentChange(f, float(getattr(a, f)), float(getattr(b, f))) for f in ACCOUNT_COMPONENTS)
    return ParameterComparison(account=a.account, a_label=a.parameter_set, b_label=b.parameter_set, a=a, b=b,
                               totals=totals, commodities=commodities)


def compare_parameter_sets(
    portfolios: Sequence[Portfolio], market: MarketSnapshot, *, a: ParameterSet, b: ParameterSet
) -> tuple[ParameterComparison, ...]:
    """Margin every account under sets ``a`` and ``b`` and compare.

    Parameters
    ----------
    portfolios : sequence of Portfolio
        One or many accounts (distinct ids).
    market : MarketSnapshot
    a, b : ParameterSet

    Returns
    -------
    tuple of ParameterComparison
        In ``portfolios`` order.
    """
    book_a = prepare_accounts(portfolios=portfolios, market=market, parameter_set=a)
    book_b = prepare_accounts(portfolios=portfolios, market=market, parameter_set=b)
    out = []
    for acc_a, acc_b in zip(book_a.accounts, book_b.accounts):
        ra = margin_positions(book_a.universe, rows=acc_a.rows, quantity=acc_a.quantity, account=acc_a.account,
                              notes=acc_a.notes)
        rb = margin_positions(book_b.universe, rows=acc_b.rows, quantity=acc_b.quantity, account=acc_b.account,
                              notes=acc_b.notes)
        out.append(compare_margins(ra, rb))
    return tuple(out)


@dataclass(frozen=True)
class ChangeDistribution:
    """Distribution of initial-margin changes ``b - a`` across accounts.

    Quantiles use numpy's default linear interpolation between order
    statistics. Percent statistics skip accounts whose IM under ``a`` is 0
    (``n_pct`` counts the rest).

    Attributes
    ----------
    n_accounts, n_increase, n_decrease, n_unchanged : int
        Unchanged: ``|change| <= 0.005`` USD (below a reported cent).
    total_a_usd, total_b_usd : float
        Sum of IM over accounts under each set.
    change_usd : dict of str to float
        ``min, p5, p25, median, mean, p75, p95, max`` of the USD change.
    change_pct : dict of str to float
        The same statistics of the percent change; empty when ``n_pct == 0``.
    n_pct : int
    """

    a_label: str
    b_label: str
    n_accounts: int
    n_increase: int
    n_decrease: int
    n_unchanged: int
    total_a_usd: float
    total_b_usd: float
    change_usd: dict[str, float]
    change_pct: dict[str, float]
    n_pct: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


#: A change of at most half a cent counts as "unchanged" (amounts are reported to the cent).
UNCHANGED_USD = 0.005


def _stats(x: np.ndarray) -> dict[str, float]:
    if x.size == 0:
        return {}
    q = np.percentile(x, [0, 5, 25, 50, 75, 95, 100])
    return {"min": float(q[0]), "p5": float(q[1]), "p25": float(q[2]), "median": float(q[3]),
            "mean": float(x.mean()), "p75": float(q[4]), "p95": float(q[5]), "max": float(q[6])}


def change_distribution(comparisons: Sequence[ParameterComparison]) -> ChangeDistribution:
    """Summarise initial-margin changes across accounts.

    Raises
    ------
    InvalidInputError
        No comparisons, or comparisons of different parameter-set pairs.
    """
    if not comparisons:
        raise InvalidInputError("change_distribution needs at least one account comparison.")
    pairs = {(c.a_label, c.b_label) for c in comparisons}
    if len(pairs) != 1:
        raise InvalidInputError(f"All comparisons must be of one parameter-set pair; got {sorted(pairs)}.")
    im = [c.initial_margin_change for c in comparisons]
    change = np.array([c.change_usd for c in im])
    pct = np.array([c.change_pct for c in im if c.change_pct is not None], dtype=np.float64)
    a_label, b_label = pairs.pop()
    return ChangeDistribution(
        a_label=a_label, b_label=b_label, n_accounts=len(im),
        n_increase=int((change > UNCHANGED_USD).sum()), n_decrease=int((change < -UNCHANGED_USD).sum()),
        n_unchanged=int((np.abs(change) <= UNCHANGED_USD).sum()),
        total_a_usd=float(sum(c.a_usd for c in im)), total_b_usd=float(sum(c.b_usd for c in im)),
        change_usd=_stats(change), change_pct=_stats(pct), n_pct=int(pct.size),
    )
