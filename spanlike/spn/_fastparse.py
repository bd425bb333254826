"""Bulk parsing of decimal numbers in XML text nodes, vectorised with numpy.

``decimals(blob, count)`` (the reader's regex path) reads the ``count``
numbers of ``blob``, a byte string in which every number is a whole text node
``>-?d+.d+<`` (an element's text, or tokens joined with ``b"<>"``), and
returns them as float64, equal bit for bit to ``float()`` of each text. It
returns None, and the caller parses with ``float()``, whenever the text is not
in that strict form. ``decimal_spans`` and ``integer_spans`` (the token path)
read texts at known places with 64-bit words and say, per text, whether it was
in their strict form (the caller reads the others with the builtins).

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

__all__ = ["decimals", "decimal_spans", "integer_spans", "word_view", "WORD_PAD"]

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


# ---------------------------------------------------------------------------
# Numbers at known places: text spans found by the tag tokenizer (_tokens)
# ---------------------------------------------------------------------------
#
# A span [start, end) of a buffer holds one element's text. The parsers below
# read all spans at once with 64-bit words ("SWAR": eight bytes per integer,
# handled lane by lane), so a number costs a few dozen numpy operations on
# uint64 arrays in all, instead of a pass per digit. They accept a strict
# subset of what float()/int() accept and say, per span, whether it was read;
# the caller reads the others with float()/int(), so the results are the
# builtins' results.

_U64 = np.uint64
_LO7 = _U64(0x7F7F7F7F7F7F7F7F)
_HIGH = _U64(0x8080808080808080)
_ASCII0 = _U64(0x3030303030303030)
_PLUS_46 = _U64(0x4646464646464646)  # low 7 bits + 0x46 reach 0x80 from ':' (0x3A) up
_PLUS_50 = _U64(0x5050505050505050)  # low 7 bits + 0x50 reach 0x80 from '0' (0x30) up
_PAIR_MASK = _U64(0x000000FF000000FF)
_MUL_100_1E6 = _U64(100 + (1000000 << 32))
_MUL_1_1E4 = _U64(1 + (10000 << 32))
#: LOW_LANES[k]: the first k bytes of a little-endian word (lanes 0..k-1), k = 0..8
LOW_LANES = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
#: HIGH_LANES[k]: the last k bytes (lanes 8-k..7), k = 0..8
HIGH_LANES = ~LOW_LANES[::-1].copy()
_SHIFT_UP = np.array([8 * (8 - k) if k else 0 for k in range(9)], dtype=np.uint64)
_POW10_INT = np.array([10**k for k in range(9)], dtype=np.uint64)
#: bytes a buffer read through word_view needs before and after its spans
WORD_PAD = 16


def _pairs(u: np.ndarray) -> np.ndarray:
    """16 bytes at every offset of the buffer ``u`` (a view): ``[i]`` holds bytes ``i..i+15``."""
    return np.ndarray(shape=(u.shape[0] - 15,), dtype="V16", buffer=u, strides=(1,))


def word_view(padded: bytes) -> np.ndarray:
    """Little-endian uint64 at every byte offset of ``padded``: element ``i`` holds bytes ``i..i+7``.

    A view (no copy); byte ``i + j`` is lane ``j`` (bits ``8j..8j+7``) on any machine.
    """
    return np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))


def non_digit_lanes(x: np.ndarray) -> np.ndarray:
    """0x80 in each byte lane of ``x`` that is not an ASCII digit, 0 in the others.

    Lane-safe: the additions act on the low 7 bits and never carry into the next lane.
    """
    low = x & _LO7
    return (x | (low + _PLUS_46) | ~(low + _PLUS_50)) & _HIGH


def _eight_digits(x: np.ndarray) -> np.ndarray:
    """Value of 8 lanes of digit values 0..9, lane 0 the most significant (products wrap by design)."""
    x = x * _U64(10) + (x >> _U64(8))
    return ((x & _PAIR_MASK) * _MUL_100_1E6 + ((x >> _U64(16)) & _PAIR_MASK) * _MUL_1_1E4) >> _U64(32)


def integer_spans(
    u: np.ndarray, words: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Spans of 1 to 8 ASCII digits as int64, and which spans were of that form.

    ``u`` is the buffer as uint8, ``words`` its :func:`word_view`, with
    ``WORD_PAD`` bytes before and after the spans. Other spans (a sign,
    spaces, more digits) are False in the mask; the caller reads them with ``int()``.
    """
    n = ends - starts
    k = np.clip(n, 0, 8)
    word = words[ends - 8]  # the digits are the last n lanes
    top = HIGH_LANES[k]
    ok = (n >= 1) & (n <= 8) & ((non_digit_lanes(word) & top) == 0)
    values = _eight_digits((word & top) - (_ASCII0 & top))  # masked first, so no lane borrows
    return values.astype(np.int64), ok


