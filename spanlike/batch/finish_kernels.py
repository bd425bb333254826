"""Batch kernels, stage 2: every charge, credit and offset of an account from its state.

Each step calls the rule of :mod:`spanlike.methodology` that the engine
calls; see :mod:`spanlike.batch.kernels` for the two stages.
"""

from __future__ import annotations

import math

import numpy as np

from spanlike.batch.layout import *  # noqa: F401,F403  (the shared layout: column and row indices)
from spanlike.batch.state_kernels import _row_sum
from spanlike.methodology.correlation import correlated_total, shared_offset_total
from spanlike.methodology.direction import directional_share, offsetting_delta
from spanlike.methodology.exchange_charges import (
    dampened_loss,
    delta_shock,
    exchange_requirement,
    middle_vol_on_tie,
    offset_loss,
    roll_move,
)
from spanlike.methodology.joint_move import joint_move_floor
from spanlike.methodology.scan import paired_split, worst_scenario
from spanlike.methodology.span_charges import (
    capped_credit,
    delivery_charge,
    inter_credit_amount,
    intra_spread_amount,
    short_option_minimum,
    span_requirement,
)
from spanlike.methodology.spreads import flat_delta, form_spread, form_two_leg_spread
from spanlike.methodology.sums import pairwise_sum
from spanlike.risk_arrays._numba import njit_inline, njit_kernel

__all__: list[str] = []  # private module: import the kernels by name


# Leg positions 0, 1, ... of an inter-commodity spread on its local ladder (a constant to numba).
_LEG_INDEX = np.arange(64, dtype=np.int64)


# --- rows of the float scratch ``work`` of _finish_account (one 2-D array: indexing a row costs
# nothing, while every slice or extra array argument costs numba an atomic reference count pair)
(W_ADJ, W_REM, W_CONSUMED, W_AVAIL, W_CREDIT, W_K_USD, W_S_DIR, W_S_IN, W_K_IN, W_SCRATCH, W_K_OUT,
 W_SCRATCH_2, W_LOCAL, W_SCALE, W_TOOK, W_K_SUB, W_S_SUB, W_KS_IN, W_SS_IN, W_KS_OUT) = range(20)
# correlated_total's three scratch rows are W_SCRATCH, W_K_OUT (summed before) and W_SCRATCH_2.
# W_K_SUB .. W_KS_OUT: the futures-and-perpetuals sub-book's K and S (methodology 6.3).
N_WORK = 20
# --- rows of the int scratch ``iwork``: present commodities, correlation members
IW_PRESENT, IW_MEMBERS = 0, 1
N_IWORK = 2


@njit_kernel
def work_width(m_max, t_max, n_cc, n_legs_inter):  # type: ignore[no-untyped-def]
    """Columns of the float scratch :func:`_finish_account` uses (``N_WORK`` rows)."""
    return max(m_max, t_max, n_cc * n_cc, n_legs_inter, 1)


# ---------------------------------------------------------------------------
# Stage 2: charges from the state


