"""Derive (formerly Lyra) portfolio margin parameters: the ``derive`` section of a combined commodity.

A combined commodity with a ``derive`` section is margined by Derive's
portfolio-margin rules (``CombinedCommodity.method == "derive"``;
:mod:`spanlike.methodology.derive`, :mod:`spanlike.aggregation.derive`).
Every field mirrors one of the venue's published parameters; the name the
venue uses (docs.derive.xyz "Portfolio Margin Parameters" and the structs of
``IPMRMLib_2`` in the public repository derivexyz/v2-core) is given beside it.

Units: shocks and factors are decimals (0.045 = 4.5 %), spot shocks are
multipliers of spot (1.045 = +4.5 %), days are calendar days.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import FrozenModel

__all__ = [
    "DeriveScenario", "DeriveSkewScenario", "DeriveVolShock", "DeriveSkewShock", "DeriveMarginFactors",
    "DeriveBasisContingency", "DeriveOtherContingency", "DeriveCollateral", "DeriveSection",
]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class DeriveScenario(FrozenModel):
    """One spot/vol scenario (``IPMRM_2.Scenario``).

    Attributes
    ----------
    spot_shock : float
        Multiplier of spot (and of each expiry's variable forward), > 0:
        1.18 is +18 %, 0.34 is -66 %.
    vol_shock : {"up", "none", "down"}
        Vol shock direction (``VolShockDirection``).
    dampening : float
        Share of the scenario's P&L that counts, in (0, 1] (``dampeningFactor``;
        1 for every regular scenario).
    """

    spot_shock: Annotated[float, Field(gt=0.0, le=10.0)]
    vol_shock: Literal["up", "none", "down"]
    dampening: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0


class DeriveSkewScenario(FrozenModel):
    """A skew scenario (``VolShockDirection.Linear`` or ``Abs``), spot unchanged."""

    kind: Literal["linear", "abs"]
    dampening: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0


class DeriveVolShock(FrozenModel):
    """Vol shocks (``VolShockParameters``): ``1 +- range * (30 / max(DTE, floor)) ** power``.

    Attributes
    ----------
    vol_range_up, vol_range_down : float
        ``VOLRANGEUP`` / ``VOLRANGEDOWN``.
    short_term_power, long_term_power : float
        ``SHORTTERMPOWER`` (DTE <= 30 days) / ``LONGTERMPOWER``.
    dte_floor_days : float
        ``DTE_FLOOR``, days.
    min_vol_up_shocked : float
        ``MIN_VOL_EVAL_SHOCKED`` (``minVolUpShock``): the up-shocked vol is at
        least this.
    """

    vol_range_up: Annotated[float, Field(ge=0.0, le=10.0)]
    vol_range_down: Annotated[float, Field(ge=0.0, le=10.0)]
    short_term_power: Annotated[float, Field(ge=0.0, le=10.0)]
    long_term_power: Annotated[float, Field(ge=0.0, le=10.0)]
    dte_floor_days: Annotated[float, Field(gt=0.0, le=400.0)]
    min_vol_up_shocked: Annotated[float, Field(ge=0.0, le=20.0)]


class DeriveSkewShock(FrozenModel):
    """Skew shocks (``SkewShockParameters``).

    ``cap = base_cap + c_base * sqrt(tau)`` (LINEAR or ABS),
    ``k* = max(min_k_star, sqrt(tau) * width_scale * (vol_param_static + vol_param_scale * sqrt(tau)))``,
    vol multiplier ``1 + clamp(k * cap / k*, -cap, cap)`` with ``k = ln(K / F)``
    (``|k|`` for ABS), floored at 0.
    """

    linear_base_cap: Annotated[float, Field(ge=0.0, le=10.0)]
    abs_base_cap: Annotated[float, Field(ge=0.0, le=10.0)]
    linear_c_base: Annotated[float, Field(ge=-10.0, le=10.0)]
    abs_c_base: Annotated[float, Field(ge=-10.0, le=10.0)]
    min_k_star: Annotated[float, Field(gt=0.0, le=10.0)]
    width_scale: Annotated[float, Field(ge=0.0, le=10.0)]
    vol_param_static: Annotated[float, Field(ge=0.0, le=10.0)]
    vol_param_scale: Annotated[float, Field(ge=-20.0, le=20.0)]


class DeriveMarginFactors(FrozenModel):
    """Loss factors and static discounting (``MarginParameters``).

    ``staticDiscountPos = long_base_static_discount * exp(-tau * (rate * long_rate_mult_scale + long_rate_add_scale))``
    multiplies a positive shocked expiry value; ``staticDiscountNeg =
    min(1 / discount, short_base_static_discount / exp(-tau * (rate * short_rate_mult_scale +
    short_rate_add_scale)))`` a negative one.
    """

    mm_factor: Annotated[float, Field(ge=0.5, le=10.0)]
    im_factor: Annotated[float, Field(ge=0.5, le=10.0)]
    short_rate_mult_scale: Annotated[float, Field(ge=0.0, le=10.0)]
    long_rate_mult_scale: Annotated[float, Field(ge=0.0, le=10.0)]
    short_rate_add_scale: Annotated[float, Field(ge=0.0, le=10.0)]
    long_rate_add_scale: Annotated[float, Field(ge=0.0, le=10.0)]
    short_base_static_discount: Annotated[float, Field(gt=0.0, le=4.0)]
    long_base_static_discount: Annotated[float, Field(gt=0.0, le=4.0)]


class DeriveBasisContingency(FrozenModel):
    """Basis (forward) contingency (``BasisContingencyParameters``)."""

    scenario_spot_up: Annotated[float, Field(gt=1.0, lt=3.0)]
    scenario_spot_down: Annotated[float, Field(gt=0.0, lt=1.0)]
    add_factor: Annotated[float, Field(ge=0.0, le=20.0)]
    mult_factor: Annotated[float, Field(ge=0.0, le=20.0)]


class DeriveOtherContingency(FrozenModel):
    """Peg-loss, feed-confidence, perpetual and option contingencies (``OtherContingencyParameters``).

    ``im_perp_percent`` and ``im_option_percent`` are added to IM on top of
    the MM percentages (the venue's IM subtracts both contingencies).
    """

    peg_loss_threshold: Annotated[float, Field(ge=0.0, le=100.0)]
    peg_loss_factor: Annotated[float, Field(ge=0.0, le=10.0)]
    confidence_threshold: Fraction
    confidence_margin: Annotated[float, Field(ge=0.0, le=20.0)]
    mm_perp_percent: Annotated[float, Field(ge=0.0, le=3.0)]
    im_perp_percent: Annotated[float, Field(ge=0.0, le=3.0)]
    mm_option_percent: Annotated[float, Field(ge=0.0, le=2.0)]
    im_option_percent: Annotated[float, Field(ge=0.0, le=2.0)]


class DeriveCollateral(FrozenModel):
    """One collateral asset (``CollateralParameters``).

    Attributes
    ----------
    asset : str
        Asset name as Derive's API spells it (``"BTC"``, ``"USDT"``, ``"LBTC"``).
    risk_cancelling : bool
        Moves with the spot shock in every scenario (the base asset and
        wrapped forms of it).
    mm_haircut, im_haircut : float
        Shares of the collateral's value taken off MM and, in addition, IM.
    """

    asset: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]
    risk_cancelling: bool
    mm_haircut: Fraction
    im_haircut: Fraction


class DeriveSection(FrozenModel):
    """Everything Derive's portfolio margin needs for one underlying (module docstring)."""

    regular_scenarios: tuple[DeriveScenario, ...] = Field(min_length=1, max_length=40)
    tail_scenarios: tuple[DeriveScenario, ...] = Field(default=(), max_length=40)
    skew_scenarios: tuple[DeriveSkewScenario, ...] = Field(default=(), max_length=2)
    vol_shock: DeriveVolShock
    skew_shock: DeriveSkewShock
    margin: DeriveMarginFactors
    basis_contingency: DeriveBasisContingency
    other_contingency: DeriveOtherContingency
    collaterals: tuple[DeriveCollateral, ...] = ()
    max_expiries: Annotated[int, Field(ge=1, le=30)] = 11

    @model_validator(mode="after")
    def _check(self) -> "DeriveSection":
        kinds = [s.kind for s in self.skew_scenarios]
        if len(set(kinds)) != len(kinds):
            raise ValueError("derive.skew_scenarios: give each kind ('linear', 'abs') at most once, as the venue does")
        names = [c.asset for c in self.collaterals]
        if len(set(names)) != len(names):
            raise ValueError(f"derive.collaterals: an asset is listed twice ({', '.join(names)})")
        if len(self.regular_scenarios) + len(self.tail_scenarios) + len(self.skew_scenarios) > 40:
            raise ValueError("derive: at most 40 scenarios in all (the venue's PMRM_2.setScenarios bound)")
        return self

    def collateral(self, asset: str) -> DeriveCollateral | None:
        """The collateral parameters of ``asset``, or None where the set has none."""
        for c in self.collaterals:
            if c.asset == asset:
                return c
        return None
