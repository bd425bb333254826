"""ElementTree helpers shared by the slow twin and the small records: indexed paths, typed reads."""

from __future__ import annotations

import math

import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import TYPE_CHECKING, Sequence

from spanlike.spn.model import (
    DeltaSpread,
    PerMonthRate,
    RateValue,
    ScanDef,
    ScanRate,
    SpreadLeg,
    Tier,
    UnderlyingContract,
    UnderlyingFamily,
)
if TYPE_CHECKING:
    from spanlike.spn.reading.driver import _Reader


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

class _FieldError(Exception):
    """A bad value inside a record: indexed path relative to the record, and a message."""

    def __init__(self, rel_path: Sequence[tuple[str, int]], message: str) -> None:
        super().__init__(message)
        self.rel_path = tuple(rel_path)
        self.message = message

#: the message for a number float() reads that is NaN or infinite (``nan``, ``inf``, ``1e999``)
_NOT_FINITE = "{!r} is not a finite number; SPAN values are finite decimals (fix or regenerate the file)."


class _Unsupported(Exception):
    """The fast path met something it does not model; the slow path takes over."""

_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}

def _unescape(s: str) -> str:
    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED[ref]

    return _ENTITY.sub(sub, s)

# ---------------------------------------------------------------------------
# ElementTree helpers (slow path and small records)
# ---------------------------------------------------------------------------

class _El:
    """An element with its indexed path relative to the record, for precise errors.

    The path of a child is only built when asked for (an error): most elements never need it.
    ``req``/``fnum``/``inum`` read a present, valid child in one step and leave the rest (and
    the error messages) to ``text``/``float``/``int``.
    """

    __slots__ = ("el", "_path", "_parent", "_step")

    def __init__(
        self, el: ET.Element, path: tuple[tuple[str, int], ...] | None,
        parent: "_El | None" = None, step: tuple[str, int] | None = None,
    ) -> None:
        self.el = el
        self._path = path
        self._parent = parent
        self._step = step

    @property
    def path(self) -> tuple[tuple[str, int], ...]:
        if self._path is None:
            assert self._parent is not None and self._step is not None
            self._path = self._parent.path + (self._step,)
        return self._path

    def children(self, tag: str) -> list["_El"]:
        return [_El(c, None, self, (tag, i)) for i, c in enumerate(self.el.findall(tag), 1)]

    def child(self, tag: str, required: bool = True) -> "_El | None":
        c = self.el.find(tag)
        if c is None:
            if required:
                raise _FieldError(self.path, f"required element <{tag}> is missing.")
            return None
        return _El(c, None, self, (tag, 1))

    def text(self, tag: str, required: bool = True) -> str | None:
        c = self.el.find(tag)
        if c is None:
            if required:
                raise _FieldError(self.path, f"required element <{tag}> is missing.")
            return None
        return (c.text or "").strip()

    def req(self, tag: str) -> str:
        c = self.el.find(tag)
        if c is not None:
            return (c.text or "").strip()
        value = self.text(tag)
        assert value is not None
        return value

    def float(self, tag: str, required: bool = True) -> float | None:
        t = self.text(tag, required)
        if t is None:
            return None
        try:
            value = float(t)
        except ValueError:
            raise _FieldError(self.path + ((tag, 1),), f"{t!r} is not a number.") from None
        if not math.isfinite(value):
            raise _FieldError(self.path + ((tag, 1),), _NOT_FINITE.format(t))
        return value

    def fnum(self, tag: str) -> float:
        c = self.el.find(tag)
        if c is not None:
            try:
                value = float((c.text or "").strip())
                if math.isfinite(value):
                    return value
            except ValueError:
                pass
        value = self.float(tag)
        assert value is not None
        return value

    def int(self, tag: str, required: bool = True) -> int | None:
        t = self.text(tag, required)
        if t is None:
            return None
        try:
            value = int(t)
        except ValueError:
            raise _FieldError(self.path + ((tag, 1),), f"{t!r} is not an integer.") from None
        if not _INT64_MIN <= value <= _INT64_MAX:  # ids and counts are stored as int64
            raise _FieldError(self.path + ((tag, 1),), f"{t[:40]!r} is not an integer this file format can hold.")
        return value

    def inum(self, tag: str) -> int:
        c = self.el.find(tag)
        if c is not None:
            try:
                value = int((c.text or "").strip())
                if _INT64_MIN <= value <= _INT64_MAX:
                    return value
            except ValueError:
                pass
        value = self.int(tag)
        assert value is not None
        return value

    def bool(self, tag: str, required: bool = True) -> bool | None:
        t = self.text(tag, required)
        if t is None:
            return None
        if t in ("1", "true"):
            return True
        if t in ("0", "false"):
            return False
        raise _FieldError(self.path + ((tag, 1),), f"{t!r} is not a boolean (0, 1, true, false).")

    def unknown(self, known: frozenset[str]) -> list[str]:
        return [c.tag for c in self.el if c.tag not in known]

