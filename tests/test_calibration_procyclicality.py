"""Anti-procyclicality tools: each formula by hand, the chain's order and its record of binding bounds."""

from __future__ import annotations

import pytest

from spanlike.calibration.procyclicality import (
    apply_anti_procyclicality,
    buffered,
    capped_change,
    floor_range,
    stressed_weighted,
)
from spanlike.errors import InvalidInputError


def test_single_tools_by_hand() -> None:
    assert floor_range(current=0.08, floor=0.10) == 0.10
    assert floor_range(current=0.12, floor=0.10) == 0.12
    # 0.75 * 0.08 + 0.25 * 0.20 = 0.06 + 0.05 = 0.11
    assert stressed_weighted(current=0.08, stressed=0.20) == pytest.approx(0.11, abs=1e-16)
    # 0.10 * (1 + 0.25) = 0.125; half released: 0.10 * (1 + 0.125) = 0.1125
    assert buffered(current=0.10, buffer=0.25) == pytest.approx(0.125, abs=1e-16)
    assert buffered(current=0.10, buffer=0.25, released=0.5) == pytest.approx(0.1125, abs=1e-16)
    assert buffered(current=0.10, buffer=0.25, released=1.0) == 0.10
    # previous 0.10, cap 20 %: band [0.08, 0.12]
    assert capped_change(proposed=0.15, previous=0.10, max_change=0.2) == pytest.approx(0.12, abs=1e-16)
    assert capped_change(proposed=0.05, previous=0.10, max_change=0.2) == pytest.approx(0.08, abs=1e-16)
    assert capped_change(proposed=0.11, previous=0.10, max_change=0.2) == 0.11


def test_floor_binds_and_is_recorded() -> None:
    out = apply_anti_procyclicality(raw=0.06, floor=0.09)
    assert out.value == 0.09 and out.binding == ("floor",)
    assert "raw 0.06 -> 0.09 (bound: floor)" == out.describe()
    free = apply_anti_procyclicality(raw=0.12, floor=0.09)
    assert free.value == 0.12 and free.binding == ()


def test_chain_floor_buffer_cap_in_order() -> None:
    # raw 0.06, floor 0.09 -> 0.09; buffer 25 % -> 0.1125; previous 0.10 with 10 % cap -> 0.11 (cap_up)
    out = apply_anti_procyclicality(raw=0.06, floor=0.09, buffer=0.25, previous=0.10, max_change=0.10)
    assert out.after_floor == 0.09
    assert out.after_buffer == pytest.approx(0.1125, abs=1e-16)
    assert out.after_cap == pytest.approx(0.11, abs=1e-16)
    assert out.value == pytest.approx(0.11, abs=1e-16)
    assert out.binding == ("floor", "buffer", "cap_up")


def test_cap_on_a_fall_and_floor_over_cap() -> None:
    # a fall from 0.20 to 0.10 with a 25 % cap stops at 0.15
    down = apply_anti_procyclicality(raw=0.10, previous=0.20, max_change=0.25)
    assert down.value == pytest.approx(0.15, abs=1e-16) and down.binding == ("cap_down",)
    # previous 0.05, floor 0.09, cap 20 %: cap allows at most 0.06, the floor wins -> 0.09
    up = apply_anti_procyclicality(raw=0.07, floor=0.09, previous=0.05, max_change=0.2)
    assert up.after_cap == pytest.approx(0.06, abs=1e-16)
    assert up.value == 0.09 and up.binding == ("floor", "cap_up", "floor_over_cap")


def test_bad_apc_inputs() -> None:
    with pytest.raises(InvalidInputError, match="pass previous="):
        apply_anti_procyclicality(raw=0.1, max_change=0.2)
    with pytest.raises(InvalidInputError, match=r"max_change must lie in \(0, 1\); got 1.5"):
        capped_change(proposed=0.1, previous=0.1, max_change=1.5)
    with pytest.raises(InvalidInputError, match=r"buffer must lie in \[0, 1\]; got -0.25"):
        buffered(current=0.1, buffer=-0.25)
    with pytest.raises(InvalidInputError, match="floor must be a positive finite number; got 0"):
        floor_range(current=0.1, floor=0)
