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
"""

from spanlike.calibration.backtest import BacktestResult, backtest_margin, realised_loss_usd
from spanlike.calibration.backtest_plot import plot_backtest
from spanlike.calibration.calibrate import (
    QUANTILE_CONVENTION,
    APCSettings,
    Calibration,
    CommodityCalibration,
    calibrate,
    calibrate_parameter_set,
    recalibrate_intraday,
)
from spanlike.calibration.correlation import (
    CorrelationRepair,
    correlation_of_returns,
    is_valid_correlation,
    ledoit_wolf_intensity,
    nearest_correlation,
    shrink_correlation,
)
from spanlike.calibration.history import (
    PriceHistory,
    VolHistory,
    combine_histories,
    load_history,
    load_implied_vol_history,
    underlying_from_filename,
)
from spanlike.calibration.kupiec import KupiecResult, TrafficLight, count_exceptions, kupiec_pof, traffic_light
from spanlike.calibration.procyclicality import (
    APCOutcome,
    apply_anti_procyclicality,
    buffered,
    capped_change,
    floor_range,
    stressed_weighted,
)
from spanlike.calibration.returns import horizon_returns, horizon_sums, log_returns, relative_moves
from spanlike.calibration.risk_measures import (
    ScanRange,
    TailRisk,
    expected_shortfall,
    filtered_returns,
    level_change_scan_range,
    minimum_observations,
    price_scan_range,
    tail_risk,
    value_at_risk,
)
from spanlike.calibration.var_model import build_var_parameter_set, joint_moves
from spanlike.calibration.volatility import (
    DAYS_PER_YEAR,
    EwmaVolatility,
    annualise,
    ewma_volatility,
    historical_volatility,
    periods_per_year,
)

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
