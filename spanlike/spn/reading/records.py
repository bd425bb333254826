"""Handlers of the records outside product families (header, definitions, clearing org, ccDef, spreads)."""

from __future__ import annotations

import datetime as dt

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spanlike.spn.model import (
    NON_OPTION_FAMILY_TAGS,
    OPTION_FAMILY_TAGS,
    AccountTypeDef,
    AdjustmentRate,
    ClearingOrg,
    CombinedCommodityDef,
    CurrencyConversion,
    CurrencyDef,
    DeltaPointDef,
    DeltaSpread,
    Exchange,
    Family,
    PerformanceBondRate,
    PointDef,
    ProductLink,
    ScanPointDef,
    SpanFile,
    SpotRate,
    Tier,
    family_sort_key,
)
from spanlike.spn.reading.elements import _CO, _EX, _El, _FieldError, _delta_spread, _note_unknown, _scan_def, _tier
from spanlike.spn.reading.families import read_family

if TYPE_CHECKING:
    from spanlike.spn.reading.driver import _Reader

@dataclass
class _ExchangeState:
    code: str | None = None
    name: str | None = None
    families: list[Family] | None = None

class _State:
    def __init__(self) -> None:
        self.header: dict[str, str] = {}
        self.pit: dict[str, str] = {}
        self.co: dict[str, str] = {}
        self.currencies: list[CurrencyDef] = []
        self.account_types: list[AccountTypeDef] = []
        self.conversions: list[CurrencyConversion] = []
        self.pb_rates: list[PerformanceBondRate] = []
        self.point_defs: list[PointDef] = []
        self.exchanges: list[Exchange] = []
        self.exchange: _ExchangeState | None = None
        self.ccdefs: list[CombinedCommodityDef] = []
        self.inter_spreads: list[DeltaSpread] = []
        self.seen_pit = 0
        self.seen_co = 0
        self.seen_root = False

    def open(self, key: tuple[str, ...], reader: _Reader, start: int) -> None:
        tag = key[-1]
        if tag == "spanFile":
            self.seen_root = True
        elif tag == "pointInTime":
            self.seen_pit += 1
            if self.seen_pit > 1:
                raise reader.fail(reader.line_at(start), "/".join(key), "files with several pointInTime elements are not supported.")
        elif tag == "clearingOrg":
            self.seen_co += 1
            if self.seen_co > 1:
                raise reader.fail(reader.line_at(start), "/".join(key), "files with several clearingOrg elements are not supported.")
        elif tag == "exchange":
            self.exchange = _ExchangeState(families=[])

    def has_exchange_code(self) -> bool:
        return self.exchange is not None and self.exchange.code is not None

    def close(self, key: tuple[str, ...], reader: _Reader) -> None:
        if key == _EX and self.exchange is not None:
            reader.flush_families()
            ex = self.exchange
            if ex.code is None:
                raise reader.fail(None, "/".join(key), "required element <exch> is missing.")
            fams = sorted(ex.families or [], key=family_sort_key)
            self.exchanges.append(Exchange(ex.code, ex.name, tuple(fams)))
            self.exchange = None

    def record(self, key: tuple[str, ...], tag: str, record: bytes, reader: _Reader) -> bool:
        if key == ("spanFile",):
            if tag in ("fileFormat", "created", "spanVersion"):
                self.header[tag] = _simple_text(record, tag, reader)
                return True
            return False
        if key == ("spanFile", "definitions"):
            if tag == "currencyDef":
                n = _El(reader.element(record), ())
                self.currencies.append(
                    CurrencyDef(n.req("currency"), (n.el.findtext("symbol") or ""), n.req("name"), n.inum("decimalPos"))
                )
                return True
            if tag == "acctTypeDef":
                n = _El(reader.element(record), ())
                self.account_types.append(
                    AccountTypeDef(
                        bool(n.bool("isCust")), n.req("acctType"), n.text("name", False),
                        bool(n.bool("isNetMargin")), n.req("priority"),
                    )
                )
                return True
            return False
        if key == ("spanFile", "pointInTime"):
            if tag in ("date", "isSetl", "setlQualifier", "time", "run"):
                self.pit[tag] = _simple_text(record, tag, reader)
                if tag == "isSetl":
                    _parse_bool(self.pit[tag], tag)
                elif tag == "date":
                    _check_date(self.pit[tag], tag, "the business date")
                return True
            return False
        if key == _CO:
            return self._clearing_org_record(tag, record, reader)
        if key == _EX:
            assert self.exchange is not None and self.exchange.families is not None
            if tag in ("exch", "name"):
                value = _simple_text(record, tag, reader)
                if tag == "exch":
                    self.exchange.code = value
                else:
                    self.exchange.name = value
                return True
            if tag in NON_OPTION_FAMILY_TAGS or tag in OPTION_FAMILY_TAGS:
                if self.exchange.code is None:
                    raise _FieldError((), "product family before the exchange's <exch> code.")
                self.exchange.families.append(read_family(tag, record, reader))
                return True
            return False
        if key == _CO + ("interSpreads",):
            if tag == "dSpread":
                self.inter_spreads.append(_delta_spread(_El(reader.element(record), ())))
                return True
            return False
        return False

    def _clearing_org_record(self, tag: str, record: bytes, reader: _Reader) -> bool:
        simple = {
            "ec", "name", "isContractScale", "isNetMargin", "finalizeMeth", "oopDeltaMeth", "capAnov",
            "lookAheadYears", "lookAheadDays", "daysPerYear",
        }
        if tag in simple:
            self.co[tag] = _simple_text(record, tag, reader)
            if tag in _CO_BOOLEANS:
                _parse_bool(self.co[tag], tag)
            return True
        if tag == "curConv":
            n = _El(reader.element(record), ())
            self.conversions.append(CurrencyConversion(n.req("fromCur"), n.req("toCur"), n.fnum("factor")))
            return True
        if tag == "pbRateDef":
            n = _El(reader.element(record), ())
            self.pb_rates.append(
                PerformanceBondRate(n.inum("r"), bool(n.bool("isCust")), n.req("acctType"), bool(n.bool("isM")), n.req("pbc"))
            )
            return True
        if tag == "pointDef":
            n = _El(reader.element(record), ())
            scans = tuple(
                ScanPointDef(p.inum("point"), _scan_def(p.child("priceScanDef")), _scan_def(p.child("volScanDef")),  # type: ignore[arg-type]
                             p.fnum("weight"), p.inum("pairedPoint"))
                for p in n.children("scanPointDef")
            )
            deltas = tuple(
                DeltaPointDef(p.inum("point"), _scan_def(p.child("priceScanDef")), _scan_def(p.child("volScanDef")),  # type: ignore[arg-type]
                              p.fnum("weight"))
                for p in n.children("deltaPointDef")
            )
            if not scans:
                raise _FieldError((), "a pointDef needs at least one scanPointDef.")
            self.point_defs.append(PointDef(n.inum("r"), scans, deltas))
            return True
        if tag == "ccDef":
            self.ccdefs.append(_cc_def(_El(reader.element(record), ()), reader))
            return True
        return False

    def build(self, reader: _Reader) -> SpanFile:
        if not self.seen_root:
            raise reader.fail(None, "", "no <spanFile> root element: this is not a SPAN XML file.")
        if "date" not in self.pit or "isSetl" not in self.pit:
            raise reader.fail(None, "spanFile/pointInTime", "required elements <date> and <isSetl> are missing.")
        if self.seen_co == 0:
            raise reader.fail(None, "spanFile/pointInTime", "required element <clearingOrg> is missing.")
        for tag in ("ec", "finalizeMeth"):
            if tag not in self.co:
                raise reader.fail(None, "/".join(_CO), f"required element <{tag}> is missing.")
        co = ClearingOrg(
            code=self.co["ec"],
            name=self.co.get("name", ""),
            is_contract_scale=_opt_bool(self.co.get("isContractScale")),
            is_net_margin=_opt_bool(self.co.get("isNetMargin")),
            finalize_method=self.co["finalizeMeth"],
            option_delta_method=self.co.get("oopDeltaMeth"),
            cap_anov=_opt_bool(self.co.get("capAnov")),
            lookahead_years=self.co.get("lookAheadYears"),
            lookahead_days=self.co.get("lookAheadDays"),
            days_per_year=self.co.get("daysPerYear"),
            currency_conversions=tuple(self.conversions),
            pb_rates=tuple(self.pb_rates),
            point_defs=tuple(self.point_defs),
            exchanges=tuple(self.exchanges),
            combined_commodities=tuple(self.ccdefs),
            inter_spreads=tuple(self.inter_spreads),
        )
        return SpanFile(
            file_format=self.header.get("fileFormat"),
            created=self.header.get("created"),
            business_date=self.pit["date"],
            is_settlement=bool(_opt_bool(self.pit["isSetl"])),
            settlement_qualifier=self.pit.get("setlQualifier"),
            currencies=tuple(self.currencies),
            account_types=tuple(self.account_types),
            clearing_org=co,
            skipped=tuple(sorted(reader.skipped.items())),
            source=reader.name,
        )

