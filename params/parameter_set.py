"""The parameter set: a versioned, validated margin methodology as data.

A parameter set names its combined commodities (underlying + settlement
currency), each with a scenario grid, valuation settings and either SPAN
charges or exchange-style add-ons; then the cross-commodity inter spreads and
correlation matrix, and how initial and maintenance margin relate.

A set with a ``var_model`` section (:mod:`spanlike.params.var_model`) uses the VaR/ES
model instead: every combined commodity has a ``historical`` grid over the
section's joint scenarios, and the account margin is the VaR/ES of the joint
losses, so such a set has no inter spreads and no correlation matrix (the
scenarios carry the dependence). Any combined commodity may add a
``liquidity`` section (:mod:`spanlike.params.liquidity`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import FrozenModel
from .charges import ExchangeAddOns, SpanCharges
from .derive import DeriveSection
from .cross import CorrelationMatrix, CrossOffsets, InterSpread, JointMoveFloor
from .grids import ExchangeGrid, Grid, HistoricalGrid, SpanGrid
from .isolated import IsolatedSection
from .liquidity import LiquidityCharge
from .var_model import VarModel

__all__ = ["Metadata", "CombinedCommodity", "MarginRelation", "ParameterSet", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class Metadata(FrozenModel):
    """Who made the set, when, from what.

    Attributes
    ----------
    name : str
        Identifier used by :func:`spanlike.params.load` (e.g. ``"crypto-span"``).
    version : str
        Version of this set; bump on every change of a number.
    as_of : date
        Date the parameters are valid from.
    description : str
    sources : tuple of str
        Public sources of the numbers, or "our choice" with the reason.
    provenance : dict of str to str
        Free-form record of how the set was produced (calibration data range,
        method, confidence, MPOR, ...).
    """

    name: Name
    version: Annotated[str, Field(min_length=1, max_length=32)]
    as_of: Annotated[dt.date, Field(strict=False)]  # ISO text from JSON, a date from TOML
    description: str = ""
    sources: tuple[str, ...] = ()
    provenance: dict[str, str] = Field(default_factory=dict)


class CombinedCommodity(FrozenModel):
    """All contracts on one underlying with one settlement currency.

    Attributes
    ----------
    name : str
        e.g. ``"BTC"`` (coin-settled) or ``"BTC_USDC"`` (USDC-settled).
    underlying : str
        Ultimate underlying, e.g. ``"BTC"``; its index price converts coin
        amounts to USD.
    settlement : {"coin", "linear"}
        ``coin``: inverse contracts, P&L in the underlying coin.
        ``linear``: P&L in ``settlement_currency`` (a USD stablecoin).
    settlement_currency : str
        Currency of the risk arrays and charges (``"BTC"``, ``"USDC"``).
    interest_rate : float
        Discount rate for option valuation, annual decimal.
    grid : SpanGrid, ExchangeGrid or HistoricalGrid
    span : SpanCharges or None
        Required with a ``span16`` grid; selects the SPAN aggregation path.
    exchange : ExchangeAddOns or None
        Required with an ``exchange`` grid; selects the exchange-style path.
        A ``historical`` grid (VaR/ES model) takes neither.
    liquidity : LiquidityCharge or None
        Optional liquidity/concentration add-on, added to the requirement.
    derive : DeriveSection or None
        Derive's portfolio margin (:mod:`spanlike.params.derive`); selects the
        ``derive`` method. Given with an ``exchange`` grid (Derive's regular
        scenarios as the grid the risk arrays show) and no ``exchange`` section.
    """

    name: Name
    underlying: Name
    settlement: Literal["coin", "linear"]
    settlement_currency: Name
    interest_rate: Annotated[float, Field(ge=-0.5, le=1.0)] = 0.0
    grid: Grid
    span: SpanCharges | None = None
    exchange: ExchangeAddOns | None = None
    liquidity: LiquidityCharge | None = None
    derive: DeriveSection | None = None

    @model_validator(mode="after")
    def _check(self) -> "CombinedCommodity":
        if self.derive is not None:
            if not isinstance(self.grid, ExchangeGrid) or self.span is not None or self.exchange is not None:
                raise ValueError(
                    f"combined commodity {self.name} has a 'derive' section: give it an exchange grid and no "
                    "'span' or 'exchange' section"
                )
        elif isinstance(self.grid, SpanGrid):
            if self.span is None or self.exchange is not None:
                raise ValueError(
                    f"combined commodity {self.name} has a span16 grid: give a 'span' section and no 'exchange' section"
                )
        elif isinstance(self.grid, ExchangeGrid):
            if self.exchange is None or self.span is not None:
                raise ValueError(
                    f"combined commodity {self.name} has an exchange grid: give an 'exchange' section and no 'span' section"
                )
        elif isinstance(self.grid, HistoricalGrid):
            if self.span is not None or self.exchange is not None:
                raise ValueError(
                    f"combined commodity {self.name} has a historical grid (VaR/ES model): remove its "
                    "'span' and 'exchange' sections; the margin is the VaR/ES of the scenario losses"
                )
        if self.settlement == "coin" and self.settlement_currency != self.underlying:
            raise ValueError(
                f"combined commodity {self.name} is coin-settled, so settlement_currency must be its "
                f"underlying {self.underlying!r}; got {self.settlement_currency!r}"
            )
        return self

    @property
    def method(self) -> Literal["span", "exchange", "var", "derive"]:
        """Aggregation path: ``derive`` with a Derive section, else chosen by the grid family."""
        if self.derive is not None:
            return "derive"
        if isinstance(self.grid, HistoricalGrid):
            return "var"
        return "span" if isinstance(self.grid, SpanGrid) else "exchange"


class MarginRelation(FrozenModel):
    """How initial (IM) and maintenance (MM) margin derive from the computed requirement.

    ``MM = mm_factor x requirement`` and ``IM = im_factor x requirement``.
    SPAN publishes maintenance levels: ``mm_factor = 1``, ``im_factor = 1.0``
    or ``1.1`` (CME heightened-risk profiles). Deribit computes the risk-matrix
    margin as IM: ``im_factor = 1``, ``mm_factor = 0.8`` (methodology 7).
    """

    mm_factor: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    im_factor: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0

    @model_validator(mode="after")
    def _check(self) -> "MarginRelation":
        if self.im_factor < self.mm_factor:
            raise ValueError(
                f"initial margin must not be below maintenance: im_factor {self.im_factor} < mm_factor {self.mm_factor}"
            )
        return self


class ParameterSet(FrozenModel):
    """A complete, validated margin methodology (see module docstring)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    metadata: Metadata
    reporting_currency: Literal["USD"] = "USD"
    combined_commodities: tuple[CombinedCommodity, ...]
    inter_spreads: tuple[InterSpread, ...] = ()
    correlation: CorrelationMatrix | None = None
    joint_move_floor: JointMoveFloor | None = None  # cross-level floor (params.cross, methodology 6.2)
    cross_offsets: CrossOffsets = CrossOffsets()  # positions the offsets read (params.cross, methodology 6.3)
    margin_relation: MarginRelation = MarginRelation()
    isolated: IsolatedSection = None  # standard per-position rules (params.isolated), the efficiency baseline
    var_model: VarModel | None = None  # joint historical scenarios: selects the VaR/ES model (params.var_model)

    @model_validator(mode="after")
    def _check(self) -> "ParameterSet":
        names = [cc.name for cc in self.combined_commodities]
        if not names:
            raise ValueError("a parameter set needs at least one combined commodity")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"combined commodity names must be unique; repeated: {dup}")
        keys = [(cc.underlying, cc.settlement_currency) for cc in self.combined_commodities]
        if len(set(keys)) != len(keys):
            raise ValueError("two combined commodities share one underlying and settlement currency")
        known = set(names)
        self._check_var_model()
        priorities = [s.priority for s in self.inter_spreads]
        if len(set(priorities)) != len(priorities):
            raise ValueError(f"inter spread priorities must be unique; got {priorities}")
        for spread in self.inter_spreads:
            for leg in spread.legs:
                if leg.combined_commodity not in known:
                    raise ValueError(
                        f"inter spread '{spread.name}' references combined commodity "
                        f"'{leg.combined_commodity}', which is not defined (defined: {sorted(known)})"
                    )
                cc = self.commodity(leg.combined_commodity)
                if cc.method != "span":
                    raise ValueError(
                        f"inter spread '{spread.name}' leg '{cc.name}' uses the exchange-style path; "
                        "inter-commodity spread credits need SPAN price-risk decomposition"
                    )
        if self.joint_move_floor is not None and self.var_model is not None:
            raise ValueError(
                "joint_move_floor applies to grid-based sets; a var_model set already margins the account "
                "over joint scenarios: remove the joint_move_floor section"
            )
        if self.joint_move_floor is not None:
            for cc in self.combined_commodities:
                if isinstance(cc.grid, SpanGrid):
                    fractions = {p.price_fraction for p in cc.grid.points()}
                    if not {1.0, -1.0} <= fractions:
                        raise ValueError(
                            f"joint_move_floor moves every underlying by its whole price scan range, but the "
                            f"scan points of {cc.name} have no price_fraction +1 and -1; add those points or "
                            "remove the joint_move_floor section"
                        )
        if self.cross_offsets.positions == "delta_one" and self.joint_move_floor is None:
            raise ValueError(
                "cross_offsets positions = 'delta_one' reads offsets from futures and perpetuals only and relies "
                "on the joint-move floor under the result: add a [joint_move_floor] section or use positions = 'all'"
            )
        if self.correlation is not None:
            for name in self.correlation.combined_commodities:
                if name not in known:
                    raise ValueError(
                        f"correlation references combined commodity '{name}', which is not defined "
                        f"(defined: {sorted(known)})"
                    )
        return self

    def _check_var_model(self) -> None:
        """A VaR/ES set: every commodity historical over the set's scenarios, no SPAN cross terms."""
        historical = [cc for cc in self.combined_commodities if isinstance(cc.grid, HistoricalGrid)]
        vm = self.var_model
        if vm is None:
            if historical:
                raise ValueError(
                    f"combined commodity {historical[0].name} has a historical grid, which needs the set's "
                    "'var_model' section (measure, confidence, mpor_days, scenarios); add it"
                )
            return
        for cc in self.combined_commodities:
            grid = cc.grid
            if not isinstance(grid, HistoricalGrid):
                raise ValueError(
                    f"var_model margins the whole account by VaR/ES of joint scenarios, but combined commodity "
                    f"{cc.name} has a {grid.family} grid; give every combined commodity a historical grid "
                    "or remove var_model"
                )
            if grid.scenario_set != vm.scenarios.name:
                raise ValueError(
                    f"combined commodity {cc.name}: grid.scenario_set is '{grid.scenario_set}' but the "
                    f"var_model's scenario set is called '{vm.scenarios.name}'"
                )
            if grid.scenario_count != vm.scenarios.n_scenarios:
                raise ValueError(
                    f"combined commodity {cc.name}: grid.scenario_count is {grid.scenario_count} but the "
                    f"scenario set '{vm.scenarios.name}' has {vm.scenarios.n_scenarios} scenarios"
                )
            if grid.time_advance_days != vm.mpor_days:
                raise ValueError(
                    f"combined commodity {cc.name}: grid.time_advance_days is {grid.time_advance_days} but "
                    f"var_model.mpor_days is {vm.mpor_days}; every scenario advances time by the MPOR"
                )
            if cc.underlying not in vm.scenarios.underlyings:
                raise ValueError(
                    f"combined commodity {cc.name} has underlying '{cc.underlying}', which the scenario set "
                    f"'{vm.scenarios.name}' does not define (defined: {list(vm.scenarios.underlyings)}); "
                    "add its column of moves"
                )
        if self.inter_spreads:
            raise ValueError(
                "a var_model set aggregates across combined commodities through its joint scenarios; "
                "remove 'inter_spreads' (SPAN credits do not apply)"
            )
        if self.correlation is not None:
            raise ValueError(
                "a var_model set aggregates across combined commodities through its joint scenarios; "
                "remove 'correlation' (the scenarios carry the dependence)"
            )

    def commodity(self, name: str) -> CombinedCommodity:
        """The combined commodity called ``name`` (KeyError if absent)."""
        for cc in self.combined_commodities:
            if cc.name == name:
                return cc
        raise KeyError(name)

    def commodity_for(self, *, underlying: str, settlement_currency: str) -> CombinedCommodity | None:
        """The combined commodity of an underlying and settlement currency, or None."""
        for cc in self.combined_commodities:
            if cc.underlying == underlying and cc.settlement_currency == settlement_currency:
                return cc
        return None

    @property
    def label(self) -> str:
        """``name@version`` for reports."""
        return f"{self.metadata.name}@{self.metadata.version}"
