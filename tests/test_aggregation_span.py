"""Hand-worked SPAN components (methodology section 3), arithmetic written out."""

from __future__ import annotations

import numpy as np
import pytest

from spanlike import params
from spanlike.aggregation.span import (
    decompose_scan_risk,
    delivery_charge,
    intra_spread_charge,
    net_option_value,
    scan_risk,
    short_option_minimum,
)
from tests.aggregation_helpers import LONG_FUTURE_100, book, span_commodity

# A short call's risk array per LONG unit (loss positive), chosen by hand with the shape of a
# real one: loses value as price falls / vol falls, gains as price rises / vol rises.
LONG_CALL = [-0.9, 1.1, -3.0, -1.2, 1.6, 3.0, -5.5, -3.9, 3.2, 4.0, -8.4, -7.0, 4.2, 4.6, -30.0 * 0.32, 5.0 * 0.32]


def _decompose(b, losses, scan):
    s = b.scenarios
    return decompose_scan_risk(losses=losses, paired=s.paired, price_move=s.price_move_option,
                               price_shift=s.price_shift_abs, scan=scan.scan_risk, worst=scan.worst)


def test_scan_long_future_short_call() -> None:
    cc = span_commodity()
    b = book(cc, quantity=[1.0, -1.0], risk=[LONG_FUTURE_100, LONG_CALL])
    losses = b.scenario_losses()
    # scenario by scenario: future - call
    hand = np.array(LONG_FUTURE_100) - np.array(LONG_CALL)
    np.testing.assert_allclose(losses, hand, rtol=0, atol=1e-12)
    # 13: -12 - 4.2 = ... let us list the largest candidates:
    #   #9:  8 - 3.2 = 4.8   #10: 8 - 4.0 = 4.0   #13: 12 - 4.2 = 7.8   #14: 12 - 4.6 = 7.4
    #   #16: 11.52 - 1.6 = 9.92 (extreme down, 32 % counted)
    scan = scan_risk(losses)
    assert scan.worst == 15
    assert scan.scan_risk == pytest.approx(36 * 0.32 - 5.0 * 0.32, abs=1e-12)  # 9.92
    time_risk, vol_risk, price_risk = _decompose(b, losses, scan)
    # time risk = (L1 + L2)/2 = ((0 + 0.9) + (0 - 1.1))/2 = -0.1
    assert time_risk == pytest.approx(-0.1, abs=1e-12)
    # worst scenario 16 has no pair: vol risk 0; price risk = 9.92 + 0.1
    assert vol_risk == 0.0
    assert price_risk == pytest.approx(10.02, abs=1e-12)


def test_scan_is_zero_when_every_scenario_gains() -> None:
    cc = span_commodity()
    b = book(cc, quantity=[1.0], risk=[[-1.0] * 16])
    scan = scan_risk(b.scenario_losses())
    assert scan.scan_risk == 0.0
    assert _decompose(b, b.scenario_losses(), scan)[1] == 0.0


def test_vol_risk_from_paired_scenario() -> None:
    cc = span_commodity()
    risk = [0.0] * 16
    risk[12], risk[13] = 5.0, 3.0  # price -1 PSR: vol up loses 5, vol down loses 3
    risk[0], risk[1] = 1.0, 0.4
    b = book(cc, quantity=[2.0], risk=[risk])
    losses = b.scenario_losses()
    scan = scan_risk(losses)
    assert (scan.worst, scan.scan_risk) == (12, 10.0)
    t, v, p = _decompose(b, losses, scan)
    assert t == pytest.approx((2.0 + 0.8) / 2)  # 1.4
    assert v == pytest.approx((10.0 - 6.0) / 2)  # 2.0
    assert p == pytest.approx(10.0 - 1.4 - 2.0)  # 6.6


def _calendar_charges(method: str = "flat") -> params.SpanCharges:
    return params.SpanCharges(
        tiers=(params.Tier(number=1, start_days=0, end_days=30), params.Tier(number=2, start_days=30, end_days=90),
               params.Tier(number=3, start_days=90, end_days=400)),
        intra_spreads=(
            params.IntraSpread(priority=1, rate=0.004, method=method, legs=(
                params.IntraSpreadLeg(tier=1, side="A"), params.IntraSpreadLeg(tier=2, side="B"))),
            params.IntraSpread(priority=2, rate=0.01, method=method, legs=(
                params.IntraSpreadLeg(tier=1, side="A"), params.IntraSpreadLeg(tier=3, side="B"))),
        ),
        delivery=params.DeliveryCharge(window_days=3.0, spread_rate=0.002, outright_rate=0.005),
        short_option_minimum=params.ShortOptionMinimum(rate=0.012, method="gross"),
    )


