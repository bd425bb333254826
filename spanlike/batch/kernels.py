"""numba kernels of batch margining and what-if: the entry points over the two stages.

Stage 1 lives in :mod:`spanlike.batch.state_kernels`, stage 2 in
:mod:`spanlike.batch.finish_kernels` (every charge there calls the rule of
:mod:`spanlike.methodology` the engine calls), the packed layout both read in
:mod:`spanlike.batch.layout`.

Everything a kernel needs about the parameter set and the universe comes as
float64 / int64 arrays packed by :mod:`spanlike.batch.prepared` (column
layouts in :mod:`spanlike.batch.layout`); kernels never see a Python object, never allocate per
account in the hot loop and never raise. The public wrappers in
:mod:`spanlike.batch.batch` and :mod:`spanlike.batch.whatif` validate,
allocate, call and check.

Two stages per account, shared by every entry point:

1. *State* (:func:`_build_state`): per combined commodity the scenario loss
   vector ``L = sum_i q_i R_i`` and the small sums every later charge reads -
   net composite delta, delta per spread tier, delivery-window delta per
   tier, delta per expiry (roll shock), short calls / puts (SOM), option value
   (NOV), position count. What-if keeps this state and updates it by an
   order (:func:`_apply_order`) instead of rebuilding it. Under a set whose
   cross offsets read futures and perpetuals only (``GI_DELTA_ONE``,
   methodology 6.3) the state has a second row per commodity for that
   sub-book, built from the account's futures rows.
2. *Finish* (:func:`_finish_account`): from the state alone, scan risk and
   its paired decomposition, intra spreads by tier in priority order,
   delivery, SOM, NOV (SPAN); pnl offset, dampener, roll and delta shock
   (exchange style); inter-commodity credits; correlation offsets (from the
   sub-book's rows where it has them); the joint-move floor; IM/MM.

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

import numpy as np
from numba import prange

from spanlike.batch.finish_kernels import N_IWORK, N_WORK, _finish_account, work_width
from spanlike.batch.layout import *  # noqa: F401,F403  (the shared layout: column and row indices)
from spanlike.batch.state_kernels import (
    N_FS,
    N_KS,
    N_RX,
    _apply_order,
    _build_state,
    _row_table,
    state_scratch_width,
)
from spanlike.batch.state_kernels import state_width  # noqa: F401  (part of the module's interface)
from spanlike.risk_arrays._numba import njit_inline, njit_kernel, njit_parallel

__all__: list[str] = []  # private module: import the kernels by name

#: The ``sub_book`` argument of the batch kernels for a set whose offsets read the futures and
#: perpetuals only; ``None`` for the others (see :func:`_margin_range`, :func:`sub_book_switch`).
SUB_BOOK = np.zeros(0, dtype=np.int64)


def sub_book_switch(glob_i: np.ndarray) -> np.ndarray | None:
    """The batch kernels' ``sub_book`` argument for a packed engine's ``glob_i``: :data:`SUB_BOOK` or ``None``."""
    return SUB_BOOK if int(glob_i[GI_DELTA_ONE]) != 0 else None


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
                  totals, components, sub_book):  # type: ignore[no-untyped-def]
    """Accounts ``a_lo .. a_hi-1``: state then finish, with scratch allocated once for the range.

    ``sub_book`` is ``None`` for a set whose cross offsets read every position, and any array
    (:data:`SUB_BOOK`) for one whose offsets read the futures and perpetuals only (GI_DELTA_ONE,
    methodology 6.3). numba compiles this loop once for each and prunes the branches on
    ``sub_book is None``, so a set without the sub-book runs none of its code (no gather in
    the state's pass, no sub-book tests in the finish).
    """
    n_cc = cc_i.shape[0]
    m_max = R.shape[1]
    t_max = glob_i[GI_T]
    e_max = exp_t.shape[1]
    width = m_max + 2 * t_max + e_max + N_S
    o_count = m_max + 2 * t_max + e_max + S_COUNT
    n_books = 1 if sub_book is None else 2
    state = np.empty((n_books * n_cc, width))
    state_book = state[:n_cc]  # views made once: the book's rows, and the futures-and-perpetuals rows
    comp = np.empty((n_books * n_cc, N_COMP))
    tot = np.empty(N_TOT)
    width_s = state_scratch_width(max(k_max, 1), m_max, t_max, e_max)
    fs = np.zeros((N_FS, width_s))
    ks = np.zeros((N_KS, width_s), dtype=np.int64)
    if sub_book is not None:
        state_sub = state[n_cc:]
        sub_rows = np.empty(max(k_max, 1), dtype=np.int64)
        sub_qty = np.empty(max(k_max, 1))
    n_legs_inter = max(1, (inter_i.shape[1] - 2) // 2)
    work = np.empty((N_WORK, work_width(m_max, t_max, n_cc, n_legs_inter)))
    iwork = np.empty((N_IWORK, max(n_cc, 1)), dtype=np.int64)
    for a in range(a_lo, a_hi):
        if sub_book is None:
            _build_state_inline(rows, qty, offsets[a], offsets[a + 1], R, row_i, rx, cc_end, cc_i, t_max,
                                state_book, fs, ks, None, None)
            _finish_account_inline(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                                   glob_i, glob_f, cross, comp, tot, work, iwork, None)
        else:
            n_sub = _build_state_inline(rows, qty, offsets[a], offsets[a + 1], R, row_i, rx, cc_end, cc_i, t_max,
                                        state_book, fs, ks, sub_rows, sub_qty)
            if cross != 0:
                if n_sub == offsets[a + 1] - offsets[a]:
                    # No option: the sub-book is the book, and equal counts tell _finish_account so.
                    for c in range(n_cc):
                        state_sub[c, o_count] = state[c, o_count]
                elif n_sub == 0:
                    # No future or perpetual: an empty sub-book, of which _finish_account reads only the counts.
                    for c in range(n_cc):
                        state_sub[c, o_count] = 0.0
                else:
                    _build_state_inline(sub_rows, sub_qty, np.int64(0), n_sub, R, row_i, rx, cc_end, cc_i, t_max,
                                        state_sub, fs, ks, sub_rows, sub_qty)
            _finish_account_inline(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                                   glob_i, glob_f, cross, comp, tot, work, iwork, state_sub)
        for j in range(N_TOT):
            totals[a, j] = tot[j]
        if want_components:
            for c in range(n_cc):
                for j in range(N_COMP):
                    components[a, c, j] = comp[c, j]


@njit_kernel
def _batch_kernel(offsets, rows, qty, R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t,
                  inter_i, inter_f, rho, glob_i, glob_f, cross, k_max, want_components,
                  totals, components, sub_book):  # type: ignore[no-untyped-def]
    """Full pipeline for every account, serially (``totals``: (n_acc, N_TOT)); ``sub_book`` as in :func:`_margin_range`."""
    rx = np.empty((R.shape[0], N_RX))
    cc_end = np.empty(cc_i.shape[0], dtype=np.int64)
    _row_table(row_i, row_f, rx, cc_end)
    # np.int64(0), not 0: a literal would compile a second _margin_range (Literal[int] argument).
    _margin_range(np.int64(0), offsets.shape[0] - 1, offsets, rows, qty, R, row_i, rx, cc_end, cc_i, cc_f, scen_i,
                  spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f, cross, k_max,
                  want_components, totals, components, sub_book)


@njit_parallel
def _batch_kernel_parallel(offsets, rows, qty, R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t,
                           inter_i, inter_f, rho, glob_i, glob_f, cross, k_max, want_components,
                           totals, components, sub_book, chunk):  # type: ignore[no-untyped-def]
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
                      totals, components, sub_book)


@njit_kernel
def _first_implausible(rows, qty, multiplier, index_price, bound):  # type: ignore[no-untyped-def]
    """First position whose notional ``|q| x multiplier x index price`` (USD) is not ``<= bound``; -1 if none.

    The numpy expression of :func:`spanlike.batch.batch._check_notional` fused into one pass
    (same operations in the same order, so the same verdicts, NaN included), without its three
    temporaries of the book's size.
    """
    for p in range(rows.shape[0]):
        r = np.uintp(rows[p])
        notional = abs(qty[p]) * multiplier[r] * index_price[r]
        if not notional <= bound:
            return p
    return -1


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
    # The sub-book's rows (an empty view for a set without one): one compiled finish for both kinds of set.
    _finish_account(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                    glob_i, glob_f, cross, comp, tot, work, iwork, state[n_cc:])


@njit_inline
def _apply_order_books(state, r, q_old, q_new, R, row_i, row_f, n_tiers_max, delta_one):  # type: ignore[no-untyped-def]
    """:func:`_apply_order` on the book and, for a future or perpetual of a ``delta_one`` set, its sub-book."""
    _apply_order(state, r, q_old, q_new, R, row_i, row_f, n_tiers_max, np.int64(0))
    if delta_one and row_i[r, RI_OPT] == 0:
        _apply_order(state, r, q_old, q_new, R, row_i, row_f, n_tiers_max, state.shape[0] // 2)


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
        _apply_order_books(out_state, order_rows[i], order_old[i], order_new[i], R, row_i, row_f, t_max,
                           glob_i[GI_DELTA_ONE] != 0)
    _finish_totals(out_state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f,
                   cross, comp, tot)




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
    n_rows = state.shape[0]  # n_cc, or 2 n_cc with the sub-book's rows
    n_state = n_rows * state.shape[1]
    width = work_width(scen_i.shape[1], glob_i[GI_T], n_cc, max(1, (inter_i.shape[1] - 2) // 2))
    scratch = np.empty(n_state + n_rows * N_COMP + N_TOT + N_WORK * width)
    out_state = scratch[:n_state].reshape(state.shape)
    for c in range(state.shape[0]):
        for j in range(state.shape[1]):
            out_state[c, j] = state[c, j]
    comp = scratch[n_state:n_state + n_rows * N_COMP].reshape((n_rows, N_COMP))
    tot = scratch[n_state + n_rows * N_COMP:n_state + n_rows * N_COMP + N_TOT]
    work = scratch[n_state + n_rows * N_COMP + N_TOT:].reshape((N_WORK, width))
    iwork = np.empty((N_IWORK, max(n_cc, 1)), dtype=np.int64)
    _apply_order_books(out_state, row, q_old, q_new, R, row_i, row_f, glob_i[GI_T], glob_i[GI_DELTA_ONE] != 0)
    _finish_account(out_state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho,
                    glob_i, glob_f, cross, comp, tot, work, iwork, out_state[n_cc:])
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
    sub_rows = np.empty(max(rows.shape[0], 1), dtype=np.int64)
    sub_qty = np.empty(max(rows.shape[0], 1))
    n_sub = _build_state(rows, qty, 0, rows.shape[0], R, row_i, rx, cc_end, cc_i, t_max, state, fs, ks, sub_rows,
                         sub_qty)
    if glob_i[GI_DELTA_ONE] != 0:
        # Always built here (what-if keeps it up to date order by order), options or not.
        n_cc = cc_i.shape[0]
        _build_state(sub_rows, sub_qty, 0, n_sub, R, row_i, rx, cc_end, cc_i, t_max, state[n_cc:], fs, ks, sub_rows,
                     sub_qty)
    _finish_totals(state, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f,
                   cross, comp, tot)
