"""The service's settings: defaults, then a TOML config file, then command-line options.

Example ``spanlike-service.toml``::

    store = "spanlike-service.db"        # or "postgresql:///spanlike?host=/run/postgresql"
    parameter_set = "crypto-span"         # seeds a new store; a store keeps its own
    market = "market.json"                # seeds a new store; later snapshots come by PUT /v1/market
    host = "127.0.0.1"
    port = 8000
    max_body_bytes = 1048576              # 413 above this
    rate_limit_per_second = 500.0         # per API key
    rate_limit_burst = 1000.0
    demo_key = true                       # create and print an admin key when the store has none
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spanlike.service.core import errors

__all__ = ["ServiceConfig", "load_config"]


class ServiceConfig(BaseModel):
    """Settings of ``spanlike serve`` (see the module docstring for the file form)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    store: str = Field("spanlike-service.db", description="SQLite file path or postgresql:// URL")
    parameter_set: str = Field("crypto-span", description="bundled name or file; seeds a new store")
    market: str | None = Field(None, description="snapshot file seeding a new store (default: the bundled demo)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, gt=0)
    rate_limit_per_second: float = Field(500.0, gt=0)
    rate_limit_burst: float = Field(1000.0, ge=1)
    demo_key: bool = True
    log_level: str = Field("warning", pattern="^(critical|error|warning|info|debug)$")


def load_config(path: str | Path | None, overrides: Mapping[str, Any]) -> ServiceConfig:
    """Defaults, then the file at ``path`` (if any), then ``overrides`` (options given on the command line).

    Raises
    ------
    InputFileError
        The file is missing, not TOML, or has an unknown key or a bad value (named).
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise errors.InputFileError(f"Config file {p} does not exist. Give the path of a TOML file.")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise errors.InputFileError(f"Config file {p} is not valid TOML: {err}.") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServiceConfig.model_validate(data)
    except ValidationError as err:
        e = err.errors(include_url=False)[0]
        field = ".".join(str(x) for x in e["loc"])
        raise errors.InputFileError(
            f"Config {path or '(options)'}: '{field}' {e['msg'].lower()}. Got {e.get('input')!r}."
        ) from None