@njit_inline
def _span_commodity(c, state, losses, cc_i, cc_f, scen_i, spr_i, spr_f, n_tiers_max, comp, work):  # type: ignore[no-untyped-def]
    """SPAN components of commodity ``c`` into ``comp[c]``; returns the delta available to inter spreads.

    ``losses`` is ``state[c]``, the view its caller made once for the direction as well.
    """
    m = cc_i[c, CI_M]
    m_max = scen_i.shape[1]
    t_max = n_tiers_max
    e_max = state.shape[1] - m_max - 2 * t_max - N_S
    o_s = m_max + 2 * t_max + e_max
    worst, best = worst_scenario(losses, m)
    scan = max(0.0, best)
    no_move = cc_i[c, CI_NO_MOVE]
    time_risk, vol_risk, price_risk = paired_split(losses, no_move, scen_i[c, max(no_move, 0), SC_PAIRED], worst,
                                                   scen_i[c, worst, SC_PAIRED], scan)
    # Intra-commodity spreads in priority order (methodology.spreads.form_spread on the tier ladder).
    n_t = cc_i[c, CI_NTIERS]
    for t in range(n_t):
        work[W_REM, t] = flat_delta(state[c, m_max + t])
        work[W_CONSUMED, t] = 0.0
    intra = 0.0
    n_legs_max = (spr_i.shape[2] - 1) // 2
    ladder = work[W_REM]  # views made once per commodity: one made per spread costs a reference-count pair
    took = work[W_TOOK]
    for s in range(cc_i[c, CI_NSPREADS]):
        n_legs = spr_i[c, s, 0]
        if n_legs == 2:
            # Two legs (every calendar spread): the scalar twin, consumed delta added without a loop.
            b0 = spr_i[c, s, 1]
            b1 = spr_i[c, s, 2]
            count, take0, take1 = form_two_leg_spread(ladder, b0, b1, spr_i[c, s, 1 + n_legs_max],
                                                      spr_i[c, s, 2 + n_legs_max], spr_f[c, s, 2], spr_f[c, s, 3])
            if count > 0.0:
                work[W_CONSUMED, b0] += take0
                work[W_CONSUMED, b1] += take1
                intra += intra_spread_amount(count, spr_f[c, s, 0], spr_f[c, s, 1])
            continue
        count = form_spread(ladder, spr_i[c, s, 1:1 + n_legs], spr_f[c, s, 2:2 + n_legs],
                            spr_i[c, s, 1 + n_legs_max:1 + n_legs_max + n_legs], n_legs, took)
        if count > 0.0:
            for leg in range(n_legs):
                work[W_CONSUMED, spr_i[c, s, 1 + leg]] += took[leg]
            intra += intra_spread_amount(count, spr_f[c, s, 0], spr_f[c, s, 1])
    # Delivery: consumed share min(|d|, delta its tier gave to spreads) when signs agree.
    delivery = 0.0
    if cc_i[c, CI_HAS_DELIV] != 0:
        for t in range(t_max):
            given = work[W_CONSUMED, t] if t < n_t else 0.0  # a tier without spreads gives none
            delivery += delivery_charge(state[c, m_max + t_max + t], state[c, m_max + t] if t < n_t else 0.0,
                                        given, cc_f[c, CF_DELIV_SPREAD], cc_f[c, CF_DELIV_OUTRIGHT])
    som = 0.0
    if cc_i[c, CI_HAS_SOM] != 0:
        som = short_option_minimum(state[c, o_s + S_SHORT_CALL], state[c, o_s + S_SHORT_PUT],
                                   cc_i[c, CI_SOM_GROSS] != 0, cc_f[c, CF_SOM_RATE])
    nov = state[c, o_s + S_NOV] if cc_i[c, CI_NOV] != 0 else 0.0
    comp[c, C_SCAN] = scan
    comp[c, C_TIME] = time_risk
    comp[c, C_VOL] = vol_risk
    comp[c, C_PRICE] = price_risk
    comp[c, C_INTRA] = intra
    comp[c, C_DELIVERY] = delivery
    comp[c, C_SOM] = som
    comp[c, C_NOV] = nov
    comp[c, C_ROLL] = 0.0
    comp[c, C_DELTA_SHOCK] = 0.0
    comp[c, C_WORST] = float(worst)
    if n_t > 0:
        return _row_sum(work, W_REM, n_t)
    return state[c, o_s + S_NET]