def test_calendar_spread_flat_and_delivery() -> None:
    charges = _calendar_charges()
    cc = span_commodity(charges=charges)
    # long 10 front futures (2 days: tier 1, in delivery), short 6 in tier 2, short 3 in tier 3.
    b = book(cc, quantity=[10.0, -6.0, -3.0], risk=[LONG_FUTURE_100] * 3, delta=[1.0, 1.0, 1.0],
             tier=[1, 2, 3], in_delivery=[True, False, False], days=[2.0, 45.0, 120.0])
    intra = intra_spread_charge(b, charges)
    # tier deltas: +10, -6, -3. Priority 1 (tier1 A / tier2 B): count min(10, 6) = 6,
    # charge 6 x 0.004 x 100 USD = 2.4. Remaining +4, 0, -3.
    # Priority 2 (tier1 / tier3): count min(4, 3) = 3, charge 3 x 0.01 x 100 = 3.0. Remaining +1, 0, 0.
    assert [s.count for s in intra.spreads] == pytest.approx([6.0, 3.0])
    assert [s.amount for s in intra.spreads] == pytest.approx([2.4, 3.0])
    assert intra.charge == pytest.approx(5.4)
    np.testing.assert_allclose(intra.remaining_delta, [1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(intra.consumed_delta, [9.0, 6.0, 3.0], atol=1e-12)
    # delivery: 10 delta in the window, 9 consumed by spreads at 0.002 x 100, 1 outright at 0.005 x 100
    assert delivery_charge(b, charges, intra) == pytest.approx(9 * 0.2 + 1 * 0.5)  # 2.3


def test_calendar_spread_per_month_method() -> None:
    charges = _calendar_charges("per_month")
    cc = span_commodity(charges=charges)
    b = book(cc, quantity=[2.0, -2.0], risk=[LONG_FUTURE_100] * 2, tier=[1, 2], days=[10.0, 45.0])
    intra = intra_spread_charge(b, charges)
    # tier mids 15 and 60 days: 45 / 30.4375 = 1.48 -> 1 month; 2 spreads x 0.004 x 100 x 1 = 0.8
    assert intra.charge == pytest.approx(0.8)
    b3 = book(cc, quantity=[2.0, -2.0], risk=[LONG_FUTURE_100] * 2, tier=[1, 3], days=[10.0, 200.0])
    # tier mids 15 and 245 days: 230 / 30.4375 = 7.56 -> 8 months; 2 x 0.01 x 100 x 8 = 16
    assert intra_spread_charge(b3, charges).charge == pytest.approx(16.0)


def test_no_spread_for_same_sign_deltas() -> None:
    charges = _calendar_charges()
    cc = span_commodity(charges=charges)
    b = book(cc, quantity=[3.0, 2.0], risk=[LONG_FUTURE_100] * 2, tier=[1, 2])
    assert intra_spread_charge(b, charges).charge == 0.0


def test_short_option_minimum_gross_max_and_binding() -> None:
    charges = _calendar_charges()
    cc = span_commodity(charges=charges)
    # 5 short far-OTM puts and 2 short calls, 1 long call (longs never count)
    b = book(cc, quantity=[-5.0, -2.0, 1.0], risk=[[0.001] * 16] * 3, is_option=[True] * 3,
             is_call=[False, True, True], tier=[1, 1, 1])
    # gross: (5 + 2) x 0.012 x 100 USD = 8.4
    assert short_option_minimum(b, charges) == pytest.approx(8.4)
    charges_max = charges.model_copy(update={"short_option_minimum": params.ShortOptionMinimum(rate=0.012, method="max")})
    # max: max(5, 2) x 1.2 = 6.0
    assert short_option_minimum(b, charges_max) == pytest.approx(6.0)
    # scan of this book: -5 x 0.001 - 2 x 0.001 + 0.001 = -0.006 < 0 -> 0, so SOM binds
    assert scan_risk(b.scenario_losses()).scan_risk == 0.0


def test_net_option_value() -> None:
    cc = span_commodity()
    b = book(cc, quantity=[2.0, -3.0, 5.0], risk=[[0.0] * 16] * 3, is_option=[True, True, False],
             mark_value=[4.0, 1.5, 0.0])
    # long 2 x 4.0 - short 3 x 1.5 = 8 - 4.5 = 3.5 (the future has no option value)
    assert net_option_value(b) == pytest.approx(3.5)


def test_coin_settled_rates_are_in_coin() -> None:
    charges = _calendar_charges()
    cc = span_commodity(name="X", settlement="coin", charges=charges)
    b = book(cc, quantity=[-4.0], risk=[[0.0] * 16], is_option=[True], is_call=[True], tier=[1],
             index_price=50_000.0)
    # relative rate 0.012 per short option of 1 coin = 0.012 coin each: 4 x 0.012 = 0.048 coin
    assert short_option_minimum(b, charges) == pytest.approx(0.048)
