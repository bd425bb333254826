"""The last check on a margin result: every number finite, every margin non-negative.

Inputs are validated where they are read (finite, in plausible ranges), so
a result that fails here is an internal fault, not bad input: it is raised
as :class:`~spanlike.errors.NumericalError` ("please report", CLI exit 1)
naming the account, the commodity and the component, instead of returning a
NaN, infinite or negative margin.

Sign conventions checked (:mod:`spanlike.results`):

* must be finite and >= 0: the account's ``requirement_usd``,
  ``maintenance_margin_usd``, ``initial_margin_usd``,
  ``sum_of_requirements_usd``, ``joint_move_floor_usd`` (a loss floor, >= 0
  as reported), ``joint_move_addon_usd``; per commodity ``requirement``,
  ``maintenance_margin``, ``initial_margin``, ``scan_risk``, the charges
  (``intra_spread_charge``, ``delivery_charge``, ``short_option_minimum``,
  ``roll_shock``, ``delta_shock``, ``liquidity_charge``, ``stress_charge``)
  and ``usd_per_unit`` (a conversion rate);
* must be finite, any sign: every other float (scenario losses, net delta,
  net option value, credits and offsets, contributions, spreads).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from spanlike.params.errors import NumericalError

__all__ = ["check_result_finite", "NON_NEGATIVE_ACCOUNT_FIELDS", "NON_NEGATIVE_COMMODITY_FIELDS"]

NON_NEGATIVE_ACCOUNT_FIELDS: tuple[str, ...] = (
    "requirement_usd",
    "maintenance_margin_usd",
    "initial_margin_usd",
    "sum_of_requirements_usd",
    "joint_move_addon_usd",
)
NON_NEGATIVE_COMMODITY_FIELDS: tuple[str, ...] = (
    "requirement",
    "maintenance_margin",
    "initial_margin",
    "scan_risk",
    "intra_spread_charge",
    "delivery_charge",
    "short_option_minimum",
    "roll_shock",
    "delta_shock",
    "liquidity_charge",
    "stress_charge",
    "usd_per_unit",
)


def _floats(obj: Any, path: str) -> list[tuple[str, float]]:
    """(field path, value) of every float in a result tree of dataclasses and tuples."""
    out: list[tuple[str, float]] = []
    if isinstance(obj, bool):
        return out
    if isinstance(obj, float):
        out.append((path, obj))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            out.extend(_floats(getattr(obj, f.name), f"{path}.{f.name}" if path else f.name))
    elif isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            out.extend(_floats(item, f"{path}[{i}]"))
    return out


def _fault(account: str, commodity: str | None, component: str, value: float, rule: str) -> NumericalError:
    where = f"account {account!r}" + (f", commodity {commodity}" if commodity else "")
    return NumericalError(
        f"The margin of {where} has {component} = {value!r}, which must be {rule}; the inputs passed validation, "
        "so this is an internal fault. Please report the inputs (portfolio, market, parameter set)."
    )


def check_result_finite(result: Any) -> None:
    """Raise if a :class:`~spanlike.results.MarginResult` holds a non-finite number or a negative margin.

    Parameters
    ----------
    result : MarginResult
        Checked in place; nothing is changed.

    Raises
    ------
    NumericalError
        Naming the account, the commodity (when the fault is inside one), the
        component (field path, e.g. ``scenario_losses[3]``) and its value.

    Examples
    --------
    >>> check_result_finite(margin(portfolio=p, market=m, parameter_set="crypto-span"))  # doctest: +SKIP
    """
    account = getattr(result, "account", "?")
    commodities = tuple(getattr(result, "commodities", ()))
    for cm in commodities:
        name = getattr(cm, "name", "?")
        for path, value in _floats(cm, ""):
            if not math.isfinite(value):
                raise _fault(account, name, path, value, "finite")
        for field in NON_NEGATIVE_COMMODITY_FIELDS:
            value = getattr(cm, field, 0.0)
            if isinstance(value, float) and value < 0.0:
                raise _fault(account, name, field, value, ">= 0")
    for f in dataclasses.fields(result):
        if f.name == "commodities":
            continue
        for path, value in _floats(getattr(result, f.name), f.name):
            if not math.isfinite(value):
                raise _fault(account, None, path, value, "finite")
    for field in NON_NEGATIVE_ACCOUNT_FIELDS:
        value = getattr(result, field, 0.0)
        if isinstance(value, float) and value < 0.0:
            raise _fault(account, None, field, value, ">= 0")
