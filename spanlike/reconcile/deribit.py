"""Reconcile with a Deribit ``private/pme/simulate`` response.

The response gives the positions (``portfolio.position``, coin), the index
(``index_price``), the futures' marks (``ticker``), the valuation time
(``model_params.general.timestamp``, ms), Deribit's parameters
(``model_params``) and its numbers. spanlike margins the same positions at
the same index and time with a parameter set
(:func:`spanlike.venues.deribit.simulate.simulate`) and compares:

* every parameter Deribit prints that the set holds (a difference is a
  disagreement by itself);
* every cell of ``initial_risk_vectors``, ``pre_aggregated_risk_vectors`` and
  ``aggregated_risk_vectors``, and the margin components (``worst_case`` and
  its bucket, ``roll_shock``, ``delta_shock``, ``risk_matrix_margin``,
  ``initial_margin``, ``maintenance_margin``), taking ``open_orders_margin``
  and ``mmp_margin`` from the response as account inputs.

Tolerance ("to the last printed digit"): a number agrees when
``|ours - theirs|`` is at most half a unit of the last digit Deribit
printed, widened to 2 float spacings of Deribit's number (the last bit of a
17-digit float) and never wider than 1e-12; ``tolerance`` replaces this with
one absolute amount. Bucket, side and source must be equal.

The first difference is explained: a parameter (named with both values), an
input (the index of ``--market`` against the response's), rounding (a
margin number off by less than 10^-9 where the set does not round), or
else the first cell that differs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

from spanlike.errors import InputFileError

__all__ = ["Row", "Reconciliation", "read_simulate_response", "reconcile", "printed_tolerance"]

#: Widest tolerance of the printed-digit rule, settlement currency.
MAX_PRINTED_TOLERANCE = 1e-12


class _Printed(float):
    """A JSON number that keeps the text it was printed as."""

    text: str


def _number(text: str) -> _Printed:
    x = _Printed(text)
    x.text = text
    return x


def printed_tolerance(theirs: float, text: str | None) -> float:
    """Half a unit of the last printed digit of ``text``, within [2 float spacings of ``theirs``, 1e-12]."""
    spacing = 2.0 * math.ulp(theirs)
    if text is None:
        return max(spacing, 0.0)
    exponent = Decimal(text).as_tuple().exponent
    half_unit = 0.5 * 10.0 ** int(exponent) if isinstance(exponent, int) else MAX_PRINTED_TOLERANCE
    return max(spacing, min(half_unit, MAX_PRINTED_TOLERANCE))


@dataclass(frozen=True)
class Row:
    """One compared number (or label).

    Attributes
    ----------
    item : str
        Where it is, in Deribit's keys (``initial_risk_vectors.BTC-PERPETUAL.standard[3]``).
    theirs, ours : float or str or None
        Deribit's value and spanlike's (None: absent on that side).
    theirs_text : str or None
        Deribit's number as printed.
    tolerance : float
    agree : bool
    """

    item: str
    theirs: float | str | None
    ours: float | str | None
    theirs_text: str | None
    tolerance: float
    agree: bool

    @property
    def difference(self) -> float | None:
        """``ours - theirs`` for numbers present on both sides."""
        if isinstance(self.theirs, float) and isinstance(self.ours, float):
            return self.ours - self.theirs
        return None


@dataclass(frozen=True)
class Reconciliation:
    """The comparison of one simulate response with spanlike.

    Attributes
    ----------
    currency : str
    parameter_set : str
        The set's label (``deribit-style@2026-02-15``).
    parameters : tuple of Row
        Deribit's ``model_params`` against the set's values.
    rows : tuple of Row
        Cells and components.
    explanation : str or None
        The first difference explained (None when everything agrees).
    notes : tuple of str
        What was read and assumed.
    """

    currency: str
    parameter_set: str
    parameters: tuple[Row, ...]
    rows: tuple[Row, ...]
    explanation: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def agree(self) -> bool:
        """Every parameter and every number agrees."""
        return all(r.agree for r in self.parameters) and all(r.agree for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain values only."""
        def row(r: Row) -> dict[str, Any]:
            return {"item": r.item, "theirs": r.theirs, "ours": r.ours, "difference": r.difference,
                    "tolerance": r.tolerance, "agree": r.agree}

        return {"venue": "deribit", "currency": self.currency, "parameter_set": self.parameter_set,
                "agree": self.agree, "explanation": self.explanation, "notes": list(self.notes),
                "parameters": [row(r) for r in self.parameters], "numbers": [row(r) for r in self.rows]}

    def format_table(self, *, only_differences: bool = False) -> str:
        """Ours and theirs side by side, one line per number."""
        lines = [f"Deribit private/pme/simulate ({self.currency}) against spanlike {self.parameter_set}", ""]
        w = max([len(r.item) for r in self.parameters + self.rows] + [4])
        head = f"{'item':<{w}} {'Deribit':>24} {'spanlike':>24} {'ours - theirs':>14}  "
        for title, rows in (("parameters", self.parameters), ("numbers", self.rows)):
            shown = [r for r in rows if not (only_differences and r.agree)]
            lines.append(f"{title} ({sum(r.agree for r in rows)} of {len(rows)} agree)")
            if shown:
                lines.append(head)
            for r in shown:
                theirs = r.theirs_text if r.theirs_text is not None else _show(r.theirs)
                diff = r.difference
                lines.append(f"{r.item:<{w}} {theirs:>24} {_show(r.ours):>24} "
                             f"{'' if diff is None else f'{diff:.3g}':>14}  {'ok' if r.agree else 'DIFFERS'}")
            lines.append("")
        lines.extend(f"note: {n}" for n in self.notes)
        if self.agree:
            lines.append("Result: every number agrees to the last printed digit (exit 0).")
        else:
            lines.append(f"Result: differs. {self.explanation} (exit 1)")
        return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


