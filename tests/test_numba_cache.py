"""Stale numba caches are dropped when a kernel-relevant source is newer (spanlike._numba_cache)."""

from __future__ import annotations

import os
from pathlib import Path

from spanlike._numba_cache import stale_cache_files


def test_cache_older_than_a_rule_edit_is_stale(tmp_path: Path) -> None:
    rule = tmp_path / "spanlike" / "methodology" / "rule.py"
    kernel_cache = tmp_path / "spanlike" / "batch" / "__pycache__" / "kernels._margin_range-1.py311.nbi"
    fresh_cache = tmp_path / "risk_arrays" / "__pycache__" / "kernels.k-1.py311.nbc"
    for p in (rule, kernel_cache, fresh_cache):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    os.utime(kernel_cache, (1_000, 1_000))
    os.utime(rule, (2_000, 2_000))
    os.utime(fresh_cache, (3_000, 3_000))
    assert stale_cache_files(tmp_path) == [kernel_cache]
