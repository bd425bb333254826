"""Frozen data model of a CME SPAN risk-parameter file (XML ``fileFormat`` 4.00).

The classes mirror the file's elements (element names in brackets) so that a
file read with :func:`spanlike.spn.read_spn` can be written back unchanged by
:func:`spanlike.spn.write_spn`. Per-contract numbers are numpy arrays (struct
of arrays per product family); :meth:`SpanFile.contracts_of` concatenates the
families of one combined commodity into the table the margin engine scans.

Conventions (see :mod:`spanlike.spn.reader` for what the real files show)
--------------------------------------------------------------------------
* A risk array row holds, for one *long* contract, the **loss** in each scan
  scenario, in the product family's currency per contract (already multiplied
  by the contract value factor). Positive = loss.
* Missing optional numbers are ``NaN`` in arrays and ``None`` in scalars.
* Strings are kept as the file states them (period codes such as ``201606S0``
  or ``00000S`` are not reinterpreted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ScanDef",
    "ScanPointDef",
    "DeltaPointDef",
    "PointDef",
    "CurrencyDef",
    "AccountTypeDef",
    "CurrencyConversion",
    "PerformanceBondRate",
    "RateValue",
    "Tier",
    "SpreadLeg",
    "PerMonthRate",
    "DeltaSpread",
    "SpotRate",
    "ProductLink",
    "AdjustmentRate",
    "CombinedCommodityDef",
    "ScanRate",
    "UnderlyingFamily",
    "UnderlyingContract",
    "InterestRate",
    "NonOptionContracts",
    "ProductFamily",
    "OptionSeries",
    "OptionContracts",
    "OptionFamily",
    "Family",
    "Exchange",
    "ClearingOrg",
    "ContractKey",
    "CombinedCommodityContracts",
    "SpanFile",
    "NON_OPTION_FAMILY_TAGS",
    "OPTION_FAMILY_TAGS",
]

#: Non-option product family elements supported, in XSD order within ``exchange``.
NON_OPTION_FAMILY_TAGS: tuple[str, ...] = ("phyPf", "futPf")
#: Option product family elements supported, in XSD order within ``exchange``
#: (options on physicals, on futures, on equities, on combinations).
OPTION_FAMILY_TAGS: tuple[str, ...] = ("oopPf", "oofPf", "ooePf", "oocPf")
_FAMILY_ORDER = {tag: i for i, tag in enumerate(NON_OPTION_FAMILY_TAGS + OPTION_FAMILY_TAGS)}


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind == "f":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


class _ArrayEquality:
    """Field-wise equality that compares numpy arrays by value (NaN == NaN)."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _values_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self) if f.compare  # type: ignore[arg-type]
        )

    __hash__ = None  # type: ignore[assignment]


# ---------------------------------------------------------------------------
# Point definitions (clearingOrg/pointDef)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanDef:
    """A price or vol move of a scenario [priceScanDef / volScanDef].

    Attributes
    ----------
    mult : float
        The move as a multiple of the scan range, as printed (rounded, e.g. 0.333333).
    numerator, denominator : float or None
        The exact fraction ``numerator / denominator`` when the file states it.
    """

    mult: float
    numerator: float | None = None
    denominator: float | None = None

    @property
    def fraction(self) -> float:
        """The move in scan ranges: ``numerator/denominator`` when given (exact), else ``mult``."""
        if self.numerator is not None and self.denominator:
            return self.numerator / self.denominator
        return self.mult


@dataclass(frozen=True)
class ScanPointDef:
    """One risk-array scenario [scanPointDef].

    Attributes
    ----------
    point : int
        1-based position of the scenario in every risk array [point].
    price, vol : ScanDef
        Price move in price scan ranges; vol move in vol scan ranges.
    weight : float
        Share of the scenario's loss that counts (the cover fraction of the
        extreme scenarios, 1.0 otherwise) [weight].
    paired_point : int
        Scenario with the same price move and the opposite vol move; a point
        paired with itself has no pair [pairedPoint].
    """

    point: int
    price: ScanDef
    vol: ScanDef
    weight: float
    paired_point: int


