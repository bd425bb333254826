"""A demo server for the dashboard: the bundled market, the demo book as stored accounts, the page's URL printed.

``python -m spanlike.service.dashboard`` starts ``spanlike serve`` on a
fresh SQLite store in a temporary folder (removed at exit) with two
accounts holding the demo book (``spanlike/data/demo_portfolio.csv``):
``demo`` with ample equity and ``demo-tight`` with equity just above its
initial margin (so adding risk is rejected). It prints an admin key for the
API and the page's URL; the page carries a trade key made for it (a trade
key can read and check orders, not change accounts), so it opens without a
login. Anyone who can reach the port can use that key: the default address
is 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Sequence

__all__ = ["DEMO_BALANCES", "main", "seed_demo"]

#: Balances of the demo accounts (currency -> amount): ample, and just above the tight account's IM.
DEMO_BALANCES = {"demo": {"USDC": 150_000.0, "BTC": 1.0}}
_TIGHT_HEADROOM = 1.02


def seed_demo(state: object) -> list[str]:
    """Create the demo accounts in ``state`` (a :class:`ServiceState`); return their names."""
    from spanlike.service.core import Portfolio

    book = Portfolio.from_csv(files("spanlike") / "data" / "demo_portfolio.csv")
    positions = [(p.instrument.name, p.quantity, p.unit) for p in book.positions]
    st = state  # type: ignore[assignment]
    st.create_account("demo", positions=positions, balances=DEMO_BALANCES["demo"])  # type: ignore[attr-defined]
    acc, _ = st.create_account("demo-tight", positions=positions, balances={})  # type: ignore[attr-defined]
    # Equity 2 % above the book's own IM, rounded up to a dollar: adding risk is rejected.
    st.set_balances("demo-tight", {"USDC": float(int(acc.initial_margin_usd * _TIGHT_HEADROOM) + 1)})  # type: ignore[attr-defined]
    return ["demo", "demo-tight"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo server until interrupted (exit 0), or 2 without the service extra."""
    p = argparse.ArgumentParser(prog="python -m spanlike.service.dashboard",
                                description="Desk dashboard demo: the service with the demo book, page at /.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--params", default="crypto-span", help="parameter set in force (default crypto-span)")
    p.add_argument("--store", help="store to use instead of a temporary SQLite file (seeded when empty)")
    args = p.parse_args(argv)
    try:
        import uvicorn

        from spanlike.service.app import create_app
        from spanlike.service.auth import new_key
        from spanlike.service.core import MarketSnapshot
        from spanlike.service.state import ServiceState
        from spanlike.service.storage import open_store
    except ModuleNotFoundError as err:
        print(f"spanlike: error: the dashboard needs the service extra ({err.name} is not installed). "
              "Install it with: pip install 'spanlike[service]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="spanlike-dashboard-") as tmp:
        store = open_store(args.store or str(Path(tmp) / "demo.db"))
        state = ServiceState.open(store, parameter_set=args.params,
                                  market=MarketSnapshot.from_file(files("spanlike") / "data" / "demo_market.json"))
        if not state.accounts:
            seed_demo(state)
        admin, rec = new_key(role="admin", accounts=None, label="dashboard demo: admin")
        store.add_key(rec)
        page_key, rec = new_key(role="trade", accounts=None, label="dashboard demo: the page's key")
        store.add_key(rec)
        app = create_app(state)
        app.fastapi.state.demo_key = page_key  # type: ignore[attr-defined]
        print(f"demo API key (admin, shown once): {admin}", flush=True)
        print(f"spanlike dashboard: {len(state.accounts)} accounts, parameter set {state.parameter_set}; "
              f"open http://{args.host}:{args.port}/", flush=True)
        try:
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                        timeout_graceful_shutdown=5)
        finally:
            store.close()
    return 0
