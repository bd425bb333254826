"""Typed margin results: account -> combined commodity -> components.

Amounts of a :class:`CommodityMargin` are in that commodity's settlement
currency (coin for coin-settled commodities, e.g. BTC; USDC for linear ones)
unless the field name ends in ``_usd``. Account totals are in the reporting
currency (USD), converting coin amounts at the underlying's index price.
Losses are positive, gains negative; charges are positive amounts added to the
requirement, credits and offsets positive amounts subtracted from it.

``to_dict()`` returns the stable JSON shape documented in the README
("Output"): keys never disappear; components that do not apply to a method
are 0.0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from spanlike.params.errors import FrameUnavailableError, UnknownCommodityError

__all__ = [
    "Scenario", "PositionContribution", "SpreadFormed", "SpanComponents", "ExchangeComponents", "VarComponents",
    "DeriveComponents", "ComponentRecord", "COMPONENT_KEYS", "CommodityMargin", "MarginResult", "RESULT_SCHEMA_VERSION",
    "UnknownCommodityError", "FrameUnavailableError", "FRAME_COLUMNS",
]

# 2: the account's joint-move floor (joint_move_floor_usd, joint_move_addon_usd,
#    joint_move_scenario) and each commodity's directional share (direction).
# 3: Derive components (derive_worst_loss, derive_contingencies).
# 4: contributions say how a quantity was entered (entered_as), spreads what their count counts (count_unit).
# 5: which positions the cross level's offsets were read from (cross_offsets_from).
RESULT_SCHEMA_VERSION = 5


def _plain(value: Any) -> Any:
    """Convert numpy scalars (np.float64, np.bool_) to Python ones so ``json.dumps`` accepts them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


@dataclass(frozen=True)
class Scenario:
    """A scenario of a commodity's grid: 0-based ``index`` and a human ``label``."""

    index: int
    label: str


@dataclass(frozen=True)
class PositionContribution:
    """One position's share of its commodity's worst-scenario loss.

    Attributes
    ----------
    instrument : str
    quantity : float
        Net quantity in contract units (coin for options and coin futures).
    worst_scenario_loss : float
        ``quantity x risk_array[worst]``, settlement currency, loss positive.
        Contributions of a commodity sum to its worst-scenario loss.
    entered_as : str or None
        The quantity as the portfolio gave it where that was not in contract
        units (``"-150000 usd"`` for a coin-settled perpetual sized in USD);
        None otherwise.
    """

    instrument: str
    quantity: float
    worst_scenario_loss: float
    entered_as: str | None = None


@dataclass(frozen=True)
class SpreadFormed:
    """A spread the engine formed, and what it charged or credited.

    Attributes
    ----------
    kind : {"intra", "inter"}
    name : str
        e.g. ``"tier 1 / tier 2"`` or the inter spread's name.
    priority : int
    legs : tuple of str
        Tier numbers (intra) or combined commodity names (inter), with side.
    count : float
        Number of spreads (delta units of a ratio-1 leg), or, for an inter
        spread whose deltas count in USD notional, the USD of delta matched.
    amount : float
        Intra: the charge. Inter: the credit to this commodity's legs.
        Settlement currency.
    count_unit : str
        ``""`` when ``count`` is a number of spreads, ``"usd"`` when it is USD
        of delta (``delta_basis = "notional_usd"``).
    """

    kind: Literal["intra", "inter"]
    name: str
    priority: int
    legs: tuple[str, ...]
    count: float
    amount: float
    count_unit: str = ""


@dataclass(frozen=True)
class SpanComponents:
    """Components of a SPAN combined commodity (methodology 3), settlement currency.

    ``risk = max(scan_risk + intra_spread_charge + delivery_charge -
    inter_spread_credit, short_option_minimum)`` and ``requirement =
    max(risk - net_option_value, 0) + liquidity_charge``; ``time_risk +
    vol_risk + price_risk = scan_risk`` (paired-scenario split).
    """

    scan_risk: float
    time_risk: float
    vol_risk: float
    price_risk: float
    intra_spread_charge: float
    delivery_charge: float
    inter_spread_credit: float
    short_option_minimum: float
    short_option_minimum_binding: bool
    net_option_value: float
    liquidity_charge: float = 0.0


@dataclass(frozen=True)
class ExchangeComponents:
    """Components of an exchange-style (Deribit-like) combined commodity (methodology 2.2, 4).

    ``scan_risk`` is the worst case after gains offset and dampener;
    ``requirement = scan_risk + roll_shock + delta_shock + liquidity_charge``
    (the risk-matrix margin plus any liquidity add-on). ``price_risk`` is the
    worst loss over the standard vol-unchanged cells (the directional
    component of correlation offsets).
    """

    scan_risk: float
    price_risk: float
    roll_shock: float
    delta_shock: float
    liquidity_charge: float = 0.0


