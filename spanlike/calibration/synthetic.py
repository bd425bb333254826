"""Synthetic daily BTC/ETH/SOL closes for the bundled demo (``spanlike/data/synthetic_history.csv``).

The real Yahoo histories may not be redistributed (see ``shared/data/history/PROVENANCE.md``),
so the demo ships synthetic prices with roughly the same statistics. They are
**not market data**: no date, level or move in the file happened.

Model, per underlying ``i`` and day ``t`` (log returns, zero drift)::

    r_it       = sigma_it * z_it
    sigma2_i,t+1 = omega_i + alpha * r_it^2 + beta * sigma2_it      (GARCH(1,1), Bollerslev 1986)
    omega_i    = (1 - alpha - beta) * v_i,   v_i = (annual_vol_i)^2 / 365  (unconditional daily variance)
    z_t        = sqrt((nu - 2) / W_t) * L e_t,   e_t ~ N(0, I_3),  W_t ~ chi2(nu),  L L^T = C

so ``z_t`` is multivariate Student-t with ``nu`` degrees of freedom, unit
variances and correlation ``C`` (one common ``W_t`` gives the joint crashes
crypto shows). Parameters (our choice, set from the real data 2020-04-10..2026-08-17
in ``shared/data/history``: annualised vol BTC 57 %, ETH 77 %, SOL 118 %;
daily return correlations BTC-ETH 0.81, BTC-SOL 0.56, ETH-SOL 0.63; excess
kurtosis 4-8):

* ``annual_vol`` = 0.57, 0.77, 1.18;
* ``C`` = [[1, 0.81, 0.56], [0.81, 1, 0.63], [0.56, 0.63, 1]];
* ``alpha`` = 0.08, ``beta`` = 0.90 (persistence 0.98), ``nu`` = 5;
* ``sigma2_0 = v_i``; start prices 30,000 / 2,000 / 100 USD; 2,192 days
  from 2019-01-01 (calendar days, 24/7 trading).

Random numbers come from ``numpy.random.RandomState(SEED)``, whose stream
numpy keeps fixed across versions (``Generator`` streams may change), so
``python -m spanlike.calibration.synthetic`` rewrites the same file byte for
byte. Values are written with 10 significant digits.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

__all__ = ["NAMES", "SEED", "generate_synthetic_closes", "synthetic_csv_text", "write_synthetic_history", "main"]

NAMES = ("BTC", "ETH", "SOL")
SEED = 20240601
START = np.datetime64("2019-01-01")
DAYS = 2192
ANNUAL_VOL = np.array([0.57, 0.77, 1.18])
CORRELATION = np.array([[1.0, 0.81, 0.56], [0.81, 1.0, 0.63], [0.56, 0.63, 1.0]])
ALPHA = 0.08
BETA = 0.90
NU = 5.0
START_PRICES = np.array([30_000.0, 2_000.0, 100.0])

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "synthetic_history.csv"


def generate_synthetic_closes(*, seed: int = SEED, days: int = DAYS) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps and closes of the synthetic model (module docstring).

    Parameters
    ----------
    seed : int
        ``RandomState`` seed.
    days : int
        Number of daily closes (the first is the start price).

    Returns
    -------
    timestamps : numpy.ndarray
        Shape (days,), ``datetime64[s]`` at 00:00 UTC.
    closes : numpy.ndarray
        Shape (days, 3), USD, columns :data:`NAMES`.
    """
    rs = np.random.RandomState(seed)
    n = days - 1
    e = rs.standard_normal((n, 3))
    w = rs.chisquare(NU, size=n)
    z = np.sqrt((NU - 2.0) / w)[:, None] * (e @ np.linalg.cholesky(CORRELATION).T)
    v = ANNUAL_VOL**2 / 365.0
    omega = (1.0 - ALPHA - BETA) * v
    var = v.copy()
    r = np.empty((n, 3))
    for t in range(n):
        r[t] = np.sqrt(var) * z[t]
        var = omega + ALPHA * r[t] ** 2 + BETA * var
    log_p = np.log(START_PRICES) + np.vstack([np.zeros(3), np.cumsum(r, axis=0)])
    timestamps = (START + np.arange(days).astype("timedelta64[D]")).astype("datetime64[s]")
    return timestamps, np.exp(log_p)


def synthetic_csv_text(*, seed: int = SEED, days: int = DAYS) -> str:
    """The wide CSV (``timestamp,BTC,ETH,SOL``) the bundled file holds."""
    ts, closes = generate_synthetic_closes(seed=seed, days=days)
    lines = ["timestamp," + ",".join(NAMES)]
    for t, row in zip(ts, closes):
        lines.append(str(t)[:10] + "," + ",".join(f"{x:.10g}" for x in row))
    return "\n".join(lines) + "\n"


def write_synthetic_history(path: str | Path = DEFAULT_PATH) -> Path:
    """Write the synthetic history CSV to ``path`` (default: the bundled file) and return it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(synthetic_csv_text(), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m spanlike.calibration.synthetic [PATH]``: (re)write the synthetic history."""
    args = sys.argv[1:] if argv is None else argv
    print(write_synthetic_history(args[0] if args else DEFAULT_PATH))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
