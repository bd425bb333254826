"""Exchange SPAN risk-parameter files (CME SPAN XML, ``fileFormat`` 4.00).

:func:`read_spn` reads a file (plain, ``.gz`` or ``.zip``) into a frozen
:class:`SpanFile`; :func:`write_spn` writes one back; :func:`summarise` and
:func:`format_info` describe it (``spanlike spn info FILE``).
"""

from spanlike.spn.info import ProductSummary, SpanSummary, format_info, summarise
from spanlike.spn.model import *  # noqa: F401,F403
from spanlike.spn.model import __all__ as _model_all
from spanlike.spn.reader import ProgressCallback, read_spn
from spanlike.spn.writer import write_spn

__all__ = [
    "read_spn",
    "write_spn",
    "summarise",
    "format_info",
    "SpanSummary",
    "ProductSummary",
    "ProgressCallback",
    *_model_all,
]
