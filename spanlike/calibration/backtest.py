"""Backtest a parameter set: margin a book every historical day, compare with the next MPOR's loss.

Replay convention [our choice, documented]
------------------------------------------
The book is the portfolio as held in a market snapshot (its instruments,
forwards ``F_i``, vols ``sigma_i`` and index prices ``I_u``; vols implied from
marks where the snapshot gives no ``mark_iv``). The history supplies daily
closes ``C_u(d)`` of every underlying ``u`` the book holds.

* **Prices** on replay day ``d``: the index is the day's close, ``I_u(d) =
  C_u(d)``, and every forward of ``u`` is scaled by the same ratio,
  ``F_i(d) = F_i x C_u(d) / I_u`` (the snapshot's basis, in relative terms,
  is kept). Strikes, expiries and quantities stay those of the snapshot; a
  USD-sized coin-settled future is converted to coins at each day's forward,
  as the engine does (Deribit's contracts have a fixed USD size).
* **Vols**: kept at the snapshot's; with an implied-vol history ``V_u``, every
  vol of ``u`` is scaled by ``V_u(d) / V_u(d_last)``, the index relative to
  the day the replay is pinned to (below).
* **Time** (``book="fixed"``): the last replayed day ``d_last`` is pinned to
  the snapshot's valuation time ``t_0``; day ``d`` is valued at
  ``t_0 - (d_last - d)``, so time to expiry shrinks day by day as it did and
  no instrument expires during the replay. ``book="rolling"`` values every day
  at ``t_0``: the book is rolled daily into contracts of the same tenor
  (constant time to expiry; strikes still fixed).
* **Margin** on day ``d``: the engine's margin of that day's book under the
  parameter set (``margin_kind``: initial by default, the amount posted).
* **Realised loss** over the MPOR of ``h`` days from ``d``: the same contracts
  revalued with the risk-array formula (:mod:`spanlike.risk_arrays.scenarios`) under
  the *realised* move: forwards times ``C_u(d + h) / C_u(d)``, vols times
  ``V_u(d + h) / V_u(d)`` (or unchanged), time advanced ``h`` days (an option
  expiring within it is worth its intrinsic value), summed as
  ``sum_i q_i R_i`` in each settlement currency and converted to USD at day
  ``d``'s index, as the margin is. ``d + h`` is ``h`` rows later in the
  history (daily bars; the history loader reports gaps).
* **Exception**: realised loss strictly above the margin. Kupiec's POF test
  and the Basel traffic light judge the count at the backtest confidence
  (default: the set's ``var_model.confidence``, else 0.99). With ``h > 1`` and
  ``step_days = 1`` the windows overlap, so exceptions cluster and the tests'
  independence assumption is only approximate; ``step_days = h`` gives
  disjoint windows.

A parameter set calibrated on the same history is backtested in sample.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from spanlike.params import ParameterSet
from spanlike.calibration._validate import confidence_level, positive_int
from spanlike.calibration.history import PriceHistory, VolHistory
from spanlike.calibration.kupiec import KupiecResult, TrafficLight, count_exceptions, kupiec_pof, traffic_light
from spanlike.errors import InvalidInputError

__all__ = ["BacktestResult", "backtest_margin", "realised_loss_usd"]

if TYPE_CHECKING:  # the engine imports lazily: spanlike.aggregation uses this package's risk measures
    from spanlike.market import MarketSnapshot
    from spanlike.portfolio import Portfolio
    from spanlike.revalue import UniverseRisk
    from spanlike.universe import InstrumentTable

_DAY = 86_400


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Outcome of :func:`backtest_margin` (arrays of length ``T``, one entry per observation day).

    Attributes
    ----------
    dates : numpy.ndarray
        ``datetime64[D]``, observation days ``d``.
    margin_usd : numpy.ndarray
        Margin on day ``d`` (``margin_kind``), USD.
    realised_loss_usd : numpy.ndarray
        Loss over the next ``mpor_days`` (positive = loss), USD.
    exceptions : numpy.ndarray of bool
        ``realised_loss_usd > margin_usd``.
    parameter_set : str
        ``name@version``.
    mpor_days, step_days : int
    confidence : float
        Confidence the exception count is judged at.
    margin_kind : {"initial", "maintenance"}
    book : {"fixed", "rolling"}
    kupiec : KupiecResult
    traffic_light : TrafficLight
    notes : tuple of str
    """

    dates: np.ndarray
    margin_usd: np.ndarray
    realised_loss_usd: np.ndarray
    exceptions: np.ndarray
    parameter_set: str
    mpor_days: int
    step_days: int
    confidence: float
    margin_kind: Literal["initial", "maintenance"]
    book: Literal["fixed", "rolling"]
    kupiec: KupiecResult
    traffic_light: TrafficLight
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def observations(self) -> int:
        """Number of backtest days T."""
        return int(self.dates.size)

    @property
    def n_exceptions(self) -> int:
        """Days whose realised loss exceeded the margin."""
        return int(self.exceptions.sum())

    def exception_dates(self) -> list[str]:
        """ISO dates of the exceptions."""
        return [str(d) for d in self.dates[self.exceptions]]

    def summary(self) -> str:
        """A few readable lines: window, exceptions, Kupiec, traffic light."""
        k, tl = self.kupiec, self.traffic_light
        verdict = "rejected" if k.rejects(significance=0.05) else "not rejected"
        worst = int(np.argmax(self.realised_loss_usd - self.margin_usd))
        lines = [
            f"Backtest of {self.parameter_set}: {self.observations} days {self.dates[0]}..{self.dates[-1]} "
            f"({self.book} book, {self.margin_kind} margin vs {self.mpor_days}-day realised loss, every "
            f"{self.step_days} day(s))",
            f"  margin: mean {float(self.margin_usd.mean()):,.2f} USD, min {float(self.margin_usd.min()):,.2f}, "
            f"max {float(self.margin_usd.max()):,.2f}",
            f"  realised loss: max {float(self.realised_loss_usd.max()):,.2f} USD; largest shortfall "
            f"{float(self.realised_loss_usd[worst] - self.margin_usd[worst]):+,.2f} USD on {self.dates[worst]}",
            f"  exceptions: {self.n_exceptions} of {self.observations} ({k.observed_rate:.2%}; expected "
            f"{k.expected_rate:.2%} at confidence {self.confidence:g})",
            f"  Kupiec POF: LR {k.statistic:.4f}, p-value {k.p_value:.4f} -> {verdict} at 5 %{_kupiec_reading(k)}",
            f"  traffic light: {tl.zone} (P(X <= {tl.exceptions}) = {tl.cumulative_probability:.4f}; green up to "
            f"{tl.green_max}, yellow up to {tl.yellow_max})",
        ]
        if self.n_exceptions:
            shown = self.exception_dates()
            lines.append(f"  exception days: {', '.join(shown[:12])}" + (" ..." if len(shown) > 12 else ""))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain Python numbers)."""
        return {
            "parameter_set": self.parameter_set,
            "book": self.book,
            "margin_kind": self.margin_kind,
            "mpor_days": self.mpor_days,
            "step_days": self.step_days,
            "confidence": self.confidence,
            "observations": self.observations,
            "exceptions": self.n_exceptions,
            "exception_dates": self.exception_dates(),
            "kupiec": {
                "statistic": self.kupiec.statistic, "p_value": self.kupiec.p_value,
                "expected_rate": self.kupiec.expected_rate, "observed_rate": self.kupiec.observed_rate,
                "rejected_at_5pct": self.kupiec.rejects(significance=0.05),
            },
            "traffic_light": {
                "zone": self.traffic_light.zone,
                "cumulative_probability": self.traffic_light.cumulative_probability,
                "green_max": self.traffic_light.green_max, "yellow_max": self.traffic_light.yellow_max,
            },
            "days": [
                {"date": str(d), "margin_usd": float(m), "realised_loss_usd": float(x), "exception": bool(e)}
                for d, m, x, e in zip(self.dates, self.margin_usd, self.realised_loss_usd, self.exceptions)
            ],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- helpers


def _kupiec_reading(k: KupiecResult) -> str:
    """What a rejection means: the POF test is two-sided, so too few exceptions reject too."""
    if not k.rejects(significance=0.05):
        return ""
    if k.observed_rate < k.expected_rate:
        return (" (too few exceptions: the margin covers more than the confidence asks, i.e. it is conservative, "
                "not too low)")
    return " (too many exceptions: the margin is too low for this confidence)"


_MPOR_IN_TEXT = re.compile(r"(\d+)[- ]day MPOR|MPOR[^0-9]{0,20}(\d+) days?", re.IGNORECASE)


def set_mpor_days(parameter_set: ParameterSet) -> int | None:
    """The margin period of risk the set records, in days, or None.

    From ``var_model.mpor_days``; else from the provenance a calibration
    writes (``calibration.mpor = "2 days (...)"``) or a bundled set states
    (crypto-span: "... 99% expected shortfall, 2-day MPOR ..."). A backtest
    compares the margin with the loss over this many days.
    """
    vm = parameter_set.var_model
    if vm is not None:
        return int(vm.mpor_days)
    prov = parameter_set.metadata.provenance
    text = prov.get("calibration.mpor", "")
    m = re.match(r"\s*(\d+) days\b", text)
    if m:
        return int(m.group(1))
    found = {int(a or b) for value in prov.values() for a, b in _MPOR_IN_TEXT.findall(value)}
    return found.pop() if len(found) == 1 else None


#: Closes this far from the snapshot's index (ratio below 1/x or above x) get a note on what that does.
_FAR_FROM_SNAPSHOT = 2.0


def _as_day(value: Any, *, name: str) -> np.datetime64:
    try:
        return np.datetime64(value if not isinstance(value, dt.datetime) else value.date(), "D")
    except (ValueError, TypeError):
        raise InvalidInputError(f"{name} must be an ISO date such as 2024-01-31; got {value!r}.") from None


def realised_loss_usd(
    *,
    universe: "UniverseRisk",
    rows: np.ndarray,
    quantity: np.ndarray,
    price_ratio: dict[str, float],
    vol_ratio: dict[str, float],
    days: float,
) -> float:
    """Loss of a book over a realised move, USD at the current index prices.

    Parameters
    ----------
    universe : UniverseRisk
        The revalued universe of the day (:func:`spanlike.engine.prepare`).
    rows, quantity : numpy.ndarray
        The book's rows and quantities in contract units.
    price_ratio : dict of str to float
        Per underlying ``C(d + h) / C(d)`` (> 0).
    vol_ratio : dict of str to float
        Per underlying ``V(d + h) / V(d)`` (> 0); absent = vols unchanged.
    days : float
        Time that passes, calendar days (the MPOR).

    Returns
    -------
    float
        ``sum_i q_i x (value_i(d) - value_i(d + h))`` per settlement currency,
        times USD per unit at day ``d``'s index; positive = loss.
    """
    from spanlike.risk_arrays.revaluation import compute_risk_arrays
    from spanlike.risk_arrays.scenarios import ScenarioArrays

    table = universe.table
    total = 0.0
    for c_index, risk in enumerate(universe.commodities):
        mine = np.flatnonzero(universe.row_commodity[rows] == c_index)
        if mine.size == 0:
            continue
        cc = risk.commodity
        ratio = price_ratio[cc.underlying]
        vol_move = vol_ratio.get(cc.underlying, 1.0) - 1.0

        def one(x: float) -> np.ndarray:
            return np.array([x], dtype=np.float64)

        realised = ScenarioArrays(
            price_move_option=one(ratio - 1.0), price_move_future=one(ratio - 1.0), price_shift_abs=one(0.0),
            vol_shift_abs=one(0.0), vol_shift_rel=one(vol_move), vol_floor=one(0.0), weight=one(1.0),
            time_advance_years=days / 365.0, labels=("realised",), paired=np.array([-1], dtype=np.int64),
            is_extended=np.array([False]), delta_price_move=one(0.0), delta_price_shift_abs=one(0.0),
            delta_weight=one(1.0),
        )
        book_rows = rows[mine]
        losses = compute_risk_arrays(contracts=table.contracts.subset(book_rows), scenarios=realised)[:, 0]
        index = float(table.index_price[book_rows[0]])
        usd_per_unit = index if cc.settlement == "coin" else 1.0
        total += math.fsum((quantity[mine] * losses).tolist()) * usd_per_unit
    return total


def _snapshot_book(
    portfolio: "Portfolio", market: "MarketSnapshot", ps: ParameterSet
) -> tuple["InstrumentTable", dict[str, tuple[float, float]]]:
    """The snapshot's table and per-instrument (forward USD, vol) to scale from."""
    from spanlike.universe import table_for_portfolio

    table = table_for_portfolio(portfolio, market=market, parameter_set=ps)
    c = table.contracts
    base = {name: (float(c.forward[i]), float(c.vol[i])) for i, name in enumerate(table.names)}
    return table, base


