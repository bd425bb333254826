"""The JSON the dashboard draws: margin breakdown, scenario heatmaps, efficiency, the book under every set.

Every amount is the library's (:func:`spanlike.engine.margin_positions`
through :mod:`spanlike.service.core`, :func:`spanlike.efficiency.report.analyse_book`,
:func:`spanlike.efficiency.chart_data.heatmap_data`); this module only
arranges it. Amounts ending ``_usd`` are USD; other amounts are in the
combined commodity's settlement currency (``currency``: BTC, ETH or USDC).
Losses are loss-positive, as in the text report: a positive scenario loss
means the book loses in that scenario, a negative one that it gains.

Pre-trade rule (the service's, :meth:`ServiceState.what_if`): orders are
accepted when the initial margin after them is within equity, or when they
do not raise the initial margin.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from spanlike.efficiency.chart_data import heatmap_data, waterfall_data
from spanlike.efficiency.report import analyse_book
from spanlike.service import core
from spanlike.service.core import errors
from spanlike.service.dashboard import svg

__all__ = ["book_detail", "book_rows", "decide", "parameter_set_info", "sets_side_by_side", "what_if_book",
           "MARGINAL_MAX_POSITIONS"]

#: The marginal view margins the book once per position; above this many it is left out (named in a note).
MARGINAL_MAX_POSITIONS = 200

#: CommodityMargin components shown, in the engine's charge order (settlement currency).
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("scan_risk", "scan risk (worst scenario)"), ("intra_spread_charge", "calendar spread charge"),
    ("delivery_charge", "delivery charge"), ("inter_spread_credit", "inter-commodity credit"),
    ("short_option_minimum", "short option minimum"), ("net_option_value", "net option value"),
    ("roll_shock", "roll shock"), ("delta_shock", "delta shock"), ("stress_charge", "stress charge"),
    ("liquidity_charge", "liquidity charge"),
)

Legs = Mapping[tuple[str, str], float]


def book_rows(engine: Any, legs: Legs, *, account: str) -> tuple[np.ndarray, np.ndarray]:
    """Universe rows and contract quantities of ``legs`` (``(instrument, unit) -> quantity``) at ``engine``."""
    book = core.account_book(engine, {account: legs}, accounts=[account])
    rows, qty = book.positions(account)
    return np.asarray(rows, dtype=np.intp), np.asarray(qty, dtype=np.float64)


def legs_of(positions: Sequence[tuple[str, float, str | None]], engine: Any, *, where: str) -> dict[tuple[str, str], float]:
    """Net ``(instrument, quantity, unit)`` per (instrument, unit) after the library's checks, naming ``where[i]``."""
    parts: dict[tuple[str, str], list[float]] = {}
    for i, (instrument, quantity, unit) in enumerate(positions):
        w = f"{where}[{i}]"
        try:
            row = engine.row_of(instrument)
        except errors.UnknownInstrumentError:
            raise errors.UnknownInstrumentError(
                f"{w}.instrument: {instrument!r} is not quoted in the market in force "
                f"({len(engine.instrument_names)} instruments). Pick a name from the instrument list "
                "(GET /v1/instruments).") from None
        engine.contract_quantity(row, float(quantity), unit, where=w)
        parts.setdefault((instrument, unit or "coin"), []).append(float(quantity))
    return {k: math.fsum(v) for k, v in parts.items() if math.fsum(v) != 0.0}


def parameter_set_info(name: str, *, in_force: bool) -> dict[str, Any]:
    """What the page says about a bundled set: label, version, date, description, grid of each commodity."""
    ps = core.params.load(name)
    md = ps.metadata
    return {
        "name": name, "label": ps.label, "version": md.version, "as_of": md.as_of.isoformat(),
        "description": md.description, "in_force": in_force,
        "im_factor": ps.margin_relation.im_factor, "mm_factor": ps.margin_relation.mm_factor,
        "commodities": [{"name": c.name, "grid": getattr(c.grid, "family", "")} for c in ps.combined_commodities],
    }


def _finite(x: float) -> float:
    if not math.isfinite(x):
        raise errors.NumericalError(f"A margin amount is not a finite number ({x!r}); the book cannot be shown. "
                                    "Give realistic quantities.")
    return float(x)


def _heatmap(result: Any, engine: Any, name: str) -> dict[str, Any]:
    h = heatmap_data(result, parameter_set=engine.parameter_set, commodity=name)
    c = result.commodity(name)
    extended = [lab.endswith("*") for lab in h.price_labels]
    cells = []
    for r in range(h.pnl.shape[0]):
        for k in range(h.pnl.shape[1]):
            j = int(h.scenario_index[r, k])
            if j < 0:
                continue
            loss = float(-h.pnl[r, k]) + 0.0  # loss-positive; + 0.0 turns -0.0 into 0.0
            cells.append({"row": r, "col": k, "scenario": j + 1, "label": c.scenario_labels[j], "loss": loss,
                          "loss_usd": loss * h.usd_per_unit, "extended": extended[k],
                          "worst": (r, k) == h.marked_cell})
    return {
        "commodity": name, "currency": h.currency, "usd_per_unit": h.usd_per_unit,
        "grid": "SPAN 16 scenarios" if "SPAN 16" in h.title else "exchange grid",
        "price_labels": [lab.rstrip("*") for lab in h.price_labels], "extended_cols": extended,
        "vol_labels": list(h.vol_labels), "cells": cells,
        "worst": {"scenario": h.marked_scenario + 1, "label": c.scenario_labels[h.marked_scenario],
                  "loss": h.worst_loss, "loss_usd": h.worst_loss * h.usd_per_unit},
        "svg": svg.heatmap_svg(h, cells),
    }


