"""Charts as SVG text, drawn on the server from the library's chart data.

Why SVG from Python rather than a vendored charting library: the two charts
are a grid of cells and a row of bars; drawing them here keeps the page free
of third-party JavaScript (nothing to vendor, licence or update), lets the
tests check the drawn cells against :func:`spanlike.efficiency.chart_data.heatmap_data`
without a browser, and gives keyboard focus and tooltips (``<title>``) per
cell with no script at all.

Heatmap: loss-positive (positive = the book loses), in the settlement
currency; a cell's tooltip and accessible name give the loss in that
currency and in USD. Extended or extreme moves (counted at their weight)
are drawn as a separate block to the right, so the regular grid reads on
its own. Waterfall: USD, isolated -> portfolio -> cross.
"""

from __future__ import annotations

from html import escape
from typing import Any, Sequence


__all__ = ["fmt_amount", "heatmap_svg", "waterfall_svg"]

_CELL_W, _CELL_H, _LABEL_W, _HEAD_H, _GAP = 74, 38, 150, 44, 22


def fmt_amount(value: float, currency: str) -> str:
    """An amount as the page writes it: thousands separators; coins to 4 significant places below 1."""
    if currency.upper() in ("USD", "USDC"):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:,.3f}" if abs(value) >= 1 else f"{value:,.4f}"


def _mix(t: float) -> tuple[str, str]:
    """Fill and text colour for a loss share ``t`` in [-1, 1] (red: loss, blue: gain, white: 0)."""
    t = max(-1.0, min(1.0, t))
    end = (192, 57, 43) if t > 0 else (41, 98, 168)
    a = abs(t) ** 0.8
    rgb = tuple(round(255 + (e - 255) * a) for e in end)
    return "#%02x%02x%02x" % rgb, ("#ffffff" if a > 0.55 else "#111111")


def heatmap_svg(h: Any, cells: Sequence[dict[str, Any]]) -> str:
    """SVG of one commodity's scenario losses (``h``: :class:`HeatmapData`, ``cells``: the page's cell list).

    The regular grid comes first; extended or extreme moves (price labels
    marked ``*``, counted at their weight) are a second block below it, so
    both the SPAN 16 grid (7 x 2 + 2 extremes) and the exchange grid
    (9 x 3 + extended moves) fit the page's width at full size.
    """
    ext = [lab.endswith("*") for lab in h.price_labels]
    labels = [lab.rstrip("*") for lab in h.price_labels]
    blocks = [[k for k in range(len(labels)) if not ext[k]], [k for k in range(len(labels)) if ext[k]]]
    by_rc = {(c["row"], c["col"]): c for c in cells}
    scale = max((abs(c["loss"]) for c in cells), default=0.0) or 1.0
    out: list[str] = []
    y0 = 0.0
    width = 0.0
    for b, cols in enumerate(blocks):
        if not cols:
            continue
        rows = [r for r in range(len(h.vol_labels)) if any((r, k) in by_rc for k in cols)]
        title = "price move" if b == 0 else "extended moves (counted at their weight)"
        out.append(f'<text class="hm-block" x="{_LABEL_W}" y="{y0 + 16}">{escape(title)}</text>')
        for i, k in enumerate(cols):
            out.append(f'<text class="hm-col" x="{_LABEL_W + i * _CELL_W + _CELL_W / 2}" y="{y0 + _HEAD_H - 8}" '
                       f'text-anchor="middle">{escape(labels[k])}</text>')
        for ri, r in enumerate(rows):
            y = y0 + _HEAD_H + ri * _CELL_H
            out.append(f'<text class="hm-row" x="{_LABEL_W - 8}" y="{y + _CELL_H / 2 + 4}" '
                       f'text-anchor="end">{escape(h.vol_labels[r])}</text>')
            for i, k in enumerate(cols):
                x = _LABEL_W + i * _CELL_W
                c = by_rc.get((r, k))
                if c is None:
                    out.append(f'<rect class="hm-empty" x="{x + 1}" y="{y + 1}" width="{_CELL_W - 2}" '
                               f'height="{_CELL_H - 2}" fill="#f1f1f1"/>')
                    continue
                fill, ink = _mix(c["loss"] / scale)
                coin = fmt_amount(c["loss"], h.currency)
                usd = f"{c['loss_usd']:,.0f}"
                name = (f"Scenario {c['scenario']}, {c['label']}: loss {coin} {h.currency} ({usd} USD)"
                        + ("; worst scenario" if c["worst"] else ""))
                out.append(
                    f'<g class="hm-cell{" hm-worst" if c["worst"] else ""}" tabindex="0" role="img" '
                    f'aria-label="{escape(name)}" data-scenario="{c["scenario"]}" data-label="{escape(c["label"])}" '
                    f'data-loss="{c["loss"]!r}" data-loss-usd="{c["loss_usd"]!r}" data-currency="{escape(h.currency)}">'
                    f'<title>{escape(name)}</title>'
                    f'<rect x="{x + 1}" y="{y + 1}" width="{_CELL_W - 2}" height="{_CELL_H - 2}" fill="{fill}"/>'
                    f'<text x="{x + _CELL_W - 7}" y="{y + _CELL_H / 2 + 8}" text-anchor="end" fill="{ink}">'
                    f'{escape(coin)}</text>')
                if c["worst"]:
                    out.append(f'<rect class="hm-mark" x="{x + 2.5}" y="{y + 2.5}" width="{_CELL_W - 5}" '
                               f'height="{_CELL_H - 5}" fill="none" stroke="#111" stroke-width="3"/>'
                               f'<text x="{x + 6}" y="{y + 13}" class="hm-worst-tag" fill="{ink}">worst</text>')
                out.append('</g>')
        width = max(width, _LABEL_W + len(cols) * _CELL_W + 4)
        y0 += _HEAD_H + len(rows) * _CELL_H + _GAP
    height = y0 - _GAP + 4
    desc = (f"Scenario losses of {h.commodity} in {h.currency}, price move by vol state; positive = the book "
            f"loses. Worst: scenario {h.marked_scenario + 1} ({h.worst_loss:,.6g} {h.currency}).")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" viewBox="0 0 {width:g} {height:g}" '
            f'width="{width:g}" height="{height:g}" role="group" aria-label="{escape(desc)}">'
            f'<desc>{escape(desc)}</desc>' + "".join(out) + "</svg>")