def _day_market(
    *, table: "InstrumentTable", base: dict[str, tuple[float, float]], snapshot_index: dict[str, float],
    closes: dict[str, float], vol_scale: dict[str, float], valuation_time: dt.datetime,
) -> "MarketSnapshot":
    from spanlike.market import InstrumentQuote, MarketSnapshot

    quotes = {}
    for ins in table.instruments:
        forward, vol = base[ins.name]
        f = forward * closes[ins.underlying] / snapshot_index[ins.underlying]
        if ins.is_option:
            # No option mark: the engine values options at the scaled forward and vol (Black-76).
            quotes[ins.name] = InstrumentQuote(mark_iv=vol * vol_scale.get(ins.underlying, 1.0), underlying_price=f)
        else:
            quotes[ins.name] = InstrumentQuote(mark_price=f)
    return MarketSnapshot(valuation_time=valuation_time, index_prices=dict(closes), quotes=quotes)


# --------------------------------------------------------------------------- public


def backtest_margin(
    *,
    history: PriceHistory,
    portfolio: "Portfolio",
    market: "MarketSnapshot",
    parameter_set: ParameterSet | str | Path,
    mpor_days: int | None = None,
    confidence: float | None = None,
    iv_history: VolHistory | None = None,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    days: int | None = None,
    step_days: int = 1,
    book: Literal["fixed", "rolling"] = "fixed",
    margin_kind: Literal["initial", "maintenance"] = "initial",
) -> BacktestResult:
    """Replay history, margin the book each day and count days the next MPOR's loss exceeded it.

    The replay convention is in the module docstring.

    Parameters
    ----------
    history : PriceHistory
        Daily closes of every underlying the book holds.
    portfolio : Portfolio
    market : MarketSnapshot
        The snapshot the book is taken from (pinned to the last replayed day).
    parameter_set : ParameterSet
    mpor_days : int, optional
        Realised-loss horizon in days (default: the set's ``var_model.mpor_days``;
        required for sets without a var_model).
    confidence : float, optional
        Confidence of the Kupiec test and traffic light (default: the set's
        ``var_model.confidence``, else 0.99).
    iv_history : VolHistory, optional
        Implied vols to move the book's vols with (annual decimals).
    start, end : date or ISO str, optional
        First and last observation day (inclusive); default: the whole history
        that has an MPOR after it.
    days : int, optional
        Only the last ``days`` observation days of that window.
    step_days : int
        Observe every ``step_days``-th day (``= mpor_days`` for disjoint windows).
    book : {"fixed", "rolling"}
        Fixed expiries with time rolling forward, or constant time to expiry.
    margin_kind : {"initial", "maintenance"}
        Which margin the realised loss is compared with.

    Returns
    -------
    BacktestResult

    Raises
    ------
    InvalidInputError
        Bad arguments; a history without an underlying the book holds, not
        daily, or too short for the window; an implied-vol history without a
        needed date.
    SpanlikeError
        Whatever the engine raises for the day's book (typed).
    """
    from spanlike.engine import margin_positions, prepare
    from spanlike.market import MarketSnapshot
    from spanlike.portfolio import Portfolio

    if not isinstance(history, PriceHistory):
        raise InvalidInputError(f"history must be a PriceHistory (see load_history); got {type(history).__name__}.")
    if not isinstance(portfolio, Portfolio):
        raise InvalidInputError(f"portfolio must be a Portfolio (Portfolio.from_file); got {type(portfolio).__name__}.")
    if not isinstance(market, MarketSnapshot):
        raise InvalidInputError(f"market must be a MarketSnapshot (MarketSnapshot.from_file); got {type(market).__name__}.")
    if isinstance(parameter_set, (str, Path)):
        from spanlike import params

        parameter_set = params.load(parameter_set)
    if not isinstance(parameter_set, ParameterSet):
        raise InvalidInputError(
            f"parameter_set must be a ParameterSet, a bundled name or a file (params.load); "
            f"got {type(parameter_set).__name__}."
        )
    if book not in ("fixed", "rolling"):
        raise InvalidInputError(f"book must be 'fixed' or 'rolling'; got {book!r}.")
    if margin_kind not in ("initial", "maintenance"):
        raise InvalidInputError(f"margin_kind must be 'initial' or 'maintenance'; got {margin_kind!r}.")
    vm = parameter_set.var_model
    if mpor_days is None:
        mpor_days = set_mpor_days(parameter_set)
        if mpor_days is None:
            raise InvalidInputError(
                f"{parameter_set.label} does not record its margin period of risk (no var_model, no MPOR in its "
                "provenance); pass mpor_days (CLI: --mpor-days), the horizon its scan ranges were calibrated for."
            )
    h = positive_int(mpor_days, name="mpor_days")
    a = confidence_level(confidence if confidence is not None else (vm.confidence if vm is not None else 0.99))
    step = positive_int(step_days, name="step_days")
    if history.n_rows > 1 and history.bar_seconds != _DAY:
        raise InvalidInputError(
            f"backtest_margin replays daily closes; this history's bars are {history.bar_seconds} s apart."
        )

    table0, base = _snapshot_book(portfolio, market, parameter_set)
    underlyings = sorted({ins.underlying for ins in table0.instruments})
    missing = [u for u in underlyings if u not in history.names]
    if missing:
        raise InvalidInputError(
            f"The history ({list(history.names)}) has no closes for {missing}, which the book holds. "
            "Load their history too."
        )
    closes = {u: history.column(u) for u in underlyings}
    snapshot_index = {u: float(market.index_prices[u]) for u in underlyings}
    day_of = history.timestamps.astype("datetime64[D]")
    candidates = np.arange(0, history.n_rows - h)  # rows with a close h rows later
    if start is not None:
        candidates = candidates[day_of[candidates] >= _as_day(start, name="start")]
    if end is not None:
        candidates = candidates[day_of[candidates] <= _as_day(end, name="end")]
    if days is not None:
        if start is not None:
            raise InvalidInputError("Give either start or days (the last N days), not both.")
        candidates = candidates[-positive_int(days, name="days"):]
    candidates = candidates[::-1][::step][::-1]  # every step-th day, counted back from the last one
    if candidates.size == 0:
        raise InvalidInputError(
            f"No observation day with {h} days of history after it lies in the requested window "
            f"(history {history.date_range()}, start {start}, end {end}); widen the window or load more history."
        )

    iv_cols: dict[str, np.ndarray] = {}
    if iv_history is not None:
        if not isinstance(iv_history, VolHistory):
            raise InvalidInputError(
                f"iv_history must be a VolHistory (load_implied_vol_history); got {type(iv_history).__name__}."
            )
        pos = np.searchsorted(iv_history.timestamps, history.timestamps)
        found = (pos < iv_history.n_rows) & (iv_history.timestamps[np.minimum(pos, iv_history.n_rows - 1)]
                                            == history.timestamps)
        needed = np.union1d(candidates, candidates + h)
        for u in underlyings:
            if u not in iv_history.names:
                continue
            if not found[needed].all():
                gap = needed[~found[needed]][0]
                raise InvalidInputError(
                    f"The implied-vol history ({iv_history.date_range()}) has no value on {day_of[gap]}, which the "
                    "backtest needs; fill the gap or limit the window with start/end."
                )
            col = np.full(history.n_rows, np.nan)
            col[found] = iv_history.column(u)[pos[found]]
            iv_cols[u] = col

    last = int(candidates[-1])
    t0 = market.valuation_time
    notes: list[str] = []
    if iv_history is None:
        notes.append("vols kept at the snapshot's (no implied-vol history)")
    else:
        flat = [u for u in underlyings if u not in iv_cols]
        notes.append(
            f"vols scaled by the implied-vol index relative to {day_of[last]}"
            + (f"; {', '.join(flat)} kept (not in the implied-vol history)" if flat else "")
        )
    ratios = {u: (float(np.min(closes[u][candidates])) / snapshot_index[u],
                  float(np.max(closes[u][candidates])) / snapshot_index[u]) for u in underlyings}
    far = [u for u, (lo, hi) in ratios.items() if lo < 1.0 / _FAR_FROM_SNAPSHOT or hi > _FAR_FROM_SNAPSHOT]
    if far:
        span = ", ".join(f"{u} {ratios[u][0]:.2f}x..{ratios[u][1]:.2f}x" for u in far)
        notes.append(
            f"the replayed closes lie far from the snapshot's index ({span} of it): strikes stay those of the "
            "snapshot, so on such days the options are deep in or out of the money and the book is a different "
            "risk (short options deep in the money margin near their notional); large margins there are that "
            "book's, not a fault of the set. Compare with a window near the snapshot (--start/--days)"
        )
    margins = np.empty(candidates.size)
    losses = np.empty(candidates.size)
    for n, k in enumerate(candidates):
        k = int(k)
        day_closes = {u: float(closes[u][k]) for u in underlyings}
        vol_scale = {u: float(col[k] / col[last]) for u, col in iv_cols.items()}
        vt = t0 if book == "rolling" else t0 - dt.timedelta(days=int((day_of[last] - day_of[k]).astype(int)))
        day_market = _day_market(
            table=table0, base=base, snapshot_index=snapshot_index, closes=day_closes, vol_scale=vol_scale,
            valuation_time=vt,
        )
        universe, rows, quantity, day_notes = prepare(portfolio=portfolio, market=day_market, parameter_set=parameter_set)
        result = margin_positions(universe, rows=rows, quantity=quantity, account=portfolio.account, notes=day_notes)
        margins[n] = result.initial_margin_usd if margin_kind == "initial" else result.maintenance_margin_usd
        losses[n] = realised_loss_usd(
            universe=universe, rows=rows, quantity=quantity,
            price_ratio={u: float(closes[u][k + h] / closes[u][k]) for u in underlyings},
            vol_ratio={u: float(col[k + h] / col[k]) for u, col in iv_cols.items()},
            days=float(h),
        )
    exceptions = losses > margins
    count = count_exceptions(losses=losses, forecasts=margins)
    return BacktestResult(
        dates=day_of[candidates],
        margin_usd=margins,
        realised_loss_usd=losses,
        exceptions=exceptions,
        parameter_set=parameter_set.label,
        mpor_days=h,
        step_days=step,
        confidence=a,
        margin_kind=margin_kind,
        book=book,
        kupiec=kupiec_pof(exceptions=count, observations=int(candidates.size), confidence=a),
        traffic_light=traffic_light(exceptions=count, observations=int(candidates.size), confidence=a),
        notes=tuple(notes),
    )
