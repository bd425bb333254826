"""Size limits of SPAN reading: what an archive may inflate to and how long one text may be.

Real SPAN files hold short texts (numbers, codes, names) and compress about
10 to 30 times. A file past these limits is damaged or built to exhaust the
reader (a 1 MB archive inflating to 1 GiB; a 200 MiB attribute, which expat
2.5 re-scans on every read chunk), so it is refused with the limit named.
Each limit can be raised on purpose by the keyword of the same name of
:func:`spanlike.spn.read_spn`.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanlike.params.errors import InvalidInputError

__all__ = ["MAX_INFLATED_BYTES", "MAX_INFLATION_RATIO", "MAX_TEXT_BYTES", "ReadLimits"]

#: Bytes a ``.gz``/``.zip`` SPAN file may inflate to (8 GiB: several times the largest
#: exchange files).
MAX_INFLATED_BYTES = 8 << 30
#: Inflated bytes per compressed byte an archive may reach once past
#: :data:`RATIO_FREE_BYTES` (SPAN XML compresses about 10 to 30 times; bombs about 1000).
MAX_INFLATION_RATIO = 200.0
#: Inflated bytes read before :data:`MAX_INFLATION_RATIO` applies (a tiny file may compress
#: unusually well).
RATIO_FREE_BYTES = 16 << 20
#: Bytes one text node, attribute, comment or tag may hold (without ``<`` or ``>``).
MAX_TEXT_BYTES = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """The limits one read applies (defaults: the module constants).

    Parameters
    ----------
    max_inflated_bytes : int
        Largest inflated size of a compressed file, bytes.
    max_inflation_ratio : float
        Largest ratio of inflated to compressed bytes (checked past
        :data:`RATIO_FREE_BYTES` of inflated bytes).
    max_text_bytes : int
        Longest run of bytes without ``<`` or ``>`` (a text node, attribute
        value, comment or tag).
    """

    max_inflated_bytes: int = MAX_INFLATED_BYTES
    max_inflation_ratio: float = MAX_INFLATION_RATIO
    max_text_bytes: int = MAX_TEXT_BYTES

    def __post_init__(self) -> None:
        for name in ("max_inflated_bytes", "max_inflation_ratio", "max_text_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
                raise InvalidInputError(f"read_spn's {name} must be a positive number. Got {value!r}.")