@dataclass(frozen=True)
class DeltaPointDef:
    """A point at which option delta enters the composite delta [deltaPointDef]."""

    point: int
    price: ScanDef
    vol: ScanDef
    weight: float


@dataclass(frozen=True)
class PointDef:
    """Scan and delta points of one risk-array rate id [pointDef]."""

    rate_id: int
    scan_points: tuple[ScanPointDef, ...]
    delta_points: tuple[DeltaPointDef, ...] = ()

    @property
    def extreme_multiple(self) -> float | None:
        """``X``: the largest |price move| among scenarios with weight below 1 (None if none)."""
        extremes = [abs(p.price.fraction) for p in self.scan_points if p.weight < 1.0]
        return max(extremes) if extremes else None

    @property
    def cover_fraction(self) -> float | None:
        """``f``: the weight of the extreme scenarios (None if every weight is 1)."""
        weights = [p.weight for p in self.scan_points if p.weight < 1.0]
        return weights[0] if weights else None


# ---------------------------------------------------------------------------
# Definitions and clearing-org level records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyDef:
    """A currency used in the file [definitions/currencyDef]; ``decimal_places`` = [decimalPos]."""

    code: str
    symbol: str
    name: str
    decimal_places: int


@dataclass(frozen=True)
class AccountTypeDef:
    """An account type [definitions/acctTypeDef]."""

    is_customer: bool
    account_type: str
    name: str | None
    is_net_margin: bool
    priority: str


@dataclass(frozen=True)
class CurrencyConversion:
    """``1 from_currency = factor to_currency`` [curConv]."""

    from_currency: str
    to_currency: str
    factor: float


@dataclass(frozen=True)
class PerformanceBondRate:
    """What a rate id means: account class and initial/maintenance [pbRateDef]."""

    rate_id: int
    is_customer: bool
    account_type: str
    is_maintenance: bool
    pb_class: str


@dataclass(frozen=True)
class RateValue:
    """A rate for one rate id [rate: r, val]."""

    rate_id: int
    value: float


def _rate_for(rates: tuple[RateValue, ...], rate_id: int) -> float | None:
    for rate in rates:
        if rate.rate_id == rate_id:
            return rate.value
    return None


@dataclass(frozen=True)
class Tier:
    """A tier of a combined commodity [tier: tn, sPe, ePe, rate*].

    ``start_period``/``end_period`` are period codes (absent when the tier
    covers every period, as in tier 0 of the Takasbank file).
    """

    number: int
    start_period: str | None = None
    end_period: str | None = None
    rates: tuple[RateValue, ...] = ()

    def rate(self, rate_id: int = 1) -> float | None:
        """The tier's rate for ``rate_id`` (e.g. the SOM rate per short option), or None."""
        return _rate_for(self.rates, rate_id)


@dataclass(frozen=True)
class SpreadLeg:
    """A leg of an intra or inter spread [tLeg: cc, tn, rs, i] / [pLeg: cc, pe, rs, i].

    Attributes
    ----------
    combined_commodity : str
        Combined commodity of the leg [cc].
    side : str
        ``"A"`` or ``"B"``: legs on opposite sides need opposite delta signs [rs].
    delta_ratio : float
        Delta per spread on this leg [i].
    tier : int or None
        Tier number for a tier leg [tn]; None for a period leg.
    period : str or None
        Period code for a period leg [pe]; None for a tier leg.
    rates : tuple of RateValue
        Leg-specific rates, if any.
    """

    combined_commodity: str
    side: str
    delta_ratio: float
    tier: int | None = None
    period: str | None = None
    rates: tuple[RateValue, ...] = ()


@dataclass(frozen=True)
class PerMonthRate:
    """Per-month per-spread rate of charge method ``P`` [pmpsRate: r, val, pmRate, psRate]."""

    rate_id: int
    value: float
    per_month_rate: float
    per_spread_rate: float


