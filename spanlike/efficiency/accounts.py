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

import os

from spanlike.params.errors import InputFileError, InvalidInstrumentError, InvalidPositionError
from spanlike.instruments import parse_instrument
from spanlike.portfolio import Portfolio, Position

__all__ = ["read_accounts_csv"]


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
    # One reader of the accounts format for the whole package: batch margining's.
    from spanlike.batch.accounts import read_positions_csv

    records = read_positions_csv(path)
    by_account: dict[str, list[Position]] = {}
    for record in records:
        try:
            instrument = parse_instrument(record.instrument)
        except InvalidInstrumentError as err:
            raise InvalidInstrumentError(f"{record.where}: {err}") from None
        try:
            position = Position(instrument, record.quantity, record.unit)  # type: ignore[arg-type]
        except InvalidPositionError as err:
            raise InvalidPositionError(f"{record.where} (account {record.account}): {err}") from None
        by_account.setdefault(record.account, []).append(position)
    if not by_account:
        raise InputFileError(f"Accounts file {path} has a header but no positions. Add one row per position.")
    return tuple(Portfolio.from_positions(positions, account=account) for account, positions in by_account.items())
