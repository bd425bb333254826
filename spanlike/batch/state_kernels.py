"""Batch kernels, stage 1: an account's state (loss vectors and the sums every charge reads).

See :mod:`spanlike.batch.kernels` for the two stages and the exactness
argument; the packed layout is :mod:`spanlike.batch.layout`.
"""

from __future__ import annotations

import numpy as np

from spanlike.batch.layout import *  # noqa: F401,F403  (the shared layout: column and row indices)
from spanlike.methodology.sums import pairwise_sum
from spanlike.risk_arrays._numba import njit_inline, njit_kernel

__all__: list[str] = []  # private module: import the kernels by name


def state_width(m: int, t: int, e: int) -> int:
    """Columns of the per-commodity state for ``m`` scenarios, ``t`` tiers, ``e`` expiries."""
    return m + 2 * t + e + N_S



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
def _build_state(rows, qty, start, end, R, row_i, rx, cc_end, cc_i, n_tiers_max, state, fs, ks, sub_rows,
                 sub_qty):  # type: ignore[no-untyped-def]
    """Fill ``state`` (zeroed here) from positions ``rows[start:end]``, ``qty[start:end]``.

    Also copies the futures and perpetuals among them, in table order, into
    ``sub_rows`` / ``sub_qty`` (each at least ``end - start`` long) and returns
    their count: the sub-book whose state the cross level's offsets may read
    (methodology 6.3), gathered in the same pass at the cost of two stores a row.
    Over a sub-book itself (every row a future) each row is written back where
    it was read, so ``sub_rows`` / ``sub_qty`` may be the input arrays. With
    ``sub_rows`` and ``sub_qty`` ``None`` (sets whose offsets read every
    position) numba compiles the pass without the stores and it returns 0.

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
    n_sub = 0
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
            if sub_rows is not None:  # pruned when numba compiles for None: no test left in the loop
                sub_rows[np.uintp(n_sub)] = rows[pi]  # the sub-book, branch-free as the masked sums below
                sub_qty[np.uintp(n_sub)] = q
                n_sub += 1 - opt
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
    return n_sub


@njit_kernel
def _apply_order(state, r, q_old, q_new, R, row_i, row_f, n_tiers_max, base):  # type: ignore[no-untyped-def]
    """Move row ``r`` of an account from ``q_old`` to ``q_new`` (either may be 0) in ``state``.

    Linear sums change by ``(q_new - q_old) x per-unit value``; SOM's short
    units by removing the old short and adding the new one. A commodity left
    without positions is reset to exact zeros, as if it had never been held.
    ``base`` is the state row of the first commodity: 0 for the whole book,
    the number of commodities for the futures-and-perpetuals sub-book.
    """
    c = row_i[r, RI_CC] + base
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



