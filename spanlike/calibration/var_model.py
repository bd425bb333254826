"""Build a VaR/ES-model parameter set (:mod:`spanlike.params.var_model`) from market history.

:func:`build_var_parameter_set` turns daily closes (and optionally implied
vols) into a self-contained set whose combined commodities use ``historical``
grids over one joint scenario set:

* **price moves**: for the MPOR ``h`` days and the window's one-day log
  returns ``r_t`` (optionally FHS-rescaled, ``r_t sigma_now / sigma_t``,
  :func:`~spanlike.calibration.risk_measures.filtered_returns`), the h-day
  relative moves ``exp(r_{t+1} + ... + r_{t+h}) - 1`` of every underlying on
  the same days (joint scenarios keep the cross-underlying dependence),
  overlapping windows by default; each scenario is dated by the last day of its
  window;
* **vol moves** (with an implied-vol history): relative h-day changes
  ``v_end / v_start - 1`` of the implied-vol index of each underlying it
  covers, over the same windows, never filtered; underlyings it does not
  cover get 0 (vol unchanged), recorded in the provenance. The window is
  limited to the dates the implied-vol history covers, and it must have every
  date there;
* **stress component** (optional ``stress_period``): the unfiltered h-day
  moves of every window that *ends* inside the period, from the whole history
  (not only the look-back), scaled by ``stress_scale``;
* the set keeps the base set's combined commodities (name, underlying,
  settlement, interest rate, liquidity section), margin relation and isolated
  rules; SPAN/exchange sections, inter spreads and the correlation matrix are
  dropped (the joint scenarios replace them).

The quantile convention is the calibration's
(:data:`~spanlike.calibration.calibrate.QUANTILE_CONVENTION`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

import numpy as np

from spanlike import params
from spanlike.params import ParameterSet
from spanlike.calibration._validate import confidence_level, decay_factor, positive_int
from spanlike.calibration.calibrate import QUANTILE_CONVENTION
from spanlike.calibration.history import PriceHistory, VolHistory
from spanlike.calibration.returns import horizon_sums, log_returns
from spanlike.calibration.risk_measures import filtered_returns
from spanlike.calibration.volatility import RISKMETRICS_DAILY_DECAY
from spanlike.errors import InvalidInputError

__all__ = ["build_var_parameter_set", "joint_moves"]

_DAY = 86_400
_VERSION_MAX = 32


def _end_indices(n_prices: int, horizon: int, overlapping: bool) -> np.ndarray:
    """Price index at which each h-day window ends, oldest first (as :func:`horizon_sums` orders them)."""
    if overlapping:
        return np.arange(horizon, n_prices)
    return np.arange(n_prices - 1, horizon - 1, -horizon)[::-1]


def _iso(ts: np.datetime64) -> str:
    return str(ts.astype("datetime64[D]"))


def joint_moves(
    closes: np.ndarray,
    *,
    horizon: int,
    overlapping: bool = True,
    filtered: bool = False,
    decay: float = RISKMETRICS_DAILY_DECAY,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint h-day relative price moves of several underlyings and the price index each window ends at.

    Parameters
    ----------
    closes : numpy.ndarray
        Shape (T, N), positive, time on axis 0.
    horizon : int
        MPOR in bars, >= 1.
    overlapping : bool
        Every window (default) or disjoint ones anchored at the last close.
    filtered : bool
        FHS: rescale one-bar log returns to today's EWMA vol first.
    decay : float
        EWMA lambda when ``filtered``.

    Returns
    -------
    moves : numpy.ndarray
        Shape (m, N), ``exp(R) - 1`` of the h-bar log returns ``R``.
    ends : numpy.ndarray of int
        Shape (m,), row of ``closes`` at which each window ends.
    """
    r = log_returns(closes)
    if filtered:
        r = filtered_returns(r, decay=decay)
    sums = horizon_sums(r, horizon=horizon, overlapping=overlapping)
    ends = _end_indices(closes.shape[0], horizon, overlapping)
    assert ends.shape[0] == sums.shape[0]
    return np.expm1(sums), ends


