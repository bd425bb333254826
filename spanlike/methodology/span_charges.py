"""SPAN charges, credits and the requirement of one combined commodity (methodology 3).

The amounts, in the commodity's settlement currency:

* intra-commodity (calendar) spread: ``count x rate x months`` (``months`` =
  1 for flat rates, :func:`spanlike.methodology.spreads.spread_months` for
  per-month rates);
* delivery (spot-month) charge per tier: the delivery-window delta the tier
  gave to spreads at the spread rate, the rest at the outright rate; the
  consumed share is ``min(|d|, delta the tier gave to spreads)`` when the
  delivery delta has the tier's sign, else 0 [our choice for tiers that hold
  more than the delivery expiry];
* short option minimum: ``rate x (short calls + short puts)`` (gross) or
  ``rate x max(short calls, short puts)``, counts in underlying units;
* inter-commodity credit of one leg: ``delta consumed x WFPR x credit rate``
  with ``WFPR = price risk / |net delta|`` (0 without price risk or with a
  net delta within 1e-12 of zero),
  and a commodity's credits together at most its price risk;
* the requirement::

      risk        = max(scan + intra + delivery - credit, SOM)
      requirement = max(risk - NOV, 0)

  with NOV the net option value (long minus short option value), 0 for
  futures-style options.

Written once for every driver: the engine, the SPAN-file path and the batch
kernels call these functions.
"""

from __future__ import annotations

from spanlike.methodology.spreads import DELTA_EPS
from spanlike.risk_arrays._numba import njit_inline

__all__ = [
    "intra_spread_amount",
    "delivery_charge",
    "short_option_minimum",
    "inter_credit_amount",
    "capped_credit",
    "span_requirement",
]


@njit_inline
def intra_spread_amount(count, rate, months):  # type: ignore[no-untyped-def]
    """Charge of ``count`` calendar spreads at ``rate`` (settlement currency per spread) over ``months``."""
    return count * rate * months


@njit_inline
def delivery_charge(delivery_delta, tier_delta, tier_consumed, spread_rate, outright_rate):  # type: ignore[no-untyped-def]
    """Delivery charge of one tier's delivery-window delta (settlement currency; rates per unit of delta).

    Parameters
    ----------
    delivery_delta : float
        Net delta of the tier's contracts within the delivery window.
    tier_delta : float
        The tier's net delta before spreading.
    tier_consumed : float
        Delta the tier gave to intra-commodity spreads (>= 0).
    """
    if delivery_delta == 0.0:
        return 0.0
    same_sign = (tier_delta > 0.0 and delivery_delta > 0.0) or (tier_delta < 0.0 and delivery_delta < 0.0)
    consumed = min(abs(delivery_delta), tier_consumed) if same_sign else 0.0
    outright = abs(delivery_delta) - consumed
    return consumed * spread_rate + outright * outright_rate


@njit_inline
def short_option_minimum(short_calls, short_puts, gross, rate):  # type: ignore[no-untyped-def]
    """SOM: ``rate`` per short option unit, gross (calls + puts) or the larger side."""
    count = short_calls + short_puts if gross else max(short_calls, short_puts)
    return count * rate


@njit_inline
def inter_credit_amount(consumed_delta, price_risk, net_delta, credit_rate):  # type: ignore[no-untyped-def]
    """Credit of one inter-commodity leg: ``consumed x price_risk / |net_delta| x credit_rate``.

    A net delta within :data:`~spanlike.methodology.spreads.DELTA_EPS` of zero is flat (no weighted
    price risk to credit), as spread forming treats it.
    """
    if abs(net_delta) < DELTA_EPS or price_risk <= 0.0:
        return 0.0
    return consumed_delta * (price_risk / abs(net_delta)) * credit_rate


@njit_inline
def capped_credit(credit, price_risk):  # type: ignore[no-untyped-def]
    """A commodity's inter-commodity credits together, at most its price risk (never negative)."""
    return min(credit, max(price_risk, 0.0))


@njit_inline
def span_requirement(scan, intra, delivery, credit, som, nov):  # type: ignore[no-untyped-def]
    """``(requirement, SOM binding)``: ``max(max(scan + intra + delivery - credit, SOM) - NOV, 0)``."""
    base = scan + intra + delivery - credit
    risk = max(base, som)
    return max(risk - nov, 0.0), som > base
