"""A short typed summary of a SPAN file, and its text table (``spanlike spn info FILE``)."""

from __future__ import annotations

from dataclasses import dataclass

from spanlike.spn.model import OptionFamily, SpanFile

__all__ = ["ProductSummary", "SpanSummary", "summarise", "format_info"]


@dataclass(frozen=True)
class ProductSummary:
    """One product family: its code, type, contract count and expiries (period codes, sorted)."""

    exchange: str
    product_code: str
    product_type: str
    contracts: int
    expiries: tuple[str, ...]


@dataclass(frozen=True)
class SpanSummary:
    """Counts and products of a SPAN file.

    Attributes
    ----------
    clearing_org, business_date : str
    file_format : str or None
    combined_commodities, physicals, futures, options : int
        Numbers of ccDefs and of contracts by kind.
    intra_spreads, inter_spreads : int
        Intra-commodity dSpreads (all ccDefs) and inter-commodity dSpreads.
    scan_points, delta_points : int
        Points of the first pointDef.
    extreme_multiple, cover_fraction : float or None
        ``X`` and ``f`` of the extreme scenarios.
    products : tuple of ProductSummary
    """

    clearing_org: str
    business_date: str
    file_format: str | None
    combined_commodities: int
    physicals: int
    futures: int
    options: int
    intra_spreads: int
    inter_spreads: int
    scan_points: int
    delta_points: int
    extreme_multiple: float | None
    cover_fraction: float | None
    products: tuple[ProductSummary, ...]


def summarise(span_file: SpanFile) -> SpanSummary:
    """Count what ``span_file`` holds.

    Parameters
    ----------
    span_file : SpanFile

    Returns
    -------
    SpanSummary
    """
    counts = {"PHY": 0, "FUT": 0, "OPT": 0}
    products = []
    for ex in span_file.clearing_org.exchanges:
        for fam in ex.families:
            n = len(fam.contracts)
            if isinstance(fam, OptionFamily):
                counts["OPT"] += n
                periods = {s.period for s in fam.series}
            else:
                counts[fam.product_type] = counts.get(fam.product_type, 0) + n
                periods = {p for p in fam.contracts.period if p is not None}
            products.append(ProductSummary(ex.code, fam.product_code, fam.product_type, n, tuple(sorted(periods))))
    point_defs = span_file.clearing_org.point_defs
    first = point_defs[0] if point_defs else None
    return SpanSummary(
        clearing_org=span_file.clearing_org.code,
        business_date=span_file.business_date,
        file_format=span_file.file_format,
        combined_commodities=len(span_file.combined_commodities),
        physicals=counts["PHY"],
        futures=counts["FUT"],
        options=counts["OPT"],
        intra_spreads=sum(len(cc.intra_spreads) for cc in span_file.combined_commodities),
        inter_spreads=len(span_file.inter_spreads),
        scan_points=len(first.scan_points) if first else 0,
        delta_points=len(first.delta_points) if first else 0,
        extreme_multiple=first.extreme_multiple if first else None,
        cover_fraction=first.cover_fraction if first else None,
        products=tuple(sorted(products, key=lambda p: (p.product_code, p.product_type))),
    )


def format_info(summary: SpanSummary) -> str:
    """Text table of a summary: header counts, then one line per product family.

    Parameters
    ----------
    summary : SpanSummary

    Returns
    -------
    str
        Lines ending in ``\\n``.
    """
    x = "-" if summary.extreme_multiple is None else f"{summary.extreme_multiple:g}"
    f = "-" if summary.cover_fraction is None else f"{summary.cover_fraction:g}"
    rows = [
        ("clearing org", summary.clearing_org),
        ("business date", summary.business_date),
        ("file format", summary.file_format or "-"),
        ("combined commodities", str(summary.combined_commodities)),
        ("contracts", f"{summary.physicals} physicals, {summary.futures} futures, {summary.options} options"),
        ("spreads", f"{summary.intra_spreads} intra, {summary.inter_spreads} inter"),
        ("scan points", f"{summary.scan_points} (extreme x{x}, cover {f}); delta points {summary.delta_points}"),
    ]
    lines = [f"{label:<21} {value}" for label, value in rows] + [""]
    width = max([len(p.product_code) for p in summary.products] + [7])
    lines.append(f"{'product':<{width}}  type  contracts  expiries")
    for p in summary.products:
        expiries = " ".join(p.expiries) if p.expiries else "-"
        lines.append(f"{p.product_code:<{width}}  {p.product_type:<4}  {p.contracts:>9}  {expiries}")
    return "\n".join(lines) + "\n"
