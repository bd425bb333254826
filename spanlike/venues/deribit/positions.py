"""Deribit ``private/get_positions`` responses, read as they come.

Units: an option's ``size`` is in coins of underlying; a coin-settled
(inverse) future's or perpetual's ``size`` is USD notional (Deribit's
``size_currency`` is the coin amount); a linear (USDC) contract's ``size`` is
coins. ``size`` is signed (negative = short); ``direction`` and ``kind``, when
present, must agree with the sign and the name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from spanlike.loaders import PathLike, load_json, show_value
from spanlike.params.errors import InputFileError, InvalidInstrumentError
from spanlike.portfolio import Portfolio, PositionEntry, Unit
from spanlike.venues.deribit.naming import parse_name

__all__ = ["read_positions", "is_positions_payload"]


def is_positions_payload(data: Any) -> bool:
    """True for decoded JSON shaped like a get_positions response.

    A JSON-RPC envelope (``jsonrpc`` or ``result`` keys), or a bare list whose
    first entry has ``instrument_name``.
    """
    if isinstance(data, dict):
        return "result" in data or "jsonrpc" in data
    return bool(data) and isinstance(data, list) and isinstance(data[0], dict) and "instrument_name" in data[0]


def read_positions(
    path_or_obj: PathLike | dict[str, Any] | list[Any],
    *,
    account: str = "default",
    source: str | None = None,
) -> Portfolio:
    """Read a Deribit ``private/get_positions`` response as returned.

    Parameters
    ----------
    path_or_obj : path, dict or list
        A JSON file or the decoded response
        ``{"jsonrpc": "2.0", "result": [{"instrument_name", "size", "kind",
        "direction", "size_currency", ...}, ...]}`` (a bare ``result``
        list is accepted too).
    account : str, default "default"
    source : str, optional
        Name used in error messages (defaults to the path or ``<deribit>``).

    Returns
    -------
    Portfolio
        ``size`` is signed (negative = short). Coin-settled futures and
        perpetuals become ``unit="usd"`` positions (``size`` is USD);
        options and linear contracts ``unit="coin"``.

    Raises
    ------
    InputFileError
        An ``error`` response, a missing or non-numeric field, a ``kind``
        or ``direction`` that contradicts the name or the sign of ``size``.
    InvalidInstrumentError
        A name that is not a Deribit instrument.
    InvalidPositionError
        A non-finite size.
    """
    if isinstance(path_or_obj, (str, os.PathLike)):
        src = str(path_or_obj)
        data = load_json(Path(path_or_obj), what="Deribit positions")
    else:
        src = source or "<deribit>"
        data = path_or_obj
    src = source or src
    if isinstance(data, dict):
        if "error" in data:
            raise InputFileError(f"Deribit positions {src} is an error response: {show_value(data['error'], limit=200)}. Fetch the positions again.")
        if not isinstance(data.get("result"), list):
            raise InputFileError(
                f"Deribit positions {src}: expected {{\"jsonrpc\": \"2.0\", \"result\": [...]}} with a list 'result' "
                "as returned by private/get_positions."
            )
        items = data["result"]
    elif isinstance(data, list):
        items = data
    else:
        raise InputFileError(f"Deribit positions {src}: expected a JSON object or list. Got {type(data).__name__}.")
    entries: list[PositionEntry] = []
    for i, item in enumerate(items):
        where = f"{src} result[{i}]"
        if not isinstance(item, dict) or "instrument_name" not in item or "size" not in item:
            raise InputFileError(
                f"Deribit positions {where}: each entry needs 'instrument_name' and 'size'. Got {show_value(item)}."
            )
        try:
            ins = parse_name(item["instrument_name"])
        except InvalidInstrumentError as err:
            raise InvalidInstrumentError(f"Deribit positions {where}: {err}") from None
        size = item["size"]
        if isinstance(size, bool) or not isinstance(size, (int, float)):
            raise InputFileError(
                f"Deribit positions {where}: 'size' of {ins.name} must be a number. Got {show_value(size)}."
            )
        unit: Unit = "usd" if (ins.is_inverse and not ins.is_option) else "coin"
        # Checked first (finite, in range), so the direction test below compares a float.
        entry = PositionEntry.make(instrument=ins, quantity=size, unit=unit, where=where)
        size = entry.quantity
        kind = item.get("kind")
        expected_kind = "option" if ins.is_option else "future"
        if kind is not None and kind != expected_kind:
            raise InputFileError(
                f"Deribit positions {where}: 'kind' {show_value(kind)} contradicts the name {ins.name} (a Deribit {expected_kind})."
            )
        direction = item.get("direction")
        if direction is not None:
            sign_ok = {"buy": size > 0, "sell": size < 0, "zero": size == 0}.get(direction)
            if not sign_ok:
                raise InputFileError(
                    f"Deribit positions {where}: 'direction' {show_value(direction)} of {ins.name} does not match the signed "
                    f"'size' {size!r} (buy > 0, sell < 0, zero = 0)."
                )
        entries.append(entry)
    return Portfolio.from_entries(entries, account=account)
