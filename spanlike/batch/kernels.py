"""numba kernels of batch margining and what-if: the whole SPAN / exchange-style pipeline.

Everything a kernel needs about the parameter set and the universe comes as
float64 / int64 arrays packed by :mod:`spanlike.batch.prepared` (column
layouts below); kernels never see a Python object, never allocate per
account in the hot loop and never raise. The public wrappers in
:mod:`spanlike.batch.batch` and :mod:`spanlike.batch.whatif` validate,
allocate, call and check.

Two stages per account, shared by every entry point:

1. *State* (:func:`_build_state`): per combined commodity the scenario loss
   vector ``L = sum_i q_i R_i`` and the small sums every later charge reads -
   net composite delta, delta per spread tier, delivery-window delta per
   tier, delta per expiry (roll shock), short calls / puts (SOM), option value
   (NOV), position count. What-if keeps this state and updates it by an
   order (:func:`_apply_order`) instead of rebuilding it.
2. *Finish* (:func:`_finish_account`): from the state alone, scan risk and
   its paired decomposition, intra spreads by tier in priority order,
   delivery, SOM, NOV (SPAN); pnl offset, dampener, roll and delta shock
   (exchange style); inter-commodity credits; correlation offsets; IM/MM.

Exactness. The reference (:func:`spanlike.engine.margin_positions`) sums
with numpy: the loss vector row by row in row order (``(q[:, None] * R).sum(axis=0)``)
and every 1-D masked sum with numpy's pairwise summation. :func:`_build_state`
reproduces both orders (:func:`_pairwise_sum` is numpy's algorithm), so a
batch result equals the reference to the last bit in practice; what-if
updates sums incrementally and agrees to rounding (~1e-15 relative).

State layout, ``state[c, :]`` for combined commodity ``c`` (``W`` columns)::

    [0, M)                       scenario losses (settlement currency)
    [M, M+T)                     net composite delta per tier position
    [M+T, M+2T)                  delivery-window delta per tier position
    [M+2T, M+2T+E)               delta per expiry (roll shock)
    M+2T+E + S_NET .. S_COUNT    net delta, short calls, short puts, NOV, count

with ``M`` = scenarios, ``T`` = tiers (at least 1), ``E`` = expiries (at
least 1), all maxima over the universe's commodities.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from spanlike.aggregation.methods import BATCH_EXCHANGE, BATCH_SPAN
from spanlike.methodology.correlation import correlated_total
from spanlike.methodology.direction import directional_share, offsetting_delta
from spanlike.methodology.exchange_charges import (
    dampened_loss,
    delta_shock,
    exchange_requirement,
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
from spanlike.methodology.spreads import flat_delta, form_spread
from spanlike.methodology.sums import pairwise_sum
from spanlike.risk_arrays._numba import njit_inline, njit_kernel, njit_parallel

__all__: list[str] = []  # private module: import the kernels by name

# --- row_i columns (one row per universe row) --------------------------------------------------
RI_CC, RI_TIER, RI_DELIV, RI_OPT, RI_CALL, RI_EXP = 0, 1, 2, 3, 4, 5
N_RI = 6
# --- row_f columns -------------------------------------------------------------------------------
RF_DELTA, RF_MULT, RF_MARK = 0, 1, 2
N_RF = 3
# --- cc_i columns (one row per combined commodity of the universe) -----------------------------
(CI_METHOD, CI_M, CI_NTIERS, CI_NSPREADS, CI_HAS_DELIV, CI_HAS_SOM, CI_SOM_GROSS, CI_NOV,
 CI_HAS_ROLL, CI_HAS_DSHOCK, CI_NO_MOVE, CI_NEXP, CI_CORR, CI_HAS_MAXOFF) = range(14)
N_CI = 14
# --- cc_f columns ----------------------------------------------------------------------------------
(CF_INDEX, CF_UNIT_VALUE, CF_USD_PER_UNIT, CF_DELIV_SPREAD, CF_DELIV_OUTRIGHT, CF_SOM_RATE,
 CF_PNL_OFFSET, CF_MAXOFF, CF_DAMPENER, CF_ROLL_MIN, CF_ROLL_RISK, CF_DS_THRESHOLD, CF_DS_RATE) = range(13)
N_CF = 13
# Method codes are the registry's (spanlike.aggregation.methods), so packing and kernels agree.
METHOD_SPAN, METHOD_EXCHANGE = BATCH_SPAN, BATCH_EXCHANGE
# --- scen_i[c, j, :] ---------------------------------------------------------------------------
SC_PAIRED, SC_EXTENDED, SC_PURE_PRICE, SC_SIDE, SC_JOINT = 0, 1, 2, 3, 4
N_SC = 5
# --- spr_i[c, s, :] = [n_legs, tier_pos_0..L-1, side_0..L-1]; spr_f[c, s, :] = [rate, months, ratio_0..L-1]
# --- inter_i[p, :] = [n_legs, notional, cc_0..L-1, side_0..L-1]; inter_f[p, :] = [credit_rate, ratio_0..L-1]
# --- glob_i = [has_inter_spreads, has_correlation, n_tiers_max T, has_joint_move_floor];
# --- glob_f = [mm_factor, im_factor, joint-move floor weight]
GI_HAS_INTER, GI_HAS_CORR, GI_T, GI_HAS_FLOOR = 0, 1, 2, 3
N_GI = 4
GF_MM, GF_IM, GF_FLOOR_WEIGHT = 0, 1, 2
N_GF = 3
# --- state scalar columns (after the ladders) ----------------------------------------------------
S_NET, S_SHORT_CALL, S_SHORT_PUT, S_NOV, S_COUNT = 0, 1, 2, 3, 4
N_S = 5
# --- comp[c, :]: per-commodity components written by _finish_account ----------------------------
(C_PRESENT, C_SCAN, C_TIME, C_VOL, C_PRICE, C_NET_DELTA, C_INTRA, C_DELIVERY, C_INTER, C_SOM,
 C_SOM_BINDING, C_NOV, C_ROLL, C_DELTA_SHOCK, C_REQUIREMENT, C_WORST, C_DIRECTION) = range(17)
N_COMP = 17
COMPONENT_NAMES = (
    "present", "scan_risk", "time_risk", "vol_risk", "price_risk", "net_delta", "intra_spread_charge",
    "delivery_charge", "inter_spread_credit", "short_option_minimum", "short_option_minimum_binding",
    "net_option_value", "roll_shock", "delta_shock", "requirement", "worst_scenario", "direction",
)
# --- tot[:]: account totals --------------------------------------------------------------------
T_REQ, T_SUM, T_OFFSET, T_IM, T_MM, T_WORST_CC, T_WORST_SCEN, T_FLOOR, T_ADDON, T_JOINT = range(10)
N_TOT = 10

# Leg positions 0, 1, ... of an inter-commodity spread on its local ladder (a constant to numba).
_LEG_INDEX = np.arange(64, dtype=np.int64)


def state_width(m: int, t: int, e: int) -> int:
    """Columns of the per-commodity state for ``m`` scenarios, ``t`` tiers, ``e`` expiries."""
    return m + 2 * t + e + N_S


# --- rows of the float scratch ``work`` of _finish_account (one 2-D array: indexing a row costs
# nothing, while every slice or extra array argument costs numba an atomic reference count pair)
(W_ADJ, W_REM, W_CONSUMED, W_AVAIL, W_CREDIT, W_K_USD, W_S_DIR, W_S_IN, W_K_IN, W_SCRATCH, W_K_OUT,
 W_SCRATCH_2, W_LOCAL, W_SCALE, W_TOOK) = range(15)
# correlated_total's three scratch rows are W_SCRATCH, W_K_OUT (summed before) and W_SCRATCH_2.
N_WORK = 15
# --- rows of the int scratch ``iwork``: present commodities, correlation members
IW_PRESENT, IW_MEMBERS = 0, 1
N_IWORK = 2


@njit_kernel
def work_width(m_max, t_max, n_cc, n_legs_inter):  # type: ignore[no-untyped-def]
    """Columns of the float scratch :func:`_finish_account` uses (``N_WORK`` rows)."""
    return max(m_max, t_max, n_cc * n_cc, n_legs_inter, 1)


# ---------------------------------------------------------------------------
# Sums in numpy's order


# The pairwise sum lives with the rules (spanlike.methodology.sums); kernels use it under its old name.
_pairwise_sum = pairwise_sum


@njit_inline
def _row_sum(a, row, n):  # type: ignore[no-untyped-def]
    """numpy's sum of ``a[row, :n]``; below 8 elements (a plain loop in numpy) without slicing or a call."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[row, i]
        return res
    return _pairwise_sum(a[row], 0, n)


