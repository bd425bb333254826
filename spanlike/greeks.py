"""Greeks of every row of an instrument table, per one long unit.

Option Greeks are Black-76 on the row's forward (methodology 1) in USD;
``delta`` is in underlying units, ``gamma`` per USD of forward, ``vega`` in USD
per vol point (0.01), ``theta`` in USD per calendar day. ``settlement_delta``
is the delta of the P&L in the settlement currency expressed in underlying
units: for coin-settled options the premium-adjusted ``delta - V/F`` (what
Deribit reports), for coin-settled futures 1, for linear contracts ``delta``.
Futures have delta ``multiplier`` and no gamma, vega or theta.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE
from spanlike.risk_arrays.pricing import black76_greeks, theta_per_day, vega_per_vol_point
from spanlike.universe import InstrumentTable

__all__ = ["InstrumentGreeks", "instrument_greeks"]


@dataclass(frozen=True, eq=False)
class InstrumentGreeks:
    """Per-row Greeks of one long unit (see module docstring for units)."""

    value_usd: NDArray[np.float64]
    delta: NDArray[np.float64]
    settlement_delta: NDArray[np.float64]
    gamma: NDArray[np.float64]
    vega_per_point: NDArray[np.float64]
    theta_per_day: NDArray[np.float64]


def instrument_greeks(table: InstrumentTable) -> InstrumentGreeks:
    """Black-76 Greeks of every row of ``table`` per one long unit."""
    c = table.contracts
    n = len(c)
    option = c.kind != KIND_FUTURE
    value = np.zeros(n)
    delta = c.multiplier.copy()
    gamma = np.zeros(n)
    vega = np.zeros(n)
    theta = np.zeros(n)
    if option.any():
        idx = np.flatnonzero(option)
        g = black76_greeks(
            forward=c.forward[idx], strike=c.strike[idx], t_years=c.t_years[idx], vol=c.vol[idx],
            rate=c.rate[idx], is_call=c.kind[idx] == KIND_CALL,
        )
        m = c.multiplier[idx]
        value[idx] = g.price * m
        delta[idx] = g.delta * m
        gamma[idx] = g.gamma * m
        vega[idx] = vega_per_vol_point(g.vega) * m
        theta[idx] = theta_per_day(g.theta) * m
    settlement_delta = delta.copy()
    inverse_option = option & c.inverse
    settlement_delta[inverse_option] = delta[inverse_option] - value[inverse_option] / c.forward[inverse_option]
    return InstrumentGreeks(
        value_usd=value, delta=delta, settlement_delta=settlement_delta, gamma=gamma,
        vega_per_point=vega, theta_per_day=theta,
    )
