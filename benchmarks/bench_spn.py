"""Benchmark of the SPAN file reader against marginism 0.1.1, measured in the same run.

Workloads
---------
1. The Takasbank file (``../shared/data/takasbank-20160517.spn``, 1.4 MB):
   parse time of :func:`spanlike.spn.read_spn` and of ``marginism.parser.parse_spn``
   (best and median of ``--repeats`` interleaved runs), and their ratio.
2. A generated file of about ``--size-mb`` MB (default 50): the Takasbank file
   with every option family's series replicated, written to a temporary
   directory. Each reader parses it in a fresh subprocess that reports its
   time and peak RSS (``VmHWM`` of ``/proc/self/status``; ``ru_maxrss``
   elsewhere, which on Linux carries the parent's peak across fork/exec).
3. The number conversion inside the reader: the Takasbank file's risk-array
   values (45k texts) by ``_fastparse.decimal_spans`` (the token path's
   word-wise parser, texts at known places) and ``_fastparse.decimals`` (the
   regex path's, one blob), against the ``float()`` loop they replace (their
   fallback and reference), same run; both checked equal to it bit for bit.

Targets from the issue: >= 3x faster than marginism on the real file; 50 MB
in <= 3 s and <= 500 MB peak RSS.

Run ``PYTHONPATH=. python benchmarks/bench_spn.py [--size-mb 50] [--repeats 15]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
TAKASBANK = ROOT.parent / "shared" / "data" / "takasbank-20160517.spn"

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
path, which = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if which == "spanlike":
    from spanlike.spn import read_spn
    span = read_spn(path)
    n = sum(len(f.contracts) for f in span.families)
else:
    from marginism.parser import parse_spn
    span = parse_spn(path)
    n = sum(len(c.futures) + len(c.options) + len(c.physicals) for c in span.commodities.values())
elapsed = time.perf_counter() - t0
# VmHWM belongs to this process image; Linux keeps ru_maxrss across fork/exec, so that one can
# report the (larger) benchmark parent's peak instead of the reader's
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    pass
print(json.dumps({{"seconds": elapsed, "contracts": n, "peak_rss_mb": peak}}))
"""


