"""Every numba option used by spanlike, in one place.

Kernels import :data:`njit_kernel` (serial) or :data:`njit_parallel`
(``parallel=True``). A function is compiled under exactly one set of options:
numba's on-disk cache keys a function by its qualified name and file, so the
same Python function compiled once with ``parallel=True`` and once without
shares one cache entry and thrashes it (numba issue #6845). A parallel variant
is therefore always its own function.

``error_model="numpy"`` stops numba from inserting division-by-zero checks,
which otherwise prevent LLVM from vectorising the inner scenario loops.
``fastmath`` stays off: re-association changes results in the last bits and
the kernels must equal their plain-Python twins to 1e-12.
"""

from __future__ import annotations

from typing import Any, Callable

import numba

KERNEL_OPTIONS: dict[str, Any] = {
    "cache": True,
    "error_model": "numpy",
    "fastmath": False,
    "nogil": True,
}

PARALLEL_OPTIONS: dict[str, Any] = {**KERNEL_OPTIONS, "parallel": True}

INLINE_OPTIONS: dict[str, Any] = {**KERNEL_OPTIONS, "inline": "always"}


def njit_kernel(func: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``func`` as a serial kernel with the project-wide options."""
    return numba.njit(**KERNEL_OPTIONS)(func)


def njit_parallel(func: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``func`` as a parallel (``prange``) kernel with the project-wide options."""
    return numba.njit(**PARALLEL_OPTIONS)(func)


def njit_inline(func: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``func`` as a serial kernel that numba inlines into its callers at the IR level.

    For small helpers called once per account in a hot loop: a call between
    two numba functions costs an atomic reference-count pair per array
    argument, which inlining removes. Callers compile more slowly.
    """
    return numba.njit(**INLINE_OPTIONS)(func)
