"""Internals of :func:`spanlike.spn.read_spn`, one module per idea.

* :mod:`.archives`: opening the file (regular files only; plain, ``.gz``, ``.zip``)
  and bounding what an archive inflates to (:mod:`.limits`).
* :mod:`.driver`: the streaming scanner and its two passes (lazy, then strict on
  any failure) with expat validation.
* :mod:`.records`: the records outside product families.
* :mod:`.families`: which path reads a product family, in batches.
* :mod:`.token_path`, :mod:`.regex_path`: the two fast paths of contract records.
* :mod:`.slow`: the slow twin, an ElementTree walk (``read_spn(..., parser="slow")``).
* :mod:`.elements`: typed ElementTree reads with indexed element paths.
* :mod:`.progress`: the progress callback and bar.
"""
