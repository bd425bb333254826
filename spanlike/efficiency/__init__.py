"""Cross-margin efficiency: isolated vs per-underlying portfolio vs full cross margin.

Levels of the same book (:mod:`.levels`), the savings attributed to the
component that produced them (:mod:`.attribution`), each position's
incremental margin (:mod:`.marginal`), parameter-change impact
(:mod:`.compare`) and report charts (:mod:`.chart_data`, :mod:`.plots`).

Public names are imported lazily, like :mod:`spanlike`'s: the CLI imports
:mod:`spanlike.efficiency.cli` at start-up and must not pay numba's (or
matplotlib's) import cost for other commands.
"""

from __future__ import annotations

from spanlike._lazy import lazy_exports


_LAZY = {
    "read_accounts_csv": "spanlike.efficiency.accounts",
    "PreparedAccount": "spanlike.efficiency.inputs",
    "PreparedBook": "spanlike.efficiency.inputs",
    "prepare_accounts": "spanlike.efficiency.inputs",
    "IsolatedPosition": "spanlike.efficiency.isolated",
    "IsolatedResult": "spanlike.efficiency.isolated",
    "isolated_margin": "spanlike.efficiency.isolated",
    "standard_margin": "spanlike.efficiency.isolated",
    "MarginLevel": "spanlike.efficiency.levels",
    "MarginLevels": "spanlike.efficiency.levels",
    "margin_levels": "spanlike.efficiency.levels",
    "AttributionLine": "spanlike.efficiency.attribution",
    "SavingsAttribution": "spanlike.efficiency.attribution",
    "attribute_savings": "spanlike.efficiency.attribution",
    "IncrementalMargin": "spanlike.efficiency.marginal",
    "MarginalView": "spanlike.efficiency.marginal",
    "incremental_margins": "spanlike.efficiency.marginal",
    "ComponentChange": "spanlike.efficiency.compare",
    "CommodityComparison": "spanlike.efficiency.compare",
    "ParameterComparison": "spanlike.efficiency.compare",
    "ChangeDistribution": "spanlike.efficiency.compare",
    "compare_margins": "spanlike.efficiency.compare",
    "compare_parameter_sets": "spanlike.efficiency.compare",
    "change_distribution": "spanlike.efficiency.compare",
    "EfficiencyReport": "spanlike.efficiency.report",
    "analyse_book": "spanlike.efficiency.report",
    "efficiency": "spanlike.efficiency.report",
    "efficiency_accounts": "spanlike.efficiency.report",
    "HeatmapData": "spanlike.efficiency.chart_data",
    "WaterfallData": "spanlike.efficiency.chart_data",
    "WaterfallStep": "spanlike.efficiency.chart_data",
    "SavingsBarsData": "spanlike.efficiency.chart_data",
    "heatmap_data": "spanlike.efficiency.chart_data",
    "waterfall_data": "spanlike.efficiency.chart_data",
    "savings_bars_data": "spanlike.efficiency.chart_data",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports('spanlike.efficiency', globals(), _LAZY)
