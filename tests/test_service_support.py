"""Helpers of the service tests: stores for both backends, a throwaway PostgreSQL cluster, an app client.

PostgreSQL comes from ``SPANLIKE_TEST_POSTGRES_URL`` (``.ci/run`` starts a
cluster and exports it); without it, a cluster is started here from Debian's
``/usr/lib/postgresql/*/bin`` on a socket in a temp dir (as the ``postgres``
user when run as root) and stopped at exit. Tests that need PostgreSQL skip,
naming the reason, only when neither works.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

TABLES = ("meta", "api_keys", "accounts", "balances", "positions", "fills", "events", "markets")
_PG: dict[str, Any] = {}


def _start_cluster() -> str:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise RuntimeError("no initdb under /usr/lib/postgresql/*/bin (install Debian's postgresql package)")
    bindir = Path(bins[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="spanlike-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        pwd.getpwnam("postgres")
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                    f"-k {base} -c listen_addresses='' -c fsync=off", "start"], check=True, capture_output=True,
                   timeout=120)
    atexit.register(lambda: subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                            "stop"], capture_output=True))
    return f"postgresql:///postgres?host={base}&user=postgres"


def postgres_url() -> str:
    """URL of a PostgreSQL server for tests, or pytest.skip with the reason."""
    if "url" in _PG:
        return _PG["url"]
    if "error" in _PG:
        pytest.skip(_PG["error"])
    url = os.environ.get("SPANLIKE_TEST_POSTGRES_URL")
    try:
        import psycopg  # noqa: F401
        if not url:
            url = _start_cluster()
        import psycopg as pg
        with pg.connect(url, connect_timeout=10):
            pass
    except Exception as err:  # any failure to get a server means: skip, with the reason
        _PG["error"] = (f"PostgreSQL tests need a server: SPANLIKE_TEST_POSTGRES_URL unset or unreachable and no "
                        f"throwaway cluster could be started ({type(err).__name__}: {err}); .ci/run starts one")
        pytest.skip(_PG["error"])
    _PG["url"] = url
    return url


def fresh_store_url(backend: str, tmp_path: Path) -> str:
    """An empty store of ``backend`` ('sqlite' or 'postgresql')."""
    if backend == "sqlite":
        return str(tmp_path / "service.db")
    url = postgres_url()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for t in TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {t}")
    return url


def demo_market() -> Any:
    from importlib.resources import files

    from spanlike.service.core import MarketSnapshot

    return MarketSnapshot.from_file(files("spanlike") / "data" / "demo_market.json")


def make_client(url: str, *, rate: float = 1e6, burst: float = 1e6, max_body: int = 1_048_576) -> tuple[Any, Any, str]:
    """(TestClient, state, admin key) over a store at ``url``."""
    from fastapi.testclient import TestClient

    from spanlike.service.app import create_app
    from spanlike.service.auth import new_key
    from spanlike.service.state import ServiceState
    from spanlike.service.storage import open_store

    store = open_store(url)
    if not store.load().keys:
        key, rec = new_key(role="admin", accounts=None, label="test")
        store.add_key(rec)
    else:
        key = ""
    state = ServiceState.open(store, parameter_set="crypto-span", market=demo_market())
    app = create_app(state, max_body_bytes=max_body, rate_per_second=rate, rate_burst=burst)
    return TestClient(app, raise_server_exceptions=False), state, key