@dataclass(frozen=True)
class DeltaSpread:
    """A delta spread, intra-commodity (in ccDef) or inter-commodity [dSpread].

    Attributes
    ----------
    priority : int
        Spreads form in this order [spread].
    charge_method : str
        ``"F"`` flat rate, ``"P"`` per month per spread, ``"W"`` weighted
        futures price risk (inter spreads: the rate is a credit share) [chargeMeth].
    legs : tuple of SpreadLeg
    rates : tuple of RateValue
        Charge per spread (F) or credit rate (W), per rate id [rate].
    per_month_rates : tuple of PerMonthRate
        Rates of method P [pmpsRate].
    spread_type : str or None
        [spreadType] (``DEFAULT`` / ``DELATVOL``), when stated.
    """

    priority: int
    charge_method: str
    legs: tuple[SpreadLeg, ...]
    rates: tuple[RateValue, ...] = ()
    per_month_rates: tuple[PerMonthRate, ...] = ()
    spread_type: str | None = None

    def rate(self, rate_id: int = 1) -> float | None:
        """The spread's rate (charge or credit share) for ``rate_id``, or None."""
        return _rate_for(self.rates, rate_id)


@dataclass(frozen=True)
class SpotRate:
    """Delivery-month charge [spotRate: r, pe, sprd, outr].

    ``spread_rate`` applies to delivery-period delta consumed by spreads,
    ``outright_rate`` to the remaining outright delta, per unit of delta.
    """

    rate_id: int
    period: str
    spread_rate: float
    outright_rate: float


@dataclass(frozen=True)
class ProductLink:
    """A product family margined in a combined commodity [pfLink].

    ``scale`` [sc] multiplies positions of the family; ``array_precision``
    [arrayPrecision] is the number of decimals of its risk arrays.
    """

    exchange: str
    product_id: int
    product_code: str | None
    product_type: str | None
    scale: float
    combination_method: str | None = None
    apply_basis_risk: bool | None = None
    array_precision: int | None = None
    option_delta_method: str | None = None


@dataclass(frozen=True)
class AdjustmentRate:
    """Requirement for rate ``rate_id`` = ``value`` x requirement for ``base_rate_id`` [adjRate]."""

    rate_id: int
    base_rate_id: int
    value: float


@dataclass(frozen=True)
class CombinedCommodityDef:
    """A combined commodity: the unit SPAN margins together [ccDef].

    Attributes
    ----------
    code : str
        [cc].
    currency : str
        Performance-bond currency of the requirement [currency].
    risk_exponent : int or None
        Requirements are in units of ``10**risk_exponent`` [riskExponent].
    som_method : str or None
        Short option minimum method [somMeth]: ``GROSS`` (short calls + short
        puts) or ``MAX`` (the larger of the two).
    spot_method, wfpr_method, processing_method, combination_method : str or None
        [spotMeth], [wfprMeth], [procMeth], [cmbMeth].
    product_links : tuple of ProductLink
        Product families in the commodity [pfLink].
    scan_tiers, intra_tiers, inter_tiers, som_tiers : tuple of Tier
        [scanTiers], [intraTiers], [interTiers], [somTiers]; SOM tiers carry
        the short option minimum rate per short option.
    intra_spreads : tuple of DeltaSpread
        Intra-commodity (calendar/tier) spreads [dSpread].
    spot_rates : tuple of SpotRate
        Delivery-period charges [spotRate].
    """

    code: str
    name: str | None
    currency: str
    risk_exponent: int | None = None
    cap_anov: bool | None = None
    processing_method: str | None = None
    wfpr_method: str | None = None
    spot_method: str | None = None
    som_method: str | None = None
    combination_method: str | None = None
    product_links: tuple[ProductLink, ...] = ()
    adjustment_rates: tuple[AdjustmentRate, ...] = ()
    scan_tiers: tuple[Tier, ...] = ()
    intra_tiers: tuple[Tier, ...] = ()
    inter_tiers: tuple[Tier, ...] = ()
    som_tiers: tuple[Tier, ...] = ()
    intra_spreads: tuple[DeltaSpread, ...] = ()
    spot_rates: tuple[SpotRate, ...] = ()


