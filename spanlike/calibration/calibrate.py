"""Calibrate a parameter set's scan ranges and correlations from market history.

:func:`calibrate_parameter_set` takes a *base* set and returns a new set of
the same schema in which, for every combined commodity (CC) whose underlying
is in the price history:

* the **price scan range** is the VaR or ES (``method``) at ``confidence`` of
  relative price moves over the margin period of risk (MPOR), the larger of
  the up and down tails (:func:`~spanlike.calibration.risk_measures.price_scan_range`),
  optionally from filtered historical simulation, then passed through the
  anti-procyclicality chain (:class:`APCSettings`). It is written to
  ``SpanGrid.price_scan_range`` (relative; absolute grids get
  ``range x last close``) or ``ExchangeGrid.price_range``. A span16 grid must
  keep ``extreme_multiple x range < 1`` and an exchange grid must keep its
  extended moves beyond the range; otherwise the calibration fails with a
  message saying what to change (it never clips);
* the **vol scan range**, if an implied-vol history covers the underlying:
  the same measure on MPOR changes of the implied vol, in absolute vol points
  (decimals: 0.12 = 12 points) for ``vol_scan_kind = "absolute"``, relative
  otherwise; for exchange grids ``vol_shock_up``/``vol_shock_down`` are the
  up/down tails of *relative* changes (a 30-day index such as DVOL matches the
  grid's 30-day ``term_pivot_days``). Vol ranges use plain HS, no APC.

The **correlation matrix** across CCs is the shrunk and repaired correlation of
the underlyings' one-bar log returns over the same window. Two CCs on one
underlying (coin-settled BTC and USDC-settled BTC) get correlation 1
[our choice]: both are the same USD price risk. A coin-settled future of ``n``
coins gains ``n s / (1 + s)`` coin under a move ``s``, worth ``n s P`` USD at
the new price ``P (1 + s)``: exactly the linear future's P&L, so any
difference between the two CCs comes from the contracts (valued in the risk
arrays), not from the underlying. Shrinkage acts on the underlying matrix, so
these ones stay exact. Pairs involving a CC whose underlying is not in the
history keep the base set's value; the assembled matrix is repaired (Higham)
only if it is invalid, and that is recorded.

**Metadata**: ``as_of`` = the date of the last bar (UTC); ``version`` = an
explicit one or ``<base version without any +suffix>+cal.<YYYYMMDD>`` (intraday:
``+cal.<YYYYMMDD>T<HHMM>Z``), with ``.2``, ``.3`` ... appended if that equals
the base version; ``provenance`` records data range, rows, method, confidence,
MPOR, lambda, filtering, APC and which bounds bound, per CC.

The new set is built by dumping the base (``model_dump(mode="json")``),
editing the mapping and validating it with :func:`spanlike.params.from_mapping`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from spanlike import params
from spanlike.params import ExchangeGrid, ParameterSet, SpanGrid
from spanlike.calibration._validate import confidence_level, decay_factor, positive_int, unit_interval
from spanlike.calibration.correlation import (
    CorrelationRepair,
    correlation_of_returns,
    ledoit_wolf_intensity,
    nearest_correlation,
    shrink_correlation,
)
from spanlike.calibration.history import PriceHistory, VolHistory
from spanlike.calibration.procyclicality import APCOutcome, apply_anti_procyclicality, stressed_weighted
from spanlike.calibration.returns import log_returns
from spanlike.calibration.risk_measures import ScanRange, level_change_scan_range, price_scan_range
from spanlike.calibration.volatility import RISKMETRICS_DAILY_DECAY
from spanlike.errors import InvalidInputError

__all__ = [
    "APCSettings",
    "CommodityCalibration",
    "Calibration",
    "calibrate",
    "calibrate_parameter_set",
    "recalibrate_intraday",
    "QUANTILE_CONVENTION",
]

QUANTILE_CONVENTION = (
    "VaR = lower empirical quantile (inverted empirical CDF, the (floor(n(1-a))+1)-th largest loss); "
    "ES = Acerbi-Tasche average of that quantile function over the tail"
)

_VERSION_MAX = 32
_DAY = 86_400


@dataclass(frozen=True)
class APCSettings:
    """Anti-procyclicality applied to each calibrated price scan range.

    See :mod:`spanlike.calibration.procyclicality` for the chain
    ``floor -> buffer -> change cap -> floor``.

    Attributes
    ----------
    floor_lookback : int or None
        Floor = the same measure (unfiltered HS, same method, confidence and
        MPOR) over the last ``floor_lookback`` returns of the history, in bars
        (days for daily data; EMIR: ten years = 3650).
    stress_period : (date, date) or None
        A stressed window (inclusive ISO dates), measured the same way. Used as
        a floor, or blended with weight ``stress_weight`` if that is given.
    stress_weight : float or None
        ``(1 - w) current + w stressed`` instead of a floor (EMIR art. 28(1)(b)).
    buffer : float
        Buffer on the range, in [0, 1] (EMIR art. 28(1)(a): 0.25).
    buffer_released : float
        Share of the buffer released in stress, in [0, 1].
    max_change : float or None
        Cap on the relative change from the base set's range, in (0, 1).
    """

    floor_lookback: int | None = None
    stress_period: tuple[str | dt.date, str | dt.date] | None = None
    stress_weight: float | None = None
    buffer: float = 0.0
    buffer_released: float = 0.0
    max_change: float | None = None

    def __post_init__(self) -> None:
        if self.floor_lookback is not None:
            positive_int(self.floor_lookback, name="APCSettings.floor_lookback", minimum=2)
        if self.stress_weight is not None:
            if self.stress_period is None:
                raise InvalidInputError("APCSettings.stress_weight needs a stress_period to weight.")
            unit_interval(self.stress_weight, name="APCSettings.stress_weight")
        if self.stress_period is not None and len(self.stress_period) != 2:
            raise InvalidInputError(
                f"APCSettings.stress_period must be (start, end) dates; got {self.stress_period!r}."
            )
        unit_interval(self.buffer, name="APCSettings.buffer")
        unit_interval(self.buffer_released, name="APCSettings.buffer_released")
        if self.max_change is not None:
            unit_interval(self.max_change, name="APCSettings.max_change", closed_low=False, closed_high=False)

    def describe(self) -> str:
        """Settings in one line for provenance."""
        parts = []
        if self.floor_lookback is not None:
            parts.append(f"floor from {self.floor_lookback}-bar look-back")
        if self.stress_period is not None:
            s, e = self.stress_period
            if self.stress_weight is not None:
                parts.append(f"stressed period {s}..{e} weighted {self.stress_weight}")
            else:
                parts.append(f"floor from stressed period {s}..{e}")
        if self.buffer:
            parts.append(f"buffer {self.buffer} ({self.buffer_released} released)")
        if self.max_change is not None:
            parts.append(f"change cap {self.max_change} vs base")
        return "; ".join(parts) if parts else "none"


@dataclass(frozen=True)
class CommodityCalibration:
    """What the calibration did to one combined commodity.

    Attributes
    ----------
    combined_commodity, underlying : str
    price : ScanRange
        Raw estimate on the calibration window (fraction of price).
    price_scan_range : float
        Final relative range after APC (and rounding), fraction of price.
    written : float
        The number written to the grid (absolute grids: range x last close).
    apc : APCOutcome or None
    vol : ScanRange or None
        Implied-vol change estimate, if an implied-vol history covered the underlying.
    """

    combined_commodity: str
    underlying: str
    price: ScanRange
    price_scan_range: float
    written: float
    apc: APCOutcome | None
    vol: ScanRange | None


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`: the new set and the numbers behind it.

    Attributes
    ----------
    parameter_set : ParameterSet
    commodities : tuple of CommodityCalibration
    underlying_correlation : numpy.ndarray or None
        Shrunk, repaired correlation of the history's underlyings, shape (k, k).
    underlyings : tuple of str
        Order of ``underlying_correlation``.
    shrinkage_intensity : float
    correlation_repair : CorrelationRepair or None
        Repair of the assembled CC matrix (``repaired`` False if it was valid).
    """

    parameter_set: ParameterSet
    commodities: tuple[CommodityCalibration, ...]
    underlying_correlation: np.ndarray | None
    underlyings: tuple[str, ...]
    shrinkage_intensity: float
    correlation_repair: CorrelationRepair | None


