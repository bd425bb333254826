"""Regenerate a SPAN file's risk arrays from its own inputs and compare them.

``verify(span_file)`` recomputes, for every contract with a risk array, the
loss of one long contract at each scan point and its composite delta, with
spanlike's pricer (:func:`spanlike.risk_arrays.pricing.bsm_price`,
:func:`~spanlike.risk_arrays.pricing.black76_price` and their Greeks) from what the file
states: underlying settlement price (``undC`` -> the underlying contract's
``p``), strike ``k``, option vol ``v``, years to expiry ``t``, interest rate
``intrRate/val``, dividend yield ``divRate/val``, contract value factor
``cvf``, the price and vol scan ranges (``scanRate``) and the scan and delta
point definitions (``pointDef``). It reports per product family the share of
contracts whose 16 values all lie within a tolerance of the published ones,
and the worst cases.

What the Takasbank file (2016-05-17) turned out to be
------------------------------------------------------
Found by fitting one deep in-the-money call and confirmed on all 2,628
options (``spanlike spn verify``):

* **Loss** of a long option at point ``j``::

      R_j = (V(S, T, sigma) - V(S + m_j PSR / cvf, T - L, sigma (1 + v_j VSR))) x cvf x w_j

  the base value ``V(S, T, sigma)`` is the *theoretical* value at today's
  time to expiry (not the settlement premium ``p``, which is rounded).
* **Price model** (``priceModel`` ``M``, options on physicals ``oopPf``):
  generalised Black-Scholes-Merton on the spot with cost of carry
  ``b = r - q`` (``r = intrRate/val`` 0.10, ``q = divRate/val``; 0 for
  equities and indices, 0.45 for the TRY/USD currency option TRYUSDK), ``r``
  continuously compounded. For options on futures (``oofPf``, none in this
  file) we use Black-76 on the futures price (``b = 0``) [untested on a real file].
* **Lookahead** ``L = 1/250`` year (one trading day of a 250-day year): every
  scenario, including the delta points, values the option 0.004 years later.
  The file states no ``lookAheadDays``; 1/365 or 1/252 leave errors of up to
  0.09 TRY on a 100-share contract, 1/250 brings them to 3e-5.
* **Vol scan** is *relative*: ``volScanPct`` 0.23 moves a 20 % vol to 24.6 %
  and 15.4 % (an absolute move of 0.23 would give negative vols).
* **Price moves** are the printed ``mult`` (0.333333, 0.666667), not
  ``numerator/denominator``: a future with ``priceScan`` 90 shows -29.999969
  (= 90 x 0.333333 in single precision), not -30. We use ``mult``.
* **Weights** (cover fraction 0.32 of points 15/16) are inside the arrays.
* **Composite delta** ``ra/d`` = sum of ``w_k x delta(S + m_k PSR/cvf, T - L, sigma)``
  over the 7 delta points (weights sum to 1), within 1e-6 (1e-4 for XU030X).
* **Rounding**: the remaining differences, up to 0.0025 TRY per contract for
  the index options XU030 (a 100 x index contract, scan range 955 TRY), grow
  with the contract value, as single-precision arithmetic in the exchange's
  pricer would (2.5e-6 of the scan range); arrays are printed with 6 decimals.
* **Futures** lose ``-mult_j x priceScan x w_j`` with ``ra/d`` = ``d`` = 1;
  **physicals** have ``priceScan`` 0 and zero arrays, and ``ra/d`` 1 for the
  22 deliverable ones (``setlMeth`` ``DELIV``: stocks) but 0 for the 15
  cash-settled ones (indices, currencies, metals, rates) although their
  ``d`` is 1. All reproduced to the printed digits.

Tolerance: an absolute amount in the family's currency per contract (default
0.01, one kuruş); the report also states each family's largest error relative
to its price scan range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spanlike.params.errors import InvalidInputError
from spanlike.risk_arrays.pricing import black76_greeks, black76_price, bsm_greeks, bsm_price
from spanlike.spn.model import OptionFamily, PointDef, ProductFamily, ScanRate, SpanFile

__all__ = [
    "DEFAULT_LOOKAHEAD_YEARS",
    "DEFAULT_TOLERANCE",
    "ContractDifference",
    "FamilyAgreement",
    "VerifyReport",
    "regenerate_family",
    "verify",
    "format_verify",
]

#: Time advance of every scenario found in the Takasbank file (one day of a 250-day year).
DEFAULT_LOOKAHEAD_YEARS = 1.0 / 250.0
#: Default agreement tolerance, family currency per contract.
DEFAULT_TOLERANCE = 0.01


@dataclass(frozen=True)
class ContractDifference:
    """One contract's largest difference between regenerated and published arrays.

    Attributes
    ----------
    contract : str
        ``BIST:AKBNKE:OOP:201606S0:C7.5`` (:class:`~spanlike.spn.model.ContractKey`).
    point : int
        1-based scan point of the largest difference (0 for the composite delta).
    published, regenerated : float
        The two values there (currency per contract; delta for point 0).
    abs_error : float
    """

    contract: str
    point: int
    published: float
    regenerated: float
    abs_error: float


@dataclass(frozen=True)
class FamilyAgreement:
    """Agreement for one product family.

    Attributes
    ----------
    exchange, product_code, product_type : str
    model : str
        ``"bsm"``, ``"black76"``, ``"linear"`` (futures and physicals).
    contracts : int
        Contracts with a risk array.
    within_tolerance : int
        Contracts whose every array value is within the tolerance.
    max_abs_error : float
        Largest |regenerated - published| over all values, currency per contract.
    max_rel_to_scan : float
        ``max_abs_error`` over the family's largest price scan range.
    max_delta_error : float
        Largest |regenerated - published| composite delta.
    worst : tuple of ContractDifference
        Up to ``n_worst`` contracts with the largest errors, worst first.
    """

    exchange: str
    product_code: str
    product_type: str
    model: str
    contracts: int
    within_tolerance: int
    max_abs_error: float
    max_rel_to_scan: float
    max_delta_error: float
    worst: tuple[ContractDifference, ...] = ()

    @property
    def share_within(self) -> float:
        """Share of contracts within tolerance (1.0 for a family without arrays)."""
        return self.within_tolerance / self.contracts if self.contracts else 1.0


@dataclass(frozen=True)
class VerifyReport:
    """Agreement of regenerated arrays with a SPAN file's, per product family.

    Attributes
    ----------
    source : str or None
    business_date : str
    tolerance : float
        Absolute, family currency per contract.
    lookahead_years : float
    families : tuple of FamilyAgreement
    notes : tuple of str
    """

    source: str | None
    business_date: str
    tolerance: float
    lookahead_years: float
    families: tuple[FamilyAgreement, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def contracts(self) -> int:
        """Contracts compared."""
        return sum(f.contracts for f in self.families)

    @property
    def within_tolerance(self) -> int:
        """Contracts within tolerance."""
        return sum(f.within_tolerance for f in self.families)

    @property
    def share_within(self) -> float:
        """Share of all compared contracts within tolerance."""
        return self.within_tolerance / self.contracts if self.contracts else 1.0

    def by_type(self) -> dict[str, tuple[int, int, float]]:
        """``product_type -> (contracts, within tolerance, max abs error)``."""
        out: dict[str, tuple[int, int, float]] = {}
        for f in self.families:
            n, w, e = out.get(f.product_type, (0, 0, 0.0))
            out[f.product_type] = (n + f.contracts, w + f.within_tolerance, max(e, f.max_abs_error))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (strict JSON: no NaN or infinity).

        A number that is not finite is written as ``null``, meaning *not
        computed*: the file lacks an input to regenerate that value (no price
        scan range, no underlying price, no risk array), so there is no
        regenerated value, error or ratio to report. The table format shows
        these as ``nan``.
        """
        return {
            "source": self.source,
            "business_date": self.business_date,
            "tolerance": _json_number(self.tolerance),
            "lookahead_years": _json_number(self.lookahead_years),
            "contracts": self.contracts,
            "within_tolerance": self.within_tolerance,
            "share_within": self.share_within,
            "families": [
                {
                    "exchange": f.exchange, "product_code": f.product_code, "product_type": f.product_type,
                    "model": f.model, "contracts": f.contracts, "within_tolerance": f.within_tolerance,
                    "share_within": f.share_within, "max_abs_error": _json_number(f.max_abs_error),
                    "max_rel_to_scan": _json_number(f.max_rel_to_scan),
                    "max_delta_error": _json_number(f.max_delta_error),
                    "worst": [
                        {"contract": w.contract, "point": w.point, "published": _json_number(w.published),
                         "regenerated": _json_number(w.regenerated), "abs_error": _json_number(w.abs_error)}
                        for w in f.worst
                    ],
                }
                for f in self.families
            ],
            "notes": list(self.notes),
        }