def _commodity(c: Any) -> dict[str, Any]:
    comps = []
    for key, label in COMPONENTS:
        v = float(getattr(c, key))
        if key in ("scan_risk", "net_option_value") or v != 0.0:
            comps.append({"component": key, "label": label, "amount": v, "amount_usd": v * c.usd_per_unit})
    return {
        "name": c.name, "method": c.method, "currency": c.settlement_currency, "usd_per_unit": c.usd_per_unit,
        "initial_margin": c.initial_margin, "maintenance_margin": c.maintenance_margin,
        "initial_margin_usd": _finite(c.initial_margin_usd), "maintenance_margin_usd": _finite(c.maintenance_margin_usd),
        "requirement": c.requirement, "components": comps,
        "short_option_minimum_binding": c.short_option_minimum_binding,
        "worst_scenario": {"scenario": c.worst_scenario.index + 1, "label": c.worst_scenario.label,
                           "loss": c.scenario_losses[c.worst_scenario.index] if c.scenario_losses else 0.0},
        "net_delta": c.net_delta,
    }


def _contributions(result: Any, marginal: Any, *, limit: int = 12) -> list[dict[str, Any]]:
    inc = {m.instrument: m for m in marginal.positions} if marginal is not None else {}
    rows = []
    for c in result.commodities:
        for p in c.contributions:
            m = inc.get(p.instrument)
            rows.append({"instrument": p.instrument, "commodity": c.name, "quantity": p.quantity,
                         "currency": c.settlement_currency, "worst_scenario_loss": p.worst_scenario_loss,
                         "worst_scenario_loss_usd": p.worst_scenario_loss * c.usd_per_unit,
                         "incremental_im_usd": None if m is None else m.incremental_im_usd,
                         "is_hedge": None if m is None else m.is_hedge})
    rows.sort(key=lambda r: (-abs(r["worst_scenario_loss_usd"]), r["instrument"]))
    return rows[:limit]


def _efficiency(engine: Any, rows: np.ndarray, qty: np.ndarray, account: str) -> tuple[dict[str, Any], Any]:
    if rows.size == 0:
        return {"available": False, "message": "The book is empty: nothing to compare."}, None
    try:
        rep = analyse_book(engine.universe, rows=rows, quantity=qty, account=account,
                           marginal=rows.size <= MARGINAL_MAX_POSITIONS)
    except errors.SpanlikeError as err:
        return {"available": False, "message": str(err)}, None
    wf = waterfall_data(rep.levels, rep.attribution, measure="im")
    return {
        "available": True,
        "levels": [lv.to_dict() for lv in rep.levels.levels],
        "attribution": [ln.to_dict() for ln in rep.attribution.lines],
        "waterfall": [{"label": s.label.replace("\n", " "), "start_usd": s.start_usd, "end_usd": s.end_usd,
                       "kind": s.kind} for s in wf.steps],
        "waterfall_svg": svg.waterfall_svg(wf),
        "marginal_note": None if rep.marginal is not None else
        f"Incremental margins are left out above {MARGINAL_MAX_POSITIONS} positions (one margin run each).",
    }, rep.marginal


def book_detail(engine: Any, legs: Legs, *, account: str, equity_usd: float | None) -> dict[str, Any]:
    """Everything the page shows about one book under ``engine``'s parameter set.

    Parameters
    ----------
    engine : PreparedEngine
    legs : mapping
        ``(instrument, unit) -> net quantity`` in that unit.
    account : str
    equity_usd : float or None
        Equity in USD (None: unknown, no status).

    Returns
    -------
    dict
        ``result`` (the :class:`MarginResult` tree), ``summary`` (IM, MM,
        requirement chain, USD), ``commodities`` (components, settlement
        currency and USD), ``contributions`` (largest worst-scenario
        losses, with incremental IM), ``heatmaps`` (per commodity, loss-positive),
        ``efficiency`` (levels, attribution, waterfall).
    """
    rows, qty = book_rows(engine, legs, account=account)
    result = core.margin_positions(engine.universe, rows=rows, quantity=qty, account=account)
    im, mm = _finite(result.initial_margin_usd), _finite(result.maintenance_margin_usd)
    efficiency, marginal = _efficiency(engine, rows, qty, account)
    status = None
    if equity_usd is not None:
        status = core.status_of(equity_usd=equity_usd, initial_margin_usd=im, maintenance_margin_usd=mm)
    ps = engine.parameter_set
    return {
        "account": account, "parameter_set": ps.label, "parameter_set_version": ps.metadata.version,
        "positions": len(legs),
        "summary": {
            "initial_margin_usd": im, "maintenance_margin_usd": mm, "requirement_usd": result.requirement_usd,
            "sum_of_requirements_usd": result.sum_of_requirements_usd,
            "inter_spread_credit_usd": result.inter_spread_credit_usd,
            "correlation_offset_usd": result.correlation_offset_usd,
            "joint_move_addon_usd": result.joint_move_addon_usd,
            "cross_offsets_from": result.cross_offsets_from,
            "equity_usd": equity_usd, "excess_usd": None if equity_usd is None else equity_usd - im,
            "status": status,
        },
        "commodities": [_commodity(c) for c in result.commodities],
        "contributions": _contributions(result, marginal),
        "heatmaps": [_heatmap(result, engine, c.name) for c in result.commodities],
        "efficiency": efficiency,
        "notes": list(result.notes),
        "result": result.to_dict(),
    }