def decimal_spans(
    u: np.ndarray, words: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_frac: np.ndarray | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Spans of the form ``-?d{1,8}.d{1,7}`` as float64 (bit for bit ``float()``), and which were.

    Buffer conventions as in :func:`integer_spans`. ``n_frac`` guesses each
    span's number of decimals (a field usually prints a fixed number; default:
    the first span's); spans where the guess misses are searched further.
    Exact for the reason given in the module notes: the mantissa ``m`` (at
    most 15 digits, below 2**53) and ``10**f`` are exact doubles, and
    one IEEE division rounds ``m / 10**f`` correctly, as ``float()`` rounds
    the text. The sign is applied after the division, so ``-0.000000`` is
    -0.0. Spans of another form are False in the mask (their value is meaningless).
    """
    count = starts.shape[0]
    values = np.empty(count)
    ok = np.zeros(count, dtype=bool)
    if count == 0:
        return values, ok
    if n_frac is None:
        first = u[starts[0]:ends[0]].tobytes().rfind(b".")
        n_frac = int(ends[0] - starts[0]) - 1 - first if first >= 1 else 1
    for a in range(0, count, SPAN_CHUNK):  # chunks keep the uint64 temporaries in the L2 cache
        b = min(a + SPAN_CHUNK, count)
        guess = n_frac if isinstance(n_frac, int) else n_frac[a:b]
        _decimal_chunk(u, words, starts[a:b], ends[a:b], guess, values[a:b], ok[a:b])
    return values, ok


#: spans per step of decimal_spans (its temporaries: a few uint64 arrays of this length)
SPAN_CHUNK = 1 << 14


def _decimal_chunk(
    u: np.ndarray, words: np.ndarray, starts: np.ndarray, ends: np.ndarray, guess: np.ndarray | int,
    values: np.ndarray, ok: np.ndarray,
) -> None:
    dot = ends - (guess + 1)
    hit = u[np.maximum(dot, 0)] == 46  # '.'
    n_frac: np.ndarray | int = guess
    if not hit.all():  # try the other counts of decimals on the spans left
        dot[~hit] = -1
        left = np.flatnonzero(~hit)
        for f in range(1, 9):
            at = ends[left] - (1 + f)
            found = u[np.maximum(at, 0)] == 46
            dot[left[found]] = at[found]
            left = left[~found]
            if not left.size:
                break
        n_frac = ends - 1 - dot
    negative = u[starts] == 45  # '-'
    n_int = dot - starts - negative
    ok[:] = (dot >= 0) & (n_int >= 1) & (n_int <= 8) & (n_frac >= 1) & (n_frac <= 7)
    if not ok.all():  # keep the reads below inside the buffer and the tables for refused spans
        dot = np.where(ok, dot, starts)
        n_int = np.where(ok, n_int, 1)
        n_frac = np.where(ok, n_frac, 1)
    # the 8 bytes before the point and the 7 after, in one gather (a 16-byte item costs what
    # an 8-byte one does): integer digits in the last n_int lanes of the first word, fraction
    # digits in the first n_frac lanes of the second once the point is shifted out
    pair = _pairs(u)[dot - 8].view("<u8").reshape(-1, 2)
    int_word = pair[:, 0]
    frac_word = pair[:, 1] >> _U64(8)
    top = HIGH_LANES[n_int]
    low = LOW_LANES[n_frac]
    ok &= ((non_digit_lanes(int_word) & top) | (non_digit_lanes(frac_word) & low)) == 0
    whole = _eight_digits((int_word & top) - (_ASCII0 & top))
    # the fraction digits moved up to the last lanes (zeros before them); the lanes after the
    # digits may borrow in the subtraction, but only upwards, and the shift drops them
    frac = _eight_digits((frac_word - _ASCII0) << _SHIFT_UP[n_frac])
    mantissa = whole * _POW10_INT[n_frac] + frac  # < 10**15 < 2**53: exact as a double
    np.divide(mantissa.astype(np.float64), _POW10[n_frac], out=values)
    # the sign by its bit: the same as negating (also -0.0), without a masked ufunc (slow)
    np.bitwise_or(values.view(np.uint64), negative.astype(np.uint64) << _U64(63), out=values.view(np.uint64))