def _note_unknown(reader: _Reader, base: str, node: _El, known: frozenset[str]) -> None:
    for tag in node.unknown(known):
        reader.skipped[f"{base}/{tag}"] += 1

def _rates(node: _El, tag: str = "rate") -> tuple[RateValue, ...]:
    return tuple(RateValue(r.inum("r"), r.fnum("val")) for r in node.children(tag))

def _scan_def(node: _El) -> ScanDef:
    return ScanDef(node.fnum("mult"), node.float("numerator", False), node.float("denominator", False))

def _scan_rate(node: _El) -> ScanRate:
    return ScanRate(
        node.inum("r"),
        node.float("priceScan", False),
        node.float("priceScanPct", False),
        node.float("volScan", False),
        node.float("volScanPct", False),
    )

def _und_c(node: _El) -> UnderlyingContract:
    return UnderlyingContract(node.req("exch"), node.inum("pfId"), node.inum("cId"), node.req("s"), node.fnum("i"))

def _und_pf(node: _El) -> UnderlyingFamily:
    return UnderlyingFamily(
        node.req("exch"), node.inum("pfId"), node.text("pfCode", False), node.text("pfType", False),
        node.req("s"), node.fnum("i"),
    )

def _tier(node: _El) -> Tier:
    return Tier(node.inum("tn"), node.text("sPe", False), node.text("ePe", False), _rates(node))

def _delta_spread(node: _El) -> DeltaSpread:
    legs: list[SpreadLeg] = []
    seen: Counter[str] = Counter()
    for child in node.el:
        if child.tag not in ("tLeg", "pLeg"):
            continue
        seen[child.tag] += 1
        leg = _El(child, None, node, (child.tag, seen[child.tag]))
        legs.append(
            SpreadLeg(
                leg.req("cc"), leg.req("rs"), leg.fnum("i"),
                tier=leg.inum("tn") if child.tag == "tLeg" else None,
                period=leg.req("pe") if child.tag == "pLeg" else None,
                rates=_rates(leg),
            )
        )
    for leg in legs:
        if leg.side not in ("A", "B"):
            raise _FieldError(node.path, f"spread leg side must be 'A' or 'B'. Got {leg.side!r}.")
    method = node.req("chargeMeth")
    if method not in ("F", "P", "W"):
        raise _FieldError(node.path + (("chargeMeth", 1),), f"chargeMeth must be F, P or W. Got {method!r}.")
    pmps = tuple(
        PerMonthRate(p.inum("r"), p.fnum("val"), p.fnum("pmRate"), p.fnum("psRate")) for p in node.children("pmpsRate")
    )
    return DeltaSpread(node.inum("spread"), method, tuple(legs), _rates(node), pmps, node.text("spreadType", False))

_CO = ("spanFile", "pointInTime", "clearingOrg")
_EX = _CO + ("exchange",)

def _raw_text(node: _El, tag: str) -> str | None:
    """Text kept with its spaces (format fields such as priceFmt are a single blank)."""
    c = node.el.find(tag)
    return None if c is None else (c.text or "")