#: Entries the float scratch of _build_state needs past its longest sum (inline short sums read 7 past).
PAD = 8


@njit_kernel
def _bucket_sums(values, keys, k, n_buckets, buf, offsets, out):  # type: ignore[no-untyped-def]
    """``out[b] = pairwise sum of values[i] for i < k with keys[i] == b``, in index order.

    A stable counting sort into ``buf`` keeps each bucket's elements in their
    original order, which is what ``values[mask].sum()`` sums. Keys < 0 are skipped.
    """
    for b in range(n_buckets + 1):
        offsets[b] = 0
    for i in range(k):
        if keys[i] >= 0:
            offsets[keys[i] + 1] += 1
    for b in range(n_buckets):
        offsets[b + 1] += offsets[b]
    # offsets[b] is now the start of bucket b; advance it as a write cursor.
    for i in range(k):
        b = keys[i]
        if b >= 0:
            buf[offsets[b]] = values[i]
            offsets[b] += 1
    # offsets[b] now ends bucket b; bucket b starts at offsets[b-1] (0 for b = 0)
    start = 0
    for b in range(n_buckets):
        out[b] = _pairwise_sum(buf, start, offsets[b] - start)
        start = offsets[b]


@njit_inline
def _run_sums(values, keys, k, n_buckets, buf, offsets, out):  # type: ignore[no-untyped-def]
    """:func:`_bucket_sums` when each key's elements are one contiguous run (tiers and expiries
    follow the table's expiry order, so they are); falls back to the counting sort otherwise."""
    for b in range(n_buckets):
        out[b] = 0.0
    i = 0
    last = -2
    while i < k:
        b = keys[i]
        j = i + 1
        while j < k and keys[j] == b:
            j += 1
        if b >= 0:
            if b <= last:
                # A key came back after another: not contiguous, use the general path.
                _bucket_sums(values, keys, k, n_buckets, buf, offsets, out)
                return
            out[b] = _pairwise_sum(values, i, j - i)
            last = b
        i = j


# ---------------------------------------------------------------------------
# Stage 1: state of an account


# Rows of the float scratch ``fs`` of _build_state: the values of each sum, then other scratch.
FS_DELTA, FS_DELIV, FS_CALL, FS_PUT, FS_NOV, FS_BUF, FS_SUMS, FS_ROLL = range(8)
N_FS = 8
# Rows of its int scratch ``ks``: keys, the sum jobs (values row, start, count, state column),
# run ends of tiers and expiries, counting-sort offsets.
(KS_TIER, KS_DELIV_TIER, KS_EXP, KS_JOB_ROW, KS_JOB_START, KS_JOB_N, KS_JOB_COL, KS_T_END, KS_E_END,
 KS_OFFSETS) = range(10)
