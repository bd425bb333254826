"""Sums in numpy's order, for rules that must equal the engine's numpy sums bit for bit.

numpy sums a contiguous float64 vector pairwise (8 accumulators up to 128
elements, halving above at a multiple of 8; numpy/_core/src/umath/loops_utils.h.src).
:func:`pairwise_sum` reproduces it exactly, so a rule compiled into the batch
kernels and the same rule called by the single-account engine add up in the
same order.
"""

from __future__ import annotations

import numpy as np

from spanlike.risk_arrays._numba import njit_inline, njit_kernel

__all__ = ["pairwise_sum", "short_pairwise_sum"]


@njit_kernel
def _pairwise_block(a, start, n):  # type: ignore[no-untyped-def]
    """numpy's pairwise sum of ``a[start:start+n]`` for ``n <= 128`` (no split)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0 = a[start]
    r1 = a[start + 1]
    r2 = a[start + 2]
    r3 = a[start + 3]
    r4 = a[start + 4]
    r5 = a[start + 5]
    r6 = a[start + 6]
    r7 = a[start + 7]
    i = 8
    limit = n - (n % 8)
    while i < limit:
        r0 += a[start + i]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@njit_kernel
def pairwise_sum(a, start, n):  # type: ignore[no-untyped-def]
    """numpy's pairwise summation of ``a[start:start+n]``.

    The halving recursion runs on an explicit stack: numba's on-disk cache
    mishandles self-recursive functions (the cached kernel segfaulted on load).
    """
    if n <= 128:
        return _pairwise_block(a, start, n)
    f_start = np.empty(64, dtype=np.int64)
    f_n = np.empty(64, dtype=np.int64)
    f_phase = np.empty(64, dtype=np.int64)
    f_left = np.empty(64)
    depth = 0
    f_start[0] = start
    f_n[0] = n
    f_phase[0] = 0
    ret = 0.0
    while depth >= 0:
        s = f_start[depth]
        k = f_n[depth]
        if k <= 128:
            ret = _pairwise_block(a, s, k)
            depth -= 1
            continue
        half = k // 2
        half -= half % 8
        if f_phase[depth] == 0:
            f_phase[depth] = 1
            depth += 1
            f_start[depth] = s
            f_n[depth] = half
            f_phase[depth] = 0
        elif f_phase[depth] == 1:
            f_left[depth] = ret
            f_phase[depth] = 2
            depth += 1
            f_start[depth] = s + half
            f_n[depth] = k - half
            f_phase[depth] = 0
        else:
            ret = f_left[depth] + ret
            depth -= 1
    return ret


@njit_inline
def short_pairwise_sum(a, start, n):  # type: ignore[no-untyped-def]
    """:func:`pairwise_sum` with its short case (``n < 8``, a plain loop in numpy) written in place.

    For sums over an account's few commodities: inlined into a kernel it costs
    no call and no reference counting of ``a``; the same bits as :func:`pairwise_sum`.
    """
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    return pairwise_sum(a, start, n)
