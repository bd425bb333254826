"""Correlation of returns, shrinkage, and repair to the nearest valid correlation matrix.

* Sample (Pearson) correlation ``C`` of one-bar returns.
* Linear shrinkage ``C_s = (1 - delta) C + delta T`` with intensity ``delta``
  in [0, 1] and target ``T``:

  - ``"identity"``: ``T = I`` (pulls every correlation towards 0);
  - ``"constant"``: ``T_ij = rho_bar`` (i != j), the mean off-diagonal
    correlation, ``T_ii = 1`` (Ledoit & Wolf 2004, "Honey, I shrunk the sample
    covariance matrix", their target applied to correlations).

  Both targets are valid correlation matrices (``rho_bar >= -1/(N-1)`` for
  a PSD ``C``), so shrinking a valid ``C`` keeps it valid and raises its
  smallest eigenvalue.
* :func:`ledoit_wolf_intensity`: the Ledoit & Wolf (2004, J. Multivariate
  Anal. 88, "A well-conditioned estimator for large-dimensional covariance
  matrices") optimal intensity towards ``mu I``, computed on standardised
  returns, i.e. for the correlation matrix towards ``I``. "Ledoit-Wolf style":
  the estimated standard deviations are treated as known.
* :func:`nearest_correlation`: Higham (2002, IMA J. Numer. Anal. 22,
  "Computing the nearest correlation matrix") alternating projections with
  Dykstra's correction, unweighted Frobenius norm. An already-valid matrix is
  returned unchanged (symmetrised, diagonal set to exactly 1: changes <= 1e-12).
  The result is symmetric with an exact unit diagonal and no eigenvalue below
  ``min_eigenvalue`` before the final rescale ``D^-1/2 X D^-1/2`` (a
  congruence, which keeps it PSD).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from spanlike.calibration._validate import float_array, positive_int, unit_interval
from spanlike.errors import InvalidInputError, NumericalError

__all__ = [
    "correlation_of_returns",
    "shrink_correlation",
    "ledoit_wolf_intensity",
    "nearest_correlation",
    "CorrelationRepair",
    "is_valid_correlation",
    "VALID_TOLERANCE",
]

VALID_TOLERANCE = 1e-12
"""Symmetry, unit-diagonal and smallest-eigenvalue tolerance of "already valid"."""


def _square(matrix: Any, *, name: str = "matrix") -> np.ndarray:
    m = float_array(matrix, name=name, ndim=(2,))
    if m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise InvalidInputError(f"{name} must be a non-empty square matrix; got shape {m.shape}.")
    return m


def correlation_of_returns(returns: Any) -> np.ndarray:
    """Sample (Pearson) correlation matrix of returns.

    Parameters
    ----------
    returns : array_like
        Shape (n, N), one-bar returns, time on axis 0.

    Returns
    -------
    numpy.ndarray
        Shape (N, N), symmetric, unit diagonal.

    Raises
    ------
    InvalidInputError
        Fewer than 3 rows, or a column with zero variance (its correlation is undefined).
    """
    r = float_array(returns, name="returns", ndim=(2,))
    n, k = r.shape
    if n < 3:
        raise InvalidInputError(f"a correlation needs at least 3 returns per series; got {n}.")
    x = r - r.mean(axis=0)
    sd = np.sqrt((x**2).sum(axis=0))
    if (sd == 0).any():
        j = int(np.flatnonzero(sd == 0)[0])
        raise InvalidInputError(f"returns column {j} is constant, so its correlation is undefined.")
    z = x / sd
    c = z.T @ z
    c = (c + c.T) / 2.0
    np.fill_diagonal(c, 1.0)
    return np.clip(c, -1.0, 1.0)  # rounding only: |c_ij| <= 1 by Cauchy-Schwarz


def shrink_correlation(
    matrix: Any, *, intensity: float, target: Literal["identity", "constant"] = "identity"
) -> np.ndarray:
    """Linear shrinkage ``(1 - intensity) C + intensity T`` (targets in the module docstring).

    Parameters
    ----------
    matrix : array_like
        Correlation matrix C, shape (N, N).
    intensity : float
        delta in [0, 1]; 0 returns C, 1 returns the target.
    target : {"identity", "constant"}

    Returns
    -------
    numpy.ndarray
        Shape (N, N).

    Raises
    ------
    InvalidInputError
        Intensity outside [0, 1], unknown target, non-square matrix.
    """
    c = _square(matrix)
    d = unit_interval(intensity, name="intensity")
    n = c.shape[0]
    if target == "identity":
        t = np.eye(n)
    elif target == "constant":
        off = c[~np.eye(n, dtype=bool)]
        rho_bar = float(off.mean()) if off.size else 0.0
        t = np.full((n, n), rho_bar)
        np.fill_diagonal(t, 1.0)
    else:
        raise InvalidInputError(f"target must be 'identity' or 'constant'; got {target!r}.")
    return (1.0 - d) * c + d * t


def ledoit_wolf_intensity(returns: Any) -> float:
    """Ledoit-Wolf (2004) shrinkage intensity of the correlation matrix towards the identity.

    On standardised, demeaned returns ``x_t`` (n rows, p columns) with
    ``S = (1/n) sum_t x_t x_t^T``, ``mu = tr(S)/p``, Frobenius norm:
    ``d2 = ||S - mu I||^2``, ``b2_bar = (1/n^2) sum_t ||x_t x_t^T - S||^2``,
    ``b2 = min(b2_bar, d2)``, intensity ``= b2 / d2`` (0 if ``d2 = 0``).

    Parameters
    ----------
    returns : array_like
        Shape (n, p), n >= 3.

    Returns
    -------
    float
        Intensity in [0, 1].
    """
    r = float_array(returns, name="returns", ndim=(2,))
    n, p = r.shape
    if n < 3:
        raise InvalidInputError(f"Ledoit-Wolf shrinkage needs at least 3 returns per series; got {n}.")
    x = r - r.mean(axis=0)
    sd = x.std(axis=0)
    if (sd == 0).any():
        raise InvalidInputError(f"returns column {int(np.flatnonzero(sd == 0)[0])} is constant.")
    x = x / sd
    s = x.T @ x / n
    mu = np.trace(s) / p
    d2 = float(((s - mu * np.eye(p)) ** 2).sum())
    if d2 == 0.0:
        return 0.0
    # sum_t ||x_t x_t^T - S||^2 = sum_t ||x_t||^4 - n ||S||^2  (expand the square; sum_t x_t x_t^T = n S)
    row_sq = (x**2).sum(axis=1)
    b2_bar = float((row_sq**2).sum() - n * (s**2).sum()) / n**2
    return float(min(max(b2_bar, 0.0), d2) / d2)


def is_valid_correlation(matrix: Any, *, tol: float = VALID_TOLERANCE) -> bool:
    """True if symmetric and unit-diagonal within ``tol`` with smallest eigenvalue >= ``-tol``."""
    c = _square(matrix)
    if np.abs(c - c.T).max() > tol or np.abs(np.diag(c) - 1.0).max() > tol:
        return False
    return bool(np.linalg.eigvalsh((c + c.T) / 2.0).min() >= -tol)


@dataclass(frozen=True)
class CorrelationRepair:
    """Result of :func:`nearest_correlation`.

    Attributes
    ----------
    matrix : numpy.ndarray
        Shape (N, N): symmetric, unit diagonal, PSD.
    repaired : bool
        False when the input was already valid (returned unchanged).
    iterations : int
        Alternating-projection iterations (0 when not repaired).
    max_abs_change : float
        Largest absolute change of an entry.
    min_eigenvalue : float
        Smallest eigenvalue of the result.
    """

    matrix: np.ndarray
    repaired: bool
    iterations: int
    max_abs_change: float
    min_eigenvalue: float


def _project_psd(a: np.ndarray, floor: float) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    out = (v * np.maximum(w, floor)) @ v.T
    return (out + out.T) / 2.0


def nearest_correlation(
    matrix: Any, *, tol: float = 1e-12, max_iterations: int = 10_000, min_eigenvalue: float = 0.0
) -> CorrelationRepair:
    """Nearest correlation matrix in the Frobenius norm (Higham 2002), or the input if valid.

    Algorithm (Higham 2002, Algorithm 3.3 with W = I): ``dS = 0, Y = A``;
    repeat ``R = Y - dS; X = P_S(R); dS = X - R; Y = P_U(X)`` until
    ``||Y - Y_prev||_F <= tol ||Y||_F`` and ``||X - Y||_F <= tol ||Y||_F``, where
    ``P_S`` clips eigenvalues at 0 and ``P_U`` sets the diagonal to 1. A final
    step clips eigenvalues at ``min_eigenvalue`` and rescales to unit diagonal.

    Parameters
    ----------
    matrix : array_like
        Shape (N, N), symmetric (within 1e-12), finite. Entries may lie
        outside [-1, 1] and the diagonal may differ from 1.
    tol : float
        Relative convergence tolerance (Frobenius norm).
    max_iterations : int
        Iteration cap; not converging raises :class:`NumericalError`.
    min_eigenvalue : float
        Eigenvalue floor of the final clip, in [0, 0.1); > 0 asks for a
        positive-definite result.

    Returns
    -------
    CorrelationRepair

    Raises
    ------
    InvalidInputError
        Not square, not finite, not symmetric, or ``min_eigenvalue`` outside [0, 0.1).
    NumericalError
        No convergence within ``max_iterations``.
    """
    a = _square(matrix)
    asym = np.abs(a - a.T)
    if asym.max() > VALID_TOLERANCE:
        i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
        i, j = (int(i), int(j)) if i < j else (int(j), int(i))
        raise InvalidInputError(
            f"matrix must be symmetric: [{i}, {j}] = {float(a[i, j])!r} but [{j}, {i}] = {float(a[j, i])!r}. "
            "Fix the input; the repair does not guess which triangle is right."
        )
    if not (0.0 <= min_eigenvalue < 0.1):
        raise InvalidInputError(f"min_eigenvalue must lie in [0, 0.1); got {min_eigenvalue!r}.")
    its = positive_int(max_iterations, name="max_iterations")
    sym = (a + a.T) / 2.0
    if is_valid_correlation(sym) and (
        min_eigenvalue == 0.0 or np.linalg.eigvalsh(sym).min() >= min_eigenvalue
    ):
        out = sym.copy()
        np.fill_diagonal(out, 1.0)
        return CorrelationRepair(
            matrix=out,
            repaired=False,
            iterations=0,
            max_abs_change=float(np.abs(out - a).max()),
            min_eigenvalue=float(np.linalg.eigvalsh(out).min()),
        )
    y = sym.copy()
    ds = np.zeros_like(y)
    for k in range(1, its + 1):
        r = y - ds
        x = _project_psd(r, 0.0)
        ds = x - r
        y_prev = y
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        norm_y = np.linalg.norm(y)
        if np.linalg.norm(y - y_prev) <= tol * norm_y and np.linalg.norm(x - y) <= tol * norm_y:
            break
    else:
        raise NumericalError(
            f"nearest_correlation did not converge in {its} iterations (tol {tol}); raise max_iterations or tol."
        )
    x = _project_psd(y, min_eigenvalue)
    d = np.sqrt(np.diag(x))
    x = x / np.outer(d, d)
    x = (x + x.T) / 2.0
    x = np.clip(x, -1.0, 1.0)  # rounding only: |x_ij| <= 1 in a PSD unit-diagonal matrix
    np.fill_diagonal(x, 1.0)
    if not np.isfinite(x).all():
        raise NumericalError("nearest_correlation produced non-finite entries.")
    return CorrelationRepair(
        matrix=x,
        repaired=True,
        iterations=k,
        max_abs_change=float(np.abs(x - a).max()),
        min_eigenvalue=float(np.linalg.eigvalsh(x).min()),
    )