def _vol_moves(
    iv: VolHistory, timestamps: np.ndarray, underlyings: list[str], starts: np.ndarray, ends: np.ndarray, *, what: str
) -> tuple[np.ndarray, list[str]]:
    """Relative implied-vol changes per window (zeros for underlyings the IV history lacks)."""
    out = np.zeros((ends.shape[0], len(underlyings)))
    covered: list[str] = []
    pos = np.searchsorted(iv.timestamps, timestamps)
    found = (pos < iv.n_rows) & (iv.timestamps[np.minimum(pos, iv.n_rows - 1)] == timestamps)
    for k, u in enumerate(underlyings):
        if u not in iv.names:
            continue
        needed = np.union1d(starts, ends)
        missing = needed[~found[needed]]
        if missing.size:
            raise InvalidInputError(
                f"The implied-vol history ({iv.date_range()}) has no {u} value on {_iso(timestamps[missing[0]])}, "
                f"which the {what} needs ({missing.size} date(s) missing). Fill the gap in the file or shorten "
                "the look-back so the window lies inside the implied-vol history."
            )
        level = iv.column(u)[pos[needed]]
        by_index = dict(zip(needed.tolist(), level.tolist()))
        out[:, k] = np.array([by_index[e] / by_index[s] - 1.0 for s, e in zip(starts, ends)])
        covered.append(u)
    return out, covered


def _version(base_version: str, stamp: str, version: str | None) -> str:
    if version is not None:
        return version
    candidate = f"{base_version.split('+', 1)[0]}+var.{stamp}"
    if len(candidate) > _VERSION_MAX:
        raise InvalidInputError(
            f"The derived version {candidate!r} is longer than {_VERSION_MAX} characters; pass version= explicitly."
        )
    return candidate


