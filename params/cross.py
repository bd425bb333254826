"""Cross-commodity parameters: inter-commodity spreads and correlation offsets.

Inter-commodity spread credits follow CME SPAN (methodology 3); correlation
offsets follow the SIMM-style aggregation of methodology 6; the joint-move
floor (methodology 6.2) bounds what both can take off.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import FrozenModel

__all__ = ["InterSpreadLeg", "InterSpread", "CorrelationMatrix", "JointMoveFloor", "CrossOffsets"]


class InterSpreadLeg(FrozenModel):
    """One leg of an inter-commodity spread (``delta_ratio`` in [1e-6, 1e6], as intra-spread legs)."""

    combined_commodity: str
    delta_ratio: Annotated[float, Field(ge=1e-6, le=1e6)] = 1.0
    side: Literal["A", "B"]


class InterSpread(FrozenModel):
    """Inter-commodity spread credit between combined commodities.

    Attributes
    ----------
    name : str
    priority : int
        Lower numbers form first and consume delta first.
    legs : tuple of InterSpreadLeg
        Legs on both sides; a spread forms where side A's net deltas and side
        B's have opposite signs.
    credit_rate : float
        Share of each leg's weighted futures price risk credited, in [0, 1].
    delta_basis : {"underlying", "notional_usd"}
        Deltas counted in units of the underlying (SPAN's contract deltas) or
        in USD notional (delta x index price), which keeps ratios meaningful
        for underlyings of very different prices [our choice for crypto].
    """

    name: str
    priority: Annotated[int, Field(ge=1)]
    legs: tuple[InterSpreadLeg, ...]
    credit_rate: Annotated[float, Field(ge=0.0, le=1.0)]
    delta_basis: Literal["underlying", "notional_usd"] = "underlying"

    @model_validator(mode="after")
    def _check(self) -> "InterSpread":
        sides = {leg.side for leg in self.legs}
        if sides != {"A", "B"}:
            raise ValueError(f"inter spread '{self.name}' needs legs on both sides A and B; got {sorted(sides)}")
        names = [leg.combined_commodity for leg in self.legs]
        if len(set(names)) != len(names):
            raise ValueError(f"inter spread '{self.name}' names a combined commodity twice: {names}")
        return self


class CorrelationMatrix(FrozenModel):
    """Correlations between combined commodities for cross-margin offsets.

    ``matrix[i][j]`` is the correlation of ``combined_commodities[i]`` and
    ``[j]``. Must be square, symmetric, unit-diagonal, within [-1, 1] and
    positive semi-definite (smallest eigenvalue >= -1e-10).
    """

    combined_commodities: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]

    @model_validator(mode="after")
    def _check(self) -> "CorrelationMatrix":
        names = self.combined_commodities
        n = len(names)
        if len(set(names)) != n:
            raise ValueError(f"correlation lists a combined commodity twice: {list(names)}")
        if len(self.matrix) != n or any(len(row) != n for row in self.matrix):
            raise ValueError(f"correlation matrix must be {n} x {n} to match combined_commodities")
        m = np.asarray(self.matrix, dtype=np.float64)
        if not np.isfinite(m).all():
            raise ValueError("correlation matrix entries must be finite numbers")
        if (np.abs(m) > 1.0).any():
            i, j = np.argwhere(np.abs(m) > 1.0)[0]
            raise ValueError(f"correlation [{names[i]}, {names[j]}] = {m[i, j]} is outside [-1, 1]")
        if not np.array_equal(np.diag(m), np.ones(n)):
            i = int(np.flatnonzero(np.diag(m) != 1.0)[0])
            raise ValueError(f"correlation diagonal must be 1; [{names[i]}, {names[i]}] = {m[i, i]}")
        asym = np.abs(m - m.T) > 1e-12
        if asym.any():
            i, j = np.argwhere(asym)[0]
            raise ValueError(
                f"correlation matrix must be symmetric: [{names[i]}, {names[j]}] = {m[i, j]} "
                f"but [{names[j]}, {names[i]}] = {m[j, i]}"
            )
        smallest = float(np.linalg.eigvalsh(m).min()) if n else 0.0
        if smallest < -1e-10:
            raise ValueError(
                f"correlation matrix must be positive semi-definite; its smallest eigenvalue is "
                f"{smallest:.3g}. Repair it (e.g. spanlike's calibration shrinkage) before use"
            )
        return self

    def as_array(self) -> np.ndarray:
        """The matrix as a float64 array, shape (n, n)."""
        return np.asarray(self.matrix, dtype=np.float64)


class JointMoveFloor(FrozenModel):
    """The cross level's floor: an account's loss when every underlying moves together.

    With this section, the cross-margined requirement of an account (after
    inter-commodity credits and correlation offsets) is never below
    ``weight x`` its worst loss in the joint scenarios, less its net option
    value (the requirement's own convention, methodology 3). A joint
    scenario moves every combined commodity of the account by its own whole
    price scan range (the grid's +-1 scan-range points), all up or all down,
    with vol moved the same way in all of them (up, unchanged or down, as the
    grid has it at that point; a grid without that vol move counts its worst
    vol move there). See methodology 6.2.

    Attributes
    ----------
    weight : float
        Share of the joint-move loss the requirement must cover, in (0, 1];
        1 covers it whole.
    """

    weight: Annotated[float, Field(gt=0.0, le=1.0, strict=True)] = 1.0


class CrossOffsets(FrozenModel):
    """Which positions the cross level's offsets are measured on (methodology 6.3).

    ``positions = "all"`` (the default, and the CME rule a SPAN file states)
    reads inter-commodity credits and correlation offsets from every position
    of each combined commodity. ``"delta_one"`` reads them from the account's
    futures and perpetuals only: credits and the correlation offset are
    computed on that sub-book as on a futures-only account, each commodity's
    share of the offset is capped at its own requirement, and the joint-move
    floor lies under the result. An option then diversifies within its
    underlying but not across, so buying one can never raise the account's
    requirement by more than its value; futures-only accounts margin exactly
    as under ``"all"``.

    Attributes
    ----------
    positions : {"all", "delta_one"}
    """

    positions: Literal["all", "delta_one"] = "all"