N_KS = 10


@njit_kernel
def state_scratch_width(k_max, m_max, t_max, e_max):  # type: ignore[no-untyped-def]
    """Columns of the ``fs`` / ``ks`` scratch of :func:`_build_state` for accounts of up to ``k_max`` positions."""
    return max(k_max + PAD, m_max, 4 + t_max + e_max, max(t_max, e_max, 2) + 1)


# Columns of the compact per-row table ``rx`` (built once per batch call by _row_table): what the
# per-row pass of _build_state reads, in 32 bytes per row. Read from row_i (48 bytes) and row_f
# (24 bytes), the same data cost two cache misses per position - a third of _build_state's time.
RX_DELTA, RX_MULT, RX_MARK, RX_CODE = range(4)
N_RX = 4
# RX_CODE = cc + tier x 2^16 + delivery x 2^24 + option x 2^25 + call x 2^26, held exactly in a float64.
CODE_TIER, CODE_DELIV, CODE_OPT, CODE_CALL = 16, 24, 25, 26


@njit_kernel
def _row_table(row_i, row_f, rx, cc_end):  # type: ignore[no-untyped-def]
    """Fill ``rx`` (n_rows, N_RX) from ``row_i`` / ``row_f``, and ``cc_end[c]``, one past commodity ``c``'s last row.

    A commodity's rows are contiguous (the universe is sorted by commodity
    first), so an account's run of positions in commodity ``c`` ends at its
    first row ``>= cc_end[c]``: found without reading any row's data.
    """
    for c in range(cc_end.shape[0]):
        cc_end[c] = 0
    for r in range(row_i.shape[0]):
        cc_end[row_i[r, RI_CC]] = r + 1
        rx[r, RX_DELTA] = row_f[r, RF_DELTA]
        rx[r, RX_MULT] = row_f[r, RF_MULT]
        rx[r, RX_MARK] = row_f[r, RF_MARK]
        code = (row_i[r, RI_CC] + (row_i[r, RI_TIER] << CODE_TIER) + (row_i[r, RI_DELIV] << CODE_DELIV)
                + (row_i[r, RI_OPT] << CODE_OPT) + (row_i[r, RI_CALL] << CODE_CALL))
        rx[r, RX_CODE] = float(code)


@njit_inline
def _add_losses(rows, qty, lo, hi, R, acc, c):  # type: ignore[no-untyped-def]
    """``acc[c, j] += qty[p] * R[rows[p], j]`` for ``p = lo .. hi-1``, row after row (numpy's order).

    Each scenario's sum is a chain of dependent additions in row order (the
    reference's order, so it cannot be reassociated). Grouping eight rows
    per pass over a 16-scenario block (vectorised, fewer accumulator round
    trips) measured no faster than this plain loop inside the pipeline: the
    random R rows and the addition chain, not the instruction count, bound it.
    """
    m_max = R.shape[1]
    for p in range(lo, hi):
        pu = np.uintp(p)
        r = np.uintp(rows[pu])
        x = qty[pu]
        for j in range(m_max):
            acc[c, j] += x * R[r, j]