def _as_date(value: Any, *, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInputError(f"{name} must be an ISO date such as 2020-03-01; got {value!r}.") from None


def build_var_parameter_set(
    *,
    history: PriceHistory,
    base: ParameterSet,
    measure: Literal["var", "es"],
    confidence: float,
    mpor_days: int,
    filtered: bool = False,
    lookback_days: int | None = None,
    ewma_lambda: float = RISKMETRICS_DAILY_DECAY,
    overlapping: bool = True,
    iv_history: VolHistory | None = None,
    stress_period: tuple[str | dt.date, str | dt.date] | None = None,
    stress_scale: float = 1.0,
    stress_weight: float = 1.0,
    stress_combine: Literal["max", "add"] = "max",
    drop_uncovered: bool = False,
    min_scenario_vol: float = 0.01,
    name: str | None = None,
    version: str | None = None,
) -> ParameterSet:
    """A VaR/ES-model parameter set built from daily history (module docstring).

    Parameters
    ----------
    history : PriceHistory
        Daily closes (USD) of the base set's underlyings.
    base : ParameterSet
        Supplies combined commodities, margin relation, isolated rules and liquidity sections.
    measure : {"var", "es"}
        Risk measure of the margin model.
    confidence : float
        In (0, 1), e.g. 0.99.
    mpor_days : int
        Margin period of risk in days, 1..30: scenario horizon and time advance.
    filtered : bool
        Filtered historical simulation (EWMA-rescaled returns, Hull & White 1998).
    lookback_days : int, optional
        Use the last ``lookback_days`` one-day returns (default: all).
    ewma_lambda : float
        EWMA decay for filtering, in (0, 1).
    overlapping : bool
        Overlapping MPOR windows (default) or disjoint ones.
    iv_history : VolHistory, optional
        Implied vols (e.g. DVOL, annual decimals) for the vol moves.
    stress_period : (date, date), optional
        Inclusive ISO dates; windows ending in it become the stress scenarios.
    stress_scale, stress_weight : float
        Stress move multiplier in (0, 10] and weight in (0, 1].
    stress_combine : {"max", "add"}
        How the stress loss combines with the VaR/ES (:mod:`spanlike.params.var_model`).
    drop_uncovered : bool
        Leave out combined commodities whose underlying the history lacks
        (default: that is an error naming them).
    min_scenario_vol : float
        Floor of a falling scenario vol, annual decimal, in (0, 1).
    name, version : str, optional
        Metadata of the new set (default ``<base name>-var`` and
        ``<base version root>+var.<YYYYMMDD of the last close>``).

    Returns
    -------
    ParameterSet
        Validated; ``var_model`` set and every combined commodity on a historical grid.

    Raises
    ------
    InvalidInputError
        Bad arguments, intraday history, an uncovered underlying, too few
        scenarios for the confidence, an implied-vol history with gaps in the
        window, or a stress period without any window.
    ParameterSetError
        The assembled set fails validation (reported as is).

    Examples
    --------
    >>> from spanlike.calibration import load_history                       # doctest: +SKIP
    >>> ps = build_var_parameter_set(history=load_history("spanlike/data/synthetic_history.csv"),
    ...     base=params.load("crypto-span"), measure="es", confidence=0.99, mpor_days=2)  # doctest: +SKIP
    """
    if measure not in ("var", "es"):
        raise InvalidInputError(f"measure must be 'var' or 'es'; got {measure!r}.")
    a = confidence_level(confidence)
    h = positive_int(mpor_days, name="mpor_days")
    if h > 30:
        raise InvalidInputError(f"mpor_days must be at most 30 days; got {h}.")
    lam = decay_factor(ewma_lambda, name="ewma_lambda")
    if not isinstance(history, PriceHistory):
        raise InvalidInputError(f"history must be a PriceHistory (see load_history); got {type(history).__name__}.")
    if not isinstance(base, ParameterSet):
        raise InvalidInputError(f"base must be a ParameterSet (params.load(...)); got {type(base).__name__}.")
    if iv_history is not None and not isinstance(iv_history, VolHistory):
        raise InvalidInputError(
            f"iv_history must be a VolHistory (see load_implied_vol_history); got {type(iv_history).__name__}."
        )
    if stress_combine not in ("max", "add"):
        raise InvalidInputError(f"stress_combine must be 'max' or 'add'; got {stress_combine!r}.")
    if history.n_rows > 1 and history.bar_seconds != _DAY:
        raise InvalidInputError(
            f"build_var_parameter_set takes daily closes (MPOR in days); this history's bars are "
            f"{history.bar_seconds} s apart."
        )

    # ---- which combined commodities the history covers
    uncovered = sorted({cc.underlying for cc in base.combined_commodities} - set(history.names))
    if uncovered and not drop_uncovered:
        raise InvalidInputError(
            f"The history ({list(history.names)}) has no closes for {uncovered}, underlying(s) of {base.label}. "
            "Add their history, or pass drop_uncovered=True (CLI: --drop-uncovered) to leave those combined "
            "commodities out of the new set."
        )
    kept = [cc for cc in base.combined_commodities if cc.underlying in history.names]
    if not kept:
        raise InvalidInputError(f"The history ({list(history.names)}) covers no underlying of {base.label}.")
    underlyings = list(dict.fromkeys(cc.underlying for cc in kept))
    full = history.select(underlyings)

    # ---- the window
    window = full
    if lookback_days is not None:
        n = positive_int(lookback_days, name="lookback_days", minimum=h)
        if n + 1 > full.n_rows:
            raise InvalidInputError(
                f"lookback_days={n} needs {n + 1} closes but the history has {full.n_rows} ({full.date_range()}); "
                "shorten lookback_days or load more history."
            )
        window = full.tail(n + 1)
    iv_note = "none: vols unchanged in every scenario"
    if iv_history is not None and set(iv_history.names) & set(underlyings):
        lo = max(window.timestamps[0], iv_history.timestamps[0])
        hi = min(window.timestamps[-1], iv_history.timestamps[-1])
        if lo >= hi:
            raise InvalidInputError(
                f"The implied-vol history ({iv_history.date_range()}) does not overlap the price window "
                f"({window.date_range()}); use histories of the same period."
            )
        window = window.between(lo, hi)
    if window.n_rows < h + 1:
        raise InvalidInputError(
            f"The window {window.date_range()} has {window.n_rows} closes, too few for one {h}-day move."
        )
    moves, ends = joint_moves(window.closes, horizon=h, overlapping=overlapping, filtered=filtered, decay=lam)
    n_scen = moves.shape[0]
    if round(n_scen * (1.0 - a), 9) < 1.0:
        need = int(math.ceil(round(1.0 / (1.0 - a), 9)))
        raise InvalidInputError(
            f"The window {window.date_range()} gives {n_scen} {h}-day scenarios, which leave no observation in "
            f"the {1 - a:.4g} tail at confidence {a}; need at least {need}. Lengthen lookback_days or lower "
            "the confidence."
        )
    dates = [_iso(window.timestamps[e]) for e in ends]
    vol_moves: np.ndarray | None = None
    if iv_history is not None and set(iv_history.names) & set(underlyings):
        vol_moves, covered = _vol_moves(
            iv_history, window.timestamps, underlyings, ends - h, ends, what="scenario window"
        )
        flat = [u for u in underlyings if u not in covered]
        iv_note = (
            f"relative {h}-day changes of {', '.join(iv_history.sources) or 'the implied-vol history'} for "
            f"{', '.join(covered)} (unfiltered)" + (f"; {', '.join(flat)} vol unchanged (not covered)" if flat else "")
        )

    set_name = f"{'fhs' if filtered else 'hs'}_{dates[0]}_{dates[-1]}"
    method_text = (
        "filtered historical simulation (one-day log returns rescaled to the EWMA volatility of the last day, "
        f"lambda {lam:g}; Hull & White 1998)" if filtered else "historical simulation (plain returns)"
    )
    scenarios: dict[str, Any] = {
        "name": set_name,
        "underlyings": underlyings,
        "dates": dates,
        "price_moves": moves.tolist(),
        "filtered": bool(filtered),
        "provenance": {
            "data": f"{', '.join(history.sources) or 'price history'}: {', '.join(underlyings)} daily closes "
                    f"{window.date_range()} ({window.n_rows} closes)",
            "method": method_text,
            "mpor": f"{h} days, {'overlapping' if overlapping else 'non-overlapping'} windows; "
                    "each scenario dated by the last day of its window",
            "price_moves": "exp(sum of the window's one-day log returns) - 1, jointly for all underlyings",
            "vol_moves": iv_note,
        },
    }
    if vol_moves is not None:
        scenarios["vol_moves"] = vol_moves.tolist()
        scenarios["vol_move_kind"] = "relative"

    var_model: dict[str, Any] = {"measure": measure, "confidence": a, "mpor_days": h, "scenarios": scenarios}
    stress_note = "none"
    if stress_period is not None:
        if len(stress_period) != 2:
            raise InvalidInputError(f"stress_period must be (start, end) dates; got {stress_period!r}.")
        s0 = _as_date(stress_period[0], name="stress_period start")
        s1 = _as_date(stress_period[1], name="stress_period end")
        if s1 < s0:
            raise InvalidInputError(f"stress_period ends ({s1}) before it starts ({s0}); swap the dates.")
        all_moves, all_ends = joint_moves(full.closes, horizon=h, overlapping=True)
        end_days = full.timestamps[all_ends].astype("datetime64[D]")
        inside = (end_days >= np.datetime64(s0)) & (end_days <= np.datetime64(s1))
        if not inside.any():
            raise InvalidInputError(
                f"No {h}-day window of the history ({full.date_range()}) ends inside the stress period {s0}..{s1}; "
                "choose a period the history covers."
            )
        stress_set: dict[str, Any] = {
            "name": f"stress_{s0}_{s1}",
            "underlyings": underlyings,
            "dates": [_iso(full.timestamps[e]) for e in all_ends[inside]],
            "price_moves": all_moves[inside].tolist(),
            "filtered": False,
            "provenance": {
                "data": f"{', '.join(history.sources) or 'price history'} {s0}..{s1}",
                "method": f"unfiltered {h}-day moves of every window ending in the period",
            },
        }
        stress_vol_note = "vols unchanged"
        if iv_history is not None and set(iv_history.names) & set(underlyings):
            idx = all_ends[inside]
            try:
                sv, cov = _vol_moves(iv_history, full.timestamps, underlyings, idx - h, idx, what="stress period")
            except InvalidInputError:
                sv = None  # the IV index may start after the stress period (DVOL: 2021); say so below
            if sv is not None:
                stress_set["vol_moves"] = sv.tolist()
                stress_set["vol_move_kind"] = "relative"
                stress_vol_note = f"relative implied-vol changes for {', '.join(cov)}"
            else:
                stress_vol_note = "vols unchanged (the implied-vol history does not cover the period)"
        stress_set["provenance"]["vol_moves"] = stress_vol_note
        var_model["stress"] = {
            "scenarios": stress_set, "scale": stress_scale, "weight": stress_weight, "combine": stress_combine,
        }
        stress_note = (
            f"{int(inside.sum())} windows ending {s0}..{s1}, moves x{stress_scale:g}, weight {stress_weight:g}, "
            f"combine {stress_combine}; {stress_vol_note}"
        )

    # ---- the set
    data = base.model_dump(mode="json")
    ccs = []
    for cc in data["combined_commodities"]:
        if cc["underlying"] not in underlyings:
            continue
        cc = {k: v for k, v in cc.items() if k not in ("span", "exchange")}
        cc["grid"] = {
            "family": "historical",
            "scenario_set": set_name,
            "scenario_count": n_scen,
            "time_advance_days": float(h),
            "min_scenario_vol": min_scenario_vol,
        }
        ccs.append(cc)
    data["combined_commodities"] = ccs
    data["inter_spreads"] = []
    data.pop("correlation", None)
    data.pop("joint_move_floor", None)  # the VaR/ES model margins over joint scenarios itself
    data.pop("cross_offsets", None)  # and has no credits or offsets to measure
    if data.get("isolated"):
        rules = [u for u in data["isolated"]["underlyings"] if u["underlying"] in underlyings]
        if rules:
            data["isolated"]["underlyings"] = rules
        else:
            data.pop("isolated")
    data["var_model"] = var_model
    last = window.timestamps[-1]
    meta = data["metadata"]
    meta["name"] = name if name is not None else f"{base.metadata.name}-var"
    meta["version"] = _version(base.metadata.version, _iso(last).replace("-", ""), version)
    meta["as_of"] = _iso(last)
    meta["description"] = (
        f"VaR/ES margin model: {measure.upper()} {a:g} of full-revaluation losses over {n_scen} joint "
        f"{h}-day {'filtered ' if filtered else ''}historical scenarios ({dates[0]}..{dates[-1]}) of "
        f"{', '.join(underlyings)}; built from {base.label}."
    )
    meta["sources"] = [
        f"spanlike.calibration.build_var_parameter_set on {', '.join(history.sources) or 'a price history'} "
        f"({window.date_range()})",
        "VaR/ES over historical scenarios in the manner of CME SPAN 2 and OCC STANS (our implementation)",
    ]
    dropped = [cc.name for cc in base.combined_commodities if cc.underlying not in underlyings]
    meta["provenance"] = {
        "base_set": base.label,
        "model": f"{measure.upper()} at {a:g} over {h}-day MPOR; full revaluation per scenario, time advanced "
                 f"{h} days; account = {measure.upper()} of the joint USD losses",
        "quantile": QUANTILE_CONVENTION,
        "scenarios": f"{n_scen} scenarios, {method_text}",
        "vol_moves": iv_note,
        "stress": stress_note,
        "dropped_combined_commodities": ", ".join(dropped) if dropped else "none",
        "not_carried_over": "SPAN/exchange charges, inter-commodity spreads and the correlation matrix "
                            "of the base set (the joint scenarios replace them)",
    }
    return params.from_mapping(data, source=f"VaR model built from {base.label}")