def sets_side_by_side(engines: Sequence[tuple[str, Any]], legs: Legs, *, account: str) -> list[dict[str, Any]]:
    """The book's cross-margin IM and MM under each ``(name, engine)``, cheapest IM flagged.

    A set that cannot margin the book (an instrument it has no commodity
    for) gets ``error`` with the library's message instead of amounts.
    """
    out: list[dict[str, Any]] = []
    for name, engine in engines:
        ps = engine.parameter_set
        row: dict[str, Any] = {"name": name, "label": ps.label, "description": ps.metadata.description}
        try:
            rows, qty = book_rows(engine, legs, account=account)
            r = core.margin_positions(engine.universe, rows=rows, quantity=qty, account=account)
            row.update(initial_margin_usd=_finite(r.initial_margin_usd),
                       maintenance_margin_usd=_finite(r.maintenance_margin_usd), error=None)
        except errors.SpanlikeError as err:
            row.update(initial_margin_usd=None, maintenance_margin_usd=None, error=str(err))
        out.append(row)
    ims = [r["initial_margin_usd"] for r in out if r["initial_margin_usd"] is not None]
    low = min(ims) if ims else None
    for r in out:
        r["cheapest"] = low is not None and r["initial_margin_usd"] == low
    return out


def decide(*, equity_usd: float | None, im_after: float, incremental: float) -> tuple[bool | None, str]:
    """The service's pre-trade rule (module docstring); None without an equity."""
    if equity_usd is None:
        return None, "no equity known for this book: give balances to check orders against them"
    if im_after <= equity_usd:
        return True, f"initial margin after {im_after:,.2f} USD is within equity {equity_usd:,.2f} USD"
    if incremental <= 0.0:
        return True, (f"the orders reduce initial margin by {-incremental:,.2f} USD (after {im_after:,.2f} USD, "
                      f"equity {equity_usd:,.2f} USD)")
    return False, (f"initial margin after {im_after:,.2f} USD exceeds equity {equity_usd:,.2f} USD by "
                   f"{im_after - equity_usd:,.2f} USD")


def what_if_book(engine: Any, legs: Legs, orders: Sequence[tuple[str, float, str | None]], *, account: str,
                 equity_usd: float | None) -> dict[str, Any]:
    """Margin of a posted book before and after ``orders`` and the pre-trade decision (USD).

    Before and after are two full margin runs of the netted book (the
    reference path), not the incremental kernel the account what-if uses,
    so the two endpoints check each other.
    """
    added = legs_of(orders, engine, where="orders")
    after: dict[tuple[str, str], float] = dict(legs)
    for key, q in added.items():
        after[key] = math.fsum([after.get(key, 0.0), q])
    after = {k: q for k, q in after.items() if q != 0.0}
    rows0, qty0 = book_rows(engine, legs, account=account)
    rows1, qty1 = book_rows(engine, after, account=account)
    r0 = core.margin_positions(engine.universe, rows=rows0, quantity=qty0, account=account)
    r1 = core.margin_positions(engine.universe, rows=rows1, quantity=qty1, account=account)
    im0, mm0 = _finite(r0.initial_margin_usd), _finite(r0.maintenance_margin_usd)
    im1, mm1 = _finite(r1.initial_margin_usd), _finite(r1.maintenance_margin_usd)
    accept, reason = decide(equity_usd=equity_usd, im_after=im1, incremental=im1 - im0)
    return {
        "account": account, "accept": accept, "reason": reason, "equity_usd": equity_usd,
        "initial_margin_before_usd": im0, "maintenance_margin_before_usd": mm0,
        "initial_margin_after_usd": im1, "maintenance_margin_after_usd": mm1,
        "incremental_initial_margin_usd": im1 - im0, "incremental_maintenance_margin_usd": mm1 - mm0,
        "excess_after_usd": None if equity_usd is None else equity_usd - im1,
        "parameter_set": engine.parameter_set.label,
    }