# ------------------------------------------------------------------------- helpers


def _window(history: PriceHistory, lookback: int | None, *, name: str) -> PriceHistory:
    if lookback is None:
        return history
    n = positive_int(lookback, name=name, minimum=2)
    if n + 1 > history.n_rows:
        raise InvalidInputError(
            f"{name}={n} needs {n + 1} prices but the history has {history.n_rows} "
            f"({history.date_range()}); shorten {name} or load more history."
        )
    return history.tail(n + 1)


def _vol_window(iv: VolHistory, lookback: int | None) -> VolHistory:
    if lookback is None or lookback + 1 >= iv.n_rows:
        return iv
    k = lookback + 1
    return VolHistory(
        timestamps=iv.timestamps[-k:], vols=iv.vols[-k:], names=iv.names, file_unit=iv.file_unit,
        sources=iv.sources, notes=iv.notes, dropped_rows=iv.dropped_rows,
    )


def _ceil_step(value: float, step: float | None) -> float:
    if step is None:
        return value
    return math.ceil(round(value / step, 9)) * step


def _context(what: str, err: InvalidInputError) -> InvalidInputError:
    return InvalidInputError(f"{what}: {err}")


def _stamp(ts: np.datetime64, intraday: bool) -> str:
    text = str(ts.astype("datetime64[s]"))  # 2026-08-17T00:00:00
    day = text[:10].replace("-", "")
    return f"{day}T{text[11:13]}{text[14:16]}Z" if intraday else day


