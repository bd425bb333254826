"""Lazy package attributes: import a public name's module on first use.

Packages whose public names pull in numba or matplotlib export them through
:func:`lazy_exports`, so ``import spanlike.batch`` (and the CLI's parser) stays
cheap and only the commands that need the kernels pay numba's start-up cost.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: dict[str, Any], names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` serving ``names`` (name -> module) lazily.

    A resolved name is stored in ``namespace`` (the package's globals), so the
    import happens once.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace.get("__all__", ())) | set(names))

    return __getattr__, __dir__
