"""Derive portfolio margin of one subaccount (one currency): scenarios, contingencies, MM and IM.

Follows ``PMRMLib_2.addPrecomputes``, ``getScenarioPnL`` and
``getMarginAndMarkToMarket`` of derivexyz/v2-core (BUSL-1.1; read for the
formulas, our own code). The rules are :mod:`spanlike.methodology.derive`.

Per expiry ``e`` (forward ``F = F_var + F_fixed``, vol per option from the SVI
slice or the mark vols, discount ``exp(-rate T)``)::

    mtm_e            = sum amount * B76(F, K, vol, T, discount)             # undiscounted by the static factors
    value_e(s, v)    = sum amount * B76(F_var * s + F_fixed, K, vol', T, discount)
                       vol' = max(min_vol_up, vol * up) | vol * down | vol
    pnl_e(scenario)  = (value_e * (pos if value_e >= 0 else neg) - mtm_e) * dampening
                       (skew scenarios: -|pnl_e|, vol' = vol * skew multiplier, spot unchanged)
    scenario P&L     = perp amount * (s - 1) * perp price * d + sum_e pnl_e + sum risk-cancelling collateral value * (s - 1) * d
    worst            = min(basis contingency, min over scenarios of P&L)   # <= 0
    MM (venue)       = mm_factor * worst - MM contingencies + MtM + cash
    IM (venue)       = (im_factor + peg loss) * worst - IM contingencies - MM contingencies + MtM + cash

MtM is the options' ``mtm_e`` plus collateral values (``amount * price /
stable price``) plus unrealised perpetual P&L and funding. The venue's MM and
IM are margin *surpluses* (negative = under-margined); the loss-positive
requirements are ``MtM + cash - MM`` and ``MtM + cash - IM`` (>= 0), and
every scenario's loss is ``-P&L``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.aggregation.methods import CommodityStage, MarginMethod, register_method
from spanlike.methodology import derive as rules
from spanlike.params.derive import DeriveSection
from spanlike.params.errors import InvalidInputError, MarketDataError, NumericalError, ParameterSetError
from spanlike.params.parameter_set import ParameterSet
from spanlike.venues.derive.inputs import DeriveMarket, DerivePortfolio

__all__ = ["DeriveScenarioLoss", "DeriveExpiryResult", "DeriveResult", "derive_margin", "DERIVE"]


@dataclass(frozen=True)
class DeriveScenarioLoss:
    """One scenario: label, kind (regular, tail, skew), loss (USDC, loss-positive) and the venue's P&L (= -loss)."""

    label: str
    kind: str
    spot_shock: float
    vol_shock: str
    dampening: float
    loss: float

    @property
    def pnl(self) -> float:
        """The venue's sign: P&L, gain positive."""
        return -self.loss


@dataclass(frozen=True)
class DeriveExpiryResult:
    """One expiry: time, MTM undiscounted and discounted by its static factor, the factors and vol multipliers."""

    expiry: int
    seconds_to_expiry: int
    mtm: float
    mtm_discounted: float
    static_discount_pos: float
    static_discount_neg: float
    vol_shock_up: float
    vol_shock_down: float
    basis_contingency: float
    naked_shorts: float


