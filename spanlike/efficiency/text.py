"""Plain-text tables of efficiency reports and parameter comparisons (what the CLI prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from spanlike.efficiency.compare import ChangeDistribution, ParameterComparison
    from spanlike.efficiency.report import EfficiencyReport

__all__ = ["format_efficiency_report", "format_accounts_summary", "format_comparison", "format_distribution"]


def _usd(x: float) -> str:
    return f"{x:,.2f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}%"


def format_efficiency_report(report: "EfficiencyReport") -> str:
    """Levels, attribution and marginal view of one account as text."""
    lv = report.levels
    lines = [
        f"Account {lv.account} under {lv.parameter_set}; isolated baseline: {lv.isolated.venue}",
        f"at {lv.cross.valuation_time.isoformat()}; amounts in USD, savings against isolated",
        "",
        f"  {'level':<10} {'initial margin':>16} {'maint. margin':>16} {'IM savings':>14} {'%':>7} "
        f"{'MM savings':>14} {'%':>7}",
    ]
    for level in lv.levels:
        lines.append(
            f"  {level.name:<10} {_usd(level.initial_margin_usd):>16} {_usd(level.maintenance_margin_usd):>16} "
            f"{_usd(level.savings_im_usd):>14} {_pct(level.savings_im_pct):>7} "
            f"{_usd(level.savings_mm_usd):>14} {_pct(level.savings_mm_pct):>7}"
        )
    lines += ["", "Savings attribution, isolated -> cross (positive saves margin, negative costs):",
              f"  {'component':<42} {'IM':>14} {'MM':>14}"]
    stage = None
    for ln in report.attribution.lines:
        if ln.stage != stage:
            stage = ln.stage
            lines.append(f"  [{stage}]")
        lines.append(f"    {ln.label:<40} {_usd(ln.savings_im_usd):>14} {_usd(ln.savings_mm_usd):>14}")
    lines.append(f"  {'total (= isolated - cross)':<42} {_usd(report.attribution.total_im_usd):>14} "
                 f"{_usd(report.attribution.total_mm_usd):>14}")
    if report.marginal is not None:
        mv = report.marginal
        lines += ["", "Marginal view (cross level): book IM with the position minus without it; hedges reduce IM",
                  f"  {'instrument':<26} {'quantity':>14} {'incremental IM':>16} {'standalone IM':>16}  hedge"]
        for p in mv.positions:
            lines.append(f"  {p.instrument:<26} {p.quantity:>+14,.4f} {_usd(p.incremental_im_usd):>16} "
                         f"{_usd(p.standalone_im_usd):>16}  {'yes' if p.is_hedge else ''}")
    for note in lv.cross.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def format_accounts_summary(reports: Sequence["EfficiencyReport"]) -> str:
    """One line per account: the three IM levels and the cross savings."""
    lines = [f"  {'account':<20} {'isolated IM':>16} {'portfolio IM':>16} {'cross IM':>16} {'savings':>16} {'%':>7}"]
    for r in reports:
        iso, pf, cr = r.levels.levels
        lines.append(f"  {r.account:<20} {_usd(iso.initial_margin_usd):>16} {_usd(pf.initial_margin_usd):>16} "
                     f"{_usd(cr.initial_margin_usd):>16} {_usd(cr.savings_im_usd):>16} {_pct(cr.savings_im_pct):>7}")
    total_iso = sum(r.levels.levels[0].initial_margin_usd for r in reports)
    total_cross = sum(r.levels.levels[2].initial_margin_usd for r in reports)
    lines.append(f"  {'all accounts':<20} {_usd(total_iso):>16} {'':>16} {_usd(total_cross):>16} "
                 f"{_usd(total_iso - total_cross):>16}")
    return "\n".join(lines) + "\n"


def format_comparison(c: "ParameterComparison") -> str:
    """Component-by-component comparison of one account under two sets."""
    lines = [f"Account {c.account}: a = {c.a_label}, b = {c.b_label} (USD; change = b - a)",
             f"  {'component':<28} {'a':>16} {'b':>16} {'change':>16} {'%':>8}"]
    for t in c.totals:
        lines.append(f"  {t.component:<28} {_usd(t.a_usd):>16} {_usd(t.b_usd):>16} {_usd(t.change_usd):>16} "
                     f"{_pct(t.change_pct):>8}")
    for cc in c.commodities:
        where = "" if cc.in_a and cc.in_b else (" (only in a)" if cc.in_a else " (only in b)")
        lines.append(f"  {cc.name}{where}")
        for t in cc.changes:
            if t.a_usd == 0.0 and t.b_usd == 0.0:
                continue
            lines.append(f"    {t.component:<26} {_usd(t.a_usd):>16} {_usd(t.b_usd):>16} {_usd(t.change_usd):>16} "
                         f"{_pct(t.change_pct):>8}")
    return "\n".join(lines) + "\n"


def format_distribution(d: "ChangeDistribution") -> str:
    """Distribution of IM changes across accounts."""
    lines = [f"Initial-margin change b - a across {d.n_accounts} accounts (a = {d.a_label}, b = {d.b_label}):",
             f"  total a {_usd(d.total_a_usd)} USD, total b {_usd(d.total_b_usd)} USD; "
             f"{d.n_increase} up, {d.n_decrease} down, {d.n_unchanged} unchanged"]
    for key in ("min", "p5", "p25", "median", "mean", "p75", "p95", "max"):
        pct = f"{d.change_pct[key]:+.2f}%" if d.change_pct else "n/a"
        lines.append(f"  {key:<7} {d.change_usd[key]:>+16,.2f} USD  {pct:>9}")
    return "\n".join(lines) + "\n"
