"""``spanlike reconcile --venue deribit --simulate RESPONSE.json [--market FILE ...]`` (registered by :mod:`spanlike.cli`).

Prints spanlike's numbers and the venue's side by side, cell by cell and
component by component, and explains the first difference
(:func:`spanlike.reconcile.deribit.reconcile`). Exit 0 when every number
agrees to the last printed digit (or within ``--tolerance``), 1 when not (a
finding, not an input error); bad input raises :mod:`spanlike.errors` types,
which the main CLI turns into exit code 2 with the message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register"]

EXIT_OK, EXIT_DIFFERS = 0, 1


def register(subparsers: Any) -> None:
    """Add the ``reconcile`` command."""
    p = subparsers.add_parser(
        "reconcile", help="compare spanlike with a venue's own what-if response (Deribit private/pme/simulate)")
    p.add_argument("--venue", required=True, choices=("deribit",), help="the venue whose response is given")
    p.add_argument("--simulate", required=True, metavar="RESPONSE.json",
                   help="the venue's response as returned (Deribit: private/pme/simulate, one currency)")
    p.add_argument("--market", nargs="+", default=(), metavar="FILE",
                   help="market files for options' marks and IVs (e.g. Deribit book summaries); the index and "
                        "valuation time come from the response")
    p.add_argument("--params", default="deribit-style", metavar="SET",
                   help="parameter set name (name@version for an older version) or file (default deribit-style)")
    p.add_argument("--tolerance", type=float, default=None, metavar="X",
                   help="one absolute tolerance in the settlement currency instead of the printed-digit rule")
    p.add_argument("--only-differences", action="store_true", help="print only the numbers that differ")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_cmd_reconcile)


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from spanlike.reconcile.deribit import reconcile

    rec = reconcile(args.simulate, parameter_set=args.params, market_paths=args.market, tolerance=args.tolerance)
    if args.format == "json":
        json.dump(rec.to_dict(), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(rec.format_table(only_differences=args.only_differences))
    return EXIT_OK if rec.agree else EXIT_DIFFERS
