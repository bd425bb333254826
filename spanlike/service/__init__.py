"""``spanlike serve``: a margin service for brokers and desks (needs the ``service`` extra).

Modules, one idea each:

- :mod:`~spanlike.service.core` - the only module importing the margin engine (public names);
- :mod:`~spanlike.service.storage` (+ ``storage_sqlite``, ``storage_postgres``) - the store;
- :mod:`~spanlike.service.state` - accounts and engine in memory, rebuilt from the store;
- :mod:`~spanlike.service.events` - sequence-numbered events and the resumable stream;
- :mod:`~spanlike.service.auth` - API keys (hashed), roles, account limits;
- :mod:`~spanlike.service.limits` - request size and per-key rate limits;
- :mod:`~spanlike.service.models` - request bodies;
- :mod:`~spanlike.service.app` - the ASGI app and its routes;
- :mod:`~spanlike.service.config` - settings from a TOML file and options;
- :mod:`~spanlike.service.cli` - the ``serve`` subcommand.
"""