def _bump_version(base_version: str, stamp: str) -> str:
    root = base_version.split("+", 1)[0]
    candidate = f"{root}+cal.{stamp}"
    if base_version == candidate or base_version.startswith(candidate + "."):
        # recalibrated again at the same stamp: count up after the base's counter
        tail = base_version[len(candidate) + 1 :]
        candidate = f"{candidate}.{int(tail) + 1 if tail.isdigit() else 2}"
    if len(candidate) > _VERSION_MAX:
        raise InvalidInputError(
            f"The bumped version {candidate!r} is longer than {_VERSION_MAX} characters; pass version= explicitly."
        )
    return candidate


def _fmt(x: float) -> str:
    return f"{x:.6g}"


# ------------------------------------------------------------------------- core


def _calibrate(
    *,
    history: PriceHistory,
    base: ParameterSet,
    method: Literal["var", "es"],
    confidence: float,
    horizon: int,
    horizon_name: str,
    lookback: int | None,
    lookback_name: str,
    filtered: bool,
    ewma_lambda: float,
    overlapping: bool,
    iv_history: VolHistory | None,
    shrinkage: float | Literal["ledoit-wolf"],
    shrinkage_target: Literal["identity", "constant"],
    apc: APCSettings | None,
    rounding: float | None,
    name: str | None,
    version: str | None,
    intraday: bool,
) -> Calibration:
    if method not in ("var", "es"):
        raise InvalidInputError(f"method must be 'var' or 'es'; got {method!r}.")
    a = confidence_level(confidence)
    h = positive_int(horizon, name=horizon_name)
    lam = decay_factor(ewma_lambda, name="ewma_lambda")
    if not isinstance(history, PriceHistory):
        raise InvalidInputError(
            f"history must be a PriceHistory (see load_history); got {type(history).__name__}."
        )
    if not isinstance(base, ParameterSet):
        raise InvalidInputError(f"base must be a ParameterSet (see params.load); got {type(base).__name__}.")
    if iv_history is not None and not isinstance(iv_history, VolHistory):
        raise InvalidInputError(
            f"iv_history must be a VolHistory (see load_implied_vol_history); got {type(iv_history).__name__}."
        )
    if apc is not None and not isinstance(apc, APCSettings):
        raise InvalidInputError(f"apc must be an APCSettings; got {type(apc).__name__}.")
    if rounding is not None and not (isinstance(rounding, (int, float)) and 0 < rounding < 0.1):
        raise InvalidInputError(f"rounding must be a step in (0, 0.1), e.g. 0.005; got {rounding!r}.")
    if isinstance(shrinkage, str):
        if shrinkage != "ledoit-wolf":
            raise InvalidInputError(f"shrinkage must be a number in [0, 1] or 'ledoit-wolf'; got {shrinkage!r}.")
    else:
        unit_interval(shrinkage, name="shrinkage")
    if iv_history is not None and iv_history.bar_seconds != history.bar_seconds:
        raise InvalidInputError(
            f"iv_history bars are {iv_history.bar_seconds} s apart but price bars {history.bar_seconds} s; "
            f"the MPOR of {h} bars would mean different times. Load both at the same frequency."
        )

    covered = [cc for cc in base.combined_commodities if cc.underlying in history.names]
    if not covered:
        raise InvalidInputError(
            f"No combined commodity of {base.label} has its underlying in the history "
            f"(history: {list(history.names)}; set: {sorted({cc.underlying for cc in base.combined_commodities})}). "
            "Load the matching underlyings."
        )
    underlyings = tuple(dict.fromkeys(cc.underlying for cc in covered))
    window = _window(history.select(underlyings), lookback, name=lookback_name)

    # ---- price scan ranges per underlying (raw, floor, stressed)
    raw: dict[str, ScanRange] = {}
    floors: dict[str, float | None] = {}
    stressed: dict[str, float | None] = {}
    settings = dict(method=method, confidence=a, horizon=h, overlapping=overlapping)
    for u in underlyings:
        where = f"calibrating {u} over {window.date_range()}"
        try:
            raw[u] = price_scan_range(
                log_returns(window.column(u)), filtered=filtered, decay=lam, **settings  # type: ignore[arg-type]
            )
            floors[u] = stressed[u] = None
            if apc is not None and apc.floor_lookback is not None:
                long = _window(history.select([u]), apc.floor_lookback, name="APCSettings.floor_lookback")
                floors[u] = price_scan_range(log_returns(long.column(u)), **settings).range  # type: ignore[arg-type]
            if apc is not None and apc.stress_period is not None:
                start, end = apc.stress_period
                period = history.select([u]).between(start, end)
                if period.n_rows < 2:
                    raise InvalidInputError(f"stress period {start}..{end} holds {period.n_rows} rows of {u}")
                stressed[u] = price_scan_range(log_returns(period.column(u)), **settings).range  # type: ignore[arg-type]
        except InvalidInputError as err:
            raise _context(where, err) from None

    # ---- vol scan ranges per underlying
    vol: dict[str, dict[str, ScanRange]] = {}
    if iv_history is not None:
        iv_window = _vol_window(iv_history, lookback)
        for u in underlyings:
            if u not in iv_window.names:
                continue
            levels = iv_window.column(u)
            kinds = {"absolute", "relative"}
            try:
                vol[u] = {
                    k: level_change_scan_range(levels, kind=k, **settings)  # type: ignore[arg-type]
                    for k in sorted(kinds)
                }
            except InvalidInputError as err:
                raise _context(f"calibrating the implied vol of {u} over {iv_window.date_range()}", err) from None

    # ---- edit the base set
    data: dict[str, Any] = base.model_dump(mode="json")
    last_close = {u: float(window.column(u)[-1]) for u in underlyings}
    results: list[CommodityCalibration] = []
    for i, cc in enumerate(base.combined_commodities):
        if cc.underlying not in underlyings:
            continue
        u = cc.underlying
        grid = cc.grid
        value = raw[u].range
        outcome: APCOutcome | None = None
        if apc is not None:
            current = value
            floor = floors[u]
            if stressed[u] is not None:
                if apc.stress_weight is not None:
                    current = stressed_weighted(current=value, stressed=stressed[u], weight=apc.stress_weight)
                else:
                    floor = stressed[u] if floor is None else max(floor, stressed[u])
            if isinstance(grid, SpanGrid):
                previous = grid.price_scan_range if grid.price_scan_kind == "relative" else (
                    grid.price_scan_range / last_close[u]
                )
            else:
                previous = grid.price_range
            outcome = apply_anti_procyclicality(
                raw=current, floor=floor, buffer=apc.buffer, buffer_released=apc.buffer_released,
                previous=previous if apc.max_change is not None else None, max_change=apc.max_change,
            )
            value = outcome.value
        value = _ceil_step(value, rounding)
        g = data["combined_commodities"][i]["grid"]
        vol_est: ScanRange | None = None
        if isinstance(grid, SpanGrid):
            if value >= 1.0 or grid.extreme_multiple * value >= 1.0:
                raise InvalidInputError(
                    f"The calibrated price scan range of {cc.name} is {value:.4f} ({method.upper()} {a} over "
                    f"{h} {'bars' if intraday else 'days'}); with extreme_multiple {grid.extreme_multiple} the extreme move "
                    f"{grid.extreme_multiple} x {value:.4f} = {grid.extreme_multiple * value:.4f} would take the "
                    "price to or below zero. Lower the confidence or the MPOR, or use a base set with a "
                    f"smaller extreme_multiple (below {1.0 / value:.3f})."
                )
            written = value if grid.price_scan_kind == "relative" else value * last_close[u]
            g["price_scan_range"] = written
            if u in vol:
                vol_est = vol[u][grid.vol_scan_kind]
                g["vol_scan_range"] = vol_est.range
        elif not isinstance(grid, ExchangeGrid):
            raise InvalidInputError(
                f"calibrate_parameter_set recalibrates scenario-grid sets, but {cc.name} of {base.label} uses a "
                f"'{grid.family}' grid (a VaR/ES model set). Rebuild such a set with build_var_parameter_set "
                "(spanlike calibrate --model var)."
            )
        else:
            smallest_ext = min((abs(m) for m in grid.extended_moves), default=1.0)
            if value >= min(1.0, smallest_ext):
                raise InvalidInputError(
                    f"The calibrated price range of {cc.name} is {value:.4f}, not below the smallest extended "
                    f"move {smallest_ext} (or 1.0) of its exchange grid. Lower the confidence or the MPOR, or "
                    "use a base set whose extended moves lie beyond it."
                )
            written = value
            g["price_range"] = value
            if u in vol:
                vol_est = vol[u]["relative"]
                g["vol_shock_up"] = vol_est.up.measure(method)
                g["vol_shock_down"] = vol_est.down.measure(method)
        results.append(
            CommodityCalibration(
                combined_commodity=cc.name, underlying=u, price=raw[u], price_scan_range=value,
                written=written, apc=outcome, vol=vol_est,
            )
        )

    # ---- correlation
    if shrinkage == "ledoit-wolf":
        intensity = ledoit_wolf_intensity(log_returns(window.closes)) if len(underlyings) > 1 else 0.0
    else:
        intensity = float(shrinkage)
    u_corr: np.ndarray | None = None
    repair: CorrelationRepair | None = None
    if len(underlyings) > 1:
        c = correlation_of_returns(log_returns(window.closes))
        u_corr = nearest_correlation(shrink_correlation(c, intensity=intensity, target=shrinkage_target)).matrix
    base_corr = base.correlation
    cc_names: list[str] = list(base_corr.combined_commodities) if base_corr is not None else []
    for cc in covered:
        if cc.name not in cc_names:
            cc_names.append(cc.name)
    order = {cc.name: k for k, cc in enumerate(base.combined_commodities)}
    if base_corr is None:
        cc_names.sort(key=lambda n: order[n])
    corr_note = "unchanged from the base set"
    if len(cc_names) > 1:
        by_name = {cc.name: cc for cc in base.combined_commodities}
        m = np.eye(len(cc_names))
        for p, a_name in enumerate(cc_names):
            for q, b_name in enumerate(cc_names):
                if p == q:
                    continue
                ua, ub = by_name[a_name].underlying, by_name[b_name].underlying
                if ua in underlyings and ub in underlyings:
                    m[p, q] = 1.0 if ua == ub else u_corr[underlyings.index(ua), underlyings.index(ub)]  # type: ignore[index]
                elif base_corr is not None and a_name in base_corr.combined_commodities and (
                    b_name in base_corr.combined_commodities
                ):
                    bc = base_corr.combined_commodities
                    m[p, q] = base_corr.matrix[bc.index(a_name)][bc.index(b_name)]
                else:
                    missing = ua if ua not in underlyings else ub
                    raise InvalidInputError(
                        f"No correlation for the pair ({a_name}, {b_name}): the history lacks {missing} and "
                        f"the base set {base.label} gives none. Add {missing} to the history."
                    )
        repair = nearest_correlation(m)
        data["correlation"] = {
            "combined_commodities": cc_names,
            "matrix": [[float(v) for v in row] for row in repair.matrix],
        }
        kept = [n for n in cc_names if by_name[n].underlying not in underlyings]
        corr_note = (
            f"one-bar log returns of {', '.join(underlyings)} over {window.date_range()}, shrunk towards "
            f"{shrinkage_target} with intensity {_fmt(intensity)}"
            + (" (Ledoit-Wolf)" if shrinkage == "ledoit-wolf" else "")
            + "; combined commodities on one underlying correlate 1 (same USD price risk)"
            + (f"; pairs with {kept} kept from the base set" if kept else "")
            + (
                f"; assembled matrix repaired (Higham 2002), largest change {_fmt(repair.max_abs_change)}"
                if repair.repaired
                else "; no repair needed"
            )
        )

    # ---- metadata
    last = window.last
    as_of = dt.date.fromisoformat(str(last)[:10])
    new_version = version if version is not None else _bump_version(base.metadata.version, _stamp(last, intraday))
    meta = data["metadata"]
    meta["name"] = name if name is not None else base.metadata.name
    meta["version"] = new_version
    meta["as_of"] = as_of.isoformat()
    suffix = " Scan ranges and correlations recalibrated from market history (see provenance)."
    if not meta.get("description", "").endswith(suffix):
        meta["description"] = (meta.get("description", "") + suffix).strip()
    src = f"spanlike.calibration on {', '.join(history.sources) or 'a price history'} ({window.date_range()})"
    meta["sources"] = [s for s in meta.get("sources", []) if not s.startswith("spanlike.calibration")] + [src]
    bar = "daily" if window.bar_seconds == _DAY else f"{window.bar_seconds} s"
    prov: dict[str, str] = dict(meta.get("provenance", {}))
    prov.update(
        {
            "data": (
                f"{', '.join(history.sources) or 'price history'}: {', '.join(underlyings)} closes "
                f"{window.date_range()}, {window.n_rows} {bar} bars ({window.n_rows - 1} one-bar returns)"
                + (f"; loading notes: {' | '.join(history.notes)}" if history.notes else "")
            ),
            "calibration.base_set": base.label,
            "calibration.method": (
                ("filtered historical simulation (EWMA-rescaled returns, Hull-White 1998)" if filtered
                 else "historical simulation")
                + f", {method.upper()} of relative price moves exp(R)-1, max of up and down tails"
            ),
            "calibration.confidence": _fmt(a),
            "calibration.mpor": f"{h} {'days' if not intraday else 'bars'} ({'overlapping' if overlapping else 'non-overlapping'} windows)",
            "calibration.ewma_lambda": _fmt(lam) if filtered else f"{_fmt(lam)} (not used: filtered = false)",
            "calibration.filtered": str(bool(filtered)).lower(),
            "calibration.quantile": QUANTILE_CONVENTION,
            "calibration.apc": apc.describe() if apc is not None else "none",
            "price_scan_range": "; ".join(
                f"{r.combined_commodity} {_fmt(r.written)}"
                + (f" (relative {_fmt(r.price_scan_range)} x last close {_fmt(last_close[r.underlying])})"
                   if r.written != r.price_scan_range else "")
                + f" [raw {_fmt(r.price.range)}, {r.price.binding} tail"
                + (f"; APC {r.apc.describe()}" if r.apc is not None else "")
                + (f"; rounded up to a multiple of {rounding}" if rounding is not None else "")
                + "]"
                for r in results
            ),
            "correlation": corr_note if len(cc_names) > 1 else prov.get("correlation", "none"),
        }
    )
    if vol and iv_history is not None:
        parts = []
        for r in results:
            if r.vol is None:
                continue
            g = base.commodity(r.combined_commodity).grid
            if isinstance(g, SpanGrid):
                unit = "vol points as decimals" if g.vol_scan_kind == "absolute" else "relative"
                parts.append(f"{r.combined_commodity} {_fmt(r.vol.range)} ({unit}, {r.vol.binding} tail)")
            else:
                parts.append(
                    f"{r.combined_commodity} shock up {_fmt(r.vol.up.measure(method))} / down "
                    f"{_fmt(r.vol.down.measure(method))} (relative, at the grid's {g.term_pivot_days:g}-day pivot)"
                )
        prov["vol_scan_range"] = (
            f"plain HS {method.upper()} {_fmt(a)} of {h}-bar implied-vol changes, "
            f"{', '.join(iv_history.sources) or 'implied-vol history'} {iv_window.date_range()}: " + "; ".join(parts)
        )
    meta["provenance"] = prov
    ps = params.from_mapping(data, source=f"calibration of {base.label}")
    return Calibration(
        parameter_set=ps,
        commodities=tuple(results),
        underlying_correlation=u_corr,
        underlyings=underlyings,
        shrinkage_intensity=intensity,
        correlation_repair=repair,
    )