#: clearing-org children that are XSD booleans
_CO_BOOLEANS = frozenset({"isContractScale", "isNetMargin", "capAnov"})


def _parse_bool(text: str, tag: str) -> bool:
    """An XSD boolean (1, true, 0, false); anything else is refused, not read as false."""
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise _FieldError((), f"{text!r} is not a boolean; write 1, true, 0 or false.")


def _check_date(text: str, tag: str, what: str) -> None:
    """A date field must be ``YYYYMMDD`` and a real calendar date (an empty text is refused)."""
    if not (len(text) == 8 and text.isascii() and text.isdigit()):
        raise _FieldError((), f"{what} {text!r} is not a date in the form YYYYMMDD (e.g. 20240102).")
    try:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise _FieldError((), f"{what} {text!r} is not a calendar date (YYYYMMDD).") from None


def _opt_bool(text: str | None) -> bool | None:
    """A boolean already checked by :func:`_parse_bool` when its record was read."""
    if text is None:
        return None
    return text in ("1", "true")

def _simple_text(record: bytes, tag: str, reader: _Reader) -> str:
    m = re.fullmatch(rb"<" + tag.encode() + rb">([^<]*)</" + tag.encode() + rb">", record)
    if m:
        return reader.text(m.group(1))
    el = reader.element(record)
    if len(el):
        raise _FieldError((), f"<{tag}> must hold text, not elements.")
    return (el.text or "").strip()