def _timings(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def generate_large_file(source: Path, target: Path, size_mb: float) -> Path:
    """Write ``source`` with each option family's series repeated until the file is about ``size_mb`` MB."""
    text = source.read_bytes()
    families = list(re.finditer(rb"<series>.*?</series>\s*(?=</oopPf>)", text, re.S))
    option_bytes = sum(len(m.group(0)) for m in families)
    other = len(text) - option_bytes
    copies = max(1, round((size_mb * 1e6 - other) / max(option_bytes, 1)))
    parts = []
    last = 0
    for m in families:
        parts.append(text[last:m.start()])
        parts.append(m.group(0) * copies)
        last = m.end()
    parts.append(text[last:])
    target.write_bytes(b"".join(parts))
    return target


def _subprocess_run(path: Path, which: str) -> dict[str, float]:
    code = _CHILD.format(root=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), which], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a table; returns 0, or 1 if the Takasbank file is absent."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=50.0, help="size of the generated file (MB)")
    parser.add_argument("--repeats", type=int, default=15, help="repeats on the real file")
    parser.add_argument("--skip-marginism-large", action="store_true", help="do not run marginism on the large file")
    args = parser.parse_args(argv)
    if not TAKASBANK.exists():
        print(f"the Takasbank SPAN file is not at {TAKASBANK}; nothing to benchmark", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    from spanlike.spn import read_spn

    try:
        from marginism.parser import parse_spn
    except ImportError:  # pragma: no cover - marginism is a dev dependency
        parse_spn = None

    rows: list[tuple[str, str, float, float, float, str, str]] = []
    size = TAKASBANK.stat().st_size / 1e6
    read_spn(TAKASBANK)  # warm-up (imports, regex compilation)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.repeats):  # interleaved, so load changes hit both alike
        ours += _timings(lambda: read_spn(TAKASBANK), 1)
        if parse_spn is not None:
            theirs += _timings(lambda: parse_spn(str(TAKASBANK)), 1)
    rows.append(("takasbank", "spanlike", size, min(ours), statistics.median(ours), "-", ""))
    if theirs:
        ratio = f"{min(theirs) / min(ours):.2f}x (median {statistics.median(theirs) / statistics.median(ours):.2f}x)"
        rows.append(("takasbank", "marginism", size, min(theirs), statistics.median(theirs), "-", ""))
        rows[0] = rows[0][:6] + (ratio,)

    import numpy as np

    from spanlike.spn._fastparse import WORD_PAD, decimal_spans, decimals, word_view

    text = TAKASBANK.read_bytes()
    blocks = re.findall(rb"<ra>\s*<r>[^<]*</r>((?:\s*<a>[^<]*</a>)+)", text)
    blob = b"".join(blocks)
    count = blob.count(b"<a>")
    reference = np.array([float(x) for x in re.findall(rb"<a>([^<]*)</a>", blob)])
    values = decimals(blob, count)
    assert values is not None and values.view(np.int64).tolist() == reference.view(np.int64).tolist()
    padded = b"\0" * WORD_PAD + blob + b"\0" * WORD_PAD
    starts = np.array([m.start(1) + WORD_PAD for m in re.finditer(rb"<a>([^<]*)</a>", blob)], dtype=np.int64)
    ends = np.array([m.end(1) + WORD_PAD for m in re.finditer(rb"<a>([^<]*)</a>", blob)], dtype=np.int64)
    u, words = np.frombuffer(padded, dtype=np.uint8), word_view(padded)
    spans, ok = decimal_spans(u, words, starts, ends)
    assert ok.all() and spans.view(np.int64).tolist() == reference.view(np.int64).tolist()
    at_spans = _timings(lambda: decimal_spans(u, words, starts, ends), args.repeats)
    bulk = _timings(lambda: decimals(blob, count), args.repeats)
    loop = _timings(lambda: [float(x) for x in re.findall(rb"<a>([^<]*)</a>", blob)], args.repeats)
    mb = len(blob) / 1e6
    label = f"risk-array numbers ({count})"
    rows.append((label, "spans", mb, min(at_spans), statistics.median(at_spans), "-",
                 f"{min(loop) / min(at_spans):.2f}x vs float() loop"))
    rows.append((label, "decimals", mb, min(bulk), statistics.median(bulk), "-",
                 f"{min(loop) / min(bulk):.2f}x vs float() loop"))
    rows.append((label, "float()", mb, min(loop), statistics.median(loop), "-", ""))

    with tempfile.TemporaryDirectory() as tmp:
        big = generate_large_file(TAKASBANK, Path(tmp) / "large.spn", args.size_mb)
        big_mb = big.stat().st_size / 1e6
        run = _subprocess_run(big, "spanlike")
        rows.append((f"generated ({run['contracts']:.0f} contracts)", "spanlike", big_mb, run["seconds"], run["seconds"],
                     f"{run['peak_rss_mb']:.0f}", ""))
        if parse_spn is not None and not args.skip_marginism_large:
            ref = _subprocess_run(big, "marginism")
            rows.append(("generated", "marginism", big_mb, ref["seconds"], ref["seconds"], f"{ref['peak_rss_mb']:.0f}", ""))
            rows[-2] = rows[-2][:6] + (f"{ref['seconds'] / run['seconds']:.2f}x",)

    header = f"{'workload':<30} {'reader':<10} {'MB':>7} {'best s':>8} {'median s':>9} {'MB/s':>7} {'peak RSS MB':>12}  speed-up vs marginism"
    print(header)
    print("-" * len(header))
    for workload, who, mb, best, median, rss, ratio in rows:
        print(f"{workload:<30} {who:<10} {mb:>7.1f} {best:>8.3f} {median:>9.3f} {mb / best:>7.1f} {rss:>12}  {ratio}")
    print("\ntargets: >= 3x marginism on the real file; 50 MB in <= 3 s and <= 500 MB peak RSS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