# ------------------------------------------------------------------------- public


def calibrate(
    *,
    history: PriceHistory,
    base: ParameterSet,
    method: Literal["var", "es"],
    confidence: float,
    mpor_days: int,
    filtered: bool = False,
    ewma_lambda: float = RISKMETRICS_DAILY_DECAY,
    lookback_days: int | None = None,
    overlapping: bool = True,
    iv_history: VolHistory | None = None,
    shrinkage: float | Literal["ledoit-wolf"] = 0.0,
    shrinkage_target: Literal["identity", "constant"] = "identity",
    apc: APCSettings | None = None,
    rounding: float | None = None,
    name: str | None = None,
    version: str | None = None,
) -> Calibration:
    """Calibrate from daily history; like :func:`calibrate_parameter_set` but also returns the numbers.

    Returns
    -------
    Calibration
    """
    if isinstance(history, PriceHistory) and history.n_rows > 1 and history.bar_seconds != _DAY:
        raise InvalidInputError(
            f"calibrate_parameter_set takes daily bars (MPOR in days); this history's bars are "
            f"{history.bar_seconds} s apart. Use recalibrate_intraday(..., mpor_bars=...) for intraday bars."
        )
    return _calibrate(
        history=history, base=base, method=method, confidence=confidence, horizon=mpor_days,
        horizon_name="mpor_days", lookback=lookback_days, lookback_name="lookback_days", filtered=filtered,
        ewma_lambda=ewma_lambda, overlapping=overlapping, iv_history=iv_history, shrinkage=shrinkage,
        shrinkage_target=shrinkage_target, apc=apc, rounding=rounding, name=name, version=version,
        intraday=False,
    )