# ---------------------------------------------------------------------------
# Products (exchange/*Pf)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanRate:
    """Scan ranges for one rate id [scanRate: r, priceScan, priceScanPct, volScan, volScanPct].

    ``price_scan`` is the price scan range in currency per contract; the
    ``*_pct`` forms are fractions (0.23 = 23 %); ``vol_scan`` is in vol points.
    """

    rate_id: int
    price_scan: float | None = None
    price_scan_pct: float | None = None
    vol_scan: float | None = None
    vol_scan_pct: float | None = None


@dataclass(frozen=True)
class UnderlyingFamily:
    """The product family a family is written on [undPf: exch, pfId, pfCode, pfType, s, i]."""

    exchange: str
    product_id: int
    product_code: str | None
    product_type: str | None
    side: str
    ratio: float


@dataclass(frozen=True)
class UnderlyingContract:
    """The contract a contract or option series is written on [undC: exch, pfId, cId, s, i]."""

    exchange: str
    product_id: int
    contract_id: int
    side: str
    ratio: float


@dataclass(frozen=True)
class InterestRate:
    """Risk-free rate of an option series [intrRate: val, rl, cpm, tm, exm].

    ``value`` is an annual decimal (0.10 = 10 %) in the Takasbank file.
    """

    value: float
    risk_level: float
    compounding_months: float
    expression_months: float
    term_months: float | None = None


@dataclass(frozen=True, eq=False)
class NonOptionContracts(_ArrayEquality):
    """Struct of arrays of the contracts of a physical or futures family [phy] / [fut].

    All arrays have length ``n`` (``risk_array``: shape ``(n, n_points)``).

    Attributes
    ----------
    contract_id : ndarray of int64
        [cId], unique within the family.
    period : tuple of (str or None)
        Period code [pe] (``201606S0``; physicals ``00000S``).
    price : ndarray of float64
        Settlement price per unit [p].
    delta : ndarray of float64
        Contract delta [d] (1.0 for futures).
    vol : ndarray of float64
        Volatility [v].
    cvf : ndarray of float64
        Contract value factor [cvf]: value per contract = price x cvf.
    value : ndarray of float64
        Contract value [val].
    scale : ndarray of float64
        [sc].
    settlement_date : tuple of (str or None)
        Final settlement date ``YYYYMMDD`` [setlDate] (futures).
    time_to_expiry : ndarray of float64
        Years to expiry [t] (futures; NaN where absent).
    underlying : tuple of (UnderlyingContract or None)
        [undC] (futures).
    scan_rates : tuple of tuple of ScanRate
        [scanRate] per contract.
    risk_array_rate_id : ndarray of int64
        [ra/r]; -1 where the contract has no risk array.
    risk_array : ndarray of float64, shape (n, n_points)
        Loss of one long contract per scenario [ra/a]; NaN rows where absent.
    composite_delta : ndarray of float64
        [ra/d].
    """

    contract_id: NDArray[np.int64]
    period: tuple[str | None, ...]
    price: NDArray[np.float64]
    delta: NDArray[np.float64]
    vol: NDArray[np.float64]
    cvf: NDArray[np.float64]
    value: NDArray[np.float64]
    scale: NDArray[np.float64]
    settlement_date: tuple[str | None, ...]
    time_to_expiry: NDArray[np.float64]
    underlying: tuple[UnderlyingContract | None, ...]
    scan_rates: tuple[tuple[ScanRate, ...], ...]
    risk_array_rate_id: NDArray[np.int64]
    risk_array: NDArray[np.float64]
    composite_delta: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.contract_id.shape[0])