@dataclass(frozen=True)
class VarComponents:
    """Components of a combined commodity under the VaR/ES model (:mod:`spanlike.params.var_model`).

    ``scan_risk`` is the commodity's standalone VaR or ES of its losses over
    the historical scenarios (at least 0); ``stress_charge`` is ``weight x
    worst stress loss`` (``combine = "add"``) or ``max(0, weight x worst
    stress loss - scan_risk)`` (``"max"``); ``requirement = scan_risk +
    stress_charge + liquidity_charge``.
    """

    scan_risk: float
    stress_charge: float
    liquidity_charge: float = 0.0


@dataclass(frozen=True)
class DeriveComponents:
    """Components of a combined commodity under Derive's portfolio margin (:mod:`spanlike.aggregation.derive`).

    Loss-positive: ``derive_worst_loss`` is minus the worst scenario P&L (or
    the basis contingency when that is worse), ``derive_contingencies`` the
    MM contingencies (perpetual, option, collateral haircuts);
    ``requirement = mm_factor * derive_worst_loss + derive_contingencies`` for MM.
    """

    derive_worst_loss: float
    derive_contingencies: float


ComponentRecord = SpanComponents | ExchangeComponents | VarComponents | DeriveComponents

#: Every component key of every method, in the order of the JSON ``components`` object
#: (the stable shape: a key a method does not have reads 0.0, or False for the flag).
COMPONENT_KEYS: tuple[str, ...] = (
    "scan_risk", "time_risk", "vol_risk", "price_risk", "intra_spread_charge", "delivery_charge",
    "inter_spread_credit", "short_option_minimum", "short_option_minimum_binding", "net_option_value",
    "roll_shock", "delta_shock", "stress_charge", "liquidity_charge",
    "derive_worst_loss", "derive_contingencies",
)