def calibrate_parameter_set(
    *,
    history: PriceHistory,
    base: ParameterSet,
    method: Literal["var", "es"],
    confidence: float,
    mpor_days: int,
    filtered: bool = False,
    ewma_lambda: float = RISKMETRICS_DAILY_DECAY,
    lookback_days: int | None = None,
    overlapping: bool = True,
    iv_history: VolHistory | None = None,
    shrinkage: float | Literal["ledoit-wolf"] = 0.0,
    shrinkage_target: Literal["identity", "constant"] = "identity",
    apc: APCSettings | None = None,
    rounding: float | None = None,
    name: str | None = None,
    version: str | None = None,
) -> ParameterSet:
    """A new parameter set with scan ranges and correlations calibrated from daily history.

    Parameters
    ----------
    history : PriceHistory
        Daily closes (:func:`~spanlike.calibration.history.load_history`).
    base : ParameterSet
        Set to start from; CCs whose underlying is not in ``history`` keep their values.
    method : {"var", "es"}
        Risk measure of the MPOR moves (convention in :data:`QUANTILE_CONVENTION`).
    confidence : float
        In (0, 1), e.g. 0.99.
    mpor_days : int
        Margin period of risk in days, >= 1.
    filtered : bool
        Filtered historical simulation (EWMA-rescaled returns).
    ewma_lambda : float
        EWMA decay for filtering, in (0, 1) (RiskMetrics daily 0.94).
    lookback_days : int, optional
        Use only the last ``lookback_days`` daily returns (default: all).
    overlapping : bool
        Overlapping MPOR windows (default) or disjoint ones.
    iv_history : VolHistory, optional
        Implied vols (e.g. DVOL) for the vol scan ranges.
    shrinkage : float or "ledoit-wolf"
        Correlation shrinkage intensity in [0, 1], or the Ledoit-Wolf intensity.
    shrinkage_target : {"identity", "constant"}
    apc : APCSettings, optional
        Anti-procyclicality; the change cap is relative to ``base``'s ranges.
    rounding : float, optional
        Round price scan ranges *up* to a multiple of this step (e.g. 0.005).
    name, version : str, optional
        Metadata of the new set (default: base name, bumped version).

    Returns
    -------
    ParameterSet
        Validated by :func:`spanlike.params.from_mapping`.

    Raises
    ------
    InvalidInputError
        Bad arguments (method, confidence outside (0, 1), ``mpor_days`` < 1,
        lambda), intraday history, too little data for the confidence, no
        underlying in common, or a calibrated range the grid cannot take.
    ParameterSetError
        The edited set fails validation (should not happen; reported as is).

    Examples
    --------
    >>> from spanlike.calibration import load_history, calibrate_parameter_set   # doctest: +SKIP
    >>> ps = calibrate_parameter_set(history=load_history(["BTC-USD.csv", "ETH-USD.csv"]),
    ...     base=params.load("crypto-span"), method="es", confidence=0.99, mpor_days=2)  # doctest: +SKIP
    """
    return calibrate(
        history=history, base=base, method=method, confidence=confidence, mpor_days=mpor_days,
        filtered=filtered, ewma_lambda=ewma_lambda, lookback_days=lookback_days, overlapping=overlapping,
        iv_history=iv_history, shrinkage=shrinkage, shrinkage_target=shrinkage_target, apc=apc,
        rounding=rounding, name=name, version=version,
    ).parameter_set


