"""Base model for every parameter-set section: frozen, strict, finite, unknown keys rejected.

Strict: a number field takes a number (an integer is accepted for a float),
never a string (``"0.32"``) or a boolean; a boolean field takes ``true`` /
``false`` only (not ``"yes"``, ``1``). Finite: ``inf`` and ``nan`` (TOML
allows both) are refused in every float field. A parameter file is a
methodology; nothing in it is guessed.

Arrays (TOML and JSON have no tuples) are given to the models as tuples by
the loader before validation, which is why strict tuple fields accept them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """Immutable pydantic model that rejects unknown fields (typos fail loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, strict=True, allow_inf_nan=False)