def _get(data: Any, path: Sequence[str], *, source: str, kind: type | tuple[type, ...] = dict) -> Any:
    node = data
    for i, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(path[:i]) or ("the response" if path[0] == "result" else "result")
            raise InputFileError(
                f"Simulate response {source}: '{'.'.join(path)}' is missing (no key {key!r} in {where}). "
                "Give the response of private/pme/simulate as returned (with its 'result')."
            )
        node = node[key]
    if not isinstance(node, kind) or isinstance(node, bool) and kind is not bool:
        raise InputFileError(
            f"Simulate response {source}: '{'.'.join(path)}' must be "
            f"{'an object' if kind is dict else 'a number' if kind is float else 'a list'}. Got {str(node)[:60]!r}."
        )
    return node


def read_simulate_response(path: str) -> dict[str, Any]:
    """The ``result`` object of a saved response (numbers keep their printed text).

    Raises
    ------
    InputFileError
        Not a file, not JSON, a repeated key, NaN/Infinity, or no ``result`` object.
    """
    from spanlike.loaders import loads_json, read_text

    data = loads_json(read_text(path, what="Simulate response"), source=path, what="Simulate response",
                      parse_number=_number)
    result = data.get("result") if isinstance(data, dict) else None
    if isinstance(data, dict) and "error" in data and result is None:
        raise InputFileError(f"Simulate response {path} is an error response ({str(data['error'])[:120]}), not a result.")
    return _get(data, ("result",), source=path)


def _finite(x: Any, where: str, source: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)):
        raise InputFileError(f"Simulate response {source}: '{where}' must be a finite number. Got {str(x)[:60]!r}.")
    return float(x)