@dataclass(frozen=True)
class CommodityMargin:
    """Margin of one combined commodity: common fields and its method's typed components.

    ``components`` is the record of the commodity's method
    (:class:`SpanComponents`, :class:`ExchangeComponents` or
    :class:`VarComponents`; each says how its requirement is formed). Every
    component key is also readable as an attribute (``c.scan_risk``,
    ``c.roll_shock``): a key the method does not have reads 0.0 (False for
    ``short_option_minimum_binding``), which is also what ``to_dict()`` writes.

    ``scenario_losses`` are the commodity's scenario losses (for the VaR/ES
    model, its losses in the joint scenarios: historical, then stress; the
    worst scenario's label carries its date).

    ``maintenance_margin = mm_factor x requirement`` and
    ``initial_margin = im_factor x requirement`` (parameter set's relation).

    ``direction`` is the directional share ``w`` in [-1, 1] read from the
    scenario losses (:mod:`spanlike.methodology.direction`): +1 loses on
    price falls only, -1 on rises only, 0 not directional. The cross level
    offsets commodities by it, not by the sign of ``net_delta``. None where no
    cross level reads it (an exchange SPAN file keeps CME's delta-based rules).
    """

    name: str
    method: str
    settlement_currency: str
    usd_per_unit: float
    scenario_labels: tuple[str, ...]
    scenario_losses: tuple[float, ...]
    worst_scenario: Scenario
    net_delta: float
    components: ComponentRecord
    requirement: float
    maintenance_margin: float
    initial_margin: float
    contributions: tuple[PositionContribution, ...]
    spreads: tuple[SpreadFormed, ...] = ()
    direction: float | None = None

    def component(self, key: str) -> float | bool:
        """Component ``key`` of :data:`COMPONENT_KEYS` (0.0, or False for the flag, where the method has none)."""
        if key not in COMPONENT_KEYS:
            raise KeyError(f"{key!r} is not a margin component; components are {', '.join(COMPONENT_KEYS)}")
        return getattr(self.components, key, False if key == "short_option_minimum_binding" else 0.0)

    @property
    def requirement_usd(self) -> float:
        """The requirement converted to USD at the index price."""
        return self.requirement * self.usd_per_unit

    @property
    def maintenance_margin_usd(self) -> float:
        """Maintenance margin in USD."""
        return self.maintenance_margin * self.usd_per_unit

    @property
    def initial_margin_usd(self) -> float:
        """Initial margin in USD."""
        return self.initial_margin * self.usd_per_unit

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (see the README's "Output" section); plain Python numbers only."""
        return _plain({
            "name": self.name,
            "method": self.method,
            "settlement_currency": self.settlement_currency,
            "usd_per_unit": self.usd_per_unit,
            "initial_margin": self.initial_margin,
            "maintenance_margin": self.maintenance_margin,
            "initial_margin_usd": self.initial_margin_usd,
            "maintenance_margin_usd": self.maintenance_margin_usd,
            "requirement": self.requirement,
            "components": {key: self.component(key) for key in COMPONENT_KEYS},
            "net_delta": self.net_delta,
            "direction": self.direction,
            "worst_scenario": {"index": self.worst_scenario.index, "label": self.worst_scenario.label},
            "scenarios": [
                {"index": i, "label": label, "loss": loss}
                for i, (label, loss) in enumerate(zip(self.scenario_labels, self.scenario_losses))
            ],
            "contributions": [
                {"instrument": c.instrument, "quantity": c.quantity, "worst_scenario_loss": c.worst_scenario_loss,
                 "entered_as": c.entered_as}
                for c in self.contributions
            ],
            "spreads": [
                {"kind": s.kind, "name": s.name, "priority": s.priority, "legs": list(s.legs),
                 "count": s.count, "count_unit": s.count_unit, "amount": s.amount}
                for s in self.spreads
            ],
        })


def _component_property(key: str) -> property:
    def read(self: CommodityMargin) -> float | bool:
        return self.component(key)

    read.__doc__ = f"The ``{key}`` component (see :data:`COMPONENT_KEYS`)."
    return property(read)


# Flat, read-only access to every component key (c.scan_risk, c.roll_shock, ...), as the JSON has it.
for _key in COMPONENT_KEYS:
    setattr(CommodityMargin, _key, _component_property(_key))
del _key


def pandas_module() -> Any:
    """pandas, or :class:`FrameUnavailableError` naming the extra to install."""
    try:
        import pandas
    except ImportError:
        raise FrameUnavailableError(
            "DataFrames need pandas, the optional extra 'spanlike[frame]'. Install it with "
            "pip install 'spanlike[frame]' (or pip install pandas), or use to_dict()."
        ) from None
    return pandas


#: Columns of :meth:`MarginResult.to_frame` before the components, in order.
FRAME_COLUMNS: tuple[str, ...] = (
    "account", "parameter_set", "valuation_time", "combined_commodity", "method", "settlement_currency",
    "usd_per_unit", "initial_margin", "maintenance_margin", "requirement", "initial_margin_usd",
    "maintenance_margin_usd", "requirement_usd", "net_delta", "direction", "worst_scenario_index",
    "worst_scenario",
)


@dataclass(frozen=True)
class MarginResult:
    """Cross-margined result of one account.

    ``requirement_usd = sum_of_requirements_usd - correlation_offset_usd +
    joint_move_addon_usd``: the correlated total is never left below the
    joint-move floor (:mod:`spanlike.methodology.joint_move`, parameter
    sets with a ``joint_move_floor`` section): ``joint_move_floor_usd`` is the
    account's loss, net of option value, when every underlying moves by its
    scan range together (``joint_move_scenario`` says which way), and
    ``joint_move_addon_usd = max(0, floor - correlated total)``.
    Under the VaR/ES model the account requirement is the VaR/ES of the joint
    scenario losses summed across commodities in USD (plus the joint stress
    charge and the liquidity charges), so ``correlation_offset_usd`` is the
    diversification the joint scenarios give: >= 0 for ES (subadditive), and
    negative for VaR when the joint VaR exceeds the sum of standalone VaRs.

    ``maintenance_margin_usd = mm_factor x requirement_usd`` and
    ``initial_margin_usd = im_factor x requirement_usd``.

    ``cross_offsets_from`` says which positions the inter-commodity credits
    and the correlation offset were read from: ``"all"`` (every position) or
    ``"delta_one"`` (the futures and perpetuals only, methodology 6.3); None
    where the account is margined without them (per underlying, a set
    without credits or a correlation matrix, a VaR/ES model).
    """

    account: str
    parameter_set: str
    valuation_time: dt.datetime
    commodities: tuple[CommodityMargin, ...]
    sum_of_requirements_usd: float
    correlation_offset_usd: float
    requirement_usd: float
    maintenance_margin_usd: float
    initial_margin_usd: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    reporting_currency: str = "USD"
    joint_move_floor_usd: float = 0.0
    joint_move_addon_usd: float = 0.0
    joint_move_scenario: str | None = None
    cross_offsets_from: str | None = None

    def commodity(self, name: str) -> CommodityMargin:
        """The result of combined commodity ``name``.

        Raises
        ------
        UnknownCommodityError
            (a ``KeyError``) The account holds nothing in ``name``; the message
            lists the combined commodities the result has.
        """
        for c in self.commodities:
            if c.name == name:
                return c
        have = ", ".join(c.name for c in self.commodities) or "none: the book is empty"
        raise UnknownCommodityError(
            f"Combined commodity {name!r} is not in the margin result of account {self.account!r} "
            f"(it holds {have}). Pick one of those."
        )

    def to_frame(self) -> Any:
        """One row per combined commodity as a pandas DataFrame (the optional extra ``spanlike[frame]``).

        Columns, in order (:data:`FRAME_COLUMNS`, then :data:`COMPONENT_KEYS`):

        ========================== ===========================================================
        ``account``, ``parameter_set``, ``valuation_time``   the account and how it was margined
        ``combined_commodity``     e.g. ``BTC``, ``BTC_USDC``
        ``method``                 ``span``, ``exchange`` or ``var``
        ``settlement_currency``    the unit of every amount column without ``_usd``
        ``usd_per_unit``           USD per unit of the settlement currency (index price)
        ``initial_margin``, ``maintenance_margin``, ``requirement``   settlement currency
        ``*_usd``                  the same in USD at ``usd_per_unit``
        ``net_delta``              underlying units (coins)
        ``direction``              directional share in [-1, 1] (+1 loses on price falls only)
        ``worst_scenario_index``   0-based, as in :meth:`to_dict` (the text report's ``#n`` is ``index + 1``)
        ``worst_scenario``         its label (price move, vol)
        components                 :data:`COMPONENT_KEYS`, settlement currency, loss and
                                   charges positive, credits positive amounts subtracted;
                                   ``short_option_minimum_binding`` is a boolean
        ========================== ===========================================================

        Account totals (USD) are in ``frame.attrs``: ``initial_margin_usd``,
        ``maintenance_margin_usd``, ``requirement_usd``, ``sum_of_requirements_usd``,
        ``correlation_offset_usd``, ``joint_move_addon_usd``.

        Raises
        ------
        FrameUnavailableError
            pandas is not installed.
        """
        pd = pandas_module()
        rows = []
        for c in self.commodities:
            row: dict[str, Any] = {
                "account": self.account, "parameter_set": self.parameter_set, "valuation_time": self.valuation_time,
                "combined_commodity": c.name, "method": c.method, "settlement_currency": c.settlement_currency,
                "usd_per_unit": c.usd_per_unit, "initial_margin": c.initial_margin,
                "maintenance_margin": c.maintenance_margin, "requirement": c.requirement,
                "initial_margin_usd": c.initial_margin_usd, "maintenance_margin_usd": c.maintenance_margin_usd,
                "requirement_usd": c.requirement_usd, "net_delta": c.net_delta, "direction": c.direction,
                "worst_scenario_index": c.worst_scenario.index, "worst_scenario": c.worst_scenario.label,
            }
            row.update({key: c.component(key) for key in COMPONENT_KEYS})
            rows.append(_plain(row))
        frame = pd.DataFrame(rows, columns=[*FRAME_COLUMNS, *COMPONENT_KEYS])
        frame.attrs.update({
            "initial_margin_usd": self.initial_margin_usd, "maintenance_margin_usd": self.maintenance_margin_usd,
            "requirement_usd": self.requirement_usd, "sum_of_requirements_usd": self.sum_of_requirements_usd,
            "correlation_offset_usd": self.correlation_offset_usd, "joint_move_addon_usd": self.joint_move_addon_usd,
        })
        return frame

    @property
    def inter_spread_credit_usd(self) -> float:
        """Sum of inter-commodity spread credits, USD."""
        return sum(c.inter_spread_credit * c.usd_per_unit for c in self.commodities)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with a stable shape (schema version :data:`RESULT_SCHEMA_VERSION`)."""
        return _plain({
            "schema_version": RESULT_SCHEMA_VERSION,
            "account": self.account,
            "parameter_set": self.parameter_set,
            "valuation_time": self.valuation_time.isoformat(),
            "reporting_currency": self.reporting_currency,
            "initial_margin_usd": self.initial_margin_usd,
            "maintenance_margin_usd": self.maintenance_margin_usd,
            "requirement_usd": self.requirement_usd,
            "sum_of_requirements_usd": self.sum_of_requirements_usd,
            "inter_spread_credit_usd": self.inter_spread_credit_usd,
            "correlation_offset_usd": self.correlation_offset_usd,
            "joint_move_floor_usd": self.joint_move_floor_usd,
            "joint_move_addon_usd": self.joint_move_addon_usd,
            "joint_move_scenario": self.joint_move_scenario,
            "cross_offsets_from": self.cross_offsets_from,
            "combined_commodities": [c.to_dict() for c in self.commodities],
            "notes": list(self.notes),
        })

    def format_table(self, *, contributions: int = 5) -> str:
        """A readable text report (what ``spanlike margin`` prints)."""
        from spanlike.report import format_margin_result

        return format_margin_result(self, contributions=contributions)

    def __str__(self) -> str:
        return self.format_table()