@dataclass(frozen=True, eq=False)
class ProductFamily(_ArrayEquality):
    """A physical or futures product family [phyPf] / [futPf].

    Attributes
    ----------
    family_type : str
        The element name: ``"phyPf"`` or ``"futPf"``.
    product_id : int
        [pfId], unique within the exchange.
    product_code : str
        [pfCode].
    currency : str
        Currency of prices, values and risk arrays [currency].
    cvf : float or None
        Family-level contract value factor [cvf] (0 in the Takasbank file;
        the contracts carry the real one).
    price_decimals : int or None
        Decimals of prices [priceDl]; informational, the XML states decimals explicitly.
    value_method : str
        [valueMeth]: ``FUT`` (futures-style, marked to market) or ``EQTY``
        (premium/equity-style).
    underlying : UnderlyingFamily or None
        [undPf] (futures).
    contracts : NonOptionContracts
    """

    family_type: str
    product_id: int
    product_code: str
    name: str | None
    currency: str
    cvf: float | None
    price_decimals: int | None
    price_format: str | None
    value_method: str
    price_method: str | None
    settlement_method: str | None
    underlying: UnderlyingFamily | None
    contracts: NonOptionContracts

    @property
    def product_type(self) -> str:
        """``PHY`` or ``FUT`` (the ``pfType`` used by [pfLink])."""
        return self.family_type[:-2].upper()

    @property
    def is_futures_style(self) -> bool:
        """True when values are marked to market (``valueMeth`` = ``FUT``)."""
        return self.value_method == "FUT"


@dataclass(frozen=True)
class OptionSeries:
    """An expiry of an option family [series].

    Attributes
    ----------
    period : str
        [pe].
    vol : float or None
        Series volatility [v].
    settlement_date : str or None
        [setlDate].
    time_to_expiry : float or None
        Years to expiry [t].
    cvf, svf : float or None
        Contract and strike value factors [cvf], [svf].
    scale : float
        [sc].
    underlying : UnderlyingContract
        The contract the options are written on [undC]; its price is the
        underlying price of the series (:meth:`SpanFile.underlying_price`).
    interest_rates : tuple of InterestRate
        [intrRate].
    dividend_yield : float or None
        [divRate/val].
    scan_rates : tuple of ScanRate
        [scanRate].
    """

    period: str
    vol: float | None
    vol_source: str | None
    settlement_date: str | None
    time_to_expiry: float | None
    cvf: float | None
    svf: float | None
    scale: float
    underlying: UnderlyingContract
    interest_rates: tuple[InterestRate, ...] = ()
    dividend_yield: float | None = None
    scan_rates: tuple[ScanRate, ...] = ()


@dataclass(frozen=True, eq=False)
class OptionContracts(_ArrayEquality):
    """Struct of arrays of the options of a family [series/opt].

    Attributes
    ----------
    series_index : ndarray of int64
        Index into :attr:`OptionFamily.series` of each option.
    contract_id : ndarray of int64
        [cId].
    put_call : tuple of str
        ``"C"`` or ``"P"`` [o].
    strike : ndarray of float64
        [k].
    price : ndarray of float64
        Settlement premium per unit [p].
    price_quality : tuple of (str or None)
        [pq].
    delta : ndarray of float64
        [d] as stated (0 for every option in the Takasbank file: use
        ``composite_delta``).
    vol : ndarray of float64
        Implied volatility, annual decimal [v].
    cvf, svf : ndarray of float64
        [cvf], [svf] when stated per option (NaN otherwise; the series has them).
    value : ndarray of float64
        Premium per contract [val].
    scale : ndarray of float64
        [sc].
    risk_array_rate_id : ndarray of int64
        [ra/r]; -1 where absent.
    risk_array : ndarray of float64, shape (n, n_points)
        Loss of one long option per scenario [ra/a].
    composite_delta : ndarray of float64
        Weighted delta over the delta points [ra/d].
    """

    series_index: NDArray[np.int64]
    contract_id: NDArray[np.int64]
    put_call: tuple[str, ...]
    strike: NDArray[np.float64]
    price: NDArray[np.float64]
    price_quality: tuple[str | None, ...]
    delta: NDArray[np.float64]
    vol: NDArray[np.float64]
    cvf: NDArray[np.float64]
    svf: NDArray[np.float64]
    value: NDArray[np.float64]
    scale: NDArray[np.float64]
    risk_array_rate_id: NDArray[np.int64]
    risk_array: NDArray[np.float64]
    composite_delta: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.contract_id.shape[0])


