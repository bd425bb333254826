"""Calibration of margin parameters from market history.

Pipeline: :func:`load_history` (closes) -> :mod:`returns` (log / MPOR returns)
-> :mod:`risk_measures` (HS / filtered HS VaR and ES, scan ranges) ->
:mod:`procyclicality` (floor, buffer, change cap) -> :mod:`correlation`
(shrinkage, nearest-correlation repair) -> :func:`calibrate_parameter_set`
(a new, validated :class:`spanlike.params.ParameterSet`). :mod:`kupiec` backtests a VaR.

:func:`build_var_parameter_set` builds a VaR/ES-model set (joint historical
scenarios, :mod:`spanlike.params.var_model`) instead of scan ranges;
:func:`backtest_margin` replays history and margins a book every day against
the next MPOR's loss (:mod:`backtest`), :func:`plot_backtest` charts it.

Units: returns are decimals, volatilities annual decimals unless stated per
bar, scan ranges fractions of price (vol ranges: vol points as decimals).

Public names other than :mod:`calibrate`'s are imported lazily
(:func:`spanlike._lazy.lazy_exports`): :mod:`kupiec` and :mod:`backtest` pull in
``scipy.stats`` (about 1 s of import), which a caller of one calibration function
should not pay for.
"""

from __future__ import annotations

from spanlike._lazy import lazy_exports

# Eager: the module ``calibrate`` shares its name with its function, and a lazy first import of the
# module would leave the package attribute ``calibrate`` pointing at the module (cheap: 20 ms).
from spanlike.calibration.calibrate import (
    APCSettings,
    Calibration,
    CommodityCalibration,
    calibrate,
    calibrate_parameter_set,
    recalibrate_intraday,
    QUANTILE_CONVENTION,
)

_LAZY = {
    "PriceHistory": "spanlike.calibration.history",
    "VolHistory": "spanlike.calibration.history",
    "load_history": "spanlike.calibration.history",
    "load_implied_vol_history": "spanlike.calibration.history",
    "combine_histories": "spanlike.calibration.history",
    "underlying_from_filename": "spanlike.calibration.history",
    "log_returns": "spanlike.calibration.returns",
    "horizon_returns": "spanlike.calibration.returns",
    "horizon_sums": "spanlike.calibration.returns",
    "relative_moves": "spanlike.calibration.returns",
    "EwmaVolatility": "spanlike.calibration.volatility",
    "ewma_volatility": "spanlike.calibration.volatility",
    "historical_volatility": "spanlike.calibration.volatility",
    "annualise": "spanlike.calibration.volatility",
    "periods_per_year": "spanlike.calibration.volatility",
    "DAYS_PER_YEAR": "spanlike.calibration.volatility",
    "TailRisk": "spanlike.calibration.risk_measures",
    "ScanRange": "spanlike.calibration.risk_measures",
    "tail_risk": "spanlike.calibration.risk_measures",
    "value_at_risk": "spanlike.calibration.risk_measures",
    "expected_shortfall": "spanlike.calibration.risk_measures",
    "filtered_returns": "spanlike.calibration.risk_measures",
    "price_scan_range": "spanlike.calibration.risk_measures",
    "level_change_scan_range": "spanlike.calibration.risk_measures",
    "minimum_observations": "spanlike.calibration.risk_measures",
    "correlation_of_returns": "spanlike.calibration.correlation",
    "shrink_correlation": "spanlike.calibration.correlation",
    "ledoit_wolf_intensity": "spanlike.calibration.correlation",
    "nearest_correlation": "spanlike.calibration.correlation",
    "CorrelationRepair": "spanlike.calibration.correlation",
    "is_valid_correlation": "spanlike.calibration.correlation",
    "APCOutcome": "spanlike.calibration.procyclicality",
    "apply_anti_procyclicality": "spanlike.calibration.procyclicality",
    "floor_range": "spanlike.calibration.procyclicality",
    "stressed_weighted": "spanlike.calibration.procyclicality",
    "buffered": "spanlike.calibration.procyclicality",
    "capped_change": "spanlike.calibration.procyclicality",
    "KupiecResult": "spanlike.calibration.kupiec",
    "TrafficLight": "spanlike.calibration.kupiec",
    "kupiec_pof": "spanlike.calibration.kupiec",
    "traffic_light": "spanlike.calibration.kupiec",
    "count_exceptions": "spanlike.calibration.kupiec",
    "build_var_parameter_set": "spanlike.calibration.var_model",
    "joint_moves": "spanlike.calibration.var_model",
    "BacktestResult": "spanlike.calibration.backtest",
    "backtest_margin": "spanlike.calibration.backtest",
    "realised_loss_usd": "spanlike.calibration.backtest",
    "plot_backtest": "spanlike.calibration.backtest_plot",
}

__all__ = [
    "PriceHistory", "VolHistory", "load_history", "load_implied_vol_history", "combine_histories",
    "underlying_from_filename",
    "log_returns", "horizon_returns", "horizon_sums", "relative_moves",
    "EwmaVolatility", "ewma_volatility", "historical_volatility", "annualise", "periods_per_year", "DAYS_PER_YEAR",
    "TailRisk", "ScanRange", "tail_risk", "value_at_risk", "expected_shortfall", "filtered_returns",
    "price_scan_range", "level_change_scan_range", "minimum_observations",
    "correlation_of_returns", "shrink_correlation", "ledoit_wolf_intensity", "nearest_correlation",
    "CorrelationRepair", "is_valid_correlation",
    "APCOutcome", "apply_anti_procyclicality", "floor_range", "stressed_weighted", "buffered", "capped_change",
    "KupiecResult", "TrafficLight", "kupiec_pof", "traffic_light", "count_exceptions",
    "APCSettings", "Calibration", "CommodityCalibration", "calibrate", "calibrate_parameter_set",
    "recalibrate_intraday", "QUANTILE_CONVENTION",
    "build_var_parameter_set", "joint_moves",
    "BacktestResult", "backtest_margin", "realised_loss_usd", "plot_backtest",
]

__getattr__, __dir__ = lazy_exports("spanlike.calibration", globals(), _LAZY)