@njit_kernel
def _build_state(rows, qty, start, end, R, row_i, rx, cc_end, cc_i, n_tiers_max, state, fs, ks):  # type: ignore[no-untyped-def]
    """Fill ``state`` (zeroed here) from positions ``rows[start:end]``, ``qty[start:end]``.

    Rows must be strictly increasing, so each commodity's positions are one
    contiguous run in table order (the reference's per-commodity order). Per
    commodity: the loss vector (:func:`_add_losses`), then one branch-free
    pass that reads each row's data once and lays out the values of every
    later sum - a masked sum's values are gathered by advancing its write
    cursor by the 0/1 mask (quantity signs are random: a branch on them
    mispredicts half the time), a tier's or expiry's run is located by
    storing its end (runs follow the table's expiry order; checked, with a
    general fallback). Then every sum runs in numpy's pairwise order in one
    loop over "jobs" (values row, start, count, state column) with the
    summation written inline.

    Why few helpers and two scratch arrays indexed by row: a call between
    numba functions that are not inlined costs an atomic reference count
    increment and decrement per array argument or slice (numba 0.68 does not
    prune them here); helpers are ``njit_inline`` and slices are avoided.
    Indices loaded from arrays are cast to ``np.uintp`` in the hot loops:
    numba adds negative-index wraparound code to every signed index it cannot
    prove non-negative, which measured 10% of this function. Scratch: ``fs``
    float, ``ks`` int, both (N_FS / N_KS, :func:`state_scratch_width`).
    """
    n_cc = state.shape[0]
    m_max = R.shape[1]
    t_max = n_tiers_max
    e_max = state.shape[1] - m_max - 2 * t_max - N_S
    o_tier = m_max
    o_deliv = m_max + t_max
    o_exp = m_max + 2 * t_max
    o_s = m_max + 2 * t_max + e_max
    m16 = m_max - m_max % 16
    for c in range(n_cc):
        for j in range(state.shape[1]):
            state[c, j] = 0.0
    p = start
    while p < end:
        c = int(rx[rows[p], RX_CODE]) & 0xFFFF
        bound = cc_end[c]
        seg_end = p + 1
        while seg_end < end and rows[seg_end] < bound:
            seg_end += 1
        k = seg_end - p
        _add_losses(rows, qty, p, seg_end, R, state, c)  # into the zeroed state row
        for t in range(t_max):
            ks[KS_T_END, t] = 0
        n_deliv = 0
        n_call = 0
        n_put = 0
        n_opt = 0
        tiers_sorted = True
        last_tier = 0
        # The hot pass keeps only what every commodity needs; delivery windows (rare), expiries
        # (exchange-style roll shock only) and unsorted tiers take a second pass below.
        for i in range(k):
            pi = np.uintp(p + i)
            r = np.uintp(rows[pi])
            q = qty[pi]
            code = int(rx[r, RX_CODE])
            d = q * rx[r, RX_DELTA]  # delta_by_row
            tier = (code >> CODE_TIER) & 0xFF
            fs[FS_DELTA, i] = d
            ks[KS_T_END, tier] = i + 1
            tiers_sorted &= tier >= last_tier
            last_tier = tier
            n_deliv += (code >> CODE_DELIV) & 1
            opt = (code >> CODE_OPT) & 1
            short_opt = opt & (q < 0.0)
            call = (code >> CODE_CALL) & 1
            units = abs(q) * rx[r, RX_MULT]  # option units, SOM
            fs[FS_CALL, n_call] = units
            n_call += short_opt & call
            fs[FS_PUT, n_put] = units
            n_put += short_opt & (1 - call)
            fs[FS_NOV, n_opt] = q * rx[r, RX_MARK]  # option value, NOV
            n_opt += opt
        # The sums as jobs: values row, start, count, state column. An empty masked sum gives 0.0,
        # which is what the zeroed state holds for a commodity without options.
        ks[KS_JOB_ROW, 0] = FS_DELTA
        ks[KS_JOB_START, 0] = 0
        ks[KS_JOB_N, 0] = k
        ks[KS_JOB_COL, 0] = o_s + S_NET
        ks[KS_JOB_ROW, 1] = FS_CALL
        ks[KS_JOB_START, 1] = 0
        ks[KS_JOB_N, 1] = n_call
        ks[KS_JOB_COL, 1] = o_s + S_SHORT_CALL
        ks[KS_JOB_ROW, 2] = FS_PUT
        ks[KS_JOB_START, 2] = 0
        ks[KS_JOB_N, 2] = n_put
        ks[KS_JOB_COL, 2] = o_s + S_SHORT_PUT
        ks[KS_JOB_ROW, 3] = FS_NOV
        ks[KS_JOB_START, 3] = 0
        ks[KS_JOB_N, 3] = n_opt
        ks[KS_JOB_COL, 3] = o_s + S_NOV
        n_jobs = 4
        if tiers_sorted:
            pos = 0
            for t in range(t_max):
                e = max(ks[KS_T_END, t], pos)
                ks[KS_JOB_ROW, n_jobs] = FS_DELTA
                ks[KS_JOB_START, n_jobs] = pos
                ks[KS_JOB_N, n_jobs] = e - pos
                ks[KS_JOB_COL, n_jobs] = o_tier + t
                n_jobs += 1
                pos = e
        else:
            for i in range(k):
                ks[KS_TIER, i] = row_i[rows[p + i], RI_TIER]
            _bucket_sums(fs[FS_DELTA], ks[KS_TIER], k, t_max, fs[FS_BUF], ks[KS_OFFSETS], fs[FS_SUMS])
            for t in range(t_max):
                state[c, o_tier + t] = fs[FS_SUMS, t]
        # Per-expiry deltas feed only the exchange-style roll shock.
        if cc_i[c, CI_HAS_ROLL] != 0:
            for x in range(e_max):
                ks[KS_E_END, x] = 0
            exps_sorted = True
            last_exp = 0
            for i in range(k):
                expiry = row_i[rows[p + i], RI_EXP]
                # Futures and perpetuals only (aggregation.exchange.roll_shock): an option's delta is 0 here.
                opt_i = (int(rx[rows[p + i], RX_CODE]) >> CODE_OPT) & 1
                fs[FS_ROLL, i] = 0.0 if opt_i != 0 else fs[FS_DELTA, i]
                ks[KS_EXP, i] = expiry
                ks[KS_E_END, expiry] = i + 1
                exps_sorted &= expiry >= last_exp
                last_exp = expiry
            if exps_sorted:
                pos = 0
                for x in range(e_max):
                    e = max(ks[KS_E_END, x], pos)
                    ks[KS_JOB_ROW, n_jobs] = FS_ROLL
                    ks[KS_JOB_START, n_jobs] = pos
                    ks[KS_JOB_N, n_jobs] = e - pos
                    ks[KS_JOB_COL, n_jobs] = o_exp + x
                    n_jobs += 1
                    pos = e
            else:
                _bucket_sums(fs[FS_ROLL], ks[KS_EXP], k, e_max, fs[FS_BUF], ks[KS_OFFSETS], fs[FS_SUMS])
                for x in range(e_max):
                    state[c, o_exp + x] = fs[FS_SUMS, x]
        for job in range(n_jobs):
            row = np.uintp(ks[KS_JOB_ROW, job])
            s0 = ks[KS_JOB_START, job]
            n = ks[KS_JOB_N, job]
            # numpy's pairwise sum (as _pairwise_sum), inline and without a branch on n < 8
            # (tier runs straddle 8 at random): eight lanes from the first eight entries and the
            # full blocks of eight, combined, then a fixed 7 steps over the rest adding -0.0 past
            # the end (x + -0.0 is x bit for bit, signed zeros included). Below 8 numpy sums
            # plainly from 0.0: the lanes (read from padding) are dropped and the 7 steps start
            # at s0. fs has PAD readable entries after every sum.
            if n > 128:
                res = _pairwise_sum(fs[row], s0, n)
            else:
                r0 = fs[row, np.uintp(s0)]
                r1 = fs[row, np.uintp(s0 + 1)]
                r2 = fs[row, np.uintp(s0 + 2)]
                r3 = fs[row, np.uintp(s0 + 3)]
                r4 = fs[row, np.uintp(s0 + 4)]
                r5 = fs[row, np.uintp(s0 + 5)]
                r6 = fs[row, np.uintp(s0 + 6)]
                r7 = fs[row, np.uintp(s0 + 7)]
                limit = n - (n % 8)
                for i in range(s0 + 8, s0 + limit, 8):
                    r0 += fs[row, np.uintp(i)]
                    r1 += fs[row, np.uintp(i + 1)]
                    r2 += fs[row, np.uintp(i + 2)]
                    r3 += fs[row, np.uintp(i + 3)]
                    r4 += fs[row, np.uintp(i + 4)]
                    r5 += fs[row, np.uintp(i + 5)]
                    r6 += fs[row, np.uintp(i + 6)]
                    r7 += fs[row, np.uintp(i + 7)]
                lanes = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
                res = lanes if n >= 8 else 0.0
                tail = n - limit
                for i in range(7):
                    v = fs[row, np.uintp(s0 + limit + i)]
                    res += v if i < tail else -0.0
            state[c, ks[KS_JOB_COL, job]] = res
        if n_deliv > 0:
            n_deliv = 0
            for i in range(k):
                r = rows[p + i]
                if row_i[r, RI_DELIV] != 0:
                    fs[FS_DELIV, n_deliv] = fs[FS_DELTA, i]
                    ks[KS_DELIV_TIER, n_deliv] = row_i[r, RI_TIER]
                    n_deliv += 1
            _run_sums(fs[FS_DELIV], ks[KS_DELIV_TIER], n_deliv, t_max, fs[FS_BUF], ks[KS_OFFSETS], fs[FS_SUMS])
            for t in range(t_max):
                state[c, o_deliv + t] = fs[FS_SUMS, t]
        state[c, o_s + S_COUNT] = float(k)
        p = seg_end