@dataclass(frozen=True)
class DeriveResult:
    """Derive margin of one subaccount, cash-asset units (USDC). See the module docstring for signs."""

    currency: str
    scenarios: tuple[DeriveScenarioLoss, ...]
    expiries: tuple[DeriveExpiryResult, ...]
    basis_contingency: float
    mm_perp_contingency: float
    im_perp_contingency: float
    mm_option_contingency: float
    im_option_contingency: float
    mm_collateral_contingency: float
    im_collateral_contingency: float
    confidence_contingency: float
    peg_loss_addition: float
    option_mtm: float
    collateral_mtm: float
    perp_mtm: float
    cash: float
    worst_pnl: float
    worst_label: str
    mm_factor: float
    im_factor: float

    def worst(self, kind: str) -> DeriveScenarioLoss | None:
        """The worst scenario of ``kind`` (regular, tail, skew), or None when there is none."""
        of_kind = [s for s in self.scenarios if s.kind == kind]
        return max(of_kind, key=lambda s: s.loss) if of_kind else None

    @property
    def mtm(self) -> float:
        """Mark-to-market of the subaccount (options + collateral + perpetual), without cash."""
        return self.option_mtm + self.collateral_mtm + self.perp_mtm

    @property
    def mm_contingency(self) -> float:
        """Contingencies taken off MM (>= 0)."""
        return self.mm_perp_contingency + self.mm_option_contingency + self.mm_collateral_contingency

    @property
    def im_contingency(self) -> float:
        """Contingencies taken off IM on top of the MM ones (>= 0)."""
        return (self.im_perp_contingency + self.im_option_contingency + self.im_collateral_contingency
                + self.confidence_contingency)

    @property
    def maintenance_requirement(self) -> float:
        """Loss-positive MM requirement: ``-mm_factor * worst + MM contingencies`` (>= 0)."""
        return -self.mm_factor * self.worst_pnl + self.mm_contingency

    @property
    def initial_requirement(self) -> float:
        """Loss-positive IM requirement: ``-(im_factor + peg) * worst + IM and MM contingencies`` (>= 0)."""
        return -(self.im_factor + self.peg_loss_addition) * self.worst_pnl + self.im_contingency + self.mm_contingency

    @property
    def maintenance_margin(self) -> float:
        """The venue's MM: equity minus the MM requirement (negative = liquidatable)."""
        return self.mtm + self.cash - self.maintenance_requirement

    @property
    def initial_margin(self) -> float:
        """The venue's IM: equity minus the IM requirement (negative = cannot add risk)."""
        return self.mtm + self.cash - self.initial_requirement

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every scenario, worst of each kind, MTM per expiry, contingencies, MM and IM."""
        worst = {k: (asdict(w) if (w := self.worst(k)) is not None else None) for k in ("regular", "tail", "skew")}
        return {
            "venue": "derive", "currency": self.currency,
            "sign_convention": "loss and requirement positive; maintenance_margin and initial_margin are the "
                               "venue's (equity minus requirement, negative = under-margined)",
            "maintenance_margin": self.maintenance_margin, "initial_margin": self.initial_margin,
            "maintenance_requirement": self.maintenance_requirement,
            "initial_requirement": self.initial_requirement,
            "mtm": self.mtm, "option_mtm": self.option_mtm, "collateral_mtm": self.collateral_mtm,
            "perp_mtm": self.perp_mtm, "cash": self.cash,
            "worst": {"loss": -self.worst_pnl, "label": self.worst_label, **worst},
            "contingencies": {
                "basis": self.basis_contingency, "mm_perp": self.mm_perp_contingency,
                "im_perp": self.im_perp_contingency, "mm_option": self.mm_option_contingency,
                "im_option": self.im_option_contingency, "mm_collateral": self.mm_collateral_contingency,
                "im_collateral": self.im_collateral_contingency, "confidence": self.confidence_contingency,
                "peg_loss_factor_addition": self.peg_loss_addition,
            },
            "expiries": [asdict(e) for e in self.expiries],
            "scenarios": [asdict(s) for s in self.scenarios],
        }

    def format_table(self, *, contributions: int = 0) -> str:
        """The text report (``contributions`` is accepted for the CLI's sake; a Derive report lists none)."""
        lines = [f"Derive portfolio margin, {self.currency} subaccount (USDC; losses positive)", ""]
        rows = [
            ("initial margin (venue: equity - IM requirement)", self.initial_margin),
            ("maintenance margin (venue: equity - MM requirement)", self.maintenance_margin),
            ("IM requirement", self.initial_requirement), ("MM requirement", self.maintenance_requirement),
            ("mark-to-market (options + collateral + perp)", self.mtm), ("cash", self.cash),
            (f"worst loss ({self.worst_label})", -self.worst_pnl),
        ]
        for kind in ("regular", "tail", "skew"):
            w = self.worst(kind)
            if w is not None:
                rows.append((f"worst {kind} ({w.label})", w.loss))
        rows += [
            ("basis contingency (as a loss)", -self.basis_contingency),
            ("option contingency MM / IM", None), ("perp contingency MM / IM", None),
            ("collateral haircuts MM / IM", None), ("feed-confidence contingency (IM)", self.confidence_contingency),
        ]
        pairs = {"option contingency MM / IM": (self.mm_option_contingency, self.im_option_contingency),
                 "perp contingency MM / IM": (self.mm_perp_contingency, self.im_perp_contingency),
                 "collateral haircuts MM / IM": (self.mm_collateral_contingency, self.im_collateral_contingency)}
        for label, value in rows:
            if value is None:
                a, b = pairs[label]
                lines.append(f"  {label:<52} {a:>16,.2f} / {b:,.2f}")
            else:
                lines.append(f"  {label:<52} {value:>16,.2f}")
        lines += ["", "  expiry (UTC)          days    MTM          MTM discounted   vol up x  vol down x"]
        for e in self.expiries:
            when = _expiry_text(e.expiry)
            lines.append(f"  {when:<20}  {e.seconds_to_expiry / 86400:6.2f}  {e.mtm:>12,.2f}  {e.mtm_discounted:>14,.2f}"
                         f"   {e.vol_shock_up:7.4f}   {e.vol_shock_down:7.4f}")
        lines += ["", "  scenario                         kind       loss"]
        for s in self.scenarios:
            lines.append(f"  {s.label:<32} {s.kind:<8} {s.loss:>14,.2f}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Expiry:
    expiry: int
    seconds: int
    tau: float
    discount: float
    forward_var: float
    forward_fixed: float
    strike: np.ndarray
    vol: np.ndarray
    is_call: np.ndarray
    amount: np.ndarray
    up: float
    down: float
    pos: float
    neg: float
    mtm: float


def _label(spot: float, vol: str, kind: str) -> str:
    move = (spot - 1.0) * 100.0
    return f"{kind} spot {move:+.4g}% vol {vol}"


def derive_margin(*, portfolio: DerivePortfolio, market: DeriveMarket, section: DeriveSection) -> DeriveResult:
    """Derive's MM and IM of ``portfolio`` at ``market`` under ``section`` (module docstring).

    Raises
    ------
    InvalidInputError
        The portfolio's currency differs from the market's, an option has
        expired, or a collateral has no parameters in the set.
    MarketDataError
        A held expiry, a perp price, a collateral price or an option's vol is missing.
    NumericalError
        A non-finite result for valid inputs.
    """
    if portfolio.currency != market.currency:
        raise InvalidInputError(f"The portfolio is in {portfolio.currency} but the market snapshot is "
                                f"{market.currency}; give the market of the portfolio's currency.")
    oc, vp, mp = section.other_contingency, section.vol_shock, section.margin
    spot = market.spot.price
    # Portfolio confidence: spot, then the perpetual's when one is held (PMRM_2._arrangePortfolio).
    spot_conf = market.spot.confidence
    min_conf = spot_conf
    if portfolio.perp_amount != 0.0:
        if market.perp is None:
            raise MarketDataError("The portfolio holds a perpetual but the market has no 'perp' price; add it.")
        min_conf = min(min_conf, market.perp.confidence)
    perp_price = market.perp.price if market.perp is not None else 0.0
    perp_notional = abs(portfolio.perp_amount) * spot
    mm_perp = perp_notional * oc.mm_perp_percent
    im_perp = perp_notional * oc.im_perp_percent
    confidence = rules.confidence_contingency(min_conf, perp_notional, oc)

    by_expiry: dict[int, list] = {}
    for o in portfolio.options:
        by_expiry.setdefault(o.expiry, []).append(o)
    if len(by_expiry) > section.max_expiries:
        raise InvalidInputError(f"The portfolio holds {len(by_expiry)} expiries; Derive allows at most "
                                f"{section.max_expiries} in a portfolio-margin subaccount.")
    expiries: list[_Expiry] = []
    results: list[DeriveExpiryResult] = []
    basis_total = mm_option = im_option = 0.0
    for expiry in sorted(by_expiry):
        opts = by_expiry[expiry]
        seconds = expiry - market.timestamp
        if seconds < 0:
            raise InvalidInputError(f"{opts[0].name} expired before the market timestamp {market.timestamp}; "
                                    "settle it before margining.")
        feed = market.expiries.get(expiry)
        if feed is None:
            raise MarketDataError(f"The market has no expiry {expiry} (of {opts[0].name}); add it to 'expiries'.")
        tau = rules.annualise(float(seconds))
        strike = np.array([o.strike for o in opts])
        if feed.svi is not None:
            s = feed.svi
            vol = rules.svi_vol(strike=strike, forward=s.forward, a=s.a, b=s.b, rho=s.rho, m=s.m, sigma=s.sigma,
                                tau=s.tau)
        else:
            missing = [o.name for o in opts if o.name not in feed.mark_vols]
            if missing:
                raise MarketDataError(f"Expiry {expiry} has no 'svi' and no mark vol of {missing[0]}; give either.")
            vol = np.array([feed.mark_vols[o.name] for o in opts])
        is_call = np.array([o.is_call for o in opts])
        amount = np.array([o.amount for o in opts])
        discount = math.exp(-feed.rate * seconds / rules.SECONDS_PER_YEAR)
        up, down = rules.vol_shock_multipliers(float(seconds), vp)
        pos, neg = rules.static_discounts(tau=tau, rate=feed.rate, discount=discount, p=mp)
        f_var = feed.forward - feed.forward_fixed
        args = dict(strike=strike, tau=tau, discount=discount, is_call=is_call, amount=amount)
        mtm = rules.expiry_value(forward=feed.forward, vol=vol, **args)
        bc = section.basis_contingency
        basis = rules.basis_contingency(
            mtm=mtm, tau=tau, p=bc,
            up_mtm=rules.expiry_value(forward=f_var * bc.scenario_spot_up + feed.forward_fixed, vol=vol, **args),
            down_mtm=rules.expiry_value(forward=f_var * bc.scenario_spot_down + feed.forward_fixed, vol=vol, **args),
        )
        basis_total += basis
        naked = rules.naked_shorts(strike, amount)
        mm_option += naked * spot * oc.mm_option_percent
        im_option += naked * spot * oc.im_option_percent
        exp_conf = min(min_conf, feed.forward_confidence, feed.rate_confidence, feed.vol_confidence)
        confidence += rules.confidence_contingency(exp_conf, float(np.abs(amount).sum()) * spot, oc)
        expiries.append(_Expiry(expiry, seconds, tau, discount, f_var, feed.forward_fixed, strike, vol, is_call,
                                amount, up, down, pos, neg, mtm))
        results.append(DeriveExpiryResult(
            expiry=expiry, seconds_to_expiry=seconds, mtm=mtm, mtm_discounted=mtm * (pos if mtm >= 0 else neg),
            static_discount_pos=pos, static_discount_neg=neg, vol_shock_up=up, vol_shock_down=down,
            basis_contingency=basis, naked_shorts=naked,
        ))

    stable = market.stable.price
    coll_values: list[tuple[float, bool]] = []
    mm_coll = im_coll = 0.0
    for asset, amount_c in portfolio.collaterals:
        params = section.collateral(asset)
        if params is None:
            raise InvalidInputError(f"Collateral {asset} has no parameters in the set; add it to "
                                    "derive.collaterals (risk_cancelling, mm_haircut, im_haircut).")
        feed_c = market.collaterals.get(asset)
        if feed_c is None:
            raise MarketDataError(f"The market has no price of collateral {asset}; add it to 'collaterals'.")
        value = amount_c * feed_c.price / stable
        coll_values.append((value, params.risk_cancelling))
        mm_coll += value * params.mm_haircut
        im_coll += value * params.im_haircut
        confidence += rules.confidence_contingency(min(feed_c.confidence, spot_conf), value, oc)

    def expiry_pnl(e: _Expiry, spot_shock: float, vol_shock: str, skew: str | None, damp: float) -> float:
        if skew is not None:
            vol = e.vol * rules.skew_multipliers(strike=e.strike, forward=e.forward_var + e.forward_fixed,
                                                 tau=e.tau, kind=skew, p=section.skew_shock)
            value = rules.expiry_value(forward=e.forward_var + e.forward_fixed, vol=vol, strike=e.strike, tau=e.tau,
                                       discount=e.discount, is_call=e.is_call, amount=e.amount)
        else:
            if vol_shock == "up":
                vol = np.maximum(vp.min_vol_up_shocked, e.vol * e.up)
            elif vol_shock == "down":
                vol = e.vol * e.down
            else:
                vol = e.vol
            value = rules.expiry_value(forward=e.forward_var * spot_shock + e.forward_fixed, vol=vol,
                                       strike=e.strike, tau=e.tau, discount=e.discount, is_call=e.is_call,
                                       amount=e.amount)
        pnl = (value * (e.pos if value >= 0.0 else e.neg) - e.mtm) * damp
        return -abs(pnl) if skew is not None else pnl

    def scenario_pnl(spot_shock: float, vol_shock: str, skew: str | None, damp: float) -> float:
        total = rules.perp_pnl(amount=portfolio.perp_amount, perp_price=perp_price, spot_shock=spot_shock) * damp
        for e in expiries:
            total += expiry_pnl(e, spot_shock, vol_shock, skew, damp)
        for value, cancelling in coll_values:
            if cancelling:
                total += value * (spot_shock - 1.0) * damp
        return total

    scenarios: list[DeriveScenarioLoss] = []
    for kind, group in (("regular", section.regular_scenarios), ("tail", section.tail_scenarios)):
        for sc in group:
            pnl = scenario_pnl(sc.spot_shock, sc.vol_shock, None, sc.dampening)
            scenarios.append(DeriveScenarioLoss(label=_label(sc.spot_shock, sc.vol_shock, kind), kind=kind,
                                                spot_shock=sc.spot_shock, vol_shock=sc.vol_shock,
                                                dampening=sc.dampening, loss=-pnl))
    for sk in section.skew_scenarios:
        pnl = scenario_pnl(1.0, "none", sk.kind, sk.dampening)
        scenarios.append(DeriveScenarioLoss(label=f"skew {sk.kind.upper()}", kind="skew", spot_shock=1.0,
                                            vol_shock=sk.kind, dampening=sk.dampening, loss=-pnl))
    # The search for the worst starts at the basis contingency (getMarginAndMarkToMarket).
    worst, worst_label = basis_total, "basis contingency"
    for s in scenarios:
        if s.pnl < worst:
            worst, worst_label = s.pnl, s.label
    peg = (oc.peg_loss_threshold - stable) * oc.peg_loss_factor if stable < oc.peg_loss_threshold else 0.0
    result = DeriveResult(
        currency=portfolio.currency, scenarios=tuple(scenarios), expiries=tuple(results),
        basis_contingency=basis_total, mm_perp_contingency=mm_perp, im_perp_contingency=im_perp,
        mm_option_contingency=mm_option, im_option_contingency=im_option, mm_collateral_contingency=mm_coll,
        im_collateral_contingency=im_coll, confidence_contingency=confidence, peg_loss_addition=peg,
        option_mtm=sum(e.mtm for e in expiries), collateral_mtm=sum(v for v, _ in coll_values),
        perp_mtm=portfolio.perp_unrealised_pnl + portfolio.perp_funding, cash=portfolio.cash,
        worst_pnl=worst, worst_label=worst_label, mm_factor=mp.mm_factor, im_factor=mp.im_factor,
    )
    for name, value in (("initial margin", result.initial_margin), ("maintenance margin", result.maintenance_margin)):
        if not math.isfinite(value):
            raise NumericalError(f"The Derive {name} is not finite ({value!r}) for valid inputs; please report them.")
    return result


def derive_section(parameter_set: ParameterSet, currency: str) -> DeriveSection:
    """The Derive section of ``parameter_set`` for ``currency``.

    Raises
    ------
    ParameterSetError
        The set has no combined commodity on ``currency`` with a ``derive`` section.
    """
    for cc in parameter_set.combined_commodities:
        if cc.underlying == currency and cc.derive is not None:
            return cc.derive
    raise ParameterSetError(f"Parameter set {parameter_set.metadata.name} has no Derive section for {currency}; "
                            "use --params derive (BTC, ETH) or add a 'derive' section for it.")


def _derive_stage(book: CommodityBook, parameter_set: ParameterSet) -> CommodityStage:
    # The engine's books carry risk arrays, not the per-expiry forwards, rates, SVI slices, collateral
    # and feed confidences Derive's rules read, so the method margins whole Derive subaccounts only.
    raise ParameterSetError(
        f"Combined commodity {book.commodity.name} uses the 'derive' method, which margins a whole Derive "
        "subaccount: give a Derive portfolio and market (spanlike.venues.derive.margin_files)."
    )


def _expiry_text(expiry: object) -> str:
    """An expiry given as Unix seconds (Derive's form) as a UTC date and time; anything else as it is."""
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(int(expiry), tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M")  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError, OSError):
        return str(expiry)


DERIVE = register_method(MarginMethod(
    name="derive",
    description="Derive portfolio margin (PMRM_2): regular, tail and skew scenarios over SVI vols, static "
                "discounting, contingencies, MM and IM as the venue defines them",
    stage=_derive_stage,
    takes_inter_credit=False,
    scan_label="worst scenario loss",
    report_rows=(("derive_worst_loss", "worst scenario loss"), ("derive_contingencies", "contingencies")),
    requirement_with=None,
    batch_code=None,
    account_margin="spanlike.venues.derive:margin_files",
))
