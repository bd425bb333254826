"""Load, list, validate and write parameter sets.

Bundled sets live in ``params/sets/`` as TOML files (comments carry their
sources). ``load("crypto-span")`` finds a bundled set by name;
``load(Path("my.toml"))`` or ``load("my.json")`` reads a file.

Versioned names: ``name@version`` loads one version of a bundled set
(``deribit-style@2024-06-17``), from the bundled file of that stem, or from
``name``'s own file when its ``metadata.version`` is ``version``; the plain
``name`` is always the latest version. :func:`versions` lists them. A bad file
fails as a whole with :class:`~spanlike.params.errors.ParameterSetError` naming the
file, the field path and the reason; nothing is half-loaded.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import tomli_w
from pydantic import ValidationError

from .errors import ParameterSetError, UnknownParameterSetError
from .parameter_set import ParameterSet

__all__ = ["load", "available", "versions", "validate", "from_mapping", "json_schema", "dump", "dumps_toml"]

_SUFFIXES = (".toml", ".json")

#: Largest parameter file read, in bytes (16 MiB; the bundled sets are a few
#: KiB, a VaR scenario set a few MiB). Refused past it, the bound named.
MAX_PARAMETER_FILE_BYTES: int = 16 * 1024 * 1024


def _shown(value: Any) -> str:
    # repr of a value a user wrote, short, and safe for integers Python cannot print.
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 200:
        return f"an integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text):,} characters)"


def _bundled_dir() -> Path:
    return Path(str(resources.files(__package__) / "sets"))


#: Separates a set's name from its version in a versioned name (``deribit-style@2024-06-17``).
VERSION_SEPARATOR = "@"


def _stems() -> list[str]:
    return sorted(p.stem for p in _bundled_dir().iterdir() if p.suffix in _SUFFIXES)


def available() -> list[str]:
    """Names of the bundled parameter sets, sorted; each loads its latest version (:func:`versions` lists all)."""
    return [s for s in _stems() if VERSION_SEPARATOR not in s]


def _bundled_file(stem: str) -> Path | None:
    for suffix in _SUFFIXES:
        candidate = _bundled_dir() / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def versions(name: str) -> list[str]:
    """Versioned names of bundled set ``name``, oldest first; the last is what ``name`` loads.

    Raises
    ------
    UnknownParameterSetError
        No bundled set is called ``name``.
    """
    base = name.split(VERSION_SEPARATOR, 1)[0]
    latest_file = _bundled_file(base)
    if latest_file is None:
        raise UnknownParameterSetError(
            f"No bundled parameter set is called '{base}'. Available: {', '.join(available())}."
        )
    older = [n for n in _stems() if n.startswith(base + VERSION_SEPARATOR)]
    latest = from_mapping(_read_file(latest_file), source=f"'{base}' ({latest_file.name})").metadata.version
    named = f"{base}{VERSION_SEPARATOR}{latest}"
    return sorted(set(older) - {named}) + [named]


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
        shown = "" if isinstance(got, (dict, list, tuple)) else f" (got {_shown(got)})"
        msg = e["msg"].removeprefix("Value error, ")
        kind = e.get("type", "")
        if kind == "finite_number":
            lines.append(f"  - {where} must be a finite number{shown}; inf and nan are not parameters.")
            continue
        if kind in ("float_type", "int_type", "bool_type") and isinstance(got, (str, bool, int, float)):
            want = {"float_type": "a number", "int_type": "an integer", "bool_type": "true or false"}[kind]
            hint = " without quotes" if isinstance(got, str) else ""
            lines.append(f"  - {where}: {msg}{shown}; write {want}{hint} (parameters are read strictly, never converted).")
            continue
        lines.append(f"  - {where}: {msg}{shown}")
    return "\n".join(lines)


def _tuples(data: Any) -> Any:
    # The models are strict (params.base): arrays are tuples there, and TOML/JSON give lists.
    if isinstance(data, Mapping):
        return {k: _tuples(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return tuple(_tuples(v) for v in data)
    return data


def from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>") -> ParameterSet:
    """Validate a plain mapping (parsed TOML/JSON) into a :class:`ParameterSet`.

    Validation is strict (:mod:`spanlike.params.base`): no string or boolean
    is read as a number, no ``inf``/``nan`` is accepted; arrays may be lists
    or tuples.

    Raises
    ------
    ParameterSetError
        With ``source``, each failing field path and its reason.
    """
    if not isinstance(data, Mapping):
        raise ParameterSetError(f"Parameter set {source} must be a table (mapping) at the top level. Got {type(data).__name__}.")
    try:
        return ParameterSet.model_validate(_tuples(data))
    except ValidationError as err:
        raise ParameterSetError(_validation_message(source, err)) from None


def _read_bytes(path: Path) -> bytes:
    """A regular file's bytes, at most :data:`MAX_PARAMETER_FILE_BYTES`."""
    try:
        info = os.stat(path)  # follows symlinks: the target decides
    except FileNotFoundError:
        raise ParameterSetError(f"Parameter set file {path} does not exist.") from None
    except OSError as err:
        raise ParameterSetError(f"Parameter set file {path} cannot be opened: {err.strerror or err}.") from None
    if not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file")
        raise ParameterSetError(f"Parameter set file {path} is not a regular file ({kind}). Give a .toml or .json file.")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PARAMETER_FILE_BYTES + 1)
    except OSError as err:
        raise ParameterSetError(f"Parameter set file {path} cannot be read: {err.strerror or err}.") from None
    if len(data) > MAX_PARAMETER_FILE_BYTES:
        raise ParameterSetError(
            f"Parameter set file {path} is larger than {MAX_PARAMETER_FILE_BYTES:,} bytes, the limit for a parameter "
            "file (loader.MAX_PARAMETER_FILE_BYTES). Check the path."
        )
    return data