def _cc_def(n: _El, reader: _Reader) -> CombinedCommodityDef:
    links = tuple(
        ProductLink(
            p.req("exch"), p.inum("pfId"), p.text("pfCode", False), p.text("pfType", False), p.fnum("sc"),
            p.text("cmbMeth", False), p.bool("applyBasisRisk", False), p.int("arrayPrecision", False),
            p.text("oopDeltaMeth", False),
        )
        for p in n.children("pfLink")
    )
    adj = tuple(AdjustmentRate(a.inum("r"), a.inum("baseR"), a.fnum("val")) for a in n.children("adjRate"))

    def tiers(tag: str) -> tuple[Tier, ...]:
        return tuple(_tier(t) for group in n.children(tag) for t in group.children("tier"))

    spots = tuple(
        SpotRate(s.inum("r"), s.req("pe"), s.fnum("sprd"), s.fnum("outr")) for s in n.children("spotRate")
    )
    known = frozenset({
        "cc", "name", "currency", "riskExponent", "capAnov", "procMeth", "wfprMeth", "spotMeth", "somMeth",
        "cmbMeth", "pfLink", "adjRate", "scanTiers", "intraTiers", "interTiers", "somTiers", "dSpread", "spotRate",
    })
    _note_unknown(reader, "spanFile/pointInTime/clearingOrg/ccDef", n, known)
    return CombinedCommodityDef(
        code=n.req("cc"),
        name=n.text("name", False),
        currency=n.req("currency"),
        risk_exponent=n.int("riskExponent", False),
        cap_anov=n.bool("capAnov", False),
        processing_method=n.text("procMeth", False),
        wfpr_method=n.text("wfprMeth", False),
        spot_method=n.text("spotMeth", False),
        som_method=n.text("somMeth", False),
        combination_method=n.text("cmbMeth", False),
        product_links=links,
        adjustment_rates=adj,
        scan_tiers=tiers("scanTiers"),
        intra_tiers=tiers("intraTiers"),
        inter_tiers=tiers("interTiers"),
        som_tiers=tiers("somTiers"),
        intra_spreads=tuple(_delta_spread(d) for d in n.children("dSpread")),
        spot_rates=spots,
    )