def _json_number(value: float) -> float | None:
    """JSON has no NaN or infinity: a value that could not be computed is null (see ``to_dict``)."""
    return None if not np.isfinite(value) else float(value)


def _scan_rate(rates: tuple[ScanRate, ...], rate_id: int) -> ScanRate | None:
    return next((r for r in rates if r.rate_id == rate_id), None)


def _points(point_def: PointDef) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                                          NDArray[np.float64], NDArray[np.float64]]:
    # The exchange's generator uses the printed multiples (see the module notes).
    price = np.array([p.price.mult for p in point_def.scan_points])
    vol = np.array([p.vol.mult for p in point_def.scan_points])
    weight = np.array([p.weight for p in point_def.scan_points])
    d_price = np.array([p.price.mult for p in point_def.delta_points])
    d_weight = np.array([p.weight for p in point_def.delta_points])
    return price, vol, weight, d_price, d_weight


def regenerate_family(
    span_file: SpanFile, family: ProductFamily | OptionFamily, *, rate_id: int = 1,
    lookahead_years: float = DEFAULT_LOOKAHEAD_YEARS,
) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    """Risk arrays and composite deltas of ``family`` recomputed from the file's inputs.

    Parameters
    ----------
    span_file : SpanFile
    family : ProductFamily or OptionFamily
    rate_id : int, optional
    lookahead_years : float, optional
        Time advance of every scenario, years (module notes).

    Returns
    -------
    arrays : ndarray, shape (n, n_points)
        Loss of one long contract per scan point, family currency (NaN where
        an input is missing).
    composite_delta : ndarray, shape (n,)
    model : str
        ``"bsm"``, ``"black76"`` or ``"linear"``.

    Raises
    ------
    InvalidInputError
        A vol, price or time the pricer rejects (named by the pricer).
    """
    pdef = span_file.point_def(rate_id)
    price_m, vol_m, weight, d_price, d_weight = _points(pdef)
    c = family.contracts
    n = len(c)
    arrays = np.full((n, len(price_m)), np.nan)
    deltas = np.full(n, np.nan)
    if isinstance(family, ProductFamily):
        for i in range(n):
            sr = _scan_rate(c.scan_rates[i], rate_id)
            if sr is None or sr.price_scan is None:
                continue
            arrays[i] = -price_m * sr.price_scan * weight
            # Futures: ra/d = d = 1. Physicals: 1 when deliverable, 0 when cash-settled (module notes).
            if family.product_type == "PHY":
                deltas[i] = 1.0 if family.settlement_method == "DELIV" else 0.0
            else:
                deltas[i] = c.delta[i]
        return arrays, deltas, "linear"
    on_future = family.underlying.product_type == "FUT"
    model = "black76" if on_future else "bsm"
    for s_index, series in enumerate(family.series):
        rows = np.flatnonzero(c.series_index == s_index)
        sr = _scan_rate(series.scan_rates, rate_id)
        spot = span_file.underlying_price(series.underlying)
        if rows.size == 0 or sr is None or sr.price_scan is None or spot is None or series.time_to_expiry is None:
            continue
        cvf = series.cvf or 1.0
        rate = series.interest_rates[0].value if series.interest_rates else 0.0
        carry = 0.0 if on_future else rate - (series.dividend_yield or 0.0)
        vsr = sr.vol_scan_pct if sr.vol_scan_pct is not None else 0.0
        t0 = series.time_to_expiry
        t1 = max(t0 - lookahead_years, 0.0)
        psr = sr.price_scan / cvf
        # One pricer call per series: options in rows (axis 0), scan or delta points in columns.
        strike = c.strike[rows][:, None]
        vol = c.vol[rows][:, None]
        is_call = (np.array(c.put_call, dtype=object)[rows] == "C")[:, None]
        scen_spot = (spot + price_m * psr)[None, :]
        scen_vol = vol * (1.0 + vol_m * vsr)[None, :]
        delta_spot = (spot + d_price * psr)[None, :]
        if on_future:
            base = black76_price(forward=spot, strike=strike, t_years=t0, vol=vol, rate=rate, is_call=is_call)
            scen = black76_price(forward=scen_spot, strike=strike, t_years=t1, vol=scen_vol, rate=rate,
                                 is_call=is_call)
            g = black76_greeks(forward=delta_spot, strike=strike, t_years=t1, vol=vol, rate=rate, is_call=is_call)
        else:
            base = bsm_price(spot=spot, strike=strike, t_years=t0, vol=vol, rate=rate, carry=carry, is_call=is_call)
            scen = bsm_price(spot=scen_spot, strike=strike, t_years=t1, vol=scen_vol, rate=rate, carry=carry,
                             is_call=is_call)
            g = bsm_greeks(spot=delta_spot, strike=strike, t_years=t1, vol=vol, rate=rate, carry=carry,
                           is_call=is_call)
        arrays[rows] = (base - scen) * cvf * weight[None, :]
        deltas[rows] = (g.delta * d_weight[None, :]).sum(axis=1) / d_weight.sum()
    return arrays, deltas, model


