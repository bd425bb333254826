"""Correlation, shrinkage and the Higham nearest-correlation repair."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spanlike import params
from spanlike.calibration.correlation import (
    correlation_of_returns,
    is_valid_correlation,
    ledoit_wolf_intensity,
    nearest_correlation,
    shrink_correlation,
)
from spanlike.errors import InvalidInputError


def test_correlation_of_returns_matches_numpy() -> None:
    r = np.random.default_rng(3).standard_normal((500, 3)) @ np.array([[1, 0.5, 0.2], [0, 1, 0.3], [0, 0, 1]])
    np.testing.assert_allclose(correlation_of_returns(r), np.corrcoef(r.T), rtol=0, atol=1e-14)
    with pytest.raises(InvalidInputError, match="column 1 is constant"):
        correlation_of_returns(np.c_[r[:, 0], np.ones(500)])


def test_shrinkage_by_hand() -> None:
    c = np.array([[1.0, 0.8, 0.2], [0.8, 1.0, 0.5], [0.2, 0.5, 1.0]])
    # identity target, delta 0.25: off-diagonals x 0.75 -> 0.6, 0.15, 0.375
    s = shrink_correlation(c, intensity=0.25)
    np.testing.assert_allclose(s, [[1, 0.6, 0.15], [0.6, 1, 0.375], [0.15, 0.375, 1]], rtol=0, atol=1e-15)
    # constant target: rho_bar = (0.8 + 0.2 + 0.5) / 3 = 0.5; 0.5 * c + 0.5 * 0.5 -> 0.65, 0.35, 0.5
    k = shrink_correlation(c, intensity=0.5, target="constant")
    np.testing.assert_allclose(k, [[1, 0.65, 0.35], [0.65, 1, 0.5], [0.35, 0.5, 1]], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(shrink_correlation(c, intensity=0.0), c)
    with pytest.raises(InvalidInputError, match=r"intensity must lie in \[0, 1\]; got 1.5"):
        shrink_correlation(c, intensity=1.5)
    with pytest.raises(InvalidInputError, match="target must be 'identity' or 'constant'"):
        shrink_correlation(c, intensity=0.1, target="market")  # type: ignore[arg-type]


def _slow_ledoit_wolf(r: np.ndarray) -> float:
    """Plain loops over the LW (2004) definitions: d2, b2_bar = (1/n^2) sum_t ||x_t x_t' - S||^2."""
    n, p = r.shape
    x = (r - r.mean(axis=0)) / r.std(axis=0)
    s = sum(np.outer(x[t], x[t]) for t in range(n)) / n
    mu = np.trace(s) / p
    d2 = sum((s[i, j] - (mu if i == j else 0.0)) ** 2 for i in range(p) for j in range(p))
    b2_bar = sum(((np.outer(x[t], x[t]) - s) ** 2).sum() for t in range(n)) / n**2
    return min(b2_bar, d2) / d2


def test_ledoit_wolf_intensity_equals_its_slow_twin_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(8)
    mix = np.array([[1, 0.7, 0.4], [0, 1, 0.2], [0, 0, 1]])
    small = rng.standard_normal((60, 3)) @ mix
    assert ledoit_wolf_intensity(small) == pytest.approx(_slow_ledoit_wolf(small), rel=1e-10)
    big = rng.standard_normal((20_000, 3)) @ mix
    assert 0.0 <= ledoit_wolf_intensity(big) < ledoit_wolf_intensity(small) <= 1.0
    assert ledoit_wolf_intensity(big) < 0.01


def test_repair_leaves_a_valid_matrix_unchanged() -> None:
    valid = params.load("crypto-span").correlation.as_array()  # type: ignore[union-attr]
    rep = nearest_correlation(valid)
    assert not rep.repaired and rep.iterations == 0
    np.testing.assert_allclose(rep.matrix, valid, rtol=0, atol=1e-12)
    r = np.random.default_rng(1).standard_normal((50, 6))
    c = correlation_of_returns(r)
    np.testing.assert_allclose(nearest_correlation(c).matrix, c, rtol=0, atol=1e-12)


def test_repair_reproduces_higham_2002_example() -> None:
    # Higham (2002), section 4: A = [1 1 0; 1 1 1; 0 1 1] has nearest correlation matrix
    # [1 .7607 .1573; .7607 1 .7607; .1573 .7607 1] (4 decimals published; tolerance 5e-5).
    rep = nearest_correlation([[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    assert rep.repaired
    expected = [[1, 0.7607, 0.1573], [0.7607, 1, 0.7607], [0.1573, 0.7607, 1]]
    np.testing.assert_allclose(rep.matrix, expected, rtol=0, atol=5e-5)


def test_repair_of_an_invalid_matrix_is_accepted_by_params() -> None:
    bad = np.array([[1.0, 0.9, 0.9, -0.9], [0.9, 1.0, -0.8, 0.9], [0.9, -0.8, 1.0, 0.9], [-0.9, 0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(bad).min() < -0.5
    rep = nearest_correlation(bad)
    m = rep.matrix
    assert rep.repaired and is_valid_correlation(m)
    np.testing.assert_array_equal(np.diag(m), np.ones(4))
    np.testing.assert_array_equal(m, m.T)
    names = ("A", "B", "C", "D")
    params.CorrelationMatrix(combined_commodities=names, matrix=tuple(map(tuple, m.tolist())))
    pd = nearest_correlation(bad, min_eigenvalue=1e-4)
    assert pd.min_eigenvalue > 0


def test_repair_rejects_an_asymmetric_matrix() -> None:
    with pytest.raises(InvalidInputError, match=r"symmetric: \[0, 1\] = 0.5 but \[1, 0\] = 0.4"):
        nearest_correlation([[1.0, 0.5], [0.4, 1.0]])
    with pytest.raises(InvalidInputError, match="square"):
        nearest_correlation([[1.0, 0.5, 0.1], [0.4, 1.0, 0.2]])


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (5, 5), elements=st.floats(-1.0, 1.0)))
def test_repair_always_returns_a_valid_matrix(raw: np.ndarray) -> None:
    a = (raw + raw.T) / 2
    np.fill_diagonal(a, 1.0)
    rep = nearest_correlation(a)
    assert np.abs(rep.matrix - rep.matrix.T).max() == 0.0
    assert (np.diag(rep.matrix) == 1.0).all()
    assert np.linalg.eigvalsh(rep.matrix).min() >= -1e-12
    if is_valid_correlation(a):
        np.testing.assert_allclose(rep.matrix, a, rtol=0, atol=1e-12)