@njit_inline
def _exchange_commodity(c, state, cc_i, cc_f, scen_i, exp_t, n_tiers_max, comp, work):  # type: ignore[no-untyped-def]
    """Exchange-style components of commodity ``c`` into ``comp[c]`` (aggregation.exchange)."""
    m = cc_i[c, CI_M]
    m_max = scen_i.shape[1]
    t_max = n_tiers_max
    e_max = state.shape[1] - m_max - 2 * t_max - N_S
    o_s = m_max + 2 * t_max + e_max
    has_cap = cc_i[c, CI_HAS_MAXOFF] != 0
    for j in range(m):
        x = offset_loss(state[c, j], cc_f[c, CF_PNL_OFFSET], has_cap, cc_f[c, CF_MAXOFF])
        work[W_ADJ, j] = dampened_loss(x, scen_i[c, j, SC_EXTENDED] != 0, cc_f[c, CF_USD_PER_UNIT],
                                       cc_f[c, CF_DAMPENER])
    worst, top = worst_scenario(work[W_ADJ], m)
    if scen_i[c, worst, SC_EXTENDED] == 0:
        # Deribit reports the middle vol scenario of the worst price bucket on ties (aggregation.exchange).
        worst = middle_vol_on_tie(work[W_ADJ], worst)
    worst_case = max(0.0, top)
    any_pure = False
    best = -math.inf
    for j in range(m):
        if scen_i[c, j, SC_PURE_PRICE] != 0:
            if not any_pure or work[W_ADJ, j] > best:
                best = work[W_ADJ, j]
            any_pure = True
    price_risk = max(0.0, best) if any_pure else worst_case
    price_risk = min(price_risk, worst_case)
    roll = 0.0
    if cc_i[c, CI_HAS_ROLL] != 0:
        total = 0.0
        for e in range(cc_i[c, CI_NEXP]):
            move = roll_move(cc_f[c, CF_ROLL_MIN], cc_f[c, CF_ROLL_RISK], exp_t[c, e])
            total += abs(state[c, m_max + 2 * t_max + e]) * move
        roll = total * cc_f[c, CF_UNIT_VALUE]
    shock = 0.0
    if cc_i[c, CI_HAS_DSHOCK] != 0:
        shock = delta_shock(state[c, o_s + S_NET], cc_f[c, CF_INDEX], cc_f[c, CF_DS_THRESHOLD],
                            cc_f[c, CF_DS_RATE], cc_f[c, CF_USD_PER_UNIT])
    comp[c, C_SCAN] = worst_case
    comp[c, C_TIME] = 0.0
    comp[c, C_VOL] = 0.0
    comp[c, C_PRICE] = price_risk
    comp[c, C_INTRA] = 0.0
    comp[c, C_DELIVERY] = 0.0
    comp[c, C_SOM] = 0.0
    comp[c, C_NOV] = 0.0
    comp[c, C_ROLL] = roll
    comp[c, C_DELTA_SHOCK] = shock
    comp[c, C_WORST] = float(worst)