def verify(
    span_file: SpanFile, *, tolerance: float = DEFAULT_TOLERANCE, rate_id: int = 1,
    lookahead_years: float = DEFAULT_LOOKAHEAD_YEARS, n_worst: int = 3,
) -> VerifyReport:
    """Recompute every risk array of ``span_file`` and report agreement per product family.

    Parameters
    ----------
    span_file : SpanFile
    tolerance : float, optional
        A contract agrees when every value of its array is within this of the
        published one (family currency per contract), default 0.01.
    rate_id : int, optional
        Rate id of the arrays compared.
    lookahead_years : float, optional
        Time advance of every scenario (1/250 found in the Takasbank file).
    n_worst : int, optional
        Worst contracts listed per family.

    Returns
    -------
    VerifyReport

    Raises
    ------
    InvalidInputError
        ``tolerance`` not a positive finite number, ``lookahead_years`` negative.
    KeyError
        The file has no pointDef for ``rate_id``.
    """
    if not (np.isfinite(tolerance) and tolerance > 0.0):
        raise InvalidInputError(f"The 'tolerance' must be a positive amount per contract. Got {tolerance!r}.")
    if not (np.isfinite(lookahead_years) and lookahead_years >= 0.0):
        raise InvalidInputError(f"The 'lookahead_years' must be >= 0 years. Got {lookahead_years!r}.")
    families: list[FamilyAgreement] = []
    notes: list[str] = []
    for ex in span_file.clearing_org.exchanges:
        for fam in ex.families:
            c = fam.contracts
            has = c.risk_array_rate_id == rate_id
            if not has.any():
                continue
            arrays, deltas, model = regenerate_family(span_file, fam, rate_id=rate_id, lookahead_years=lookahead_years)
            published = c.risk_array
            err = np.abs(arrays - published)
            missing = has & np.isnan(err).any(axis=1)
            if missing.any():
                notes.append(f"{ex.code} {fam.product_code} {fam.product_type}: {int(missing.sum())} contract(s) "
                             "lack an input to regenerate (counted as disagreeing).")
            err = np.where(np.isnan(err), np.inf, err)[has]
            row_err = err.max(axis=1)
            d_err = np.abs(deltas - c.composite_delta)[has]
            rows = np.flatnonzero(has)
            finite = row_err[np.isfinite(row_err)]
            max_err = float(finite.max()) if finite.size else float("nan")
            scans = [r.price_scan for rates in _family_scan_rates(fam) for r in rates
                     if r.rate_id == rate_id and r.price_scan]
            order = np.argsort(-np.where(np.isfinite(row_err), row_err, np.inf), kind="stable")[:n_worst]
            worst = []
            keys = _contract_names(ex.code, fam)
            for k in order:
                i = rows[k]
                j = int(np.argmax(err[k]))
                worst.append(ContractDifference(
                    contract=keys[i], point=j + 1, published=float(published[i, j]),
                    regenerated=float(arrays[i, j]), abs_error=float(err[k, j]),
                ))
            families.append(FamilyAgreement(
                exchange=ex.code, product_code=fam.product_code, product_type=fam.product_type, model=model,
                contracts=int(has.sum()), within_tolerance=int((row_err <= tolerance).sum()),
                max_abs_error=max_err, max_rel_to_scan=(max_err / max(scans)) if scans else float("nan"),
                # NaN (not computed) when no delta could be regenerated; nanmax would warn
                max_delta_error=(float(np.nanmax(d_err)) if not np.isnan(d_err).all() else float("nan"))
                if d_err.size else 0.0,
                worst=tuple(worst),
            ))
    return VerifyReport(source=span_file.source, business_date=span_file.business_date, tolerance=tolerance,
                        lookahead_years=lookahead_years, families=tuple(families), notes=tuple(notes))


