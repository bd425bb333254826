"""Shared pytest configuration (keep minimal: fixtures only where several test files need them)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # risk_arrays/_numba.py passes ``nopython=True`` to ``numba.njit``; numba 0.68
    # warns (RuntimeWarning, "nopython is set for njit and is ignored") at every
    # decoration, and pyproject turns RuntimeWarnings into errors, so importing
    # any kernel module would fail collection. The option is redundant (njit is
    # always nopython); the root fix is dropping it from KERNEL_OPTIONS. Until
    # then only that exact message is ignored; every other RuntimeWarning still fails.
    config.addinivalue_line(
        "filterwarnings", "ignore:nopython is set for njit and is ignored:RuntimeWarning"
    )
