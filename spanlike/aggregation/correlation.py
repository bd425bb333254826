"""Correlation offsets across combined commodities (methodology section 6, SIMM-style).

With per-commodity requirements ``K_i`` (USD, after inter-commodity credits)
and signed directional components ``S_i = clamp(w_i x price_risk_i, -K_i, K_i)``
(USD), where ``w_i`` in [-1, 1] is the commodity's directional share read
from its scenario losses (:mod:`spanlike.aggregation.direction`; +1 loses
on falls, -1 on rises, 0 not directional), never the sign of its net delta::

    total = sqrt(sum_i K_i^2 + sum_{i != j} rho_ij S_i S_j)

Commodities absent from the correlation matrix are added linearly (no
offset) [our choice]; without a matrix the total is ``sum K_i``. The offset
reported is ``sum K_i - total`` (>= 0 whenever all rho <= 1, since the
argument of the root is at most ``(sum K_i)^2``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from spanlike.params.cross import CorrelationMatrix

__all__ = ["correlated_total"]


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
    if correlation is None or len(names) < 2:
        return plain_sum, 0.0
    order = {n: i for i, n in enumerate(correlation.combined_commodities)}
    inside = [i for i, n in enumerate(names) if n in order]
    outside = [i for i, n in enumerate(names) if n not in order]
    if len(inside) < 2:
        return plain_sum, 0.0
    rho_full = correlation.as_array()
    idx = [order[names[i]] for i in inside]
    rho = rho_full[np.ix_(idx, idx)]
    k_in = k[inside]
    s = np.clip(np.asarray(directional_usd, dtype=np.float64)[inside], -k_in, k_in)
    cross = rho * np.outer(s, s)
    np.fill_diagonal(cross, 0.0)
    argument = float((k_in ** 2).sum() + cross.sum())
    correlated = math.sqrt(max(argument, 0.0))
    # sqrt(argument) <= sum(k_in) holds exactly for |rho| <= 1; guard the last bit of rounding.
    correlated = min(correlated, float(k_in.sum()))
    total = correlated + float(k[outside].sum())
    return total, plain_sum - total
