"""Benchmark: Black-76 price and price + Greeks, numba kernels vs numpy/scipy vs py_vollib.

Run ``python benchmarks/bench_pricing.py [--quick] [--sizes 1000 100000]``.

All three implementations run in the same process on the same inputs
(forward 1, strikes e^-1.5..e^1.5, 1 day..3 years, vol 5..200 %). The numba
kernels are warmed up first, so the table excludes JIT compilation, which is
reported separately (fresh processes with an empty and then a warm cache).
The py_vollib scalar loop runs on a sample (2000 options) and its per-option
rate is extrapolated to each size. Single core: the pricing kernels are serial.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from spanlike.risk_arrays.pricing import black76_greeks, black76_price  # noqa: E402
from spanlike.risk_arrays.registry import make_option_inputs  # noqa: E402

PY_VOLLIB_SAMPLE = 2000


def median_seconds(function: Callable[[], Any], *, repeats: int, min_total: float = 0.2) -> float:
    """Median wall time of ``function()`` over ``repeats`` runs (more if each run is very short)."""
    function()  # warm-up: JIT, caches, page faults
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - started < min_total and len(times) < 1000):
        t0 = time.perf_counter()
        function()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))


def rate_text(items_per_second: float) -> str:
    return f"{items_per_second / 1e6:,.2f} M/s" if items_per_second >= 1e5 else f"{items_per_second / 1e3:,.1f} k/s"


def jit_start_times(snippet: str) -> tuple[float, float]:
    """Seconds for ``snippet`` in a fresh process: with an empty numba cache, then with that cache warm.

    The snippet must print the elapsed seconds of its first call as its last line.
    """
    with tempfile.TemporaryDirectory(prefix="spanlike-numba-cache-") as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
        results = []
        for _ in range(2):
            completed = subprocess.run(
                [sys.executable, "-c", snippet], env=env, capture_output=True, text=True, check=True, cwd=ROOT
            )
            results.append(float(completed.stdout.strip().splitlines()[-1]))
    return results[0], results[1]


# ---------------------------------------------------------------------------
# numpy + scipy baseline (what one writes without numba)


def numpy_black76_price(
    forward: NDArray[np.float64], strike: NDArray[np.float64], t_years: NDArray[np.float64],
    vol: NDArray[np.float64], rate: NDArray[np.float64], is_call: NDArray[np.bool_],
) -> NDArray[np.float64]:
    sign = np.where(is_call, 1.0, -1.0)
    total_vol = vol * np.sqrt(t_years)
    d1 = np.log(forward / strike) / total_vol + 0.5 * total_vol
    d2 = d1 - total_vol
    return np.exp(-rate * t_years) * sign * (forward * ndtr(sign * d1) - strike * ndtr(sign * d2))


def numpy_black76_greeks(
    forward: NDArray[np.float64], strike: NDArray[np.float64], t_years: NDArray[np.float64],
    vol: NDArray[np.float64], rate: NDArray[np.float64], is_call: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], ...]:
    sign = np.where(is_call, 1.0, -1.0)
    sqrt_t = np.sqrt(t_years)
    total_vol = vol * sqrt_t
    d1 = np.log(forward / strike) / total_vol + 0.5 * total_vol
    d2 = d1 - total_vol
    discount = np.exp(-rate * t_years)
    n1 = ndtr(sign * d1)
    pdf1 = np.exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi)
    price = discount * sign * (forward * n1 - strike * ndtr(sign * d2))
    delta = discount * sign * n1
    gamma = discount * pdf1 / (forward * total_vol)
    vega = discount * forward * pdf1 * sqrt_t
    theta = rate * price - discount * forward * pdf1 * vol / (2.0 * sqrt_t)
    rho = -t_years * price
    return price, delta, gamma, vega, theta, rho


# ---------------------------------------------------------------------------
# py_vollib scalar loop (the reference implementation people start from)


def py_vollib_prices(inputs: dict[str, NDArray[Any]]) -> NDArray[np.float64]:
    from vollib.black import black

    flags = ["c" if c else "p" for c in inputs["is_call"]]
    return np.array([
        black(flag, f, k, t, r, v)
        for flag, f, k, t, r, v in zip(flags, inputs["forward"], inputs["strike"], inputs["t_years"], inputs["rate"], inputs["vol"])
    ])


def py_vollib_price_and_greeks(inputs: dict[str, NDArray[Any]]) -> NDArray[np.float64]:
    from vollib.black import black
    from vollib.black.greeks import analytical as g

    flags = ["c" if c else "p" for c in inputs["is_call"]]
    rows = []
    for flag, f, k, t, r, v in zip(flags, inputs["forward"], inputs["strike"], inputs["t_years"], inputs["rate"], inputs["vol"]):
        rows.append((
            black(flag, f, k, t, r, v), g.delta(flag, f, k, t, r, v), g.gamma(flag, f, k, t, r, v),
            g.vega(flag, f, k, t, r, v) * 100.0, g.theta(flag, f, k, t, r, v) * 365.0, g.rho(flag, f, k, t, r, v) * 100.0,
        ))
    return np.array(rows).T


_COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
from spanlike.risk_arrays.pricing import black76_greeks, black76_price
black76_price(forward=[1.0], strike=[1.1], t_years=[0.5], vol=[0.5], rate=[0.0], is_call=[True])
black76_greeks(forward=[1.0], strike=[1.1], t_years=[0.5], vol=[0.5], rate=[0.0], is_call=[True])
print(time.perf_counter() - t0)
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    args = parser.parse_args(argv)
    sizes = args.sizes or ([1_000, 100_000] if args.quick else [1_000, 100_000, 1_000_000])
    repeats = 3 if args.quick else 7
    rng = np.random.default_rng(20240617)

    # py_vollib: measured once on a sample, extrapolated per option.
    sample = make_option_inputs(rng, PY_VOLLIB_SAMPLE)
    t0 = time.perf_counter()
    reference_prices = py_vollib_prices(sample)
    vollib_price_rate = PY_VOLLIB_SAMPLE / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    reference_greeks = py_vollib_price_and_greeks(sample)
    vollib_greeks_rate = PY_VOLLIB_SAMPLE / (time.perf_counter() - t0)
    ours_greeks = black76_greeks(**sample)
    price_error = float(np.max(np.abs(black76_price(**sample) - reference_prices)))
    greeks_error = float(np.max(np.abs(np.stack([
        ours_greeks.price, ours_greeks.delta, ours_greeks.gamma, ours_greeks.vega, ours_greeks.theta, ours_greeks.rho
    ]) - reference_greeks)))
    numpy_error = float(np.max(np.abs(numpy_black76_price(**sample) - reference_prices)))

    rows = []
    for size in sizes:
        inputs = make_option_inputs(rng, size)
        for workload, ours, baseline, vollib_rate in (
            ("price", lambda: black76_price(**inputs), lambda: numpy_black76_price(**inputs), vollib_price_rate),
            ("price+greeks", lambda: black76_greeks(**inputs), lambda: numpy_black76_greeks(**inputs), vollib_greeks_rate),
        ):
            t_ours = median_seconds(ours, repeats=repeats)
            t_numpy = median_seconds(baseline, repeats=repeats)
            rows.append((
                workload, f"{size:,}", f"{t_ours * 1e3:.3f} ms", rate_text(size / t_ours),
                rate_text(size / t_numpy), rate_text(vollib_rate),
                f"{t_numpy / t_ours:.1f}x", f"{(size / t_ours) / vollib_rate:,.0f}x",
            ))
    print_table(
        "Black-76 options, single core (numba serial kernel incl. validation; numpy+scipy ndtr; py_vollib scalar loop)",
        ("workload", "options", "ours median", "ours", "numpy+scipy", "py_vollib", "vs numpy", "vs py_vollib"),
        rows,
    )
    print(f"\nmax |ours - py_vollib| at forward 1 on {PY_VOLLIB_SAMPLE} options: price {price_error:.2e}, "
          f"price+Greeks (per-1.0 units) {greeks_error:.2e}  [target <= 1e-12 for prices]; "
          f"numpy+scipy price {numpy_error:.2e}")
    cold, warm = jit_start_times(_COMPILE_SNIPPET)
    print(f"first call in a fresh process (import + price + Greeks): empty numba cache {cold:.2f} s (JIT compile), "
          f"warm cache {warm:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
