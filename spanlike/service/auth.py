"""API keys and roles: who may call what, on which accounts.

A key is ``sl_<key id>_<secret>``, 32 random bytes of secret from
:mod:`secrets`; the store keeps only its SHA-256 (a random 256-bit secret
needs no slow password hash: there is nothing to guess from the digest).
Lookup is by digest, so no comparison leaks the key through timing.

Roles are ordered: ``read`` (GET endpoints, stateless margin) <
``trade`` (what-if, max order, fills) < ``admin`` (accounts, positions,
balances, market, parameter set, keys). A key may be limited to a list of
accounts; other accounts answer 404, exactly as accounts that do not exist,
so a limited key learns nothing about them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from spanlike.service.events import utc_now
from spanlike.service.storage import KeyRecord

__all__ = ["ROLES", "Principal", "hash_key", "new_key", "role_allows"]

ROLES = ("read", "trade", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}


def hash_key(key: str) -> str:
    """SHA-256 hex digest of a key as sent."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def role_allows(have: str, need: str) -> bool:
    """True if role ``have`` includes role ``need``."""
    return _RANK[have] >= _RANK[need]


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid key."""

    key_id: str
    role: str
    accounts: frozenset[str] | None  # None: every account

    def may_see(self, account: str | None) -> bool:
        """Whether this key may read ``account`` (None: a market-wide event)."""
        return self.accounts is None or account is None or account in self.accounts


def new_key(*, role: str, accounts: tuple[str, ...] | None, label: str) -> tuple[str, KeyRecord]:
    """A fresh key and the record to store (the key itself is shown once and never stored).

    Raises
    ------
    ValueError
        An unknown role (the caller turns it into a named error).
    """
    if role not in ROLES:
        raise ValueError(f"'role' must be one of {', '.join(ROLES)}. Got {role!r}.")
    key_id = secrets.token_hex(4)
    key = f"sl_{key_id}_{secrets.token_urlsafe(32)}"
    return key, KeyRecord(key_id=key_id, key_hash=hash_key(key), role=role, accounts=accounts, label=label,
                          created_at=utc_now())