@njit_kernel
def _apply_order(state, r, q_old, q_new, R, row_i, row_f, n_tiers_max):  # type: ignore[no-untyped-def]
    """Move row ``r`` of an account from ``q_old`` to ``q_new`` (either may be 0) in ``state``.

    Linear sums change by ``(q_new - q_old) x per-unit value``; SOM's short
    units by removing the old short and adding the new one. A commodity left
    without positions is reset to exact zeros, as if it had never been held.
    """
    c = row_i[r, RI_CC]
    m_max = R.shape[1]
    t_max = n_tiers_max
    e_max = state.shape[1] - m_max - 2 * t_max - N_S
    o_s = m_max + 2 * t_max + e_max
    dq = q_new - q_old
    count = state[c, o_s + S_COUNT] + (1.0 if q_new != 0.0 else 0.0) - (1.0 if q_old != 0.0 else 0.0)
    if count <= 0.0:
        for j in range(state.shape[1]):
            state[c, j] = 0.0
        return
    for j in range(m_max):
        state[c, j] += dq * R[r, j]
    d = dq * row_f[r, RF_DELTA]
    state[c, o_s + S_NET] += d
    tier = row_i[r, RI_TIER]
    state[c, m_max + tier] += d
    if row_i[r, RI_DELIV] != 0:
        state[c, m_max + t_max + tier] += d
    if row_i[r, RI_OPT] == 0:  # the roll-shock ladder holds futures and perpetuals only
        state[c, m_max + 2 * t_max + row_i[r, RI_EXP]] += d
    if row_i[r, RI_OPT] != 0:
        mult = row_f[r, RF_MULT]
        col = o_s + (S_SHORT_CALL if row_i[r, RI_CALL] != 0 else S_SHORT_PUT)
        if q_old < 0.0:
            state[c, col] -= abs(q_old) * mult
        if q_new < 0.0:
            state[c, col] += abs(q_new) * mult
        state[c, o_s + S_NOV] += dq * row_f[r, RF_MARK]
    state[c, o_s + S_COUNT] = count


# ---------------------------------------------------------------------------
# Stage 2: charges from the state


@njit_inline
def _span_commodity(c, state, cc_i, cc_f, scen_i, spr_i, spr_f, n_tiers_max, comp, work):  # type: ignore[no-untyped-def]
    """SPAN components of commodity ``c`` into ``comp[c]``; returns the delta available to inter spreads."""
    m = cc_i[c, CI_M]
    m_max = scen_i.shape[1]
    t_max = n_tiers_max
    e_max = state.shape[1] - m_max - 2 * t_max - N_S
    o_s = m_max + 2 * t_max + e_max
    losses = state[c]
    worst, best = worst_scenario(losses, m)
    scan = max(0.0, best)
    time_risk, vol_risk, price_risk = paired_split(losses, scen_i[c, :, SC_PAIRED], cc_i[c, CI_NO_MOVE], worst, scan)
    # Intra-commodity spreads in priority order (methodology.spreads.form_spread on the tier ladder).
    n_t = cc_i[c, CI_NTIERS]
    for t in range(n_t):
        work[W_REM, t] = flat_delta(state[c, m_max + t])
        work[W_CONSUMED, t] = 0.0
    intra = 0.0
    n_legs_max = (spr_i.shape[2] - 1) // 2
    for s in range(cc_i[c, CI_NSPREADS]):
        n_legs = spr_i[c, s, 0]
        count = form_spread(work[W_REM], spr_i[c, s, 1:1 + n_legs], spr_f[c, s, 2:2 + n_legs],
                            spr_i[c, s, 1 + n_legs_max:1 + n_legs_max + n_legs], n_legs, work[W_TOOK])
        if count > 0.0:
            for leg in range(n_legs):
                work[W_CONSUMED, spr_i[c, s, 1 + leg]] += work[W_TOOK, leg]
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
def _inter_credits(comp, cc_f, inter_i, inter_f, work):  # type: ignore[no-untyped-def]
    """Inter-commodity credits (aggregation.inter_spreads) over present SPAN commodities.

    ``work[W_AVAIL, c]`` is NaN for commodities that take no part (absent or exchange
    style); it is updated in place as spreads consume delta.
    """
    n_cc = comp.shape[0]
    for c in range(n_cc):
        work[W_CREDIT, c] = 0.0
    n_legs_max = (inter_i.shape[1] - 2) // 2
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
        count = form_spread(work[W_LOCAL], _LEG_INDEX, inter_f[p, 1:1 + n_legs],
                            inter_i[p, 2 + n_legs_max:2 + n_legs_max + n_legs], n_legs, work[W_TOOK])
        if count <= 0.0:
            continue
        for leg in range(n_legs):
            c = inter_i[p, 2 + leg]
            work[W_AVAIL, c] = work[W_LOCAL, leg] / work[W_SCALE, leg]
        for leg in range(n_legs):
            c = inter_i[p, 2 + leg]
            consumed_underlying = work[W_TOOK, leg] / work[W_SCALE, leg]
            work[W_CREDIT, c] += inter_credit_amount(consumed_underlying, comp[c, C_PRICE], comp[c, C_NET_DELTA],
                                                     inter_f[p, 0])
    for c in range(n_cc):
        if work[W_AVAIL, c] == work[W_AVAIL, c]:
            work[W_CREDIT, c] = capped_credit(work[W_CREDIT, c], comp[c, C_PRICE])


