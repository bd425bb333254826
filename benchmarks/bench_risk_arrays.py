"""Benchmark: 16-scenario risk arrays, numba kernels vs numpy/scipy broadcast vs py_vollib loop.

Run ``python benchmarks/bench_risk_arrays.py [--quick] [--sizes 1000 100000]``.

Workload: a book of linear and inverse calls, puts and futures (registry
generator), one 16-scenario grid with relative moves (the log-free path) or
with absolute shifts too, per-contract vol scaling, floors, time advance.
Throughput is in scenario revaluations (cells of the (n, 16) array) per second.
Implementations, same process, same inputs, after warm-up:

* ours, serial kernel via :func:`compute_risk_arrays` (one core, validation included);
* ours, parallel kernel (``prange``; all cores numba sees, 2 here);
* numpy broadcast over (n, 16) with ``scipy.special.ndtr`` (written below);
* the py_vollib scalar loop a user would write (:func:`py_vollib_loop`: one
  ``black`` call for the base value of each option, one per scenario), on a
  300-contract sample, extrapolated per cell; this is the "vs py_vollib" ratio.

Accuracy is checked against the plain-Python twin (:func:`reference_risk_arrays`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_pricing import jit_start_times, median_seconds, print_table, rate_text  # noqa: E402
from spanlike.risk_arrays.contracts import KIND_FUTURE, KIND_PUT, ContractArrays  # noqa: E402
from spanlike.risk_arrays.reference import reference_risk_arrays  # noqa: E402
from spanlike.risk_arrays.registry import make_risk_array_inputs  # noqa: E402
from spanlike.risk_arrays.revaluation import compute_risk_arrays  # noqa: E402
from spanlike.risk_arrays.scenarios import ScenarioArrays  # noqa: E402

REFERENCE_SAMPLE = 300
N_SCENARIOS = 16


def py_vollib_loop(
    contracts: ContractArrays, scenarios: ScenarioArrays, vol_scale: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Risk arrays with py_vollib's scalar ``black``: the base value once per option, then one call per cell."""
    from vollib.black import black

    n, m = len(contracts), scenarios.n_scenarios
    out = np.empty((n, m))
    advance = scenarios.time_advance_years
    for i in range(n):
        f, k, t = float(contracts.forward[i]), float(contracts.strike[i]), float(contracts.t_years[i])
        rate, mult, inverse = float(contracts.rate[i]), float(contracts.multiplier[i]), bool(contracts.inverse[i])
        if contracts.kind[i] == KIND_FUTURE:
            for j in range(m):
                f_new = f * (1.0 + scenarios.price_move_future[j]) + scenarios.price_shift_abs[j]
                loss = -(f_new - f) / f_new if inverse else f - f_new
                out[i, j] = scenarios.weight[j] * mult * loss
            continue
        flag = "p" if contracts.kind[i] == KIND_PUT else "c"
        sigma = float(contracts.vol[i])
        t_new = max(t - advance, 0.0)
        base = black(flag, f, k, t, rate, sigma)
        base = base / f if inverse else base
        for j in range(m):
            f_new = f * (1.0 + scenarios.price_move_option[j]) + scenarios.price_shift_abs[j]
            vol_new = max(sigma * (1.0 + scenarios.vol_shift_rel[j] * vol_scale[i]) + scenarios.vol_shift_abs[j],
                          scenarios.vol_floor[j])
            moved = black(flag, f_new, k, t_new, rate, vol_new) if t_new > 0.0 else max(
                (f_new - k) if flag == "c" else (k - f_new), 0.0) * np.exp(-rate * t_new)
            moved = moved / f_new if inverse else moved
            out[i, j] = scenarios.weight[j] * mult * (base - moved)
    return out


