"""Base model for every parameter-set section: frozen, unknown keys rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """Immutable pydantic model that rejects unknown fields (typos fail loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
