"""Derive (formerly Lyra) portfolio margin rules (PMRM_2), one small function per rule.

Derived from the public reference implementation, repository derivexyz/v2-core
(licence BUSL-1.1): ``src/risk-managers/PMRMLib_2.sol`` and ``PMRM_2.sol``,
their interfaces ``IPMRMLib_2.sol`` / ``IPMRM_2.sol``, and the SVI vol feed
(``src/feeds/LyraVolFeed.sol`` over ``lyra-utils/src/math/SVI.sol``). The
contracts were read for their formulas only; this is our own code, none of
theirs is copied. Each function names the function it follows.

Sign convention: the venue works in P&L (a gain is positive) and its margin
is equity minus requirement (negative = under-margined). These rules keep the
venue's signs; :mod:`spanlike.aggregation.derive` reports the loss-positive
form beside them (loss = -P&L, requirement = equity - venue margin).

Units: prices and values in the cash asset (USDC); time to expiry in seconds,
annualised as ``seconds / (365 * 86400)``; vols as annual decimals.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from spanlike.params.derive import (
    DeriveBasisContingency, DeriveMarginFactors, DeriveOtherContingency, DeriveSkewShock, DeriveVolShock,
)
from spanlike.params.errors import MarketDataError
from spanlike.risk_arrays.grids import term_scale
from spanlike.risk_arrays.pricing import black76_price

__all__ = [
    "SECONDS_PER_YEAR", "annualise", "svi_vol", "vol_shock_multipliers", "static_discounts", "skew_multipliers",
    "expiry_value", "basis_contingency", "confidence_contingency", "naked_shorts", "perp_pnl",
    "VOL_PIVOT_DAYS", "SVI_MAX_TOTAL_VARIANCE",
]

SECONDS_PER_YEAR = 365.0 * 86400.0
#: Pivot of the vol-shock term scaling, days (``30 days`` in ``_addVolShocks``).
VOL_PIVOT_DAYS = 30.0
#: Cap on SVI total variance (``MAX_TOTAL_VAR`` of SVI.sol).
SVI_MAX_TOTAL_VARIANCE = 25.0
_SVI_K_SHORT, _SVI_K_LONG, _SVI_K_ABS, _SVI_TAU_MULT = 0.3, -0.3, 2.5, 3.0


def annualise(seconds: float) -> float:
    """Years to expiry from seconds, ``seconds / (365 * 86400)`` (Black76.annualise)."""
    return seconds / SECONDS_PER_YEAR


def svi_vol(*, strike: NDArray[np.float64], forward: float, a: float, b: float, rho: float, m: float,
            sigma: float, tau: float) -> NDArray[np.float64]:
    """Implied vol of the raw SVI slice as the venue's vol feed evaluates it (``SVI.getVol``).

    ``k = ln(K / F)`` clamped to ``[max(-2.5, min(-0.3, -3 sqrt(tau))), min(2.5, max(0.3, 3 sqrt(tau)))]``,
    ``w = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))`` capped at 25,
    ``vol = sqrt(w / tau)``. ``F`` and ``tau`` are the surface's own reference
    forward and time (years), not the option's.

    Raises
    ------
    MarketDataError
        Total variance below zero at a strike (the venue reverts there).
    """
    k = np.log(np.asarray(strike, dtype=np.float64) / forward)
    root = _SVI_TAU_MULT * math.sqrt(tau)
    k_max = min(_SVI_K_ABS, max(_SVI_K_SHORT, root))
    k_min = max(-_SVI_K_ABS, min(_SVI_K_LONG, -root))
    k = np.minimum(k_max, np.maximum(k_min, k))
    d = k - m
    w = a + b * (rho * d + np.sqrt(d * d + sigma * sigma))
    if (w < 0.0).any():
        i = int(np.flatnonzero(w < 0.0)[0])
        raise MarketDataError(
            f"The SVI parameters give a negative total variance ({float(w[i])!r}) at strike "
            f"{float(np.asarray(strike).ravel()[i])!r}; check a, b, rho, m, sigma (Derive refuses such a surface)."
        )
    return np.sqrt(np.minimum(w, SVI_MAX_TOTAL_VARIANCE) / tau)


def vol_shock_multipliers(seconds_to_expiry: float, p: DeriveVolShock) -> tuple[float, float]:
    """Up and down vol multipliers of an expiry (``_addVolShocks``).

    ``scale = (30 days / max(T, floor)) ** power`` (short power up to 30 days,
    long beyond; the shared rule :func:`spanlike.risk_arrays.grids.term_scale`),
    ``up = 1 + range_up * scale``, ``down = max(0, 1 - range_down * scale)``.
    """
    days = np.array([seconds_to_expiry / 86400.0])
    scale = float(term_scale(days, pivot_days=VOL_PIVOT_DAYS, floor_days=p.dte_floor_days,
                             short_power=p.short_term_power, long_power=p.long_term_power)[0])
    return 1.0 + p.vol_range_up * scale, max(0.0, 1.0 - p.vol_range_down * scale)


def static_discounts(*, tau: float, rate: float, discount: float, p: DeriveMarginFactors) -> tuple[float, float]:
    """Static discount factors of an expiry for positive and negative values (``_addStaticDiscount``).

    ``pos = long_base * exp(-tau (rate long_mult + long_add))``,
    ``neg = min(1 / discount, short_base / exp(-tau (rate short_mult + short_add)))``,
    with ``rate`` floored at 0 (the manager stores ``max(0, rate)``).
    """
    r = max(0.0, rate)
    pos = p.long_base_static_discount * math.exp(-(tau * (r * p.long_rate_mult_scale + p.long_rate_add_scale)))
    neg = p.short_base_static_discount / math.exp(-(tau * (r * p.short_rate_mult_scale + p.short_rate_add_scale)))
    return pos, min(1.0 / discount, neg)


def skew_multipliers(*, strike: NDArray[np.float64], forward: float, tau: float, kind: str,
                     p: DeriveSkewShock) -> NDArray[np.float64]:
    """Vol multipliers of a skew scenario (``_getExpirySkewedShockedMTM``, ``_getKStar``).

    ``k = ln(K / F)`` (``|k|`` for ABS), ``cap = base_cap + c_base sqrt(tau)``,
    ``k* = max(min_k_star, sqrt(tau) width_scale (vol_static + vol_scale sqrt(tau)))``,
    multiplier ``max(0, 1 + clamp(k cap / k*, -cap, cap))``.
    """
    root = math.sqrt(tau)
    if kind == "linear":
        cap = p.linear_c_base * root + p.linear_base_cap
    else:
        cap = p.abs_c_base * root + p.abs_base_cap
    k_star = max(p.min_k_star, root * p.width_scale * (p.vol_param_static + root * p.vol_param_scale))
    k = np.log(np.asarray(strike, dtype=np.float64) / forward)
    if kind == "abs":
        k = np.abs(k)
    x = k * cap / k_star
    shift = np.where(k >= 0.0, np.minimum(cap, x), np.maximum(-cap, x))
    return np.maximum(0.0, 1.0 + shift)


def expiry_value(*, forward: float, strike: NDArray[np.float64], vol: NDArray[np.float64], tau: float,
                 discount: float, is_call: NDArray[np.bool_], amount: NDArray[np.float64]) -> float:
    """Value of an expiry's options, ``sum amount * Black-76(F, K, vol, tau, discount)`` (``_getExpiryShockedMTM``).

    Black-76 is :func:`spanlike.risk_arrays.pricing.black76_price` with the
    rate ``-ln(discount) / tau``; a zero vol (a down shock or a skew multiplier
    reaching 0) or ``tau = 0`` gives the discounted intrinsic value, the limit
    the venue's pricer takes.
    """
    strike = np.asarray(strike, dtype=np.float64)
    vol = np.asarray(vol, dtype=np.float64)
    s = np.where(is_call, 1.0, -1.0)
    intrinsic = discount * np.maximum(s * (forward - strike), 0.0)
    live = (vol > 0.0) & (tau > 0.0)
    values = intrinsic.copy()
    if live.any():
        rate = -math.log(discount) / tau
        values[live] = black76_price(forward=forward, strike=strike[live], t_years=tau, vol=vol[live],
                                     rate=rate, is_call=np.asarray(is_call)[live])
    return float((values * amount).sum())


def basis_contingency(*, mtm: float, up_mtm: float, down_mtm: float, tau: float,
                      p: DeriveBasisContingency) -> float:
    """An expiry's basis (forward) contingency, <= 0 (``_addBasisContingency``).

    ``min(up - mtm, down - mtm, 0) * (add_factor + mult_factor * tau)``; the
    account's total starts the search for the worst scenario.
    """
    return min(up_mtm - mtm, down_mtm - mtm, 0.0) * (p.add_factor + p.mult_factor * tau)


def confidence_contingency(min_confidence: float, notional: float, p: DeriveOtherContingency) -> float:
    """Feed-confidence add-on to IM, >= 0 (``_getConfidenceContingency``).

    ``(1 - confidence) * confidence_margin * notional`` when the confidence is
    below the threshold, else 0.
    """
    if min_confidence < p.confidence_threshold:
        return (1.0 - min_confidence) * p.confidence_margin * notional
    return 0.0


def naked_shorts(strike: NDArray[np.float64], amount: NDArray[np.float64]) -> float:
    """Short options of one expiry not covered by a long at the same strike (``_addOptionContingency``).

    Per strike ``max(0, -(call amount + put amount))``: a short call and a long
    put at one strike offset, two shorts add. Units of underlying.
    """
    total = 0.0
    for k in np.unique(strike):
        total += max(0.0, -float(amount[strike == k].sum()))
    return total


def perp_pnl(*, amount: float, perp_price: float, spot_shock: float) -> float:
    """Perpetual P&L under a spot shock, ``amount * (shock - 1) * perp price`` (``_getShockedPerpPnL``)."""
    return amount * ((spot_shock - 1.0) * perp_price)