@dataclass(frozen=True, eq=False)
class OptionFamily(_ArrayEquality):
    """An option product family [oopPf] / [oofPf] / [ooePf] / [oocPf].

    ``value_method`` [valueMeth] tells premium-style (``EQTY``: premium paid,
    net option value offsets the requirement) from futures-style (``FUT``).
    ``cabinet_value`` [cab] is the smallest option value; ``price_model``
    [priceModel] the exchange's pricing model code.
    """

    family_type: str
    product_id: int
    product_code: str
    name: str | None
    exercise: str | None
    currency: str
    cvf: float | None
    price_decimals: int | None
    price_format: str | None
    strike_decimals: int | None
    strike_format: str | None
    cabinet_value: float
    value_method: str
    price_method: str | None
    settlement_method: str | None
    price_model: str
    underlying: UnderlyingFamily
    series: tuple[OptionSeries, ...]
    contracts: OptionContracts

    @property
    def product_type(self) -> str:
        """``OOP``, ``OOF``, ``OOE`` or ``OOC`` (the ``pfType`` used by [pfLink])."""
        return self.family_type[:-2].upper()

    @property
    def is_futures_style(self) -> bool:
        """True for futures-style options (``valueMeth`` = ``FUT``): no net option value."""
        return self.value_method == "FUT"


Family = Union[ProductFamily, OptionFamily]


@dataclass(frozen=True, eq=False)
class Exchange(_ArrayEquality):
    """An exchange and its product families [exchange], families in XSD order."""

    code: str
    name: str | None
    families: tuple[Family, ...]


@dataclass(frozen=True, eq=False)
class ClearingOrg(_ArrayEquality):
    """A clearing organisation [clearingOrg].

    Attributes
    ----------
    code, name : str
        [ec], [name].
    finalize_method, option_delta_method : str or None
        [finalizeMeth], [oopDeltaMeth].
    lookahead_days, lookahead_years, days_per_year : str or None
        [lookAheadDays], [lookAheadYears], [daysPerYear] when stated (absent
        from the Takasbank file).
    currency_conversions : tuple of CurrencyConversion
    pb_rates : tuple of PerformanceBondRate
    point_defs : tuple of PointDef
    exchanges : tuple of Exchange
    combined_commodities : tuple of CombinedCommodityDef
    inter_spreads : tuple of DeltaSpread
        Inter-commodity spreads [interSpreads/dSpread].
    """

    code: str
    name: str
    is_contract_scale: bool | None
    is_net_margin: bool | None
    finalize_method: str
    option_delta_method: str | None
    cap_anov: bool | None
    lookahead_years: str | None
    lookahead_days: str | None
    days_per_year: str | None
    currency_conversions: tuple[CurrencyConversion, ...]
    pb_rates: tuple[PerformanceBondRate, ...]
    point_defs: tuple[PointDef, ...]
    exchanges: tuple[Exchange, ...]
    combined_commodities: tuple[CombinedCommodityDef, ...]
    inter_spreads: tuple[DeltaSpread, ...]


@dataclass(frozen=True)
class ContractKey:
    """Identity of one contract: exchange, family and contract id, with readable terms."""

    exchange: str
    product_code: str
    product_type: str
    product_id: int
    contract_id: int
    period: str | None
    put_call: str | None = None
    strike: float | None = None

    def __str__(self) -> str:
        text = f"{self.exchange}:{self.product_code}:{self.product_type}:{self.period}"
        if self.put_call is not None:
            text += f":{self.put_call}{self.strike:g}"
        return text


