"""Progress reporting while a SPAN file is read: the callback type and a stderr bar."""

from __future__ import annotations

import sys
from typing import Callable, Union





#: ``progress(bytes_done, bytes_total_or_None)``, called as the file is read.
ProgressCallback = Callable[[int, Union[int, None]], None]

_PROGRESS_MIN_BYTES = 4 << 20

class _ProgressBar:
    """A one-line stderr progress bar (no dependency)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._last = -1.0
        self._shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            frac = min(done / total, 1.0)
            if frac - self._last < 0.01 and frac < 1.0:
                return
            self._last = frac
            bar = "#" * int(frac * 30)
            sys.stderr.write(f"\r{self._label} [{bar:<30}] {frac * 100:5.1f}% {done / 1e6:7.1f} MB")
        else:
            mb = done / 1e6
            if mb - self._last < 1.0:
                return
            self._last = mb
            sys.stderr.write(f"\r{self._label} {mb:7.1f} MB")
        self._shown = True
        sys.stderr.flush()

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


