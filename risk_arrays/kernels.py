"""numba kernels: Black-76 pricing and Greeks, risk arrays, composite delta.

Kernels take plain arrays and scalars, write into preallocated outputs and never
raise or validate: that is the job of the public wrappers in
:mod:`spanlike.risk_arrays.pricing` and :mod:`spanlike.risk_arrays.revaluation`. Invalid numbers
come out as NaN, which the wrappers detect and explain.

Black-76 (Haug, *The Complete Guide to Option Pricing Formulas*, 2nd ed., 1.1.6),
with ``s = +1`` for a call and ``-1`` for a put, ``D = exp(-r T)``::

    d1 = log(F/K) / (sigma sqrt(T)) + sigma sqrt(T) / 2,   d2 = d1 - sigma sqrt(T)
    V  = D s (F N(s d1) - K N(s d2))

With ``sigma sqrt(T) = 0`` (at expiry, or a zero scenario vol) ``d1 = d2`` is
taken as its limit ``+-inf`` (``0`` at the money), which makes the same formula
return the (discounted) intrinsic value ``D max(s (F - K), 0)`` and the delta
``D s`` / ``0`` (``D s / 2`` at the money) without a branch. A negative or NaN
``sigma sqrt(T)`` gives NaN.

Every kernel uses one exponential per valuation: ``exp(-d2**2/2)`` equals
``exp(-d1**2/2) * F/K`` because ``d1**2 - d2**2 = 2 log(F/K)``.

The risk-array and composite-delta formulas are those of
:mod:`spanlike.risk_arrays.scenarios` (module docstring); see
:func:`_risk_array_kernel` for the loss of each contract type.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._normal import INV_SQRT_2PI, fast_exp, fast_log, norm_cdf_given_exp
from ._numba import njit_kernel, njit_parallel

__all__: list[str] = []  # private module: import the kernels by name

_KIND_FUTURE = 0
_KIND_PUT = 2


# ---------------------------------------------------------------------------
# Scalar building blocks (inlined into the loops below)


@njit_kernel
def _d1_with_limit(log_forward_over_strike: float, total_vol: float) -> float:
    """``d1`` for ``total_vol = sigma sqrt(T) > 0``; its limit for ``0``; NaN for < 0 or NaN."""
    safe_total_vol = total_vol if total_vol > 0.0 else 1.0
    d1 = log_forward_over_strike / safe_total_vol + 0.5 * total_vol
    limit = math.inf if log_forward_over_strike > 0.0 else 0.0
    limit = -math.inf if log_forward_over_strike < 0.0 else limit
    limit = limit if total_vol == 0.0 else math.nan
    return d1 if total_vol > 0.0 else limit


@njit_kernel
def _black76_value(
    forward: float,
    strike: float,
    log_forward_over_strike: float,
    forward_over_strike: float,
    total_vol: float,
    discount: float,
    sign: float,
) -> float:
    """Discounted Black-76 value in USD (``sign`` +1 call, -1 put).

    For scalar use (composite delta). Too large for LLVM to inline, so a hot
    loop that calls it stays scalar: the vectorised loops spell it out instead.
    """
    d1 = _d1_with_limit(log_forward_over_strike, total_vol)
    d2 = d1 - total_vol
    exp_half_d1_sq = fast_exp(-0.5 * d1 * d1)
    exp_half_d2_sq = exp_half_d1_sq * forward_over_strike
    n1 = norm_cdf_given_exp(sign * d1, exp_half_d1_sq)
    n2 = norm_cdf_given_exp(sign * d2, exp_half_d2_sq)
    return discount * sign * (forward * n1 - strike * n2)


@njit_kernel
def _black76_delta(log_forward_over_strike: float, total_vol: float, discount: float, sign: float) -> float:
    """Black-76 ``dV/dF = D s N(s d1)`` (``D s / 2`` at the money at expiry)."""
    d1 = _d1_with_limit(log_forward_over_strike, total_vol)
    return discount * sign * norm_cdf_given_exp(sign * d1, fast_exp(-0.5 * d1 * d1))


# ---------------------------------------------------------------------------
# Pricing kernels (generalised cost of carry: F = S exp(b T); b = 0 is Black-76)


@njit_kernel
def _option_price_kernel(
    spot: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    carry: np.ndarray,
    sign: np.ndarray,
    out_price: np.ndarray,
) -> None:
    """``out_price[i]`` = generalised Black-Scholes value (Black-76 on ``F = S exp(b T)``)."""
    # The Black-76 formula is spelled out (leaf calls only) so that LLVM inlines and vectorises.
    for i in range(spot.shape[0]):
        t = t_years[i]
        s = sign[i]
        k = strike[i]
        forward = spot[i] * fast_exp(carry[i] * t)
        forward_over_strike = forward / k
        total_vol = vol[i] * math.sqrt(t)
        d1 = _d1_with_limit(fast_log(forward_over_strike), total_vol)
        exp_half_d1_sq = fast_exp(-0.5 * d1 * d1)
        n1 = norm_cdf_given_exp(s * d1, exp_half_d1_sq)
        n2 = norm_cdf_given_exp(s * (d1 - total_vol), exp_half_d1_sq * forward_over_strike)
        out_price[i] = fast_exp(-rate[i] * t) * s * (forward * n1 - k * n2)


@njit_kernel
def _option_greeks_kernel(
    spot: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    carry: np.ndarray,
    sign: np.ndarray,
    rho_moves_carry: bool,
    out_price: np.ndarray,
    out_delta: np.ndarray,
    out_gamma: np.ndarray,
    out_vega: np.ndarray,
    out_theta: np.ndarray,
    out_rho: np.ndarray,
) -> None:
    """Price and Greeks in one pass (shared ``d1``, ``N``, discount factor).

    Units: delta and gamma with respect to ``spot``; vega per 1.0 of vol; theta
    ``-dV/dT`` per year with spot, rate and carry fixed; rho per 1.0 of rate,
    with the carry fixed (``-T V``) or, if ``rho_moves_carry``, with the
    dividend yield ``q = r - b`` fixed (``-T V + T F dV/dF``). At ``T = 0`` the
    Greeks are those of the payoff: gamma, vega, theta and rho are 0.
    """
    for i in range(spot.shape[0]):
        t = t_years[i]
        s = sign[i]
        sqrt_t = math.sqrt(t)
        growth = fast_exp(carry[i] * t)
        forward = spot[i] * growth
        k = strike[i]
        forward_over_strike = forward / k
        total_vol = vol[i] * sqrt_t
        discount = fast_exp(-rate[i] * t)
        d1 = _d1_with_limit(fast_log(forward_over_strike), total_vol)
        d2 = d1 - total_vol
        exp_half_d1_sq = fast_exp(-0.5 * d1 * d1)
        n1 = norm_cdf_given_exp(s * d1, exp_half_d1_sq)
        n2 = norm_cdf_given_exp(s * d2, exp_half_d1_sq * forward_over_strike)
        pdf1 = exp_half_d1_sq * INV_SQRT_2PI
        price = discount * s * (forward * n1 - k * n2)
        delta_forward = discount * s * n1
        alive = total_vol > 0.0
        safe_total_vol = total_vol if alive else 1.0
        safe_sqrt_t = sqrt_t if alive else 1.0
        gamma_forward = discount * pdf1 / (forward * safe_total_vol)
        theta_forward = rate[i] * price - discount * forward * pdf1 * vol[i] / (2.0 * safe_sqrt_t)
        rho = -t * price + (t * forward * delta_forward if rho_moves_carry else 0.0)
        out_price[i] = price
        out_delta[i] = delta_forward * growth
        out_gamma[i] = gamma_forward * growth * growth if alive else 0.0
        out_vega[i] = discount * forward * pdf1 * sqrt_t
        out_theta[i] = theta_forward - carry[i] * forward * delta_forward if alive else 0.0
        out_rho[i] = rho


# ---------------------------------------------------------------------------
# Risk arrays
#
# LLVM inlines only small callees: a loop that calls a helper which itself calls
# fast_exp and norm_cdf_given_exp keeps an opaque call and stays scalar. So the
# vectorised loops below spell the Black-76 formula out and call leaf functions
# only, and the parallel kernel hands out chunks of contracts to functions that
# contain the loops (one call per chunk, so nothing needs inlining).

_CHUNK = 512  # contracts per parallel task: large enough to amortise scheduling


@njit_kernel
def _prepare_contracts(
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    kind: np.ndarray,
    inverse: np.ndarray,
    time_advance_years: float,
    log_forward_over_strike: np.ndarray,
    sqrt_t_scenario: np.ndarray,
    discount_scenario: np.ndarray,
    base_value: np.ndarray,
) -> None:
    """Per-contract invariants of the scenario loop and the base value, for every contract given.

    ``base_value`` is in the settlement currency (USD, or coin for inverse
    options). Futures get a dummy strike of 1 so that every lane computes finite
    numbers; their option fields are never read.
    """
    for i in range(forward.shape[0]):
        f = forward[i]
        is_option = kind[i] != _KIND_FUTURE
        k = strike[i] if is_option else 1.0
        sign = -1.0 if kind[i] == _KIND_PUT else 1.0
        t = t_years[i]
        t_scenario = t - time_advance_years
        t_scenario = 0.0 if t_scenario < 0.0 else t_scenario
        fk = f / k
        log_fk = fast_log(fk)
        total_vol = vol[i] * math.sqrt(t)
        d1 = _d1_with_limit(log_fk, total_vol)
        exp_half_d1_sq = fast_exp(-0.5 * d1 * d1)
        n1 = norm_cdf_given_exp(sign * d1, exp_half_d1_sq)
        n2 = norm_cdf_given_exp(sign * (d1 - total_vol), exp_half_d1_sq * fk)
        value_usd = fast_exp(-rate[i] * t) * sign * (f * n1 - k * n2)
        value_usd = value_usd if is_option else f
        log_forward_over_strike[i] = log_fk
        sqrt_t_scenario[i] = math.sqrt(t_scenario)
        discount_scenario[i] = fast_exp(-rate[i] * t_scenario)
        base_value[i] = value_usd / f if (inverse[i] and is_option) else value_usd


@njit_kernel
def _scenario_vol(vol: float, vol_scale: float, rel: float, shift_abs: float, floor: float) -> float:
    """``max(sigma (1 + rel scale) + abs, floor)``; NaN if that is negative (grid error)."""
    shocked = vol * (1.0 + rel * vol_scale) + shift_abs
    shocked = floor if shocked < floor else shocked
    return math.nan if shocked < 0.0 else shocked


@njit_kernel
def _revalue_rows(
    forward: np.ndarray,
    strike: np.ndarray,
    vol: np.ndarray,
    kind: np.ndarray,
    inverse: np.ndarray,
    multiplier: np.ndarray,
    vol_scale: np.ndarray,
    growth_option: np.ndarray,
    log_growth_option: np.ndarray,
    inverse_growth_option: np.ndarray,
    growth_future: np.ndarray,
    price_shift_abs: np.ndarray,
    vol_shift_abs: np.ndarray,
    vol_shift_rel: np.ndarray,
    vol_floor: np.ndarray,
    weight: np.ndarray,
    has_abs_shift: bool,
    log_forward_over_strike: np.ndarray,
    sqrt_t_scenario: np.ndarray,
    discount_scenario: np.ndarray,
    base_value: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out[i, :]`` for every contract given: weighted loss of one long unit per scenario.

    Every branch depends on the contract only; each inner ``j`` loop is
    branch-free (selects only) and vectorises.
    """
    m = weight.shape[0]
    # The loops write into this private buffer, copied to ``out`` per row: with
    # ``out`` as the only store target LLVM must guard against it aliasing any of
    # the ten scenario tables, which exceeds its runtime-check limit (8) and
    # leaves the loop scalar.
    row = np.empty(m)
    for i in range(forward.shape[0]):
        f = forward[i]
        mult = multiplier[i]
        if kind[i] == _KIND_FUTURE:
            if inverse[i]:
                # coin P&L of a long is (F' - F)/F'; the loss is its negative
                for j in range(m):
                    f_new = f * growth_future[j] + price_shift_abs[j]
                    row[j] = -weight[j] * mult * ((f_new - f) / f_new)
            else:
                for j in range(m):
                    f_new = f * growth_future[j] + price_shift_abs[j]
                    row[j] = weight[j] * mult * (f - f_new)
            for j in range(m):
                out[i, j] = row[j]
            continue

        k = strike[i]
        inv_k = 1.0 / k
        inv_f = 1.0 / f
        sign = -1.0 if kind[i] == _KIND_PUT else 1.0
        sigma = vol[i]
        scale = vol_scale[i]
        log_fk = log_forward_over_strike[i]
        sqrt_t = sqrt_t_scenario[i]
        # Inverse options are valued in coin, V'/F': fold the 1/F' into the discount factor.
        signed_discount = discount_scenario[i] * sign * mult
        is_inverse = inverse[i]
        base = base_value[i]
        if not has_abs_shift:
            # F' = F (1 + move): log(F'/K) = log(F/K) + log(1 + move) and
            # 1/F' = (1/F) / (1 + move) come from per-scenario tables, so the
            # loop needs neither a log nor a division for them.
            for j in range(m):
                f_new = f * growth_option[j]
                fk = f_new * inv_k
                settle = inv_f * inverse_growth_option[j] if is_inverse else 1.0
                total_vol = _scenario_vol(sigma, scale, vol_shift_rel[j], vol_shift_abs[j], vol_floor[j]) * sqrt_t
                d1 = _d1_with_limit(log_fk + log_growth_option[j], total_vol)
                exp_half_d1_sq = fast_exp(-0.5 * d1 * d1)
                n1 = norm_cdf_given_exp(sign * d1, exp_half_d1_sq)
                n2 = norm_cdf_given_exp(sign * (d1 - total_vol), exp_half_d1_sq * fk)
                value = signed_discount * (f_new * n1 - k * n2) * settle
                row[j] = weight[j] * (mult * base - value)
        else:
            for j in range(m):
                f_new = f * growth_option[j] + price_shift_abs[j]
                fk = f_new * inv_k
                settle = 1.0 / f_new if is_inverse else 1.0
                total_vol = _scenario_vol(sigma, scale, vol_shift_rel[j], vol_shift_abs[j], vol_floor[j]) * sqrt_t
                d1 = _d1_with_limit(fast_log(fk), total_vol)
                exp_half_d1_sq = fast_exp(-0.5 * d1 * d1)
                n1 = norm_cdf_given_exp(sign * d1, exp_half_d1_sq)
                n2 = norm_cdf_given_exp(sign * (d1 - total_vol), exp_half_d1_sq * fk)
                value = signed_discount * (f_new * n1 - k * n2) * settle
                row[j] = weight[j] * (mult * base - value)
        for j in range(m):
            out[i, j] = row[j]