@dataclass(frozen=True, eq=False)
class CombinedCommodityContracts(_ArrayEquality):
    """Every contract of one combined commodity as a struct of arrays.

    Built by :meth:`SpanFile.contracts_of`; rows follow the commodity's
    product links, then file order.

    Attributes
    ----------
    code : str
        Combined commodity code.
    keys : tuple of ContractKey
    product_type : tuple of str
        ``PHY``, ``FUT``, ``OOP``, ...
    period : tuple of (str or None)
    put_call : tuple of (str or None)
    strike : ndarray of float64
        NaN for non-options.
    price : ndarray of float64
    time_to_expiry : ndarray of float64
        Futures' [t], options' series [t]; NaN where absent.
    link_scale : ndarray of float64
        The product link's [sc].
    risk_array : ndarray of float64, shape (n, n_points)
        Loss of one long contract per scenario (currency per contract).
    composite_delta : ndarray of float64, shape (n,)
    """

    code: str
    keys: tuple[ContractKey, ...]
    product_type: tuple[str, ...]
    period: tuple[str | None, ...]
    put_call: tuple[str | None, ...]
    strike: NDArray[np.float64]
    price: NDArray[np.float64]
    time_to_expiry: NDArray[np.float64]
    link_scale: NDArray[np.float64]
    risk_array: NDArray[np.float64]
    composite_delta: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, eq=False)