@njit_kernel
def _finish_account(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                    glob_i, glob_f, cross, comp, tot, work, iwork):  # type: ignore[no-untyped-def]
    """Every charge, credit and offset of one account from its ``state``; totals into ``tot``.

    ``work`` float (N_WORK, :func:`work_width`), ``iwork`` int (N_IWORK, >= n_cc).
    """
    n_cc = state.shape[0]
    m_max = scen_i.shape[1]
    t_max = glob_i[GI_T]
    e_max = state.shape[1] - m_max - 2 * t_max - N_S
    o_s = m_max + 2 * t_max + e_max

    n_span = 0
    for c in range(n_cc):
        work[W_AVAIL, c] = math.nan
        for j in range(comp.shape[1]):
            comp[c, j] = 0.0
        comp[c, C_WORST] = -1.0
        if state[c, o_s + S_COUNT] <= 0.0:
            continue
        comp[c, C_PRESENT] = 1.0
        comp[c, C_NET_DELTA] = state[c, o_s + S_NET]
        # Direction from the scenario losses (aggregation.direction), not the sign of net delta.
        w = directional_share(state[c], scen_i[c, :, SC_SIDE], cc_i[c, CI_M])
        comp[c, C_DIRECTION] = w
        if cc_i[c, CI_METHOD] == METHOD_SPAN:
            avail = _span_commodity(c, state, cc_i, cc_f, scen_i, spr_i, spr_f, t_max, comp, work)
            work[W_AVAIL, c] = offsetting_delta(avail, w)
            n_span += 1
        else:
            _exchange_commodity(c, state, cc_i, cc_f, scen_i, exp_t, t_max, comp, work)
    for c in range(n_cc):
        work[W_CREDIT, c] = 0.0
    if cross != 0 and glob_i[GI_HAS_INTER] != 0 and n_span >= 2:
        _inter_credits(comp, cc_f, inter_i, inter_f, work)
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
                iwork[IW_MEMBERS, n_in] = c
                n_in += 1
            else:
                work[W_K_OUT, n_out] = work[W_K_USD, i]
                n_out += 1
        if n_in >= 2:
            outside = _row_sum(work, W_K_OUT, n_out)
            # Three scratch rows for the rule (clamped S, K^2, cross terms), free once `outside` is summed.
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
        floor, joint = joint_move_floor(state, scen_i[:, :, SC_JOINT], cc_i[:, CI_M], comp[:, C_PRESENT],
                                        cc_f[:, CF_USD_PER_UNIT], nov_usd, glob_f[GF_FLOOR_WEIGHT])
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


# ---------------------------------------------------------------------------
# Entry points

# The batch loop inlines both stages (numba IR inlining): a call passes about 25 arrays, each an
# atomic reference-count pair, ~0.2 us per account. The what-if paths call the compiled functions,
# which keeps their compile time down. Never called from Python, the inline twins have no cache
# entry of their own to collide with the originals'.
_build_state_inline = njit_inline(_build_state.py_func)
_finish_account_inline = njit_inline(_finish_account.py_func)


