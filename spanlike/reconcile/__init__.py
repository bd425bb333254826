"""Reconcile spanlike's numbers with a venue's own what-if response (``spanlike reconcile``).

:mod:`spanlike.reconcile.deribit` reads a Deribit ``private/pme/simulate``
response, margins the same positions at the same index and marks with a
parameter set, and compares every number cell by cell and component by
component (:func:`spanlike.reconcile.deribit.reconcile`).
"""

from __future__ import annotations

__all__: list[str] = []