def _market(result: dict[str, Any], currency: str, source: str, extra: Any) -> tuple[Any, list[str], list[str]]:
    """The market of the response (index, futures' marks, valuation time), options' quotes from ``extra``."""
    from spanlike.market import InstrumentQuote, MarketSnapshot

    notes: list[str] = []
    inputs: list[str] = []
    pair = f"{currency.lower()}_usd"
    index = _finite(_get(result, ("index_price", pair), source=source, kind=(int, float)), f"index_price.{pair}",
                    source)
    stamp = _finite(_get(result, ("model_params", "general", "timestamp"), source=source, kind=(int, float)),
                    "model_params.general.timestamp", source)
    try:
        valuation = dt.datetime.fromtimestamp(stamp / 1000.0, tz=dt.timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise InputFileError(
            f"Simulate response {source}: 'model_params.general.timestamp' must be milliseconds since 1970. "
            f"Got {stamp!r}."
        ) from None
    quotes: dict[str, InstrumentQuote] = {}
    if extra is not None:
        quotes.update(extra.quotes)
        theirs_index = extra.index_prices.get(currency)
        if theirs_index is not None and theirs_index != index:
            inputs.append(f"input: the --market index of {currency} is {theirs_index!r} USD, the response's "
                          f"{index!r}; the response's is used")
    tickers = result.get("ticker", {})
    if not isinstance(tickers, dict):
        raise InputFileError(f"Simulate response {source}: 'ticker' must be an object of instrument -> quote.")
    for name, t in tickers.items():
        if isinstance(t, dict) and "mark_price" in t and name not in quotes:
            quotes[name] = InstrumentQuote(mark_price=_finite(t["mark_price"], f"ticker.{name}.mark_price", source))
    notes.append(f"valuation time {valuation.isoformat()} (model_params.general.timestamp), index {index!r} USD")
    market = MarketSnapshot(valuation_time=valuation, index_prices={currency: index}, quotes=quotes)
    return market, notes, inputs


def _parameter_rows(result: dict[str, Any], ps: Any, currency: str, usd_per_unit: float) -> list[Row]:
    cc = ps.commodity(currency)
    grid, addons = cc.grid, cc.exchange
    cap = addons.offset_cap(usd_per_unit)
    ours: dict[tuple[str, ...], Any] = {
        ("currency_pair", f"{currency.lower()}_usd", "price_range"): grid.price_range,
        ("currency_pair", f"{currency.lower()}_usd", "volatility_range_up"): grid.vol_shock_up,
        ("currency_pair", f"{currency.lower()}_usd", "volatility_range_down"): grid.vol_shock_down,
        ("currency_pair", f"{currency.lower()}_usd", "short_term_vega_power"): grid.short_power,
        ("currency_pair", f"{currency.lower()}_usd", "long_term_vega_power"): grid.long_power,
        ("currency_pair", f"{currency.lower()}_usd", "min_volatility_for_shock_up"): grid.min_vol_for_shock_up,
        ("currency_pair", f"{currency.lower()}_usd", "delta_total_liq_shock_threshold"):
            addons.delta_shock.threshold_usd if addons.delta_shock is not None else None,
        ("currency", currency.lower(), "pnl_offset"): addons.pnl_offset,
        ("currency", currency.lower(), "extended_dampener"): grid.extended_dampener,
        ("currency", currency.lower(), "max_offsetable_pnl"): None if cap is None else cap * usd_per_unit,
        ("currency", currency.lower(), "min_annualised_move"):
            addons.roll_shock.min_annualised_move if addons.roll_shock is not None else None,
        ("currency", currency.lower(), "annualised_move_risk"):
            addons.roll_shock.annualised_move_risk if addons.roll_shock is not None else None,
        ("general", "mm_factor"): ps.margin_relation.mm_factor,
        ("general", "buckets_count"): float(grid.buckets_count),
    }
    rows = []
    params = result.get("model_params", {})
    for path, mine in ours.items():
        node: Any = params
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None or isinstance(node, bool) or not isinstance(node, (int, float)):
            continue  # Deribit did not print it: nothing to compare
        theirs = float(node)
        ours_value = None if mine is None else float(mine)
        tol = 1e-12 * max(1.0, abs(theirs))
        agree = ours_value is not None and abs(ours_value - theirs) <= tol
        rows.append(Row(item="model_params." + ".".join(path), theirs=theirs, ours=ours_value,
                        theirs_text=getattr(node, "text", None), tolerance=tol, agree=agree))
    return rows


def _compare(item: str, theirs: Any, ours: Any, tolerance: float | None) -> Row:
    if isinstance(theirs, str) or isinstance(ours, str) or isinstance(theirs, bool):
        t = None if theirs is None else str(theirs)
        return Row(item=item, theirs=t, ours=None if ours is None else str(ours), theirs_text=None, tolerance=0.0,
                   agree=t == (None if ours is None else str(ours)))
    t_val = None if theirs is None else float(theirs)
    o_val = None if ours is None else float(ours)
    text = getattr(theirs, "text", None)
    tol = tolerance if tolerance is not None else printed_tolerance(t_val or 0.0, text)
    agree = t_val is not None and o_val is not None and math.isfinite(o_val) and abs(o_val - t_val) <= tol
    return Row(item=item, theirs=t_val, ours=o_val, theirs_text=text, tolerance=tol, agree=agree)


def _vector_rows(prefix: str, theirs: Any, ours: dict[str, list[float]] | None, tolerance: float | None,
                 source: str) -> list[Row]:
    rows = []
    if not isinstance(theirs, dict):
        raise InputFileError(f"Simulate response {source}: '{prefix}' must be an object with 'standard' and 'extended'.")
    for part in ("standard", "extended"):
        cells = theirs.get(part, [])
        if not isinstance(cells, list):
            raise InputFileError(f"Simulate response {source}: '{prefix}.{part}' must be a list of numbers.")
        mine = (ours or {}).get(part, [])
        for i in range(max(len(cells), len(mine))):
            t = cells[i] if i < len(cells) else None
            if t is not None:
                _finite(t, f"{prefix}.{part}[{i}]", source)
            rows.append(_compare(f"{prefix}.{part}[{i}]", t, mine[i] if i < len(mine) else None, tolerance))
    return rows


def reconcile(
    simulate_path: str,
    *,
    parameter_set: Any = "deribit-style",
    market_paths: Sequence[str] = (),
    tolerance: float | None = None,
) -> Reconciliation:
    """Compare a saved Deribit ``private/pme/simulate`` response with spanlike.

    Parameters
    ----------
    simulate_path : str
        The response as returned (JSON-RPC with ``result``), one currency.
    parameter_set : ParameterSet or str
        Default ``"deribit-style"`` (the latest version).
    market_paths : sequence of str
        Market files (e.g. Deribit book summaries) for options' marks and IVs;
        the index and valuation time always come from the response.
    tolerance : float, optional
        One absolute tolerance (settlement currency) instead of the printed-digit rule.

    Returns
    -------
    Reconciliation

    Raises
    ------
    InputFileError
        A malformed response (the key named), a CROSS response.
    SpanlikeError
        From the engine: an option without a quote in ``market_paths``, a set that is not exchange style.
    """
    from spanlike.engine import _as_parameter_set
    from spanlike.instruments import parse_instrument
    from spanlike.loaders import load_market
    from spanlike.portfolio import Portfolio, PositionEntry
    from spanlike.venues.deribit.simulate import pair_key, simulate

    if tolerance is not None and (not math.isfinite(tolerance) or tolerance < 0):
        raise InputFileError(f"The tolerance must be a finite amount >= 0 in the settlement currency. Got {tolerance!r}.")
    source = str(simulate_path)
    result = read_simulate_response(simulate_path)
    margins = _get(result, ("margins",), source=source)
    if len(margins) != 1:
        raise InputFileError(
            f"Simulate response {source}: 'margins' holds {', '.join(map(repr, margins)) or 'nothing'}; reconcile "
            "compares one currency's response (currency BTC or ETH, not CROSS)."
        )
    cur_key = next(iter(margins))
    currency = cur_key.upper()
    ps = _as_parameter_set(parameter_set)
    extra = load_market(list(market_paths)) if market_paths else None
    market, notes, input_diffs = _market(result, currency, source, extra)
    positions = _get(result, ("portfolio", "position"), source=source)
    entries = []
    for name, size in positions.items():
        q = _finite(size, f"portfolio.position.{name}", source)
        entries.append(PositionEntry.make(instrument=parse_instrument(name), quantity=q, unit="coin",
                                          where=f"{source} portfolio.position.{name}"))
    portfolio = Portfolio.from_entries(entries, account="simulate")
    details = _get(margins, (cur_key, "initial_margin_details"), source=source)
    oom = _finite(details.get("open_orders_margin", 0.0), "open_orders_margin", source)
    mmp = _finite(details.get("mmp_margin", 0.0), "mmp_margin", source)
    notes.append(f"open_orders_margin {oom!r} and mmp_margin {mmp!r} taken from the response as account inputs")
    ours = simulate(portfolio, market, ps, currency=currency, open_orders_margin=oom, mmp_margin=mmp)
    params_rows = _parameter_rows(result, ps, currency, market.index_prices[currency])
    rows: list[Row] = []
    for name, vec in _get(result, ("initial_risk_vectors",), source=source).items():
        rows += _vector_rows(f"initial_risk_vectors.{name}", vec, ours["initial_risk_vectors"].get(name), tolerance,
                             source)
    key = pair_key(ps.commodity(currency).underlying, ps.commodity(currency).settlement_currency)
    for section in ("pre_aggregated_risk_vectors", "aggregated_risk_vectors"):
        theirs = result.get(section)
        if isinstance(theirs, dict):
            for pair, vec in theirs.items():
                rows += _vector_rows(f"{section}.{pair}", vec, ours[section].get(pair) if pair == key else None,
                                     tolerance, source)
    ours_m = ours["margins"][cur_key]
    theirs_d = details.get("risk_matrix_margin_details", {})
    if not isinstance(theirs_d, dict):
        raise InputFileError(f"Simulate response {source}: 'risk_matrix_margin_details' must be an object.")
    ours_d = ours_m["initial_margin_details"]["risk_matrix_margin_details"]
    prefix = f"margins.{cur_key}.initial_margin_details.risk_matrix_margin_details"
    for k in ("worst_case", "roll_shock", "delta_shock", "correlation_contingency"):
        if k in theirs_d:
            _finite(theirs_d[k], f"{prefix}.{k}", source)
            rows.append(_compare(f"{prefix}.{k}", theirs_d[k], ours_d[k], tolerance))
    bucket = theirs_d.get("worst_case_bucket")
    if isinstance(bucket, dict):
        for k in ("bucket", "side", "source", "index"):
            if k in bucket:
                t = bucket[k]
                t = str(int(t)) if isinstance(t, float) else str(t)
                rows.append(_compare(f"{prefix}.worst_case_bucket.{k}", t, str(ours_d["worst_case_bucket"][k]), None))
    for path, mine in ((f"margins.{cur_key}.initial_margin_details.risk_matrix_margin",
                        ours_m["initial_margin_details"]["risk_matrix_margin"]),
                       (f"margins.{cur_key}.initial_margin", ours_m["initial_margin"]),
                       (f"margins.{cur_key}.maintenance_margin", ours_m["maintenance_margin"])):
        node: Any = result
        for k in path.split("."):
            node = node.get(k) if isinstance(node, dict) else None
        if node is not None:
            _finite(node, path, source)
            rows.append(_compare(path, node, mine, tolerance))
    explanation = _explain(params_rows, rows, input_diffs, ps, currency)
    return Reconciliation(currency=currency, parameter_set=ps.label, parameters=tuple(params_rows), rows=tuple(rows),
                          explanation=explanation, notes=tuple(notes + input_diffs))


def _explain(params_rows: list[Row], rows: list[Row], input_diffs: list[str], ps: Any, currency: str) -> str | None:
    """The first difference, in the order parameter, input, rounding, cell."""
    bad_params = [r for r in params_rows if not r.agree]
    bad_rows = [r for r in rows if not r.agree]
    if not bad_params and not bad_rows:
        return None
    if bad_params:
        r = bad_params[0]
        more = f" ({len(bad_params) - 1} more parameter(s) differ)" if len(bad_params) > 1 else ""
        return (f"First difference: parameter {r.item} is {r.theirs_text or _show(r.theirs)} in the response and "
                f"{_show(r.ours)} in {ps.label}{more}. Margin with a set holding Deribit's values, or check the response.")
    if input_diffs:
        return f"First difference: {input_diffs[0]}."
    r = bad_rows[0]
    decimals = ps.commodity(currency).exchange.round_decimals
    margin_item = r.item.endswith(("risk_matrix_margin", "initial_margin"))
    if margin_item and r.difference is not None and abs(r.difference) < 1e-9:
        how = ("the set does not round (round_decimals unset); Deribit rounds the worst case and the initial margin "
               "to 9 decimals" if decimals is None else f"the set rounds to {decimals} decimals")
        return (f"First difference: rounding. {r.item} differs by {r.difference:.3g} (ours {_show(r.ours)}, theirs "
                f"{r.theirs_text or _show(r.theirs)}); {how}.")
    return (f"First difference: {r.item}: ours {_show(r.ours)}, theirs {r.theirs_text or _show(r.theirs)}"
            + (f" (difference {r.difference:.3g}, tolerance {r.tolerance:.3g})" if r.difference is not None else "")
            + "; parameters and inputs agree, so the method differs there (methodology 2.2, 4).")
