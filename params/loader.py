"""Load, list, validate and write parameter sets.

Bundled sets live in ``params/sets/`` as TOML files (comments carry their
sources). ``load("crypto-span")`` finds a bundled set by name;
``load(Path("my.toml"))`` or ``load("my.json")`` reads a file. A bad file
fails as a whole with :class:`~spanlike.params.errors.ParameterSetError` naming the
file, the field path and the reason; nothing is half-loaded.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import tomli_w
from pydantic import ValidationError

from .errors import ParameterSetError, UnknownParameterSetError
from .parameter_set import ParameterSet

__all__ = ["load", "available", "validate", "from_mapping", "json_schema", "dump", "dumps_toml"]

_SUFFIXES = (".toml", ".json")


def _bundled_dir() -> Path:
    return Path(str(resources.files(__package__) / "sets"))


def available() -> list[str]:
    """Names of the bundled parameter sets, sorted."""
    return sorted(p.stem for p in _bundled_dir().iterdir() if p.suffix in _SUFFIXES)


def _format_location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _validation_message(source: str, err: ValidationError) -> str:
    lines = [f"Parameter set {source} is invalid ({err.error_count()} problem(s)):"]
    for e in err.errors(include_url=False):
        # Discriminated unions add the tag to the location; keep it, it tells which family failed.
        where = _format_location(tuple(e["loc"]))
        got = e.get("input")
        shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  - {where}: {msg}{shown}")
    return "\n".join(lines)


def from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>") -> ParameterSet:
    """Validate a plain mapping (parsed TOML/JSON) into a :class:`ParameterSet`.

    Raises
    ------
    ParameterSetError
        With ``source``, each failing field path and its reason.
    """
    try:
        return ParameterSet.model_validate(dict(data))
    except ValidationError as err:
        raise ParameterSetError(_validation_message(source, err)) from None


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ParameterSetError(f"Parameter set file {path} does not exist.")
    text = path.read_bytes()
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text.decode("utf-8"))
        if path.suffix == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ParameterSetError(f"Parameter set {path} must hold a JSON object at the top level.")
            return data
    except tomllib.TOMLDecodeError as err:
        raise ParameterSetError(f"Parameter set {path} is not valid TOML: {err}.") from None
    except json.JSONDecodeError as err:
        raise ParameterSetError(
            f"Parameter set {path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
        ) from None
    except UnicodeDecodeError as err:
        raise ParameterSetError(f"Parameter set {path} is not UTF-8 text: {err}.") from None
    raise ParameterSetError(f"Parameter set {path} must end in .toml or .json; got '{path.suffix}'.")


def load(source: str | Path) -> ParameterSet:
    """Load a bundled parameter set by name, or a set from a file path.

    Parameters
    ----------
    source : str or Path
        A bundled name (see :func:`available`), or a path to a ``.toml`` or
        ``.json`` file. A string containing a path separator or ending in
        ``.toml``/``.json`` is treated as a path.

    Returns
    -------
    ParameterSet

    Raises
    ------
    UnknownParameterSetError
        ``source`` is neither a bundled name nor a path.
    ParameterSetError
        The file cannot be parsed or fails validation.
    """
    if isinstance(source, str) and not source.endswith(_SUFFIXES) and "/" not in source and "\\" not in source:
        for suffix in _SUFFIXES:
            candidate = _bundled_dir() / f"{source}{suffix}"
            if candidate.is_file():
                return from_mapping(_read_file(candidate), source=f"'{source}' ({candidate.name})")
        raise UnknownParameterSetError(
            f"No bundled parameter set is called '{source}'. Available: {', '.join(available())}; "
            "or pass a path to a .toml/.json file."
        )
    path = Path(source)
    return from_mapping(_read_file(path), source=str(path))


def validate(source: str | Path) -> ParameterSet:
    """Alias of :func:`load` for the ``params validate`` command: load or raise."""
    return load(source)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a parameter set file."""
    schema = ParameterSet.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "spanlike parameter set"
    return schema


def _plain(data: Any) -> Any:
    # TOML has no null: drop None fields (they mean "absent", the model default).
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items() if v is not None}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


def dumps_toml(parameter_set: ParameterSet) -> str:
    """The set as TOML text that :func:`load` reads back to an equal set."""
    return tomli_w.dumps(_plain(parameter_set.model_dump(mode="json")))


def dump(parameter_set: ParameterSet, path: str | Path) -> Path:
    """Write the set to ``path`` (``.toml`` or ``.json``) and return the path."""
    out = Path(path)
    if out.suffix == ".toml":
        out.write_text(dumps_toml(parameter_set), encoding="utf-8")
    elif out.suffix == ".json":
        out.write_text(json.dumps(parameter_set.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    else:
        raise ParameterSetError(f"Write parameter sets to a .toml or .json path; got '{out.suffix}'.")
    return out
