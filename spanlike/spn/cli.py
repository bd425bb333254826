"""``spanlike spn info|verify|write`` (registered by :mod:`spanlike.cli`).

* ``spn info FILE``: counts, scan points and one line per product family
  with its expiries (:func:`spanlike.spn.info.format_info`).
* ``spn verify FILE [--tolerance X] [--format table|json]``: regenerate the
  risk arrays with spanlike's pricer and report agreement per family
  (:func:`spanlike.spn.verify.verify`). Exit 0 when every contract is within
  the tolerance, 1 when some are not (a finding, not an input error).
* ``spn write FILE OUT``: read and write back (normalised XML, ``.gz`` when
  ``OUT`` ends in ``.gz``), e.g. to decompress a ``.zip`` or check a round trip.

Handlers import the reader and pricer lazily so that ``spanlike --help``
stays fast. Bad input raises :mod:`spanlike.errors` types, which the main CLI
turns into exit code 2 with the message on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from spanlike.params.errors import InputFileError, InvalidInputError

__all__ = ["register"]

EXIT_OK, EXIT_RUNTIME = 0, 1


def register(subparsers: Any) -> None:
    """Add the ``spn`` command and its ``info``, ``verify`` and ``write`` subcommands."""
    p = subparsers.add_parser("spn", help="exchange SPAN risk parameter files: info, verify arrays, write")
    sub = p.add_subparsers(dest="spn_command", required=True, metavar="SUBCOMMAND")

    q = sub.add_parser("info", help="products, expiries and counts of a SPAN file")
    q.add_argument("file", metavar="FILE", help="SPAN XML file (.spn, .gz, .zip)")
    q.set_defaults(func=_cmd_info)

    q = sub.add_parser("verify", help="regenerate the risk arrays with spanlike's pricer and compare")
    q.add_argument("file", metavar="FILE", help="SPAN XML file (.spn, .gz, .zip)")
    q.add_argument("--tolerance", type=float, default=None, metavar="X",
                   help="agreement tolerance per contract in the family's currency (default 0.01)")
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.set_defaults(func=_cmd_verify)

    q = sub.add_parser("write", help="read a SPAN file and write it back (normalised XML; .gz by suffix)")
    q.add_argument("file", metavar="FILE", help="SPAN XML file (.spn, .gz, .zip)")
    q.add_argument("out", metavar="OUT", help="output path (.spn or .spn.gz)")
    q.set_defaults(func=_cmd_write)


def _read(path: str) -> Any:
    from spanlike.spn.reader import read_spn

    # read_spn tells a missing file from one that is not a regular file (a FIFO, a device)
    return read_spn(Path(path))


def _cmd_info(args: argparse.Namespace) -> int:
    from spanlike.spn.info import format_info, summarise

    sys.stdout.write(format_info(summarise(_read(args.file))))
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from spanlike.spn.verify import DEFAULT_TOLERANCE, format_verify, verify

    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    if not (math.isfinite(tolerance) and tolerance > 0.0):
        raise InvalidInputError(f"--tolerance must be a positive amount per contract (e.g. 0.01). Got {tolerance!r}.")
    report = verify(_read(args.file), tolerance=tolerance)
    if args.format == "json":
        # the whole document is encoded before the first byte is written: never half a document
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_verify(report))
    return EXIT_OK if report.within_tolerance == report.contracts else EXIT_RUNTIME


def _cmd_write(args: argparse.Namespace) -> int:
    from spanlike.spn.writer import _check_target, write_spn

    out, source = Path(args.out), Path(args.file)
    # checked before the (possibly long) read: a missing directory, OUT the input itself (the same
    # path, a symlink to it or a hard link: same device and inode)
    _check_target(out)
    if out.resolve() == source.resolve() or (out.exists() and source.exists() and os.path.samefile(out, source)):
        raise InputFileError(
            f"OUT {out} is the input file {source} (the same path, a symlink or a hard link to it); "
            "writing would destroy the input. Write to another path."
        )
    span_file = _read(args.file)
    write_spn(span_file, out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return EXIT_OK