def numpy_risk_arrays(
    contracts: ContractArrays, scenarios: ScenarioArrays, vol_scale: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The same formula broadcast over (n, m) with numpy and scipy's ndtr (the non-numba baseline)."""
    f = contracts.forward[:, None]
    k = np.where(contracts.is_option, contracts.strike, 1.0)[:, None]
    sign = np.where(contracts.kind == KIND_PUT, -1.0, 1.0)[:, None]
    t = contracts.t_years[:, None]
    t_new = np.maximum(t - scenarios.time_advance_years, 0.0)
    rate = contracts.rate[:, None]
    is_option = contracts.is_option[:, None]
    inverse = contracts.inverse[:, None]

    def value(forward: NDArray[Any], t_years: NDArray[Any], vol: NDArray[Any]) -> NDArray[Any]:
        total_vol = vol * np.sqrt(t_years)
        with np.errstate(divide="ignore", invalid="ignore"):
            d1 = np.log(forward / k) / total_vol + 0.5 * total_vol
        d1 = np.where(total_vol > 0.0, d1, np.where(forward > k, np.inf, np.where(forward < k, -np.inf, 0.0)))
        usd = np.exp(-rate * t_years) * sign * (forward * ndtr(sign * d1) - k * ndtr(sign * (d1 - total_vol)))
        return np.where(inverse, usd / forward, usd)

    f_option = f * (1.0 + scenarios.price_move_option) + scenarios.price_shift_abs
    f_future = f * (1.0 + scenarios.price_move_future) + scenarios.price_shift_abs
    vol_new = contracts.vol[:, None] * (1.0 + scenarios.vol_shift_rel * vol_scale[:, None]) + scenarios.vol_shift_abs
    vol_new = np.maximum(vol_new, scenarios.vol_floor)
    option_loss = value(f, t, contracts.vol[:, None]) - value(f_option, t_new, vol_new)
    future_loss = np.where(inverse, -(f_future - f) / f_future, f - f_future)
    loss = np.where(is_option, option_loss, future_loss)
    return scenarios.weight * contracts.multiplier[:, None] * loss


_COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
from spanlike.risk_arrays.registry import make_risk_array_inputs
from spanlike.risk_arrays.revaluation import compute_risk_arrays
inputs = make_risk_array_inputs(np.random.default_rng(0), 10)
compute_risk_arrays(**inputs)
print(time.perf_counter() - t0)
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    args = parser.parse_args(argv)
    sizes = args.sizes or ([1_000, 100_000] if args.quick else [1_000, 100_000, 200_000, 1_000_000])
    repeats = 3 if args.quick else 7
    rng = np.random.default_rng(20240617)

    rows = []
    accuracy = []
    for absolute_shifts in (False, True):
        path = "rel+abs shifts" if absolute_shifts else "relative moves"
        sample = make_risk_array_inputs(rng, REFERENCE_SAMPLE, absolute_shifts=absolute_shifts, n_scenarios=N_SCENARIOS)
        reference = reference_risk_arrays(**sample)
        t0 = time.perf_counter()
        loop = py_vollib_loop(**sample)
        reference_rate = loop.size / (time.perf_counter() - t0)
        if not np.allclose(loop, reference, rtol=0.0, atol=1e-9 * float(np.max(np.abs(reference)))):
            raise AssertionError("the py_vollib loop disagrees with the reference twin")
        contracts: ContractArrays = sample["contracts"]
        scale = (contracts.multiplier * np.where(contracts.inverse, 1.0, contracts.forward))[:, None]
        accuracy.append((
            path,
            float(np.max(np.abs(compute_risk_arrays(**sample) - reference) / scale)),
            float(np.max(np.abs(numpy_risk_arrays(**sample) - reference) / scale)),
        ))
        for size in sizes:
            inputs = make_risk_array_inputs(rng, size, absolute_shifts=absolute_shifts, n_scenarios=N_SCENARIOS)
            cells = size * N_SCENARIOS
            t_serial = median_seconds(lambda: compute_risk_arrays(**inputs), repeats=repeats)
            t_parallel = median_seconds(lambda: compute_risk_arrays(**inputs, parallel=True), repeats=repeats)
            t_numpy = median_seconds(lambda: numpy_risk_arrays(**inputs), repeats=repeats)
            rows.append((
                path, f"{size:,}", f"{t_serial * 1e3:.2f} ms", rate_text(cells / t_serial), rate_text(cells / t_parallel),
                rate_text(cells / t_numpy), rate_text(reference_rate),
                f"{t_numpy / t_serial:.1f}x", f"{(cells / t_serial) / reference_rate:,.0f}x",
            ))
    print_table(
        f"{N_SCENARIOS}-scenario risk arrays, scenario revaluations per second "
        "(ours serial = 1 core; ours parallel = 2 threads; ratios use the serial kernel)",
        ("grid", "contracts", "serial median", "ours serial", "ours parallel", "numpy+scipy", "py_vollib loop",
         "vs numpy", "vs py_vollib"),
        rows,
    )
    for path, ours_error, numpy_error in accuracy:
        print(f"max |kernel - reference| / (forward x multiplier, or multiplier for coin) [{path}]: ours {ours_error:.2e}, "
              f"numpy+scipy {numpy_error:.2e}  [target <= 1e-12]")
    cold, warm = jit_start_times(_COMPILE_SNIPPET)
    print(f"first risk-array call in a fresh process (imports + call): empty numba cache {cold:.2f} s (JIT compile), "
          f"warm cache {warm:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
