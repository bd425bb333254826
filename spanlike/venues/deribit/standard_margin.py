"""Deribit's standard (non-portfolio) margin formula, one position at a time.

The numbers come from a parameter set's ``[isolated]`` section
(:class:`spanlike.params.IsolatedMargin`, methodology section 5); this module
is the formula. For a position of ``size = |quantity| x multiplier`` coins:

* short call: ``IM = size x (max(b - OTM/S, m) x u + mark)``,
  ``MM = size x (r x u + mark)``;
* short put: ``MM = size x (max(r x u, r x mark) + mark)``,
  ``IM = size x max(max(b - OTM/S, m) x u + mark, MM / size)``;
* long option: 0 (the premium is paid, not margined);
* future or perpetual: ``IM = (B + k x size) x size x u``,
  ``MM = (B' + k' x size) x size x u``;

with ``b, m, r`` the option rates (``im_base_rate``, ``im_min_rate``,
``mm_rate``), ``B, k, B', k'`` the futures rates, ``S`` the option's
underlying (forward) price in USD, ``OTM`` its out-of-the-money amount (calls
``max(K - S, 0)``, puts ``max(S - K, 0)``), ``mark`` the mark value of one
coin of the option in the settlement currency, and ``u`` the value of one
coin in the settlement currency (1 for coin-settled contracts, ``S`` or the
future's mark for USDC-settled ones). Amounts are in the settlement currency.
"""

from __future__ import annotations

from spanlike.params.isolated import FuturesStandardMargin, OptionStandardMargin
from spanlike.venues import StandardMarginCase

__all__ = ["standard_margin"]


def standard_margin(
    *,
    rule: StandardMarginCase,
    size: float,
    unit_value: float,
    underlying_price: float = float("nan"),
    strike: float = float("nan"),
    mark: float = 0.0,
    options: OptionStandardMargin | None = None,
    futures: FuturesStandardMargin | None = None,
) -> tuple[float, float]:
    """Standard (IM, MM) of one position, settlement currency.

    Parameters
    ----------
    rule : {"short call", "short put", "long option", "future"}
    size : float
        Position size in coins of underlying, ``|quantity| x multiplier`` (> 0).
    unit_value : float
        Value of one coin in the settlement currency (1 for coin-settled).
    underlying_price, strike : float
        USD per coin; options only (``S`` and ``K``).
    mark : float
        Mark value of one coin of the option, settlement currency.
    options, futures : rules
        The rules the ``rule`` needs.

    Returns
    -------
    (initial_margin, maintenance_margin) : tuple of float
    """
    if rule == "long option":
        return 0.0, 0.0
    if rule == "future":
        assert futures is not None
        im = (futures.im_base_rate + futures.im_rate_per_coin * size) * size * unit_value
        mm = (futures.mm_base_rate + futures.mm_rate_per_coin * size) * size * unit_value
        return im, mm
    assert options is not None
    s, k = underlying_price, strike
    otm = max(k - s, 0.0) if rule == "short call" else max(s - k, 0.0)
    im_rate = max(options.im_base_rate - otm / s, options.im_min_rate)
    if rule == "short call":
        im_per_coin = im_rate * unit_value + mark
        mm_per_coin = options.mm_rate * unit_value + mark
    else:
        mm_per_coin = max(options.mm_rate * unit_value, options.mm_rate * mark) + mark
        im_per_coin = max(im_rate * unit_value + mark, mm_per_coin)
    return im_per_coin * size, mm_per_coin * size