@njit_inline
def _inter_credits(comp, base, cc_f, inter_i, inter_f, work):  # type: ignore[no-untyped-def]
    """Inter-commodity credits (aggregation.inter_spreads) over present SPAN commodities.

    ``work[W_AVAIL, c]`` is NaN for commodities that take no part (absent or exchange
    style); it is updated in place as spreads consume delta. Price risk and net
    delta are read from ``comp[base + c]``: the book's rows (``base`` 0) or the
    sub-book's (``base`` = number of commodities).
    """
    n_cc = cc_f.shape[0]
    for c in range(n_cc):
        work[W_CREDIT, c] = 0.0
    n_legs_max = (inter_i.shape[1] - 2) // 2
    local = work[W_LOCAL]  # one view for every pair: a view made in the loop costs a reference-count pair each
    for p in range(inter_i.shape[0]):
        n_legs = inter_i[p, 0]
        usable = True
        for leg in range(n_legs):
            c = inter_i[p, 2 + leg]
            if c < 0 or not (work[W_AVAIL, c] == work[W_AVAIL, c]):
                usable = False
                break
        if not usable:
            continue
        notional = inter_i[p, 1] != 0
        for leg in range(n_legs):
            c = inter_i[p, 2 + leg]
            work[W_SCALE, leg] = cc_f[c, CF_INDEX] if notional else 1.0
            work[W_LOCAL, leg] = flat_delta(work[W_AVAIL, c] * work[W_SCALE, leg])
        # The spread's legs are the first n_legs entries of the local ladder (methodology.spreads).
        if n_legs == 2:
            count, work[W_TOOK, 0], work[W_TOOK, 1] = form_two_leg_spread(
                local, 0, 1, inter_i[p, 2 + n_legs_max], inter_i[p, 3 + n_legs_max],
                inter_f[p, 1], inter_f[p, 2])
        else:
            count = form_spread(local, _LEG_INDEX, inter_f[p, 1:1 + n_legs],
                                inter_i[p, 2 + n_legs_max:2 + n_legs_max + n_legs], n_legs, work[W_TOOK])
        if count <= 0.0:
            continue
        for leg in range(n_legs):
            c = inter_i[p, 2 + leg]
            work[W_AVAIL, c] = work[W_LOCAL, leg] / work[W_SCALE, leg]
        for leg in range(n_legs):
            c = inter_i[p, 2 + leg]
            consumed_underlying = work[W_TOOK, leg] / work[W_SCALE, leg]
            work[W_CREDIT, c] += inter_credit_amount(consumed_underlying, comp[base + c, C_PRICE],
                                                     comp[base + c, C_NET_DELTA], inter_f[p, 0])
    for c in range(n_cc):
        if work[W_AVAIL, c] == work[W_AVAIL, c]:
            work[W_CREDIT, c] = capped_credit(work[W_CREDIT, c], comp[base + c, C_PRICE])


