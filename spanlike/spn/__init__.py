"""Exchange SPAN risk-parameter files (CME SPAN XML, ``fileFormat`` 4.00).

:func:`read_spn` reads a file (plain, ``.gz`` or ``.zip``) into a frozen
:class:`SpanFile`; :func:`write_spn` writes one back; :func:`summarise` and
:func:`format_info` describe it (``spanlike spn info FILE``); :func:`margin_file`
margins a portfolio on the file's own arrays and :func:`verify` regenerates the
arrays with spanlike's pricer.
"""

from spanlike._lazy import lazy_exports
from spanlike.spn.info import ProductSummary, SpanSummary, format_info, summarise
from spanlike.spn.model import *  # noqa: F401,F403
from spanlike.spn.model import __all__ as _model_all
from spanlike.spn.reader import ProgressCallback, read_spn
from spanlike.spn.writer import write_spn

__all__ = [
    "margin_file",
    "load_spn_portfolio",
    "verify",
    "format_verify",
    "VerifyReport",
    "read_spn",
    "write_spn",
    "summarise",
    "format_info",
    "SpanSummary",
    "ProductSummary",
    "ProgressCallback",
    *_model_all,
]

# Margin and verify pull in the pricing kernels (numba): import them on first use so that
# `spanlike spn info` and every other command start without numba's start-up cost.
_LAZY = {
    "margin_file": "spanlike.spn.margin",
    "load_spn_portfolio": "spanlike.spn.portfolio",
    "verify": "spanlike.spn.verify",
    "format_verify": "spanlike.spn.verify",
    "VerifyReport": "spanlike.spn.verify",
}


__getattr__, __dir__ = lazy_exports("spanlike.spn", globals(), _LAZY)
