"""VaR/ES margin over joint historical scenarios (:mod:`spanlike.params.var_model`).

Per combined commodity ``c`` with loss vector ``L_c`` (settlement currency,
``L_c[j] = sum_i q_i R_c[i, j]``; historical scenarios ``H``, then stress
scenarios ``S``):

* standalone measure ``M_c = max(0, rho(L_c[H]))`` with ``rho`` the VaR or ES
  at the set's confidence (:func:`spanlike.methodology.tail_measures.tail_risk`:
  lower empirical quantile; Acerbi-Tasche ES);
* stress charge ``= w x W_c`` (``combine = "add"``) or
  ``max(0, w x W_c - M_c)`` (``"max"``), with ``W_c = max(0, max_{j in S} L_c[j])``
  and ``w`` the stress weight; 0 without stress scenarios.

Account (the joint scenarios keep the dependence between underlyings): the
losses are converted to USD at today's index prices, ``usd_per_unit_c``
(coin losses times the index price: the coin amount is what the account
would owe), summed per scenario, ``J[j] = sum_c L_c[j] x usd_per_unit_c``, and
measured the same way: ``M = max(0, rho(J[H]))`` plus the joint stress charge.
Flooring at 0 keeps a book that gains in (almost) every scenario from posting
negative margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.params.var_model import StressComponent, VarModel
from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.aggregation.liquidity import liquidity_charge
from spanlike.aggregation.methods import CommodityStage, MarginMethod, register_method
from spanlike.params.parameter_set import ParameterSet
from spanlike.results import VarComponents
from spanlike.methodology.tail_measures import tail_risk

__all__ = ["VarCommodity", "tail_measure", "stress_charge", "var_commodity", "joint_measure_usd"]


@dataclass(frozen=True, eq=False)
class VarCommodity:
    """One commodity under the VaR/ES model, settlement currency.

    Attributes
    ----------
    book : CommodityBook
    losses : ndarray, shape (m,)
        Loss per scenario (historical, then stress), positive = loss.
    worst : int
        Index of the largest loss over all scenarios.
    measure : float
        Standalone VaR/ES of the historical losses, >= 0.
    stress_charge : float
        Stress add-on (module docstring), >= 0.
    """

    book: CommodityBook
    losses: NDArray[np.float64]
    worst: int
    measure: float
    stress_charge: float


def tail_measure(losses: NDArray[np.float64], *, var_model: VarModel) -> float:
    """``max(0, VaR or ES)`` of a loss sample at the model's confidence, same unit as ``losses``."""
    risk = tail_risk(losses, confidence=var_model.confidence)
    return max(0.0, risk.measure(var_model.measure))


def stress_charge(*, measure: float, stress_losses: NDArray[np.float64], stress: StressComponent | None) -> float:
    """Stress add-on given the VaR/ES ``measure`` and the stress scenarios' losses (module docstring)."""
    if stress is None or stress_losses.size == 0:
        return 0.0
    worst = stress.weight * max(0.0, float(stress_losses.max()))
    if stress.combine == "add":
        return worst
    return max(0.0, worst - measure)


def var_commodity(book: CommodityBook, var_model: VarModel) -> VarCommodity:
    """Standalone VaR/ES and stress charge of one commodity's book."""
    losses = book.scenario_losses()
    n = var_model.scenarios.n_scenarios
    measure = tail_measure(losses[:n], var_model=var_model)
    return VarCommodity(
        book=book,
        losses=losses,
        worst=int(np.argmax(losses)),
        measure=measure,
        stress_charge=stress_charge(measure=measure, stress_losses=losses[n:], stress=var_model.stress),
    )


def joint_measure_usd(commodities: Sequence[VarCommodity], var_model: VarModel) -> tuple[float, float]:
    """VaR/ES and stress charge of the joint USD losses summed across commodities.

    Returns
    -------
    (measure_usd, stress_charge_usd) : tuple of float
        Both >= 0, USD at today's index prices.
    """
    joint = np.zeros_like(commodities[0].losses)
    for c in commodities:
        joint = joint + c.losses * c.book.usd_per_unit
    n = var_model.scenarios.n_scenarios
    measure = tail_measure(joint[:n], var_model=var_model)
    return measure, stress_charge(measure=measure, stress_losses=joint[n:], stress=var_model.stress)


# --- the VaR/ES method ------------------------------------------------------------------------------


def var_stage(book: CommodityBook, parameter_set: ParameterSet) -> CommodityStage:
    """Standalone VaR/ES and stress charge of one commodity (the account level measures the joint losses)."""
    vm = parameter_set.var_model
    assert vm is not None
    part = var_commodity(book, vm)
    liquidity = liquidity_charge(book)

    def finish(credit: float) -> tuple[VarComponents, float]:
        record = VarComponents(scan_risk=part.measure, stress_charge=part.stress_charge, liquidity_charge=liquidity)
        return record, part.measure + part.stress_charge + liquidity

    return CommodityStage(
        book=book, raw_losses=part.losses, losses=part.losses, worst=part.worst, price_risk=0.0,
        net_option_value=0.0, available_delta=0.0, spreads=(), finish=finish,
    )


VAR = register_method(MarginMethod(
    name="var",
    description="VaR/ES of the losses over joint historical scenarios, plus stress (methodology 8)",
    stage=var_stage,
    takes_inter_credit=False,
    scan_label="scan risk (standalone VaR/ES)",
    report_rows=(("stress_charge", "stress charge"),),
    requirement_with=None,
    batch_code=None,
))