def _family_scan_rates(fam: ProductFamily | OptionFamily) -> list[tuple[ScanRate, ...]]:
    if isinstance(fam, OptionFamily):
        return [s.scan_rates for s in fam.series]
    return list(fam.contracts.scan_rates)


def _contract_names(exchange: str, fam: ProductFamily | OptionFamily) -> list[str]:
    c = fam.contracts
    if isinstance(fam, OptionFamily):
        return [f"{exchange}:{fam.product_code}:{fam.product_type}:{fam.series[int(c.series_index[i])].period}:"
                f"{c.put_call[i]}{c.strike[i]:g}" for i in range(len(c))]
    return [f"{exchange}:{fam.product_code}:{fam.product_type}:{c.period[i]}" for i in range(len(c))]


def format_verify(report: VerifyReport) -> str:
    """Text table of a :class:`VerifyReport`: totals, one line per family, the worst contracts."""
    lines = [
        f"SPAN file {report.source or ''} business date {report.business_date}: regenerated "
        f"{report.contracts} risk arrays (lookahead {report.lookahead_years:.6g} y)",
        f"within {report.tolerance:g} per contract: {report.within_tolerance}/{report.contracts} "
        f"({report.share_within:.1%})",
        "",
        f"{'product':<8} {'type':<4} {'model':<7} {'contracts':>9} {'within':>7} {'max error':>10} "
        f"{'/ scan':>9} {'delta err':>9}",
    ]
    for f in report.families:
        lines.append(f"{f.product_code:<8} {f.product_type:<4} {f.model:<7} {f.contracts:>9} "
                     f"{f.share_within:>7.1%} {f.max_abs_error:>10.6f} {f.max_rel_to_scan:>9.2e} "
                     f"{f.max_delta_error:>9.2e}")
    bad = sorted((w for f in report.families for w in f.worst), key=lambda w: -w.abs_error)[:5]
    if bad:
        lines += ["", "largest differences (point: published vs regenerated):"]
        for w in bad:
            lines.append(f"  {w.contract:<32} point {w.point:>2}: {w.published:>14.6f} vs {w.regenerated:>14.6f} "
                         f"(|diff| {w.abs_error:.6f})")
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