def _wrap(text: str, width: int = 15) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines[:4]


def waterfall_svg(wf: Any) -> str:
    """SVG of a :class:`WaterfallData` (USD): totals from 0, savings down (green), charges up (red)."""
    steps = wf.steps
    n = len(steps)
    bw, gap, top, plot_h, left = 92, 14, 28, 220, 10
    width = left + n * (bw + gap)
    hi = max([max(s.start_usd, s.end_usd) for s in steps] + [0.0]) or 1.0
    lo = min([min(s.start_usd, s.end_usd) for s in steps] + [0.0])
    span = hi - lo or 1.0

    def y(v: float) -> float:
        return top + (hi - v) / span * plot_h

    colours = {"total": "#47617e", "saving": "#2e8b57", "charge": "#c0392b"}
    out = [f'<line x1="{left}" x2="{width}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}" stroke="#999"/>']
    for i, s in enumerate(steps):
        x = left + i * (bw + gap)
        a, b = sorted((s.start_usd, s.end_usd))
        amount = s.end_usd if s.kind == "total" else s.end_usd - s.start_usd
        shown = f"{amount:,.0f}" if s.kind == "total" else f"{amount:+,.0f}"
        name = f"{' '.join(s.label.split())}: {shown} USD"
        out.append(f'<g class="wf-bar wf-{s.kind}" tabindex="0" role="img" aria-label="{escape(name)}">'
                   f'<title>{escape(name)}</title>'
                   f'<rect x="{x}" y="{y(b):.1f}" width="{bw}" height="{max(y(a) - y(b), 1.0):.1f}" '
                   f'fill="{colours[s.kind]}"/>'
                   f'<text x="{x + bw / 2}" y="{y(b) - 6:.1f}" text-anchor="middle" class="wf-amount">'
                   f'{escape(shown)}</text></g>')
        if i + 1 < n:
            out.append(f'<line x1="{x + bw}" x2="{x + bw + gap}" y1="{y(s.end_usd):.1f}" y2="{y(s.end_usd):.1f}" '
                       'stroke="#666" stroke-dasharray="3 2"/>')
        for k, line in enumerate(_wrap(" ".join(s.label.split()))):
            out.append(f'<text x="{x + bw / 2}" y="{top + plot_h + 18 + 14 * k}" text-anchor="middle" '
                       f'class="wf-label">{escape(line)}</text>')
    height = top + plot_h + 18 + 14 * 4
    desc = f"{wf.title}. Bars in USD; green saves margin, red charges more."
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="group" aria-label="{escape(desc)}"><desc>{escape(desc)}</desc>'
            + "".join(out) + "</svg>")