@njit_kernel
def _scenario_tables(
    price_move_option: np.ndarray, price_move_future: np.ndarray, price_shift_abs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Per-scenario ``1 + move``, ``log(1 + move)``, ``1/(1 + move)`` and whether any absolute shift is set."""
    growth_option = 1.0 + price_move_option
    has_abs_shift = False
    for j in range(price_shift_abs.shape[0]):
        has_abs_shift = has_abs_shift or price_shift_abs[j] != 0.0
    return growth_option, np.log(growth_option), 1.0 / growth_option, 1.0 + price_move_future, has_abs_shift


@njit_kernel
def _risk_array_chunk(
    start: int,
    stop: int,
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    kind: np.ndarray,
    inverse: np.ndarray,
    multiplier: np.ndarray,
    vol_scale: np.ndarray,
    growth_option: np.ndarray,
    log_growth_option: np.ndarray,
    inverse_growth_option: np.ndarray,
    growth_future: np.ndarray,
    price_shift_abs: np.ndarray,
    vol_shift_abs: np.ndarray,
    vol_shift_rel: np.ndarray,
    vol_floor: np.ndarray,
    weight: np.ndarray,
    has_abs_shift: bool,
    time_advance_years: float,
    out: np.ndarray,
) -> None:
    """Rows ``start <= i < stop`` of the risk arrays.

    The per-contract invariants go to scratch arrays allocated here, not passed
    in: LLVM then knows they alias nothing and vectorises the preparation loop
    without runtime overlap checks (with caller-owned scratch it stayed scalar,
    about 100 ns per contract). Serial and parallel kernels run the same chunks,
    so they return identical numbers.
    """
    size = stop - start
    log_fk = np.empty(size)
    sqrt_t_scenario = np.empty(size)
    discount_scenario = np.empty(size)
    base_value = np.empty(size)
    _prepare_contracts(
        forward[start:stop], strike[start:stop], t_years[start:stop], vol[start:stop], rate[start:stop],
        kind[start:stop], inverse[start:stop], time_advance_years,
        log_fk, sqrt_t_scenario, discount_scenario, base_value,
    )
    _revalue_rows(
        forward[start:stop], strike[start:stop], vol[start:stop], kind[start:stop], inverse[start:stop],
        multiplier[start:stop], vol_scale[start:stop],
        growth_option, log_growth_option, inverse_growth_option, growth_future, price_shift_abs,
        vol_shift_abs, vol_shift_rel, vol_floor, weight, has_abs_shift,
        log_fk, sqrt_t_scenario, discount_scenario, base_value, out[start:stop],
    )


@njit_kernel
def _risk_array_kernel(
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    kind: np.ndarray,
    inverse: np.ndarray,
    multiplier: np.ndarray,
    vol_scale: np.ndarray,
    price_move_option: np.ndarray,
    price_move_future: np.ndarray,
    price_shift_abs: np.ndarray,
    vol_shift_abs: np.ndarray,
    vol_shift_rel: np.ndarray,
    vol_floor: np.ndarray,
    weight: np.ndarray,
    time_advance_years: float,
    out: np.ndarray,
) -> None:
    """Risk arrays ``out[i, j]`` (shape (n, m)), serial.

    Loss of one long unit of contract ``i`` in scenario ``j``, in its settlement
    currency, positive = loss, times ``weight[j]``:

    * linear option:  ``mult (V(F, T, sigma) - V(F', T', sigma'))``, V discounted Black-76 in USD
    * inverse option: ``mult (V(F, T, sigma)/F - V(F', T', sigma')/F')`` in coin
    * linear future:  ``mult (F - F')``
    * inverse future: ``-mult (F' - F)/F'`` in coin

    with ``F'``, ``sigma'``, ``T'`` as in :mod:`spanlike.risk_arrays.scenarios`.
    """
    n = forward.shape[0]
    growth_option, log_growth_option, inverse_growth_option, growth_future, has_abs_shift = _scenario_tables(
        price_move_option, price_move_future, price_shift_abs
    )
    for c in range((n + _CHUNK - 1) // _CHUNK):
        _risk_array_chunk(
            c * _CHUNK, min(c * _CHUNK + _CHUNK, n), forward, strike, t_years, vol, rate, kind, inverse,
            multiplier, vol_scale, growth_option, log_growth_option, inverse_growth_option, growth_future,
            price_shift_abs, vol_shift_abs, vol_shift_rel, vol_floor, weight, has_abs_shift,
            time_advance_years, out,
        )


@njit_parallel
def _risk_array_kernel_parallel(
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    kind: np.ndarray,
    inverse: np.ndarray,
    multiplier: np.ndarray,
    vol_scale: np.ndarray,
    price_move_option: np.ndarray,
    price_move_future: np.ndarray,
    price_shift_abs: np.ndarray,
    vol_shift_abs: np.ndarray,
    vol_shift_rel: np.ndarray,
    vol_floor: np.ndarray,
    weight: np.ndarray,
    time_advance_years: float,
    out: np.ndarray,
) -> None:
    """:func:`_risk_array_kernel` with ``prange`` over chunks of contracts (same numbers, bit for bit)."""
    n = forward.shape[0]
    growth_option, log_growth_option, inverse_growth_option, growth_future, has_abs_shift = _scenario_tables(
        price_move_option, price_move_future, price_shift_abs
    )
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        _risk_array_chunk(
            c * _CHUNK, min(c * _CHUNK + _CHUNK, n), forward, strike, t_years, vol, rate, kind, inverse,
            multiplier, vol_scale, growth_option, log_growth_option, inverse_growth_option, growth_future,
            price_shift_abs, vol_shift_abs, vol_shift_rel, vol_floor, weight, has_abs_shift,
            time_advance_years, out,
        )


# ---------------------------------------------------------------------------
# Composite delta


@njit_kernel
def _composite_delta_kernel(
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    kind: np.ndarray,
    inverse: np.ndarray,
    multiplier: np.ndarray,
    delta_price_move: np.ndarray,
    delta_price_shift_abs: np.ndarray,
    delta_weight: np.ndarray,
    time_advance_years: float,
    out: np.ndarray,
) -> None:
    """Composite delta ``out[i] = sum_k w_k delta_ik / sum_k w_k`` per long unit, in coins.

    At ``F_k = F (1 + move_k) + abs_k``, vol unchanged, ``T' = max(T - advance, 0)``:

    * linear option:  ``mult dV/dF`` (Black-76 delta, discounted)
    * inverse option: ``mult (dV/dF - V/F_k)`` (premium-adjusted coin delta)
    * linear future:  ``mult``
    * inverse future: ``mult F/F_k``
    """
    n = forward.shape[0]
    n_points = delta_weight.shape[0]
    total_weight = 0.0
    for p in range(n_points):
        total_weight += delta_weight[p]
    for i in range(n):
        f = forward[i]
        mult = multiplier[i]
        is_option = kind[i] != _KIND_FUTURE
        k = strike[i] if is_option else 1.0
        sign = -1.0 if kind[i] == _KIND_PUT else 1.0
        t_scenario = t_years[i] - time_advance_years
        t_scenario = 0.0 if t_scenario < 0.0 else t_scenario
        total_vol = vol[i] * math.sqrt(t_scenario)
        discount = fast_exp(-rate[i] * t_scenario)
        weighted_sum = 0.0
        for p in range(n_points):
            f_point = f * (1.0 + delta_price_move[p]) + delta_price_shift_abs[p]
            if is_option:
                fk = f_point / k
                log_fk = fast_log(fk)
                delta = _black76_delta(log_fk, total_vol, discount, sign)
                if inverse[i]:
                    value = _black76_value(f_point, k, log_fk, fk, total_vol, discount, sign)
                    delta = delta - value / f_point
            else:
                delta = f / f_point if inverse[i] else 1.0
            weighted_sum += delta_weight[p] * delta
        out[i] = mult * weighted_sum / total_weight