@njit_kernel
def _finish_account(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                    glob_i, glob_f, cross, comp, tot, work, iwork, sub_book):  # type: ignore[no-untyped-def]
    """Every charge, credit and offset of one account from its ``state``; totals into ``tot``.

    ``work`` float (N_WORK, :func:`work_width`), ``iwork`` int (N_IWORK, >= n_cc). ``state`` and
    ``comp`` have a row per commodity, then (sets whose offsets read futures and perpetuals
    only, GI_DELTA_ONE) a row per commodity of that sub-book.

    ``sub_book`` is ``state[n_cc:]``, the sub-book's rows (an empty view for a set without
    one), or ``None``: the batch pipeline passes ``None`` for sets whose offsets read every
    position, and numba, pruning every branch on ``sub_book is None`` when it compiles,
    leaves the sub-book's code out of that kernel. Present but untaken, the code slowed
    the whole account loop (registers, control flow).
    """
    n_cc = cc_i.shape[0]
    m_max = scen_i.shape[1]
    t_max = glob_i[GI_T]
    e_max = state.shape[1] - m_max - 2 * t_max - N_S
    o_s = m_max + 2 * t_max + e_max

    # Offsets from the futures and perpetuals alone (methodology 6.3) where the account holds an
    # option: the sub-book's counts differ from the book's exactly then.
    shared = False
    sub_held = False  # the account holds some future or perpetual
    n_books = 1  # 2: the sub-book's components too, into comp rows n_cc ..
    if sub_book is not None:
        if cross != 0 and glob_i[GI_DELTA_ONE] != 0:
            for c in range(n_cc):
                if state[c, o_s + S_COUNT] > 0.0 and sub_book[c, o_s + S_COUNT] != state[c, o_s + S_COUNT]:
                    shared = True
                if sub_book[c, o_s + S_COUNT] > 0.0:
                    sub_held = True
        if shared and sub_held:
            n_books = 2
    # Every commodity's components, by its method: the book's, then the sub-book's. The body is
    # written here, not in an inlined helper: passing a helper its nine arrays per call measured
    # about 4 ms more on the 100,000-account finish.
    n_span = 0
    for book in range(n_books):
        st = state
        cp = comp
        if sub_book is not None:
            if book == 1:
                st = sub_book
                cp = comp[n_cc:]
        n_span = 0  # present SPAN commodities taking part in inter spreads, of the last book done
        for c in range(n_cc):
            if sub_book is not None:
                if book == 1 and st[c, o_s + S_COUNT] > 0.0 and st[c, o_s + S_COUNT] == state[c, o_s + S_COUNT]:
                    # No option in this commodity: its sub-book is the book, summed in the same order, so
                    # its components are the book's (and work[W_AVAIL, c] keeps the book's offer).
                    for j in range(N_COMP):
                        cp[c, j] = comp[c, j]
                    if cc_i[c, CI_METHOD] == METHOD_SPAN:
                        n_span += 1
                    continue
            work[W_AVAIL, c] = math.nan  # NaN: takes no part in inter spreads
            for j in range(N_COMP):
                cp[c, j] = 0.0
            cp[c, C_WORST] = -1.0
            if st[c, o_s + S_COUNT] <= 0.0:
                continue
            cp[c, C_PRESENT] = 1.0
            cp[c, C_NET_DELTA] = st[c, o_s + S_NET]
            # Direction from the scenario losses (methodology.direction), not the sign of net delta.
            losses = st[c]  # one view for both rules: each view made costs the account loop a reference-count pair
            w = directional_share(losses, scen_i[c, :, SC_SIDE], cc_i[c, CI_M])
            cp[c, C_DIRECTION] = w
            if cc_i[c, CI_METHOD] == METHOD_SPAN:
                avail = _span_commodity(c, st, losses, cc_i, cc_f, scen_i, spr_i, spr_f, t_max, cp, work)
                work[W_AVAIL, c] = offsetting_delta(avail, w)
                n_span += 1
            else:
                _exchange_commodity(c, st, cc_i, cc_f, scen_i, exp_t, t_max, cp, work)
    base = n_cc if n_books == 2 else 0  # comp rows the credits read: the sub-book's where it was done
    if shared and not sub_held:
        # Options only: an empty sub-book offers nothing (no credit, an offset of exactly 0, as the
        # engine computes it), and its rows in comp are not written, nor read below.
        n_span = 0
    for c in range(n_cc):
        work[W_CREDIT, c] = 0.0
    if cross != 0 and glob_i[GI_HAS_INTER] != 0 and n_span >= 2:
        _inter_credits(comp, base, cc_f, inter_i, inter_f, work)
    # Requirements, in USD for the cross-commodity aggregation.
    n_present = 0
    best_cc = -1
    best_usd = -math.inf
    for c in range(n_cc):
        if comp[c, C_PRESENT] == 0.0:
            continue
        if cc_i[c, CI_METHOD] == METHOD_SPAN:
            comp[c, C_INTER] = work[W_CREDIT, c]
            req, binding = span_requirement(comp[c, C_SCAN], comp[c, C_INTRA], comp[c, C_DELIVERY],
                                            work[W_CREDIT, c], comp[c, C_SOM], comp[c, C_NOV])
            comp[c, C_SOM_BINDING] = 1.0 if binding else 0.0
        else:
            req = exchange_requirement(comp[c, C_SCAN], comp[c, C_ROLL], comp[c, C_DELTA_SHOCK])
        comp[c, C_REQUIREMENT] = req
        usd = cc_f[c, CF_USD_PER_UNIT]
        work[W_K_USD, n_present] = req * usd
        work[W_S_DIR, n_present] = comp[c, C_DIRECTION] * comp[c, C_PRICE] * usd
        if sub_book is not None and shared:
            # The sub-book's requirement under the same credit, and its directional component.
            cs = n_cc + c
            req_sub = 0.0
            dir_sub = 0.0
            if sub_held and comp[cs, C_PRESENT] != 0.0:
                dir_sub = comp[cs, C_DIRECTION] * comp[cs, C_PRICE]
                if cc_i[c, CI_METHOD] == METHOD_SPAN:
                    req_sub, _ = span_requirement(comp[cs, C_SCAN], comp[cs, C_INTRA], comp[cs, C_DELIVERY],
                                                  work[W_CREDIT, c], comp[cs, C_SOM], comp[cs, C_NOV])
                else:
                    req_sub = exchange_requirement(comp[cs, C_SCAN], comp[cs, C_ROLL], comp[cs, C_DELTA_SHOCK])
            work[W_K_SUB, n_present] = req_sub * usd
            work[W_S_SUB, n_present] = dir_sub * usd
        iwork[IW_PRESENT, n_present] = c
        if req * usd > best_usd:
            best_usd = req * usd
            best_cc = c
        n_present += 1
    plain = _row_sum(work, W_K_USD, n_present)
    total = plain
    if cross != 0 and glob_i[GI_HAS_CORR] != 0 and n_present >= 2:
        # Correlation offsets (methodology.correlation): members of the matrix in account order,
        # their K_i and directional components; the others are added without offset.
        n_in = 0
        n_out = 0
        for i in range(n_present):
            c = iwork[IW_PRESENT, i]
            if cc_i[c, CI_CORR] >= 0:
                work[W_K_IN, n_in] = work[W_K_USD, i]
                work[W_S_IN, n_in] = work[W_S_DIR, i]
                if sub_book is not None and shared:
                    work[W_KS_IN, n_in] = work[W_K_SUB, i]
                    work[W_SS_IN, n_in] = work[W_S_SUB, i]
                iwork[IW_MEMBERS, n_in] = c
                n_in += 1
            else:
                work[W_K_OUT, n_out] = work[W_K_USD, i]
                if sub_book is not None and shared:
                    work[W_KS_OUT, n_out] = work[W_K_SUB, i]
                n_out += 1
        if n_in >= 2:
            outside = _row_sum(work, W_K_OUT, n_out)
            # Three scratch rows for the rule (clamped S, K^2, cross terms), free once `outside` is summed.
            if sub_book is not None and shared:
                # The sub-book's offset, shared out and capped per commodity (methodology 6.3).
                offset_sub = 0.0
                if sub_held:
                    total_sub = correlated_total(work[W_KS_IN], work[W_SS_IN], iwork[IW_MEMBERS], rho, n_in,
                                                 _row_sum(work, W_KS_OUT, n_out), work[W_SCRATCH:W_SCRATCH + 3])
                    offset_sub = _row_sum(work, W_K_SUB, n_present) - total_sub
                total = shared_offset_total(work[W_K_IN], work[W_KS_IN], n_in, offset_sub, outside)
            else:
                total = correlated_total(work[W_K_IN], work[W_S_IN], iwork[IW_MEMBERS], rho, n_in, outside,
                                         work[W_SCRATCH:W_SCRATCH + 3])
    offset = plain - total
    # The joint-move floor (aggregation.joint_move): never below the loss of a joint move.
    floor = 0.0
    addon = 0.0
    joint = -1
    if cross != 0 and glob_i[GI_HAS_FLOOR] != 0 and n_present >= 2:
        nov_usd = 0.0
        for c in range(n_cc):
            if comp[c, C_PRESENT] != 0.0:
                nov_usd += comp[c, C_NOV] * cc_f[c, CF_USD_PER_UNIT]
        floor, joint = joint_move_floor(state, cc_i[:, CI_JOINT:], comp[:, C_PRESENT], cc_f[:, CF_USD_PER_UNIT],
                                        nov_usd, glob_f[GF_FLOOR_WEIGHT])
        if joint >= 0:
            addon = max(0.0, floor - total)
            total = total + addon
    tot[T_REQ] = total
    tot[T_SUM] = plain
    tot[T_OFFSET] = offset
    tot[T_FLOOR] = floor
    tot[T_ADDON] = addon
    tot[T_JOINT] = float(joint)
    tot[T_MM] = glob_f[GF_MM] * total
    tot[T_IM] = glob_f[GF_IM] * total
    tot[T_WORST_CC] = float(best_cc)
    tot[T_WORST_SCEN] = comp[best_cc, C_WORST] if best_cc >= 0 else -1.0