@njit_kernel
def _margin_range(a_lo, a_hi, offsets, rows, qty, R, row_i, rx, cc_end, cc_i, cc_f, scen_i, spr_i, spr_f,
                  exp_t, inter_i, inter_f, rho, glob_i, glob_f, cross, k_max, want_components,
                  totals, components):  # type: ignore[no-untyped-def]
    """Accounts ``a_lo .. a_hi-1``: state then finish, with scratch allocated once for the range."""
    n_cc = cc_i.shape[0]
    m_max = R.shape[1]
    t_max = glob_i[GI_T]
    e_max = exp_t.shape[1]
    width = m_max + 2 * t_max + e_max + N_S
    state = np.empty((n_cc, width))
    comp = np.empty((n_cc, N_COMP))
    tot = np.empty(N_TOT)
    width_s = state_scratch_width(max(k_max, 1), m_max, t_max, e_max)
    fs = np.zeros((N_FS, width_s))
    ks = np.zeros((N_KS, width_s), dtype=np.int64)
    n_legs_inter = max(1, (inter_i.shape[1] - 2) // 2)
    work = np.empty((N_WORK, work_width(m_max, t_max, n_cc, n_legs_inter)))
    iwork = np.empty((N_IWORK, max(n_cc, 1)), dtype=np.int64)
    for a in range(a_lo, a_hi):
        _build_state_inline(rows, qty, offsets[a], offsets[a + 1], R, row_i, rx, cc_end, cc_i, t_max, state, fs, ks)
        _finish_account_inline(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                        glob_i, glob_f, cross, comp, tot, work, iwork)
        for j in range(N_TOT):
            totals[a, j] = tot[j]
        if want_components:
            for c in range(n_cc):
                for j in range(N_COMP):
                    components[a, c, j] = comp[c, j]


@njit_kernel
def _batch_kernel(offsets, rows, qty, R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t,
                  inter_i, inter_f, rho, glob_i, glob_f, cross, k_max, want_components,
                  totals, components):  # type: ignore[no-untyped-def]
    """Full pipeline for every account, serially (``totals``: (n_acc, N_TOT))."""
    rx = np.empty((R.shape[0], N_RX))
    cc_end = np.empty(cc_i.shape[0], dtype=np.int64)
    _row_table(row_i, row_f, rx, cc_end)
    # np.int64(0), not 0: a literal would compile a second _margin_range (Literal[int] argument).
    _margin_range(np.int64(0), offsets.shape[0] - 1, offsets, rows, qty, R, row_i, rx, cc_end, cc_i, cc_f, scen_i,
                  spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f, cross, k_max,
                  want_components, totals, components)


@njit_parallel
def _batch_kernel_parallel(offsets, rows, qty, R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t,
                           inter_i, inter_f, rho, glob_i, glob_f, cross, k_max, want_components,
                           totals, components, chunk):  # type: ignore[no-untyped-def]
    """Full pipeline, ``prange`` over chunks of ``chunk`` accounts (scratch per chunk)."""
    n_acc = offsets.shape[0] - 1
    n_chunks = (n_acc + chunk - 1) // chunk
    rx = np.empty((R.shape[0], N_RX))
    cc_end = np.empty(cc_i.shape[0], dtype=np.int64)
    _row_table(row_i, row_f, rx, cc_end)
    for ch in prange(n_chunks):
        lo = ch * chunk
        hi = min(lo + chunk, n_acc)
        _margin_range(lo, hi, offsets, rows, qty, R, row_i, rx, cc_end, cc_i, cc_f, scen_i, spr_i, spr_f,
                      exp_t, inter_i, inter_f, rho, glob_i, glob_f, cross, k_max, want_components,
                      totals, components)


@njit_kernel
def _scan_range(a_lo, a_hi, offsets, rows, qty, R, row_cc, cc_m, out):  # type: ignore[no-untyped-def]
    """Scan risk only: ``out[a, c] = max(0, max_j sum_i q_i R[i, j])`` per commodity."""
    m_max = R.shape[1]
    n_cc = out.shape[1]
    losses = np.empty(m_max)
    for a in range(a_lo, a_hi):
        for c in range(n_cc):
            out[a, c] = 0.0
        p = offsets[a]
        end = offsets[a + 1]
        while p < end:
            c = row_cc[np.uintp(rows[p])]
            for j in range(m_max):
                losses[j] = 0.0
            # Unsigned indices: numba emits no negative-index wraparound for them.
            while p < end and row_cc[np.uintp(rows[p])] == c:
                pu = np.uintp(p)
                r = np.uintp(rows[pu])
                q = qty[pu]
                for j in range(m_max):
                    losses[j] += q * R[r, j]
                p += 1
            best = 0.0
            for j in range(cc_m[c]):
                if losses[j] > best:
                    best = losses[j]
            out[a, c] = best


@njit_kernel
def _scan_kernel(offsets, rows, qty, R, row_cc, cc_m, out):  # type: ignore[no-untyped-def]
    """Scan risk only, serially."""
    _scan_range(np.int64(0), offsets.shape[0] - 1, offsets, rows, qty, R, row_cc, cc_m, out)


@njit_parallel
def _scan_kernel_parallel(offsets, rows, qty, R, row_cc, cc_m, out, chunk):  # type: ignore[no-untyped-def]
    """Scan risk only, ``prange`` over chunks of ``chunk`` accounts."""
    n_acc = offsets.shape[0] - 1
    n_chunks = (n_acc + chunk - 1) // chunk
    for ch in prange(n_chunks):
        lo = ch * chunk
        _scan_range(lo, min(lo + chunk, n_acc), offsets, rows, qty, R, row_cc, cc_m, out)


@njit_kernel
def _finish_totals(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f,
                   cross, comp, tot):  # type: ignore[no-untyped-def]
    """:func:`_finish_account` with its scratch allocated here."""
    n_cc = cc_i.shape[0]
    n_legs_inter = max(1, (inter_i.shape[1] - 2) // 2)
    work = np.empty((N_WORK, work_width(scen_i.shape[1], glob_i[GI_T], n_cc, n_legs_inter)))
    iwork = np.empty((N_IWORK, max(n_cc, 1)), dtype=np.int64)
    _finish_account(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                    glob_i, glob_f, cross, comp, tot, work, iwork)


@njit_kernel
def _what_if_kernel(state, order_rows, order_old, order_new, R, row_i, row_f, cc_i, cc_f, scen_i, spr_i,
                    spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f, cross, out_state, comp, tot):  # type: ignore[no-untyped-def]
    """Copy ``state`` to ``out_state``, move each order row from ``order_old`` to ``order_new``, finish.

    Order rows must be distinct (the wrapper nets orders per row first).
    """
    t_max = glob_i[GI_T]
    for c in range(state.shape[0]):
        for j in range(state.shape[1]):
            out_state[c, j] = state[c, j]
    for i in range(order_rows.shape[0]):
        _apply_order(out_state, order_rows[i], order_old[i], order_new[i], R, row_i, row_f, t_max)
    _finish_totals(out_state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f,
                   cross, comp, tot)


# Header of the packed int buffer: the dimensions that locate every array in the two buffers.
H_N_ROWS, H_M, H_N_CC, H_S, H_L, H_E, H_P, H_LI = range(8)
N_HEADER = 8


@njit_kernel
def _unpack(fbuf, ibuf):  # type: ignore[no-untyped-def]
    """The 14 packed arrays as views of the two flat buffers (order of PackedEngine.kernel_args).

    Passing two buffers instead of fourteen arrays cuts numba's per-call
    argument checking from about 2 us to 0.3 us, which is most of a what-if.
    """
    n_rows = ibuf[H_N_ROWS]
    m = ibuf[H_M]
    n_cc = ibuf[H_N_CC]
    s = ibuf[H_S]
    legs = ibuf[H_L]
    e = ibuf[H_E]
    p = ibuf[H_P]
    li = ibuf[H_LI]
    o = 0
    R = fbuf[o:o + n_rows * m].reshape((n_rows, m))
    o += n_rows * m
    row_f = fbuf[o:o + n_rows * N_RF].reshape((n_rows, N_RF))
    o += n_rows * N_RF
    cc_f = fbuf[o:o + n_cc * N_CF].reshape((n_cc, N_CF))
    o += n_cc * N_CF
    spr_f = fbuf[o:o + n_cc * s * (2 + legs)].reshape((n_cc, s, 2 + legs))
    o += n_cc * s * (2 + legs)
    exp_t = fbuf[o:o + n_cc * e].reshape((n_cc, e))
    o += n_cc * e
    inter_f = fbuf[o:o + p * (1 + li)].reshape((p, 1 + li))
    o += p * (1 + li)
    rho = fbuf[o:o + n_cc * n_cc].reshape((n_cc, n_cc))
    o += n_cc * n_cc
    glob_f = fbuf[o:o + N_GF]
    o = N_HEADER
    row_i = ibuf[o:o + n_rows * N_RI].reshape((n_rows, N_RI))
    o += n_rows * N_RI
    cc_i = ibuf[o:o + n_cc * N_CI].reshape((n_cc, N_CI))
    o += n_cc * N_CI
    scen_i = ibuf[o:o + n_cc * m * N_SC].reshape((n_cc, m, N_SC))
    o += n_cc * m * N_SC
    spr_i = ibuf[o:o + n_cc * s * (1 + 2 * legs)].reshape((n_cc, s, 1 + 2 * legs))
    o += n_cc * s * (1 + 2 * legs)
    inter_i = ibuf[o:o + p * (2 + 2 * li)].reshape((p, 2 + 2 * li))
    o += p * (2 + 2 * li)
    glob_i = ibuf[o:o + N_GI]
    return R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f


@njit_kernel
def _what_if_one(state, row, q_old, q_new, fbuf, ibuf, cross):  # type: ignore[no-untyped-def]
    """IM and MM (USD) after moving one row from ``q_old`` to ``q_new``; scalars in, scalars out.

    The latency path of a single pre-trade check: only the account's state and
    the two packed buffers cross the boundary.
    """
    R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f = _unpack(
        fbuf, ibuf)
    # One allocation for every scratch array: allocations dominate a call this small.
    n_cc = cc_i.shape[0]
    n_state = state.shape[0] * state.shape[1]
    width = work_width(scen_i.shape[1], glob_i[GI_T], n_cc, max(1, (inter_i.shape[1] - 2) // 2))
    scratch = np.empty(n_state + n_cc * N_COMP + N_TOT + N_WORK * width)
    out_state = scratch[:n_state].reshape(state.shape)
    for c in range(state.shape[0]):
        for j in range(state.shape[1]):
            out_state[c, j] = state[c, j]
    comp = scratch[n_state:n_state + n_cc * N_COMP].reshape((n_cc, N_COMP))
    tot = scratch[n_state + n_cc * N_COMP:n_state + n_cc * N_COMP + N_TOT]
    work = scratch[n_state + n_cc * N_COMP + N_TOT:].reshape((N_WORK, width))
    iwork = np.empty((N_IWORK, max(n_cc, 1)), dtype=np.int64)
    _apply_order(out_state, row, q_old, q_new, R, row_i, row_f, glob_i[GI_T])
    _finish_account(out_state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                    glob_i, glob_f, cross, comp, tot, work, iwork)
    return tot[T_IM], tot[T_MM]


@njit_kernel
def _account_state_kernel(rows, qty, R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i,
                          inter_f, rho, glob_i, glob_f, cross, state, comp, tot):  # type: ignore[no-untyped-def]
    """State of one account (rows strictly increasing) and its finished components."""
    t_max = glob_i[GI_T]
    e_max = exp_t.shape[1]
    width_s = state_scratch_width(max(rows.shape[0], 1), R.shape[1], t_max, e_max)
    fs = np.zeros((N_FS, width_s))
    ks = np.zeros((N_KS, width_s), dtype=np.int64)
    rx = np.empty((R.shape[0], N_RX))
    cc_end = np.empty(cc_i.shape[0], dtype=np.int64)
    _row_table(row_i, row_f, rx, cc_end)
    _build_state(rows, qty, 0, rows.shape[0], R, row_i, rx, cc_end, cc_i, t_max, state, fs, ks)
    _finish_totals(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f,
                   cross, comp, tot)
