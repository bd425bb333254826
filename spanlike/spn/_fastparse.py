"""Bulk parsing of decimal numbers in XML text nodes, vectorised with numpy.

``decimals(blob, count)`` reads the ``count`` numbers of ``blob``, a byte
string in which every number is a whole text node ``>-?d+.d+<`` (an element's
text, or tokens joined with ``b"<>"``), and returns them as float64, equal bit
for bit to ``float()`` of each text. It returns None, and the caller parses
with ``float()``, whenever the text is not in that strict form.

Why it is exact
---------------
Each number is anchored on its decimal point. The digits left and right of
the point give an integer mantissa ``m`` (at most 2**53, checked) and a count
of fraction digits ``f`` (at most 9); the value is ``m / 10**f``, negated for
a leading ``-``. ``m`` and ``10**f`` are exact doubles, so the IEEE division
rounds the exact quotient once, correctly; ``float()`` rounds the same real
number correctly as well (Clinger's fast path), so the two agree.

Why it reads every number and nothing else
------------------------------------------
A point is accepted only when its digits run, on both sides, up to a ``>`` or
``<`` (with at most one ``-`` on the left): its span is then a whole text
node. A span holds one point, so distinct points belong to distinct nodes;
when the number of points equals ``count`` and the caller knows ``blob`` has
exactly ``count`` candidate nodes, every node is one strict number. Anything
else (spaces, exponents, integers without a point, a stray character)
returns None.
"""

from __future__ import annotations

import numpy as np

__all__ = ["decimals"]

_MAX_INT_DIGITS = 9
_MAX_FRAC_DIGITS = 9
_PAD = 12  # > _MAX_*_DIGITS + 2, so no index leaves the padded buffer
_POW10 = 10.0 ** np.arange(_MAX_FRAC_DIGITS + 1)
_TWO53 = 2**53
_TEN = np.int32(10)
_ZERO = np.uint8(48)


def decimals(blob: bytes, count: int) -> np.ndarray | None:
    """The ``count`` strict decimal numbers of ``blob`` (see the module notes), or None."""
    if count == 0:
        return np.empty(0) if blob.count(b".") == 0 else None
    padded = b">" * _PAD + blob + b"<" * _PAD
    u = np.frombuffer(padded, dtype=np.uint8)
    dots = np.flatnonzero(u == 46)  # '.'
    if dots.size != count:
        return None
    # Digit runs are read one position at a time, all numbers at once. Bytes minus '0' wrap
    # around in uint8, so "is a digit" is one comparison. 9 digits fit int32 (< 2**31).
    frac = np.zeros(count, dtype=np.int32)
    n_frac = np.zeros(count, dtype=np.int8)
    alive = np.ones(count, dtype=bool)
    for k in range(1, _MAX_FRAC_DIGITS + 2):
        alive &= (u[dots + k] - _ZERO) < 10
        if k == _MAX_FRAC_DIGITS + 1:
            if alive.any():  # a longer fraction than modelled
                return None
            break
        if not alive.any():
            break
        n_frac += alive
        np.copyto(frac, frac * _TEN + (u[dots + k] - _ZERO), where=alive)
    if n_frac.min() == 0:
        return None
    nf = n_frac.astype(np.intp)
    if not (u[dots + nf + 1] == 60).all():  # '<' right after the last digit
        return None
    whole = np.zeros(count, dtype=np.int32)
    scale = np.ones(count, dtype=np.int32)
    n_int = np.zeros(count, dtype=np.int8)
    alive = np.ones(count, dtype=bool)
    for k in range(1, _MAX_INT_DIGITS + 2):
        d = u[dots - k] - _ZERO
        alive &= d < 10
        if k == _MAX_INT_DIGITS + 1:
            if alive.any():
                return None
            break
        if not alive.any():
            break
        n_int += alive
        np.copyto(whole, whole + d * scale, where=alive)
        np.copyto(scale, scale * _TEN, where=alive)
    if n_int.min() == 0:
        return None
    ni = n_int.astype(np.intp)
    before = u[dots - ni - 1]
    negative = before == 45  # '-'
    start = np.where(negative, u[dots - ni - 2], before)
    if not (start == 62).all():  # '>' before the number (and its sign)
        return None
    mantissa = whole.astype(np.int64) * (10 ** nf) + frac  # < 10**18, fits int64
    if mantissa.max() > _TWO53:  # compared as integers: above 2**53 a double is not exact
        return None
    values = mantissa.astype(np.float64) / _POW10[nf]
    np.negative(values, out=values, where=negative)
    return values
