"""Build CommodityBooks by hand for component tests (explicit numbers, no pricing)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from spanlike import params
from spanlike.risk_arrays.grids import scenario_arrays
from spanlike.aggregation.commodity_book import CommodityBook


def span_commodity(
    *, name: str = "X_USDC", settlement: str = "linear", psr: float = 0.12, charges: params.SpanCharges | None = None
) -> params.CombinedCommodity:
    underlying = name.split("_")[0]
    return params.CombinedCommodity(
        name=name,
        underlying=underlying,
        settlement=settlement,  # type: ignore[arg-type]
        settlement_currency=underlying if settlement == "coin" else "USDC",
        grid=params.SpanGrid(price_scan_range=psr, vol_scan_range=0.10, extreme_multiple=3.0, cover_fraction=0.32),
        span=charges if charges is not None else params.SpanCharges(),
    )


def book(
    commodity: params.CombinedCommodity,
    *,
    quantity: Sequence[float],
    risk: Sequence[Sequence[float]],
    delta: Sequence[float] | None = None,
    tier: Sequence[int] | None = None,
    in_delivery: Sequence[bool] | None = None,
    is_option: Sequence[bool] | None = None,
    is_call: Sequence[bool] | None = None,
    mark_value: Sequence[float] | None = None,
    days: Sequence[float] | None = None,
    index_price: float = 100.0,
) -> CommodityBook:
    k = len(quantity)
    coin = commodity.settlement == "coin"
    days_arr = np.asarray(days if days is not None else [10.0] * k, dtype=np.float64)
    return CommodityBook(
        commodity=commodity,
        scenarios=scenario_arrays(commodity.grid),
        names=tuple(f"c{i}" for i in range(k)),
        quantity=np.asarray(quantity, dtype=np.float64),
        risk_arrays=np.asarray(risk, dtype=np.float64).reshape(k, -1),
        composite_delta=np.asarray(delta if delta is not None else [1.0] * k, dtype=np.float64),
        tier=np.asarray(tier if tier is not None else [0] * k, dtype=np.int64),
        in_delivery=np.asarray(in_delivery if in_delivery is not None else [False] * k, dtype=np.bool_),
        is_option=np.asarray(is_option if is_option is not None else [False] * k, dtype=np.bool_),
        is_call=np.asarray(is_call if is_call is not None else [False] * k, dtype=np.bool_),
        multiplier=np.ones(k),
        mark_value=np.asarray(mark_value if mark_value is not None else [0.0] * k, dtype=np.float64),
        t_years=days_arr / 365.0,
        days_to_expiry=days_arr,
        index_price=index_price,
        unit_value=1.0 if coin else index_price,
        usd_per_unit=index_price if coin else 1.0,
    )


# Loss of one long linear future at F = 100 under the crypto-span-like grid above
# (PSR 12 %, extremes 3 x PSR counted at 32 %): loss_j = -(F' - F) x weight_j.
LONG_FUTURE_100 = [0.0, 0.0, -4.0, -4.0, 4.0, 4.0, -8.0, -8.0, 8.0, 8.0, -12.0, -12.0, 12.0, 12.0,
                   -36.0 * 0.32, 36.0 * 0.32]
