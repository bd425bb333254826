"""Struct-of-arrays description of the contracts to revalue.

:class:`ContractArrays` is what the kernels see: one float64/int8/bool array per
field, all of length ``n``. It is built by :func:`make_contract_arrays`, which
validates every field and names the first bad entry; kernels never validate.

Conventions
-----------
* Prices (``forward``, ``strike``) are in the quote currency (USD) per one unit
  of the underlying.
* ``t_years`` is ACT/365 time to expiry in years; ``0`` for perpetuals.
* ``vol`` is an annual decimal (0.55 = 55 %); ignored for futures.
* ``rate`` is the continuously compounded discount rate (annual decimal).
* ``kind`` is :data:`KIND_FUTURE`, :data:`KIND_CALL` or :data:`KIND_PUT`.
* ``inverse`` marks coin-settled ("inverse") contracts whose P&L is in coin.
* ``multiplier`` is the amount of underlying (coin) one unit of quantity
  represents (1.0 for Deribit options and for coin-sized futures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..params.errors import InvalidInputError

KIND_FUTURE: int = 0
KIND_CALL: int = 1
KIND_PUT: int = 2

__all__ = ["ContractArrays", "DefaultNames", "make_contract_arrays", "KIND_FUTURE", "KIND_CALL", "KIND_PUT"]


class DefaultNames(Sequence[str]):
    """``contract[i]`` for every contract, made only when an entry is read (an error message).

    Building 200,000 such strings up front cost as much as revaluing the
    contracts, so a caller who gives no names gets this lazy sequence instead.
    ``index`` keeps the original numbering after :meth:`ContractArrays.subset`.
    """

    __slots__ = ("_index", "_n")

    def __init__(self, n: int, index: NDArray[np.intp] | None = None) -> None:
        self._n = int(n) if index is None else int(index.shape[0])
        self._index = index

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...

    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(self._n)))
        j = int(i)
        if j < 0:
            j += self._n
        if not 0 <= j < self._n:
            raise IndexError(f"contract index {i} out of range for {self._n} contracts")
        return f"contract[{j if self._index is None else int(self._index[j])}]"

    def __iter__(self) -> Iterator[str]:
        return (self[j] for j in range(self._n))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == self._n and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((DefaultNames, self._n))

    def __repr__(self) -> str:
        return f"DefaultNames({self._n})"

    def subset(self, idx: NDArray[np.intp]) -> "DefaultNames":
        """The names of contracts ``idx``, keeping their original numbers."""
        return DefaultNames(0, idx if self._index is None else self._index[idx])


@dataclass(frozen=True, eq=False)
class ContractArrays:
    """Validated per-contract inputs for revaluation (all arrays of length ``n``).

    Build with :func:`make_contract_arrays`; the constructor does not validate.
    """

    forward: NDArray[np.float64]
    strike: NDArray[np.float64]
    t_years: NDArray[np.float64]
    vol: NDArray[np.float64]
    rate: NDArray[np.float64]
    kind: NDArray[np.int8]
    inverse: NDArray[np.bool_]
    multiplier: NDArray[np.float64]
    names: Sequence[str]

    def __len__(self) -> int:
        return int(self.forward.shape[0])

    @property
    def is_option(self) -> NDArray[np.bool_]:
        """True where the contract is a call or a put."""
        return self.kind != KIND_FUTURE

    def subset(self, index: NDArray[np.intp] | Sequence[int]) -> "ContractArrays":
        """Contracts at positions ``index`` (already validated, so no re-check)."""
        idx = np.asarray(index, dtype=np.intp)
        return ContractArrays(
            forward=self.forward[idx].copy(),
            strike=self.strike[idx].copy(),
            t_years=self.t_years[idx].copy(),
            vol=self.vol[idx].copy(),
            rate=self.rate[idx].copy(),
            kind=self.kind[idx].copy(),
            inverse=self.inverse[idx].copy(),
            multiplier=self.multiplier[idx].copy(),
            names=(self.names.subset(idx) if isinstance(self.names, DefaultNames)
                   else tuple(self.names[i] for i in idx)),
        )


def _as_array(field: str, values: ArrayLike, n: int | None, dtype: type) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim == 0:
        # A scalar broadcasts to every contract (np.ascontiguousarray would make it shape (1,)).
        arr = arr.reshape(1) if n is None else np.full(n, arr[()], dtype=dtype)
    arr = np.ascontiguousarray(arr)
    if arr.ndim != 1:
        raise InvalidInputError(f"'{field}' must be one-dimensional. Got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise InvalidInputError(
            f"'{field}' must have one entry per contract ({n}). Got {arr.shape[0]}."
        )
    return arr


def _fail(field: str, names: Sequence[str], bad: NDArray[np.bool_], values: np.ndarray, rule: str) -> None:
    i = int(np.flatnonzero(bad)[0])
    raise InvalidInputError(
        f"The '{field}' of {names[i]} (contract #{i}) must be {rule}. Got {values[i].item()!r}."
    )


def make_contract_arrays(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol: ArrayLike,
    kind: ArrayLike,
    rate: ArrayLike = 0.0,
    inverse: ArrayLike = False,
    multiplier: ArrayLike = 1.0,
    names: Sequence[str] | None = None,
) -> ContractArrays:
    """Validate and pack per-contract inputs.

    Parameters
    ----------
    forward : array_like, shape (n,)
        Forward/futures price of each contract's underlying, USD per coin. > 0.
    strike : array_like, shape (n,)
        Strike in USD; > 0 for options, ignored (stored as 0) for futures.
    t_years : array_like, shape (n,)
        Time to expiry in years, >= 0 (0 = at expiry, or a perpetual).
    vol : array_like, shape (n,)
        Annual volatility as a decimal, > 0 for options; ignored for futures.
    kind : array_like of int, shape (n,)
        :data:`KIND_FUTURE`, :data:`KIND_CALL` or :data:`KIND_PUT`.
    rate : array_like, optional
        Discount rate, annual decimal, finite. Scalar broadcasts.
    inverse : array_like of bool, optional
        True for coin-settled contracts. Scalar broadcasts.
    multiplier : array_like, optional
        Underlying units per unit of quantity, > 0. Scalar broadcasts.
    names : sequence of str, optional
        Contract names used in error messages. Default: ``contract[i]``,
        made lazily (:class:`DefaultNames`) only for a message, so that a
        caller without names does not pay for ``n`` Python strings.

    Returns
    -------
    ContractArrays

    Raises
    ------
    InvalidInputError
        Naming the field, the contract and the value of the first bad entry.
    """
    fwd = _as_array("forward", forward, None, np.float64)
    n = fwd.shape[0]
    nm: Sequence[str] = tuple(names) if names is not None else DefaultNames(n)
    if len(nm) != n:
        raise InvalidInputError(f"'names' must have one entry per contract ({n}). Got {len(nm)}.")
    knd = _as_array("kind", kind, n, np.int64)
    bad = (knd != KIND_FUTURE) & (knd != KIND_CALL) & (knd != KIND_PUT)
    if bad.any():
        _fail("kind", nm, bad, knd, "0 (future), 1 (call) or 2 (put)")
    opt = knd != KIND_FUTURE
    k = _as_array("strike", strike, n, np.float64)
    t = _as_array("t_years", t_years, n, np.float64)
    v = _as_array("vol", vol, n, np.float64)
    r = _as_array("rate", rate, n, np.float64)
    inv = _as_array("inverse", inverse, n, np.bool_)
    mult = _as_array("multiplier", multiplier, n, np.float64)

    bad = ~np.isfinite(fwd) | (fwd <= 0.0)
    if bad.any():
        _fail("forward", nm, bad, fwd, "a positive finite price in USD")
    bad = opt & (~np.isfinite(k) | (k <= 0.0))
    if bad.any():
        _fail("strike", nm, bad, k, "a positive finite price in USD")
    bad = ~np.isfinite(t) | (t < 0.0)
    if bad.any():
        _fail("t_years", nm, bad, t, "a non-negative finite time in years (expired contracts are rejected upstream)")
    bad = opt & (~np.isfinite(v) | (v <= 0.0))
    if bad.any():
        _fail("vol", nm, bad, v, "a positive annual volatility as a decimal (0.55 = 55%)")
    bad = ~np.isfinite(r)
    if bad.any():
        _fail("rate", nm, bad, r, "a finite annual rate as a decimal")
    bad = ~np.isfinite(mult) | (mult <= 0.0)
    if bad.any():
        _fail("multiplier", nm, bad, mult, "a positive finite contract size")

    return ContractArrays(
        forward=fwd,
        strike=np.where(opt, k, 0.0),
        t_years=t,
        vol=np.where(opt, v, 0.0),
        rate=r,
        kind=knd.astype(np.int8),
        inverse=inv,
        multiplier=mult,
        names=nm,
    )