def recalibrate_intraday(
    *,
    history: PriceHistory,
    base: ParameterSet,
    method: Literal["var", "es"],
    confidence: float,
    mpor_bars: int,
    lookback_bars: int | None = None,
    filtered: bool = False,
    ewma_lambda: float = RISKMETRICS_DAILY_DECAY,
    overlapping: bool = True,
    iv_history: VolHistory | None = None,
    shrinkage: float | Literal["ledoit-wolf"] = 0.0,
    shrinkage_target: Literal["identity", "constant"] = "identity",
    apc: APCSettings | None = None,
    rounding: float | None = None,
    version: str | None = None,
) -> ParameterSet:
    """Recalibrate from the latest intraday bars; the version gets a date-time stamp.

    Same calibration as :func:`calibrate_parameter_set` with the MPOR and the
    look-back counted in bars. ``as_of`` is the date of the last bar and the
    version becomes ``<root>+cal.<YYYYMMDD>T<HHMM>Z`` (unless given). With
    ``apc.max_change`` the change is capped against ``base`` (the currently
    published set), which is how an intraday update is usually limited.
    ``ewma_lambda`` 0.94 is a daily constant; choose one for the bar length.

    Parameters
    ----------
    mpor_bars : int
        MPOR in bars, >= 1.
    lookback_bars : int, optional
        Use only the last ``lookback_bars`` returns (default: all).
    Others
        As in :func:`calibrate_parameter_set`.

    Returns
    -------
    ParameterSet

    Raises
    ------
    InvalidInputError
        As :func:`calibrate_parameter_set`; also daily bars (use that function).
    """
    if isinstance(history, PriceHistory) and history.n_rows > 1 and not history.is_intraday:
        raise InvalidInputError(
            "recalibrate_intraday takes intraday bars; this history is daily. Use calibrate_parameter_set(..., mpor_days=...)."
        )
    return _calibrate(
        history=history, base=base, method=method, confidence=confidence, horizon=mpor_bars,
        horizon_name="mpor_bars", lookback=lookback_bars, lookback_name="lookback_bars", filtered=filtered,
        ewma_lambda=ewma_lambda, overlapping=overlapping, iv_history=iv_history, shrinkage=shrinkage,
        shrinkage_target=shrinkage_target, apc=apc, rounding=rounding, name=None, version=version,
        intraday=True,
    ).parameter_set

