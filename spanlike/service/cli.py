"""``spanlike serve``: start the margin service, or create an API key for it.

Registered by :func:`spanlike.cli.build_parser` through :func:`register`.
FastAPI and uvicorn are imported inside the handler, so ``spanlike --help``
works without the ``service`` extra and says how to install it.

Examples
--------
Start on the bundled demo market with a SQLite store in the current folder::

    spanlike serve

Create a trade key limited to two accounts (prints the key once)::

    spanlike serve --store spanlike-service.db --create-key trade --key-accounts acc-1,acc-2
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from typing import Any

__all__ = ["register"]


def _missing_extra(err: ModuleNotFoundError) -> int:
    print(f"spanlike: error: 'spanlike serve' needs the service extra ({err.name} is not installed). "
          "Install it with: pip install 'spanlike[service]'", file=sys.stderr)
    return 2


def _open(cfg: Any) -> tuple[Any, Any]:
    from spanlike.service.core import MarketSnapshot
    from spanlike.service.state import ServiceState
    from spanlike.service.storage import open_store

    market_path = cfg.market or str(files("spanlike") / "data" / "demo_market.json")
    store = open_store(cfg.store)
    stored = store.load()
    if stored.meta.get("parameter_set") and stored.meta["parameter_set"] != cfg.parameter_set:
        print(f"spanlike serve: the store {cfg.store} uses parameter set {stored.meta['parameter_set']!r} "
              f"(change it with PUT /v1/parameter-set); --params {cfg.parameter_set!r} is ignored.", file=sys.stderr)
    market = MarketSnapshot.from_file(market_path) if stored.market is None else None
    return store, ServiceState.open(store, parameter_set=cfg.parameter_set, market=market)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from spanlike.service.app import create_app
        from spanlike.service.auth import new_key
        from spanlike.service.config import load_config
    except ModuleNotFoundError as err:
        return _missing_extra(err)
    cfg = load_config(args.config, {"store": args.store, "parameter_set": args.params, "market": args.market,
                                    "host": args.host, "port": args.port, "log_level": args.log_level})
    if args.create_key:
        from spanlike.service.storage import open_store

        store = open_store(cfg.store)
        accounts = tuple(a for a in (args.key_accounts or "").split(",") if a) or None
        if args.create_key == "admin" and accounts is not None:
            print("spanlike: error: --key-accounts limits read and trade keys; an admin key manages every account.",
                  file=sys.stderr)
            return 2
        key, rec = new_key(role=args.create_key, accounts=accounts, label=args.key_label or "")
        store.add_key(rec)
        store.close()
        print(key)
        return 0
    if args.openapi:
        store, state = _open(cfg)
        import json

        schema = create_app(state).fastapi.openapi()  # type: ignore[attr-defined]
        with open(args.openapi, "w", encoding="utf-8") as fh:
            json.dump(schema, fh, indent=1, sort_keys=True)
            fh.write("\n")
        store.close()
        return 0
    store, state = _open(cfg)
    page_key = None
    if cfg.demo_key and not store.load().keys:
        key, rec = new_key(role="admin", accounts=None, label="demo key printed at start")
        store.add_key(rec)
        print(f"demo API key (admin, stored hashed; shown once): {key}", flush=True)
        if cfg.host in ("127.0.0.1", "localhost", "::1"):
            # The page of a local demo opens without a login: it carries a trade key (never the admin key),
            # and only when the service listens on loopback.
            page_key, rec = new_key(role="trade", accounts=None, label="dashboard page of the local demo")
            store.add_key(rec)
    app = create_app(state, max_body_bytes=cfg.max_body_bytes, rate_per_second=cfg.rate_limit_per_second,
                     rate_burst=cfg.rate_limit_burst)
    if page_key is not None:
        app.fastapi.state.demo_key = page_key  # type: ignore[attr-defined]
    print(f"spanlike serve: {len(state.accounts):,} accounts, parameter set {state.parameter_set}, market version "
          f"{state.market_version} ({state.market.valuation_time.isoformat()}), store {store.backend}; "
          f"listening on http://{cfg.host}:{cfg.port}", flush=True)
    print(f"dashboard: http://{cfg.host}:{cfg.port}/" + ("" if page_key else " (paste an API key)"), flush=True)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level, access_log=False,
                timeout_graceful_shutdown=5)
    return 0


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand to the ``spanlike`` parser."""
    p = subparsers.add_parser("serve", help="run the margin service (HTTP JSON API; needs spanlike[service])")
    p.add_argument("--config", help="TOML settings file (see spanlike.service.config)")
    p.add_argument("--store", help="SQLite file or postgresql:// URL (default spanlike-service.db)")
    p.add_argument("--params", help="parameter set seeding a new store (default crypto-span)")
    p.add_argument("--market", help="snapshot file seeding a new store (default: the bundled demo market)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument("--log-level", choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument("--create-key", choices=("read", "trade", "admin"), metavar="ROLE",
                   help="create an API key with ROLE (read, trade, admin) in the store, print it and exit")
    p.add_argument("--key-accounts", metavar="A,B", help="with --create-key: limit the key to these accounts")
    p.add_argument("--key-label", help="with --create-key: a note stored with the key")
    p.add_argument("--openapi", metavar="FILE", help="write the OpenAPI schema to FILE and exit")
    p.set_defaults(func=_cmd_serve)
