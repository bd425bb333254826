"""Correlation offsets across combined commodities (methodology 6, SIMM-style).

With per-commodity requirements ``K_i`` (USD, after inter-commodity credits)
and directional components ``S_i = clamp(w_i x price_risk_i, -K_i, K_i)``
(``w_i`` the directional share of :mod:`spanlike.methodology.direction`)::

    total = sqrt(sum_i K_i^2 + sum_{i != j} rho_ij S_i S_j)

over the commodities of the correlation matrix; the others are added
linearly (no offset) [our choice]. ``sqrt(...) <= sum K_i`` holds exactly for
``|rho| <= 1``; the last bit of rounding is guarded. Sums run in numpy's
order (:mod:`spanlike.methodology.sums`), so the engine and the batch
kernels, which both call :func:`correlated_total`, agree to the bit.
"""

from __future__ import annotations

import math

from spanlike.methodology.sums import short_pairwise_sum
from spanlike.risk_arrays._numba import njit_inline

__all__ = ["correlated_total", "shared_offset_total"]


@njit_inline
def correlated_total(k, s, members, rho, n, outside_total, scratch):  # type: ignore[no-untyped-def]
    """SIMM-style total (USD) of ``n`` correlated commodities plus ``outside_total``.

    Parameters
    ----------
    k : ndarray of float, shape (>= n,)
        Requirements ``K_i`` in USD (>= 0).
    s : ndarray of float, shape (>= n,)
        Directional components ``w_i x price_risk_i`` in USD, before clamping.
    members : ndarray of int, shape (>= n,)
        Each commodity's row and column in ``rho``.
    rho : ndarray of float, shape (p, p)
        Correlation matrix.
    n : int
        Number of correlated commodities (>= 2 for any offset).
    outside_total : float
        Sum of the requirements outside the matrix, added as is.
    scratch : ndarray of float, shape (3, >= max(n, n * n))
        Work rows: clamped S, K^2, cross terms.

    Returns
    -------
    float
        The correlated total (USD).
    """
    for a in range(n):
        scratch[0, a] = min(max(s[a], -k[a]), k[a])
        scratch[1, a] = k[a] * k[a]
    for a in range(n):
        for b in range(n):
            # rho x outer(s, s) with a zero diagonal, summed like numpy's 2-D sum (flat, pairwise).
            scratch[2, a * n + b] = 0.0 if a == b else rho[members[a], members[b]] * (scratch[0, a] * scratch[0, b])
    argument = short_pairwise_sum(scratch[1], 0, n) + short_pairwise_sum(scratch[2], 0, n * n)
    correlated = math.sqrt(max(argument, 0.0))
    correlated = min(correlated, short_pairwise_sum(k, 0, n))
    return correlated + outside_total


@njit_inline
def shared_offset_total(k, k_sub, n, offset_sub, outside_total):  # type: ignore[no-untyped-def]
    """Total (USD) when the offset is measured on a sub-book (methodology 6.3, ``delta_one``).

    The offset ``offset_sub`` that :func:`correlated_total` gives the
    account's futures and perpetuals is shared among the ``n`` correlated
    commodities in proportion to their sub-book requirements ``k_sub``, and
    each commodity's share is taken off its own whole requirement ``k`` at
    most down to zero::

        total = sum_i max(k_i - offset_sub * k_sub_i / sum_j k_sub_j, 0) + outside_total

    Nothing here depends on the options, so a bought option changes the total
    only through its own commodity's ``k_i``, by at most what it changes that.
    With no options (``k == k_sub``) the total is ``sum k - offset_sub``.

    Parameters
    ----------
    k : ndarray of float, shape (>= n,)
        Requirements of the whole book, USD (>= 0).
    k_sub : ndarray of float, shape (>= n,)
        Requirements of the sub-book, USD (>= 0).
    n : int
    offset_sub : float
        The sub-book's correlation offset, USD (>= 0).
    outside_total : float
        Requirements outside the matrix, added as is.

    Returns
    -------
    float
    """
    plain_sub = short_pairwise_sum(k_sub, 0, n)
    total = 0.0
    for a in range(n):
        share = offset_sub * (k_sub[a] / plain_sub) if plain_sub > 0.0 else 0.0
        total += max(k[a] - share, 0.0)
    return total + outside_total
