"""Margin a portfolio on an exchange SPAN file: the file's own arrays and rules, no pricing.

``margin_file(spn=..., portfolio=...)`` runs the SPAN pipeline of CME's
documentation (methodology section 3) per combined commodity (ccDef), on the
risk arrays and parameters the exchange published:

1. **Scan risk** ``max(0, max_j sum_i q_i R[i, j])`` over the file's scan
   points (``pointDef`` of the rate id, 16 in the Takasbank file) and the worst
   scenario; ties go to the lowest point (:func:`spanlike.aggregation.span.scan_risk`).
2. **Paired decomposition** with the file's ``pairedPoint``: time risk
   ``(L1 + L2)/2`` over the pair with no price move, vol risk
   ``(L_worst - L_pair)/2`` (0 when the worst point is paired with itself,
   as the extreme points 15/16 are), price risk = the rest
   (:func:`spanlike.aggregation.span.decompose_scan_risk`).
3. **Intra-commodity spreads** by the ccDef's intra tiers and ``dSpread``
   charge methods (F, P, W), then the **delivery (spot) charge** from
   ``spotRate`` (:mod:`spanlike.spn.charges` states how tiers, legs and
   consumption work).
4. **Inter-commodity credits** (``interSpreads``, method W) by priority with
   the file's delta ratios and credit rates on the weighted futures price risk
   ``WFPR = price risk / |net delta|``, after intra spreads.
5. **Short option minimum** by the ccDef's SOM tiers and ``somMeth``.
6. ``risk = max(scan + intra + spot - inter credit, SOM)``;
   ``requirement = max(risk - NOV, 0)`` where the net option value
   ``NOV = sum q x val`` counts premium-style option families only
   (``valueMeth`` ``EQTY``); futures-style ones (``FUT``) carry none.
7. Commodity amounts are in the ccDef's ``currency``; account totals are in
   one reporting currency converted with the file's ``curConv`` factors.

Conventions of the file (found in the Takasbank file, 2016-05-17)
----------------------------------------------------------------
* Arrays are losses of one long contract in the family's currency,
  already multiplied by the contract value factor; quantities are contracts.
* The cover fraction of the extreme points is already inside points 15/16
  (``weight`` 0.32 is *not* applied again).
* Option arrays include the time decay of a lookahead of 1/250 year
  (:mod:`spanlike.spn.verify`); nothing to add at margin time.
* The delta of an option is ``ra/d`` (composite delta); ``opt/d`` is 0.
* Rate id 1 (``pbRateDef`` r=1: ``isM`` 0, class CORE) is the only rate id
  with arrays and rates: the requirement computed on it is the **initial**
  margin. Every ccDef carries ``adjRate`` r=1 baseR=1 val=0.75, which cannot
  mean "rate 1 = 0.75 x rate 1"; we read it as the maintenance level (the
  ``pbRateDef`` r=2 with ``isM`` 1, which has no arrays of its own) = 0.75 x
  the initial one, Borsa Istanbul's rule that maintenance margin is 75 % of
  initial margin [our choice]. With a maintenance rate id
  (``isM`` 1) the requirement is both levels.

Choices where the file and CME's documentation leave room
---------------------------------------------------------
* Positions are multiplied by the ``pfLink`` scale ``sc`` of their family
  (1.0 throughout the Takasbank file) [our choice].
* Physicals (``phyPf``) can be held: their arrays are zero in the Takasbank
  file (``priceScan`` 0), but their composite delta (1.0) enters spreads.
* No rounding of intermediate or final amounts (CME rounds requirements to
  the currency's decimals; we report exact sums so tests can check them).
* The reporting currency is, unless given, the currency every held
  commodity shares, else the single ``toCur`` of the file's conversions;
  ``usd_per_unit`` and every ``*_usd`` field of the result hold amounts per
  unit of / in that reporting currency (``MarginResult.reporting_currency``).
* No correlation offset (the SPAN file defines none); ``correlation_offset_usd`` is 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spanlike.params.errors import InputFileError, InvalidInputError, InvalidPositionError, UnknownInstrumentError
from spanlike.aggregation.span import ScanResult, decompose_scan_risk, scan_risk
from spanlike.guards import check_result_finite
from spanlike.methodology.span_charges import span_requirement
from spanlike.methodology.spreads import DELTA_EPS
from spanlike.results import CommodityMargin, MarginResult, PositionContribution, Scenario, SpanComponents
from spanlike.spn.charges import (
    InterInput,
    IntraCharges,
    inter_spread_credits_file,
    intra_spread_charges,
    period_deltas,
    short_option_minimum_file,
    spot_charge,
)
from spanlike.spn.model import CombinedCommodityDef, OptionFamily, PointDef, SpanFile
from spanlike.spn.portfolio import (
    ResolvedPosition,
    SpnPortfolio,
    SpnPosition,
    load_spn_portfolio,
    resolve_positions,
)

__all__ = [
    "margin_file",
    "load_spn_portfolio",
    "SpnPortfolio",
    "SpnPosition",
    "FileBook",
    "scenario_labels",
    "convert_currency",
]


@dataclass(frozen=True, eq=False)
class FileBook:
    """Positions of one account in one combined commodity of a SPAN file (``k`` rows).

    Attributes
    ----------
    cc : CombinedCommodityDef
    labels : tuple of str
    periods : tuple of str
        Period code of each position (an option's series period).
    quantity : ndarray, shape (k,)
        Signed contracts x link scale.
    risk_arrays : ndarray, shape (k, m)
        The file's arrays: loss of one long contract per scan point, commodity currency.
    composite_delta : ndarray, shape (k,)
        ``ra/d`` per contract.
    is_option, is_call : ndarray of bool, shape (k,)
    premium_value : ndarray, shape (k,)
        ``val`` (premium per contract) of premium-style options, 0 otherwise.
    """

    cc: CombinedCommodityDef
    labels: tuple[str, ...]
    periods: tuple[str, ...]
    quantity: NDArray[np.float64]
    risk_arrays: NDArray[np.float64]
    composite_delta: NDArray[np.float64]
    is_option: NDArray[np.bool_]
    is_call: NDArray[np.bool_]
    premium_value: NDArray[np.float64]

    def scenario_losses(self) -> NDArray[np.float64]:
        """``sum_i q_i R[i, j]``: products first, then sums (no fused multiply-add)."""
        return (self.quantity[:, None] * self.risk_arrays).sum(axis=0)


def scenario_labels(point_def: PointDef) -> tuple[str, ...]:
    """Readable labels of the scan points, e.g. ``price +1/3 PSR, vol up`` or ``price -3 PSR, vol unchanged, 32% counted``."""
    labels = []
    for p in point_def.scan_points:
        frac = p.price.fraction
        if p.price.numerator is not None and p.price.denominator and p.price.denominator != 1 and p.price.numerator != 0:
            price = f"{p.price.numerator:+g}/{p.price.denominator:g}"
        else:
            price = f"{frac:+g}" if frac != 0 else "0"
        vol = p.vol.fraction
        vol_text = "vol unchanged" if vol == 0 else ("vol up" if vol > 0 else "vol down")
        if abs(vol) not in (0.0, 1.0):
            vol_text += f" {abs(vol):g}x"
        text = f"price {price} PSR, {vol_text}"
        if p.weight != 1.0:
            text += f", {p.weight:.0%} counted"
        labels.append(text)
    return tuple(labels)


def convert_currency(span_file: SpanFile, from_currency: str, to_currency: str) -> float:
    """Units of ``to_currency`` per unit of ``from_currency`` from the file's ``curConv``.

    Uses a direct factor or the inverse of the opposite one.

    Raises
    ------
    InputFileError
        The file states no conversion between the two currencies.
    """
    if from_currency == to_currency:
        return 1.0
    for conv in span_file.clearing_org.currency_conversions:
        if conv.from_currency == from_currency and conv.to_currency == to_currency:
            return conv.factor
        if conv.from_currency == to_currency and conv.to_currency == from_currency and conv.factor:
            return 1.0 / conv.factor
    raise InputFileError(
        f"The SPAN file states no currency conversion (curConv) from {from_currency} to {to_currency}; "
        "pass a reporting_currency the file converts to."
    )


def _books(span_file: SpanFile, positions: tuple[ResolvedPosition, ...]) -> dict[str, FileBook]:
    families = span_file.families
    grouped: dict[str, list[ResolvedPosition]] = {}
    for p in positions:
        grouped.setdefault(p.combined_commodity, []).append(p)
    books: dict[str, FileBook] = {}
    for code, rows in grouped.items():
        cc = span_file.combined_commodity(code)
        scale_of = {(link.exchange, link.product_id): link.scale for link in cc.product_links}
        ex_of = {id(f): ex.code for ex in span_file.clearing_org.exchanges for f in ex.families}
        labels, periods, q, arrays, deltas, is_opt, is_call, value = [], [], [], [], [], [], [], []
        for p in rows:
            fam = families[p.family_index]
            c = fam.contracts
            i = p.contract_index
            labels.append(p.label)
            q.append(p.quantity * scale_of[(ex_of[id(fam)], fam.product_id)])
            arrays.append(c.risk_array[i])
            deltas.append(float(c.composite_delta[i]))
            if isinstance(fam, OptionFamily):
                periods.append(fam.series[int(c.series_index[i])].period)
                is_opt.append(True)
                is_call.append(c.put_call[i] == "C")
                value.append(0.0 if fam.is_futures_style else float(c.value[i]))
            else:
                periods.append(c.period[i] or "")
                is_opt.append(False)
                is_call.append(False)
                value.append(0.0)
        books[code] = FileBook(
            cc=cc, labels=tuple(labels), periods=tuple(periods), quantity=np.array(q, dtype=np.float64),
            risk_arrays=np.vstack(arrays).astype(np.float64), composite_delta=np.array(deltas),
            is_option=np.array(is_opt, dtype=bool), is_call=np.array(is_call, dtype=bool),
            premium_value=np.array(value, dtype=np.float64),
        )
    return books


@dataclass(frozen=True)
class _Stage:
    """A commodity's amounts before inter-commodity credits (commodity currency)."""

    scan: ScanResult
    time_risk: float
    vol_risk: float
    price_risk: float
    net_delta: float
    intra: IntraCharges
    spot: float
    som: float
    nov: float


def _maintenance_ratio(span_file: SpanFile, cc: CombinedCommodityDef, rate_id: int) -> tuple[float, float]:
    """(initial factor, maintenance factor) applied to the requirement of ``rate_id`` (module notes)."""
    pb = next((p for p in span_file.clearing_org.pb_rates if p.rate_id == rate_id), None)
    if pb is None or pb.is_maintenance:
        return 1.0, 1.0
    adj = next((a for a in cc.adjustment_rates if a.base_rate_id == rate_id), None)
    return 1.0, (adj.value if adj is not None else 1.0)


def _check_adjustment_rates(spn: SpanFile, *, rate_id: int, source: str) -> None:
    """Refuse a maintenance adjustment rate of ``rate_id`` that is not positive (it would make a margin negative)."""
    for cc in spn.combined_commodities:
        for adj in cc.adjustment_rates:
            if adj.base_rate_id == rate_id and not adj.value > 0.0:
                raise InputFileError(
                    f"{source}: combined commodity {cc.code}, adjRate for base rate id {rate_id} is {adj.value!r}; "
                    "the maintenance/initial ratio must be positive (e.g. 0.75)."
                )


def _check_rates(spn: SpanFile, *, rate_id: int, source: str) -> None:
    """Refuse a negative charge or credit rate of ``rate_id`` (it would turn a charge into a credit)."""
    for cc in spn.combined_commodities:
        found: list[tuple[str, float]] = []
        for kind, tiers in (("SOM tier", cc.som_tiers), ("intra tier", cc.intra_tiers), ("inter tier", cc.inter_tiers)):
            found += [(f"{kind} {t.number}", r.value) for t in tiers for r in t.rates if r.rate_id == rate_id]
        for spread in cc.intra_spreads:
            found += [(f"intra spread {spread.priority}", r.value) for r in spread.rates if r.rate_id == rate_id]
            found += [(f"intra spread {spread.priority} per-month rate", v) for r in spread.per_month_rates
                      if r.rate_id == rate_id for v in (r.value, r.per_month_rate, r.per_spread_rate)]
        found += [(f"spotRate {sr.period}", v) for sr in cc.spot_rates if sr.rate_id == rate_id
                  for v in (sr.spread_rate, sr.outright_rate)]
        for what, value in found:
            if value < 0.0:
                raise InputFileError(
                    f"{source}: combined commodity {cc.code}, {what}, rate id {rate_id} is {value!r}; charge and "
                    "credit rates must be >= 0 (a negative rate would turn a charge into a credit)."
                )
    for spread in spn.inter_spreads:
        for r in spread.rates:
            if r.rate_id == rate_id and r.value < 0.0:
                raise InputFileError(
                    f"{source}: inter spread {spread.priority}, rate id {rate_id} is {r.value!r}; credit rates "
                    "must be >= 0."
                )


def margin_file(
    *,
    spn: Path | str | SpanFile,
    portfolio: Path | str | SpnPortfolio,
    account: str = "default",
    rate_id: int = 1,
    reporting_currency: str | None = None,
) -> MarginResult:
    """Margin ``portfolio`` on the SPAN file ``spn`` with the file's own arrays and rules.

    Parameters
    ----------
    spn : Path, str or SpanFile
        A SPAN XML file (plain, .gz, .zip) or one already read.
    portfolio : Path, str or SpnPortfolio
        A CSV ``exchange,product,type,period,strike,put_call,quantity``
        (:func:`load_spn_portfolio`) or positions built in code.
    account : str, optional
        Account name reported.
    rate_id : int, optional
        Performance-bond rate id whose arrays and rates apply (1: the
        Takasbank file's only one, core initial).
    reporting_currency : str, optional
        Currency of the account totals; by default the commodities' common
        currency (module notes).

    Returns
    -------
    MarginResult
        One :class:`CommodityMargin` per held combined commodity (amounts in
        its currency), totals in ``reporting_currency`` (the ``*_usd``
        fields; ``reporting_currency`` names it). ``parameter_set`` names the
        file (``SPAN file TAKASBANK 20160517``); ``valuation_time`` is the
        business date at 00:00 UTC.

    Raises
    ------
    InputFileError
        Unreadable SPAN file or portfolio; no pointDef for ``rate_id``; no
        currency conversion to the reporting currency.
    UnknownInstrumentError, InvalidInstrumentError, InvalidPositionError
        A position the file lacks or a malformed row (row and field named).

    Examples
    --------
    >>> result = margin_file(spn="takasbank.spn", portfolio="book.csv")  # doctest: +SKIP
    >>> result.commodity("AKBNKE").scan_risk                              # doctest: +SKIP
    """
    source = "the SPAN file" if isinstance(spn, SpanFile) else f"SPAN file {str(spn)!r}"
    if not isinstance(spn, SpanFile):
        from spanlike.spn.reader import read_spn

        spn = read_spn(Path(spn))
    if not isinstance(portfolio, SpnPortfolio):
        portfolio = load_spn_portfolio(Path(portfolio))
    try:
        point_def = spn.point_def(rate_id)
    except KeyError:
        raise InputFileError(f"The SPAN file defines no scan points (pointDef) for rate id {rate_id}.") from None
    _check_rates(spn, rate_id=rate_id, source=source)
    _check_adjustment_rates(spn, rate_id=rate_id, source=source)
    try:
        positions, notes_in = resolve_positions(spn, portfolio)
    except (InvalidPositionError, UnknownInstrumentError) as err:  # name the SPAN file beside the row
        raise type(err)(f"{err.args[0]} ({source})") from None
    notes = list(notes_in)
    books = _books(spn, positions)
    labels = scenario_labels(point_def)
    n_points = len(point_def.scan_points)
    for p in point_def.scan_points:
        if not 1 <= p.paired_point <= n_points:
            raise InputFileError(
                f"{source}: scan point {p.point} of rate id {rate_id} is paired with point {p.paired_point}, "
                f"which does not exist (points 1..{n_points}); fix its pairedPoint."
            )
    paired = np.array([p.paired_point - 1 if p.paired_point != p.point else -1 for p in point_def.scan_points],
                      dtype=np.int64)
    price_move = np.array([p.price.fraction for p in point_def.scan_points])
    for code, book in books.items():
        if book.risk_arrays.shape[1] != n_points:
            raise InputFileError(
                f"{source}: combined commodity {code} has risk arrays of {book.risk_arrays.shape[1]} points, "
                f"but the pointDef of rate id {rate_id} defines {n_points}; the file's arrays and scan points "
                "must match (choose the rate id whose pointDef the arrays were made for)."
            )

    # Per commodity: scan, decomposition, intra, spot, SOM, NOV.
    stage: dict[str, _Stage] = {}
    inter_inputs: dict[str, InterInput] = {}
    for code, book in books.items():
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is named just below
            losses = book.scenario_losses()
            values = book.quantity * book.premium_value
        if not (np.isfinite(losses).all() and np.isfinite(values).all()):
            raise InvalidInputError(
                f"{source}: the losses of combined commodity {code} overflow (quantities times risk-array "
                "values or option values past any finite number); check the portfolio's quantities and the "
                "file's arrays of that commodity."
            )
        scan = scan_risk(losses)
        time_r, vol_r, price_r = decompose_scan_risk(
            losses=losses, paired=paired, price_move=price_move, price_shift=np.zeros(n_points),
            scan=scan.scan_risk, worst=scan.worst,
        )
        position_delta = book.quantity * book.composite_delta
        net_delta = float(position_delta.sum())
        deltas = period_deltas(book.periods, position_delta)
        wfpr = price_r / abs(net_delta) if abs(net_delta) >= DELTA_EPS and price_r > 0.0 else 0.0
        intra = intra_spread_charges(book.cc, deltas, rate_id=rate_id, wfpr=wfpr)
        notes.extend(intra.notes)
        spot = spot_charge(book.cc, deltas, intra, rate_id=rate_id)
        som = short_option_minimum_file(book.cc, periods=book.periods, quantity=book.quantity,
                                        is_option=book.is_option, is_call=book.is_call, rate_id=rate_id)
        nov = float((book.quantity * book.premium_value).sum())
        stage[code] = _Stage(scan=scan, time_risk=time_r, vol_risk=vol_r, price_risk=price_r, net_delta=net_delta,
                             intra=intra, spot=spot, som=som, nov=nov)
        inter_inputs[code] = InterInput(cc=book.cc, deltas=deltas, remaining=intra.remaining,
                                        net_delta=net_delta, price_risk=price_r)
    credits, inter_notes = inter_spread_credits_file(spn.inter_spreads, inter_inputs, rate_id=rate_id)
    notes.extend(inter_notes)

    currencies = {book.cc.currency for book in books.values()}
    if reporting_currency is None:
        if len(currencies) == 1:
            reporting_currency = next(iter(currencies))
        else:
            targets = {c.to_currency for c in spn.clearing_org.currency_conversions}
            if len(targets) != 1:
                raise InvalidInputError(
                    f"The portfolio holds commodities in {', '.join(sorted(currencies))}; pass reporting_currency "
                    "(one of the currencies the SPAN file's curConv converts between)."
                )
            reporting_currency = next(iter(targets))

    commodities: list[CommodityMargin] = []
    for code, book in books.items():
        s = stage[code]
        credit, inter_formed = credits[code]
        requirement, som_binding = span_requirement(s.scan.scan_risk, s.intra.charge, s.spot, credit, s.som, s.nov)
        im_factor, mm_factor = _maintenance_ratio(spn, book.cc, rate_id)
        worst = s.scan.worst
        contributions = tuple(
            PositionContribution(instrument=label, quantity=float(q), worst_scenario_loss=float(q * r[worst]))
            for label, q, r in zip(book.labels, book.quantity, book.risk_arrays)
        )
        commodities.append(CommodityMargin(
            name=code, method="span", settlement_currency=book.cc.currency,
            usd_per_unit=convert_currency(spn, book.cc.currency, reporting_currency),
            scenario_labels=labels, scenario_losses=tuple(float(x) for x in s.scan.losses),
            worst_scenario=Scenario(index=worst, label=labels[worst]),
            net_delta=s.net_delta,
            components=SpanComponents(
                scan_risk=s.scan.scan_risk, time_risk=s.time_risk, vol_risk=s.vol_risk, price_risk=s.price_risk,
                intra_spread_charge=s.intra.charge, delivery_charge=s.spot, inter_spread_credit=credit,
                short_option_minimum=s.som, short_option_minimum_binding=bool(som_binding), net_option_value=s.nov,
            ),
            requirement=requirement,
            maintenance_margin=mm_factor * requirement, initial_margin=im_factor * requirement,
            contributions=contributions, spreads=s.intra.spreads + inter_formed,
        ))
    total = sum(c.requirement * c.usd_per_unit for c in commodities)
    mm = sum(c.maintenance_margin * c.usd_per_unit for c in commodities)
    im = sum(c.initial_margin * c.usd_per_unit for c in commodities)
    date = dt.datetime.strptime(spn.business_date, "%Y%m%d").replace(tzinfo=dt.timezone.utc)
    result = MarginResult(
        account=account, parameter_set=f"SPAN file {spn.clearing_org.code} {spn.business_date}",
        valuation_time=date, commodities=tuple(commodities), sum_of_requirements_usd=total,
        correlation_offset_usd=0.0, requirement_usd=total, maintenance_margin_usd=mm, initial_margin_usd=im,
        notes=tuple(notes), reporting_currency=reporting_currency,
        # CME's inter-commodity rules read every position (fidelity to the file, methodology 6.1).
        cross_offsets_from="all" if spn.inter_spreads else None,
    )
    check_result_finite(result)  # the engine's last step too: never a non-finite or negative margin
    return result
