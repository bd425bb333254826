"""Streaming, hardened reader of CME SPAN risk-parameter files (XML ``fileFormat`` 4.00).

``read_spn(path)`` returns a :class:`~spanlike.spn.model.SpanFile`. Inputs may
be plain XML, ``.gz`` or ``.zip`` (the first ``.spn`` member); the kind is
recognised by its magic bytes.

How it reads
------------
Memory is bounded by the read chunk (4 MB) and the largest product family or
batch of families (``_BATCH_BYTES``), not by the file.

1. **Validation** by expat (C, no Python callbacks per element). It rejects
   malformed and truncated XML with the line and column, and refuses any
   document type declaration (hence any entity definition, billion-laughs
   expansion or external entity) before any record is read.
2. **Extraction**: a scanner walks the container elements (``spanFile``,
   ``definitions``, ``pointInTime``, ``clearingOrg``, ``exchange``,
   ``interSpreads``) and hands each record element to a handler. Small
   records of one container (currency, point and combined-commodity
   definitions, spreads) are parsed by one ElementTree call per 32 KB.
   Product families (the bulk of a file) are read in batches: family headers
   and option series heads by regular expressions that encode the XSD content
   model (child order and optionality), and the runs of contract records
   (``opt``, ``fut``, ``phy``) by the *token path* (:mod:`._tokens`): numpy
   finds every tag, checks each distinct record form against the content
   model once and converts the texts column-wise, numbers by word-wise
   parsers equal bit for bit to ``float()``/``int()``
   (:func:`~spanlike.spn._fastparse.decimal_spans`; other texts are read by
   the builtins). A run the token path does not model goes to the *regex
   path* (one pattern per record, numbers parsed per batch by
   :func:`~spanlike.spn._fastparse.decimals`), and anything the regex path
   does not model (an unknown element, another child order, an entity, a bad
   number) sends the family to the *slow path*, an ElementTree walk that
   reads the same fields, records unmodelled elements in ``SpanFile.skipped``
   and raises precise errors. The three give equal results, bit for bit
   (tested on every fixture, on edited fixtures and on the Takasbank file).

Each idea has its module in :mod:`spanlike.spn.reading` (archives, the pass
driver, records, families, the token path, the regex path, the slow twin,
progress); this module holds the entry point and the notes on the format.
``read_spn(path, parser="slow")`` reads every family by the slow twin and
``parser="regex"`` skips the token path, to compare them or to work around
a suspected fast-path problem.

Validation and extraction run in one of two orders. The **lazy pass** (tried first) scans
first and gives expat the document behind the scanner, except the runs of
contract records the token path checked completely (tags, nesting, white
space, texts, characters): expat reads a placeholder in their place, whose
reported position proves the run stood in element content (see
``reading.driver._Lazy``). It stops at the first problem of any kind, and the **strict
pass** reads the file again with expat first on every chunk, so a bad file's
error, line and element path are always the strict pass's. Neither expands
an entity.

Errors are :class:`~spanlike.errors.InputFileError` naming the file, the line
and the element path (``spanFile/pointInTime/clearingOrg/exchange/oopPf/series/opt/ra/a``).

Elements and their meaning (XSD ``spanrisk.xml`` published in the
marketcalls/marginism repository; marginism's ``parser.py``/``algorithm.py``)
-----------------------------------------------------------------------------
``spanFile``: ``fileFormat``, ``created``, ``definitions`` (``currencyDef``:
currency, symbol, name, ``decimalPos``; ``acctTypeDef``), ``pointInTime``
(``date``, ``isSetl``, ``setlQualifier``, ``clearingOrg``).
``clearingOrg``: ``ec`` code, ``curConv`` (fromCur, toCur, factor), ``pbRateDef``
(what rate id ``r`` means: customer flag, account type, ``isM`` maintenance
flag, class), ``pointDef`` (per rate id: 16 ``scanPointDef`` = point number,
``priceScanDef``/``volScanDef`` move as ``mult`` = ``numerator/denominator``
scan ranges, ``weight``, ``pairedPoint``; ``deltaPointDef`` = points and
weights of the composite delta), ``exchange``, ``ccDef``, ``interSpreads``.
``exchange``: product families ``phyPf`` (physicals/underlyings), ``futPf``,
``oopPf``/``oofPf``/``ooePf``/``oocPf`` (options on physicals, futures,
equities, combinations). A family has ``pfId``, ``pfCode``, ``currency``,
``cvf``, ``priceDl`` (decimals), ``valueMeth`` (``FUT`` futures-style,
``EQTY`` premium-style), ``undPf``. Contracts: ``cId``, ``pe`` period code,
``p`` settlement price, ``d`` delta, ``v`` vol, ``cvf`` contract value
factor, ``val`` = ``p`` x ``cvf``, ``sc``, ``setlDate``, ``t`` years to expiry,
``undC`` (the underlying contract by ``pfId``/``cId``), ``scanRate``
(``priceScan`` in currency per contract, ``volScan``/``volScanPct``), ``ra``
(rate id ``r``, one ``a`` per scan point, ``d`` composite delta). Option
``series`` carry ``pe``, ``setlDate``, ``t``, ``cvf``, ``svf``, ``undC``,
``intrRate`` (val, rl, cpm, exm), ``divRate``, ``scanRate``; ``opt`` carries
``o`` (C/P), ``k`` strike, ``p``, ``pq``, ``d``, ``v``, ``val``, ``ra``.
``ccDef``: ``cc``, ``currency``, methods (``somMeth`` GROSS/MAX, ``spotMeth``,
``wfprMeth``), ``pfLink`` (exch, pfId, pfCode, pfType, ``sc``,
``arrayPrecision``), ``adjRate``, tiers (``scanTiers``, ``intraTiers``,
``interTiers``, ``somTiers``: ``tn``, ``sPe``, ``ePe``, ``rate``), ``dSpread``
(``spread`` priority, ``chargeMeth`` F/P/W, ``rate`` r/val, legs ``tLeg`` (cc,
tn, rs side, i delta ratio) or ``pLeg`` (cc, pe, rs, i)), ``spotRate`` (r, pe,
``sprd`` rate for delta in spreads, ``outr`` for outright delta).
``interSpreads``: ``dSpread`` with legs in different combined commodities.

Conventions of the real file (Takasbank, Borsa Istanbul, 2016-05-17)
--------------------------------------------------------------------
* **Sign**: arrays are loss-positive for a long contract. A future (AKBNKE
  201605, priceScan 90) has -30, -60, -90 in the price-up scenarios 3, 7, 11
  and +30, +60, +90 in the price-down ones.
* **Units**: arrays and ``priceScan`` are currency per contract (TRY), i.e.
  already multiplied by ``cvf`` (100 shares per equity contract): a 90 TRY
  scan range is 0.90 TRY per share on a 7.58 TRY price.
* **Cover fraction**: scenarios 15/16 already include it. ``scanPointDef``
  15/16 say price +-3 ranges (mult 3, numerator 3, denominator 1) with weight
  0.32, and the future's arrays hold -+86.4 = 3 x 90 x 0.32. Do not apply
  the weight again.
* **Lookahead**: option arrays include time decay: a deep in-the-money call
  (AKBNKE 201605 C 6.00) shows a loss of 0.239 TRY in scenarios 1 and 2
  (price and vol unchanged or vol up/down), which only passing time explains.
  Futures arrays show none (scenarios 1/2 are -0). The file states no
  ``lookAheadDays``.
* **Deltas**: ``opt/d`` is 0 for every option; the delta to use is the
  composite delta ``ra/d`` (weighted over the 7 ``deltaPointDef`` points,
  weights .037 .111 .217 .270 .217 .111 .037).
* **Decimals**: prices and strikes carry exactly ``priceDl``/``strikeDl``
  explicit decimals (no implied decimal point to undo); arrays have 6
  decimals (``arrayPrecision`` 6); ``mult`` is rounded (0.333333), so use
  ``numerator/denominator`` (:attr:`ScanDef.fraction`).
* **Tiers/spreads**: each ccDef has one intra tier, one inter tier and one
  SOM tier, all ``tn`` 0 covering every period; one intra ``dSpread`` (method
  F, a flat rate per spread, legs tier 0 side A and B, ratio 1); 56 inter
  spreads (method W, rate = credit share 0.5-1.0, tier 0 legs with delta
  ratios such as 12.75 AKBNKE : 1 XU030). SOM method GROSS.
* **Schema deviations**: physicals use the period code ``00000S`` (the XSD
  asks for six digits) and ``pfLink`` puts ``oopDeltaMeth`` before
  ``arrayPrecision``; both are read as they are.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from spanlike.params.errors import InvalidInputError
from spanlike.spn.model import SpanFile
from spanlike.spn.reading.driver import PARSERS, read_document
from spanlike.spn.reading.limits import MAX_INFLATED_BYTES, MAX_INFLATION_RATIO, MAX_TEXT_BYTES, ReadLimits
from spanlike.spn.reading.progress import ProgressCallback

__all__ = ["read_spn", "ProgressCallback", "MAX_INFLATED_BYTES", "MAX_INFLATION_RATIO", "MAX_TEXT_BYTES"]


def read_spn(
    path: str | os.PathLike[str],
    *,
    progress: bool | ProgressCallback = False,
    parser: Literal["fast", "regex", "slow"] = "fast",
    max_inflated_bytes: int = MAX_INFLATED_BYTES,
    max_inflation_ratio: float = MAX_INFLATION_RATIO,
    max_text_bytes: int = MAX_TEXT_BYTES,
) -> SpanFile:
    """Read a SPAN risk-parameter file.

    Parameters
    ----------
    path : str or path-like
        A ``.spn`` XML file, or a ``.gz`` of one, or a ``.zip`` holding one
        (the first member ending in ``.spn`` is read). Must be a regular file
        (symlinks are followed).
    progress : bool or callable, optional
        ``True`` draws a progress bar on stderr for files of 4 MB or more; a
        callable is called as ``progress(bytes_done, bytes_total)`` after
        each chunk (``bytes_total`` None when unknown). A file in error is
        read a second time to name the error (module notes), and the
        progress starts again then.
    parser : {"fast", "regex", "slow"}, optional
        How product families are read. ``"fast"`` (default): the token
        path, with the regex path and the slow twin for what it does not
        model. ``"regex"``: the regex path, with the slow twin as fallback
        (no token path). ``"slow"``: the slow twin alone, an ElementTree walk
        per family. All three give equal results, bit for bit, and the same
        errors; the slow twin is the reference the others are tested against.
    max_inflated_bytes : int, optional
        Largest size a ``.gz``/``.zip`` file may inflate to
        (:data:`MAX_INFLATED_BYTES`, 8 GiB).
    max_inflation_ratio : float, optional
        Largest ratio of inflated to compressed bytes, checked past the first
        16 MiB (:data:`MAX_INFLATION_RATIO`, 200; SPAN XML compresses 10-30x).
    max_text_bytes : int, optional
        Longest text node, attribute, comment or tag, in bytes
        (:data:`MAX_TEXT_BYTES`, 1 MiB).

    Returns
    -------
    SpanFile
        The file's content; risk arrays are loss-positive per long contract.

    Raises
    ------
    InputFileError
        The file does not exist or is not a regular file, is a damaged or
        encrypted archive, passes a size limit, is not well-formed or
        truncated (message with line and element path), declares a DTD or
        entities (refused: entity expansion and external entities are never
        processed), misses a required element or holds a value of the wrong
        type (a number that is not finite, a boolean other than 0/1/true/false).
    InvalidInputError
        ``parser`` or a limit is not valid.

    Examples
    --------
    >>> span = read_spn("takasbank-20160517.spn")            # doctest: +SKIP
    >>> span.point_def(1).cover_fraction                     # doctest: +SKIP
    0.32
    >>> read_spn("takasbank-20160517.spn", parser="slow") == span  # doctest: +SKIP
    True
    """
    if parser not in PARSERS:
        raise InvalidInputError(f"read_spn's parser must be one of {', '.join(map(repr, PARSERS))}. Got {parser!r}.")
    limits = ReadLimits(max_inflated_bytes, max_inflation_ratio, max_text_bytes)
    return read_document(Path(path), progress=progress, parser=parser, limits=limits)
