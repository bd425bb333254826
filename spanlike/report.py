"""Plain-text reports of margin results (what the CLI prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spanlike.results import CommodityMargin, MarginResult, SpreadFormed

__all__ = ["format_margin_result", "format_amount"]


# Coins whose amounts need more than cents; every other currency (USD, USDC, TRY, ...) gets 2 decimals.
_COIN_CURRENCIES = frozenset({"BTC", "ETH", "SOL", "XRP", "BNB", "ADA", "AVAX", "DOGE", "DOT", "LTC", "MATIC", "TRX"})


def format_amount(value: float, currency: str) -> str:
    """``0.123456 BTC`` for coins, ``12,345.67 USD`` for fiat currencies and stablecoins."""
    if currency in _COIN_CURRENCIES:
        return f"{value:,.6f} {currency}"
    return f"{value:,.2f} {currency}"


def _direction_words(w: float) -> str:
    """What the directional share says, in words (spanlike.methodology.direction)."""
    if w == 0.0:
        return "no direction"
    side = "falls" if w > 0.0 else "rises"
    return f"loses on price {side} only" if abs(w) == 1.0 else f"loses more on price {side}"


def _commodity_lines(c: "CommodityMargin", contributions: int, reporting: str) -> list[str]:
    from spanlike.aggregation.methods import method_of

    ccy = c.settlement_currency
    method = method_of(c.method)
    rows: list[tuple[str, float]] = [(method.scan_label, c.scan_risk)]
    for key, label in method.report_rows:
        value = c.component(key)
        if key == "inter_spread_credit":  # a credit is subtracted: shown negative (0.0 - x + 0.0 avoids -0.00)
            value = 0.0 - value + 0.0
        if key == "short_option_minimum" and c.short_option_minimum_binding:
            label += " (binding)"
        rows.append((label, float(value)))
    if c.liquidity_charge != 0.0:  # only sets with a liquidity section charge it
        rows += [("liquidity charge", c.liquidity_charge)]
    rows += [("requirement", c.requirement), ("maintenance margin", c.maintenance_margin),
             ("initial margin", c.initial_margin)]
    width = max(len(label) for label, _ in rows)
    out = [
        f"{c.name} ({c.method}, settled in {ccy}"
        + (")" if ccy == reporting else f", 1 {ccy} = {c.usd_per_unit:,.2f} {reporting})"),
        f"  worst scenario #{c.worst_scenario.index + 1}: {c.worst_scenario.label}; net delta {c.net_delta:+,.4f}"
        + ("" if c.direction is None else f"; direction {c.direction:+.2f} ({_direction_words(c.direction)})"),
    ]
    for label, value in rows:
        out.append(f"  {label:<{width}}  {format_amount(value, ccy):>22}")
    if ccy != reporting:
        out.append(f"  {'initial margin in ' + reporting:<{width}}  {format_amount(c.initial_margin_usd, reporting):>22}")
    for s in c.spreads:
        verb = "charge" if s.kind == "intra" else "credit"
        out.append(f"  {s.kind}-commodity spread '{s.name}' (priority {s.priority}): {_spread_count(s, c)}, {verb} "
                   f"{format_amount(s.amount, ccy)}")
    if contributions > 0 and c.contributions:
        top = sorted(c.contributions, key=lambda p: -abs(p.worst_scenario_loss))[:contributions]
        out.append("  largest contributions to the worst scenario (loss +):")
        for p in top:
            entered = f" (entered {p.entered_as})" if p.entered_as else ""
            out.append(f"    {p.instrument:<28} qty {p.quantity:>+14,.4f}  {format_amount(p.worst_scenario_loss, ccy):>22}"
                       f"{entered}")
    return out


def _spread_count(s: "SpreadFormed", c: "CommodityMargin") -> str:
    """How many spreads were formed, as a count (``1.2688 spreads``), or as the USD delta a
    notional-based inter spread counts in (``32,906.95 USD of delta``)."""
    unit = getattr(s, "count_unit", "")
    if unit and unit.lower() not in ("", "spreads", "delta"):
        return f"{format_amount(s.count, unit.upper())} of delta"
    word = "spread" if s.count == 1.0 else "spreads"
    return f"{s.count:,.4f} {word}"


def _requirement_basis(result: "MarginResult") -> str:
    """Which margin the commodity requirements are: MM (crypto-span), IM (deribit-style) or neither."""
    if result.requirement_usd == result.maintenance_margin_usd:
        return "maintenance-margin requirements"
    if result.requirement_usd == result.initial_margin_usd:
        return "initial-margin requirements"
    return "requirements before the IM/MM factors"


def format_margin_result(result: "MarginResult", *, contributions: int = 5) -> str:
    """Readable multi-line report of a :class:`MarginResult`."""
    # Totals are in the result's reporting currency: USD for the crypto parameter sets,
    # the SPAN file's currency (e.g. TRY) when margining on an exchange file.
    cur = result.reporting_currency
    lines = [
        f"Account {result.account} under {result.parameter_set} at {result.valuation_time.isoformat()}",
        f"  initial margin      {format_amount(result.initial_margin_usd, cur):>22}",
        f"  maintenance margin  {format_amount(result.maintenance_margin_usd, cur):>22}",
        f"  sum over combined commodities {format_amount(result.sum_of_requirements_usd, cur)} "
        f"({_requirement_basis(result)}), "
        f"inter-commodity credits {format_amount(result.inter_spread_credit_usd, cur)} (included), "
        f"correlation offset {format_amount(result.correlation_offset_usd, cur)}"
        + (" (both read from futures and perpetuals only)" if result.cross_offsets_from == "delta_one" else ""),
    ]
    if result.joint_move_scenario is not None:
        binding = (f"binding: adds {format_amount(result.joint_move_addon_usd, cur)}"
                   if result.joint_move_addon_usd > 0.0 else "not binding")
        lines.append(f"  joint-move floor {format_amount(result.joint_move_floor_usd, cur)} ({binding}; "
                     f"{result.joint_move_scenario}, net of option value)")
    lines.append("")
    for c in result.commodities:
        lines += _commodity_lines(c, contributions, cur)
        lines.append("")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines).rstrip() + "\n"