class _Refused(Exception):
    pass


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"key {key!r} appears twice in one object; keep one (none is guessed)")
        out[key] = value
    return out


def _json_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number a parameter may take; give a finite number")


def _read_file(path: Path) -> dict[str, Any]:
    if path.suffix not in _SUFFIXES:
        raise ParameterSetError(f"Parameter set {path} must end in .toml or .json; got '{path.suffix}'.")
    text = _read_bytes(path)
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text.decode("utf-8"))
        if path.suffix == ".json":
            data = json.loads(text, object_pairs_hook=_json_object, parse_constant=_json_constant)
            if not isinstance(data, dict):
                raise ParameterSetError(f"Parameter set {path} must hold a JSON object at the top level.")
            return data
    except ParameterSetError:
        raise
    except tomllib.TOMLDecodeError as err:
        raise ParameterSetError(f"Parameter set {path} is not valid TOML: {err}.") from None
    except json.JSONDecodeError as err:
        raise ParameterSetError(
            f"Parameter set {path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
        ) from None
    except UnicodeDecodeError as err:
        line = text.count(b"\n", 0, err.start) + 1
        raise ParameterSetError(
            f"Parameter set {path} line {line}: byte(s) 0x{text[err.start:err.end].hex(' ')} are not UTF-8 text. "
            "Save the file as UTF-8."
        ) from None
    except _Refused as err:
        raise ParameterSetError(f"Parameter set {path}: {err}.") from None
    except RecursionError:
        raise ParameterSetError(f"Parameter set {path} nests tables or arrays too deeply to read. Check the file.") from None
    except ValueError as err:  # Python's int-conversion limit (an integer of thousands of digits)
        raise ParameterSetError(f"Parameter set {path} holds a number too long to read: {err}.") from None
    raise AssertionError("unreachable")  # pragma: no cover


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
        candidate = _bundled_file(source)
        if candidate is not None:
            return from_mapping(_read_file(candidate), source=f"'{source}' ({candidate.name})")
        if VERSION_SEPARATOR in source:
            return _load_version(source)
        raise UnknownParameterSetError(
            f"No bundled parameter set is called '{source}'. Available: {', '.join(available())}; "
            "or pass a path to a .toml/.json file."
        )
    path = Path(source)
    return from_mapping(_read_file(path), source=str(path))


def _load_version(source: str) -> ParameterSet:
    """``name@version`` that has no file of its own: the latest file if its version is ``version``."""
    base, version = source.split(VERSION_SEPARATOR, 1)
    known = versions(base)  # raises for an unknown base name
    latest_file = _bundled_file(base)
    assert latest_file is not None
    ps = from_mapping(_read_file(latest_file), source=f"'{base}' ({latest_file.name})")
    if ps.metadata.version == version:
        return ps
    raise UnknownParameterSetError(
        f"Bundled parameter set '{base}' has no version '{version}'. Versions: {', '.join(known)} "
        f"('{base}' alone is the latest)."
    )


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