class SpanFile(_ArrayEquality):
    """Content of a SPAN risk-parameter file [spanFile].

    Attributes
    ----------
    file_format : str or None
        [fileFormat] (``"4.00"``).
    created : str or None
        [created] (``YYYYMMDDhhmm``).
    business_date : str
        [pointInTime/date] (``YYYYMMDD``).
    is_settlement : bool
        [isSetl]: settlement (end of day) rather than intraday parameters.
    settlement_qualifier : str or None
        [setlQualifier].
    currencies : tuple of CurrencyDef
    account_types : tuple of AccountTypeDef
    clearing_org : ClearingOrg
    skipped : tuple of (str, int)
        Element paths the reader does not model, with their counts (not part
        of equality). Empty for the Takasbank file except the definitions it
        does not need (``groupTypeDef``, ``acctSubTypeDef``).
    source : str or None
        Path read from (not part of equality).
    """

    file_format: str | None
    created: str | None
    business_date: str
    is_settlement: bool
    settlement_qualifier: str | None
    currencies: tuple[CurrencyDef, ...]
    account_types: tuple[AccountTypeDef, ...]
    clearing_org: ClearingOrg
    skipped: tuple[tuple[str, int], ...] = field(default=(), compare=False)
    source: str | None = field(default=None, compare=False)

    # -- navigation ----------------------------------------------------------
    @property
    def combined_commodities(self) -> tuple[CombinedCommodityDef, ...]:
        """Combined commodity definitions in file order."""
        return self.clearing_org.combined_commodities

    @property
    def inter_spreads(self) -> tuple[DeltaSpread, ...]:
        """Inter-commodity spreads in file order."""
        return self.clearing_org.inter_spreads

    @property
    def families(self) -> tuple[Family, ...]:
        """Every product family of every exchange."""
        return tuple(f for ex in self.clearing_org.exchanges for f in ex.families)

    def point_def(self, rate_id: int = 1) -> PointDef:
        """The point definitions for ``rate_id``.

        Raises
        ------
        KeyError
            If the file defines no points for ``rate_id``.
        """
        for point_def in self.clearing_org.point_defs:
            if point_def.rate_id == rate_id:
                return point_def
        raise KeyError(f"The SPAN file defines no pointDef for rate id {rate_id}.")

    def combined_commodity(self, code: str) -> CombinedCommodityDef:
        """The combined commodity ``code``.

        Raises
        ------
        KeyError
            If no ccDef has that code.
        """
        for cc in self.clearing_org.combined_commodities:
            if cc.code == code:
                return cc
        raise KeyError(f"The SPAN file has no combined commodity {code!r}.")

    def family(self, exchange: str, product_id: int) -> Family:
        """The product family with id ``product_id`` on ``exchange``.

        Raises
        ------
        KeyError
            If absent.
        """
        for ex in self.clearing_org.exchanges:
            if ex.code == exchange:
                for fam in ex.families:
                    if fam.product_id == product_id:
                        return fam
        raise KeyError(f"The SPAN file has no product family {product_id} on exchange {exchange!r}.")

    def underlying_price(self, ref: UnderlyingContract) -> float | None:
        """Settlement price of the contract ``ref`` points to, or None if absent."""
        try:
            fam = self.family(ref.exchange, ref.product_id)
        except KeyError:
            return None
        ids = fam.contracts.contract_id
        hit = np.flatnonzero(ids == ref.contract_id)
        if hit.size == 0:
            return None
        return float(fam.contracts.price[hit[0]])

    def contracts_of(self, code: str) -> CombinedCommodityContracts:
        """All contracts of combined commodity ``code`` as one struct of arrays.

        Parameters
        ----------
        code : str
            Combined commodity code [cc].

        Returns
        -------
        CombinedCommodityContracts
            Rows in product-link order, then file order. Families a link
            names but the file lacks are ignored.

        Raises
        ------
        KeyError
            If no ccDef has that code.
        """
        cc = self.combined_commodity(code)
        keys: list[ContractKey] = []
        ptype: list[str] = []
        period: list[str | None] = []
        put_call: list[str | None] = []
        strikes: list[NDArray[np.float64]] = []
        prices: list[NDArray[np.float64]] = []
        times: list[NDArray[np.float64]] = []
        scales: list[NDArray[np.float64]] = []
        arrays: list[NDArray[np.float64]] = []
        deltas: list[NDArray[np.float64]] = []
        n_points = len(self.clearing_org.point_defs[0].scan_points) if self.clearing_org.point_defs else 16
        for link in cc.product_links:
            try:
                fam = self.family(link.exchange, link.product_id)
            except KeyError:
                continue
            c = fam.contracts
            n = len(c)
            if isinstance(fam, OptionFamily):
                for i in range(n):
                    s = fam.series[int(c.series_index[i])]
                    keys.append(ContractKey(link.exchange, fam.product_code, fam.product_type, fam.product_id,
                                            int(c.contract_id[i]), s.period, c.put_call[i], float(c.strike[i])))
                    period.append(s.period)
                    put_call.append(c.put_call[i])
                strikes.append(c.strike)
                t_series = np.array([np.nan if s.time_to_expiry is None else s.time_to_expiry for s in fam.series])
                times.append(t_series[c.series_index] if n else np.empty(0))
            else:
                for i in range(n):
                    keys.append(ContractKey(link.exchange, fam.product_code, fam.product_type, fam.product_id,
                                            int(c.contract_id[i]), c.period[i]))
                    period.append(c.period[i])
                    put_call.append(None)
                strikes.append(np.full(n, np.nan))
                times.append(c.time_to_expiry)
            ptype.extend([fam.product_type] * n)
            prices.append(c.price)
            scales.append(np.full(n, link.scale))
            if c.risk_array.shape[1] and arrays and arrays[0].shape[1] != c.risk_array.shape[1]:
                raise ValueError(f"Combined commodity {code!r} mixes risk arrays of different lengths.")
            arrays.append(c.risk_array if c.risk_array.shape[0] else np.empty((0, n_points)))
            deltas.append(c.composite_delta)

        def cat(parts: list[NDArray[np.float64]]) -> NDArray[np.float64]:
            return np.concatenate(parts).astype(np.float64) if parts else np.empty(0)

        return CombinedCommodityContracts(
            code=code,
            keys=tuple(keys),
            product_type=tuple(ptype),
            period=tuple(period),
            put_call=tuple(put_call),
            strike=cat(strikes),
            price=cat(prices),
            time_to_expiry=cat(times),
            link_scale=cat(scales),
            risk_array=np.vstack(arrays) if arrays else np.empty((0, n_points)),
            composite_delta=cat(deltas),
        )


def family_sort_key(family: Family) -> int:
    """Position of a family's element in the XSD sequence of ``exchange`` (for ordering)."""
    return _FAMILY_ORDER[family.family_type]
