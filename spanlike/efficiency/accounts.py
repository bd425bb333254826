"""Batch input for many accounts: a CSV ``account,instrument,quantity[,unit]``.

One row per position; rows of one account need not be adjacent. Quantities and
units follow :mod:`spanlike.portfolio` (options and linear contracts in coins;
coin-settled futures and perpetuals need ``usd`` or ``coin``). Blank lines and
lines starting with ``#`` are skipped. Duplicate rows of one account net, as in
a single-account file::

    account,instrument,quantity,unit
    desk-1,BTC-25DEC26-110000-C,-5,coin
    desk-1,BTC-PERPETUAL,150000,usd
    desk-2,ETH-PERPETUAL,-20000,usd
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from params.errors import InputFileError, InvalidInstrumentError, InvalidPositionError
from spanlike.instruments import parse_instrument
from spanlike.portfolio import Portfolio, Position

__all__ = ["read_accounts_csv", "ACCOUNTS_COLUMNS"]

#: Required columns, then the optional one.
ACCOUNTS_COLUMNS = ("account", "instrument", "quantity", "unit")


def read_accounts_csv(path: str | os.PathLike[str]) -> tuple[Portfolio, ...]:
    """Read an accounts CSV into one :class:`Portfolio` per account.

    Parameters
    ----------
    path : str or path-like
        CSV with header ``account,instrument,quantity[,unit]`` (any column order).

    Returns
    -------
    tuple of Portfolio
        In order of each account's first row; positions netted per
        (instrument, unit) with net-zero drops recorded in ``notes``.

    Raises
    ------
    InputFileError
        Missing or unreadable file, bad header, wrong cell count, a blank
        account, a non-numeric quantity, or no rows; naming file and line.
    InvalidInstrumentError, InvalidPositionError
        An unparseable instrument or an invalid quantity/unit, naming the
        file, line and instrument.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"Accounts file {p} does not exist. Check the path.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"Accounts file {p} cannot be read as UTF-8 text: {err}.") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InputFileError(
            f"Accounts file {p} is empty. Give a header 'account,instrument,quantity,unit' and one row per position."
        )
    header_no, header_text = lines[0]
    header = [h.strip().lower() for h in next(csv.reader([header_text]))]
    unknown = [h for h in header if h not in ACCOUNTS_COLUMNS]
    missing = [h for h in ACCOUNTS_COLUMNS[:3] if h not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise InputFileError(
            f"Accounts file {p} line {header_no}: the header {header_text.strip()!r} must name 'account', "
            f"'instrument' and 'quantity' once each (and optionally 'unit'); unknown {unknown}, missing {missing}. "
            "Example: 'account,instrument,quantity,unit'."
        )
    col = {h: i for i, h in enumerate(header)}
    by_account: dict[str, list[Position]] = {}
    for line_no, line in lines[1:]:
        where = f"Accounts file {p} line {line_no}"
        cells = [c.strip() for c in next(csv.reader([line]))]
        if len(cells) != len(header):
            raise InputFileError(
                f"{where}: expected {len(header)} cells ({','.join(header)}), got {len(cells)}: {line.strip()!r}."
            )
        account = cells[col["account"]]
        if not account:
            raise InputFileError(f"{where}: the 'account' cell is empty. Give every row an account id.")
        try:
            instrument = parse_instrument(cells[col["instrument"]])
        except InvalidInstrumentError as err:
            raise InvalidInstrumentError(f"{where}: {err}") from None
        q_text = cells[col["quantity"]]
        try:
            quantity = float(q_text)
        except ValueError:
            raise InputFileError(
                f"{where}: the quantity of {instrument.name} must be a number like -2.5. Got {q_text!r}."
            ) from None
        unit = (cells[col["unit"]] or None) if "unit" in col else None
        try:
            position = Position(instrument, quantity, unit)  # type: ignore[arg-type]
        except InvalidPositionError as err:
            raise InvalidPositionError(f"{where} (account {account}): {err}") from None
        by_account.setdefault(account, []).append(position)
    if not by_account:
        raise InputFileError(f"Accounts file {p} has a header but no positions. Add one row per position.")
    return tuple(Portfolio.from_positions(positions, account=account) for account, positions in by_account.items())
