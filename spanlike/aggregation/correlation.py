"""Correlation offsets of one account's combined commodities (methodology 6).

Gathers the requirements and directional components of the commodities and
applies the rule :func:`spanlike.methodology.correlation.correlated_total`
(the batch kernels inline the same function). Without a matrix the total is
``sum K_i``; the offset reported is ``sum K_i - total`` (>= 0 for |rho| <= 1).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from spanlike.methodology.correlation import correlated_total as correlated_total_rule
from spanlike.methodology.correlation import shared_offset_total as shared_offset_total_rule
from spanlike.params.cross import CorrelationMatrix

__all__ = ["correlated_total", "shared_offset_total"]


def _members(
    names: Sequence[str], correlation: CorrelationMatrix | None
) -> tuple[dict[str, int], list[int], list[int]] | None:
    """Matrix position by name, and the account's positions inside and outside the matrix.

    None where nothing offsets: no matrix, or fewer than two of the account's commodities in it.
    """
    if correlation is None or len(names) < 2:
        return None
    order = {n: i for i, n in enumerate(correlation.combined_commodities)}
    inside = [i for i, n in enumerate(names) if n in order]
    if len(inside) < 2:
        return None
    return order, inside, [i for i, n in enumerate(names) if n not in order]


def correlated_total(
    *,
    names: Sequence[str],
    requirement_usd: Sequence[float],
    directional_usd: Sequence[float],
    correlation: CorrelationMatrix | None,
) -> tuple[float, float]:
    """Cross-margined total and the offset it gives, both USD.

    Parameters
    ----------
    names : sequence of str
        Combined commodity names.
    requirement_usd : sequence of float
        ``K_i >= 0``.
    directional_usd : sequence of float
        ``w_i x price_risk_i`` before clamping.
    correlation : CorrelationMatrix or None

    Returns
    -------
    (total, offset) : tuple of float
    """
    k = np.asarray(requirement_usd, dtype=np.float64)
    plain_sum = float(k.sum())
    members = _members(names, correlation)
    if members is None:
        return plain_sum, 0.0
    order, inside, outside = members
    n = len(inside)
    # The rule's Python body over its compiled sums: a handful of commodities per
    # account, and compiling the whole rule cost about 0.9 s of a cold first run.
    total = correlated_total_rule.py_func(
        np.ascontiguousarray(k[inside]), np.asarray(directional_usd, dtype=np.float64)[inside],
        np.array([order[names[i]] for i in inside], dtype=np.int64), correlation.as_array(), n,
        float(k[outside].sum()), np.zeros((3, max(n * n, 1))),
    )
    return float(total), plain_sum - float(total)


def shared_offset_total(
    *,
    names: Sequence[str],
    requirement_usd: Sequence[float],
    sub_requirement_usd: Sequence[float],
    sub_offset_usd: float,
    correlation: CorrelationMatrix | None,
) -> tuple[float, float]:
    """Total and offset (USD) with the offset measured on the futures-and-perpetuals sub-book.

    Applies :func:`spanlike.methodology.correlation.shared_offset_total` to the
    commodities of the matrix; the others are added without offset.

    Parameters
    ----------
    names : sequence of str
    requirement_usd : sequence of float
        Whole-book ``K_i >= 0``.
    sub_requirement_usd : sequence of float
        Sub-book requirements, ``>= 0`` (0 for a commodity without futures or perpetuals).
    sub_offset_usd : float
        The sub-book's offset from :func:`correlated_total`, ``>= 0``.
    correlation : CorrelationMatrix or None

    Returns
    -------
    (total, offset) : tuple of float
    """
    k = np.asarray(requirement_usd, dtype=np.float64)
    plain_sum = float(k.sum())
    members = _members(names, correlation)
    if members is None:
        return plain_sum, 0.0
    _, inside, outside = members
    total = shared_offset_total_rule.py_func(
        np.ascontiguousarray(k[inside]), np.asarray(sub_requirement_usd, dtype=np.float64)[inside], len(inside),
        float(sub_offset_usd), float(k[outside].sum()),
    )
    return float(total), plain_sum - float(total)
