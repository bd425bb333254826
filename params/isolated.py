"""Standard (isolated, per-position) margin rules: the baseline of an efficiency analysis.

Every position is margined alone, with no offsets against any other position,
and the amounts are summed (methodology section 5). The rules are Deribit's
standard margin for coin-settled options, futures and perpetuals; another venue
is another set of numbers in a parameter-set file, not code.

Per 1 coin of underlying, with ``S`` the option's underlying (forward) price,
``OTM`` its out-of-the-money amount (calls ``max(K - S, 0)``, puts
``max(S - K, 0)``) and ``mark`` its mark value in the settlement currency:

* short call: ``IM = max(im_base_rate - OTM/S, im_min_rate) x u + mark``,
  ``MM = mm_rate x u + mark``;
* short put: ``MM = max(mm_rate x u, mm_rate x mark) + mark``,
  ``IM = max(max(im_base_rate - OTM/S, im_min_rate) x u + mark, MM)``;
* long options: the premium is paid up front, no margin;
* futures and perpetuals, with ``size = |quantity|`` in coins:
  ``IM = (im_base_rate + im_rate_per_coin x size) x size x u``,
  ``MM = (mm_base_rate + mm_rate_per_coin x size) x size x u``.

``u`` is the value of one coin of underlying in the settlement currency: 1 for
coin-settled contracts (Deribit quotes the rates as coin per coin), ``S`` (the
option's forward, or the future's mark price) for USDC-settled ones [our
choice: the same fractions of the underlying price, as Aevo's published
standard margin applies them in USD].

This module is a leaf: it imports nothing from spanlike or risk_arrays.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from .base import FrozenModel

__all__ = ["OptionStandardMargin", "FuturesStandardMargin", "UnderlyingStandardMargin", "IsolatedMargin", "IsolatedSection"]

Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class OptionStandardMargin(FrozenModel):
    """Standard margin of short options, as fractions of the underlying price.

    Attributes
    ----------
    im_base_rate : float
        Initial-margin rate before the out-of-the-money reduction (Deribit 0.15).
    im_min_rate : float
        Floor of the initial-margin rate after the reduction (Deribit 0.10).
    mm_rate : float
        Maintenance-margin rate (Deribit 0.075).
    """

    im_base_rate: Rate
    im_min_rate: Rate
    mm_rate: Rate

    @model_validator(mode="after")
    def _check(self) -> "OptionStandardMargin":
        if self.im_min_rate > self.im_base_rate:
            raise ValueError(
                f"im_min_rate {self.im_min_rate} exceeds im_base_rate {self.im_base_rate}; "
                "the floor must not be above the base rate"
            )
        if self.mm_rate > self.im_min_rate:
            raise ValueError(
                f"mm_rate {self.mm_rate} exceeds im_min_rate {self.im_min_rate}; "
                "initial margin must not fall below maintenance"
            )
        return self


class FuturesStandardMargin(FrozenModel):
    """Standard margin of futures and perpetuals, growing linearly with position size.

    Attributes
    ----------
    im_base_rate, mm_base_rate : float
        Rates of the notional for a vanishing position (Deribit BTC 0.02 / 0.01).
    im_rate_per_coin, mm_rate_per_coin : float
        Rate added per coin of position size (Deribit BTC 0.005 % = 5e-5,
        ETH 0.0004 % = 4e-6).
    """

    im_base_rate: Rate
    im_rate_per_coin: Annotated[float, Field(ge=0.0, le=0.01)]
    mm_base_rate: Rate
    mm_rate_per_coin: Annotated[float, Field(ge=0.0, le=0.01)]

    @model_validator(mode="after")
    def _check(self) -> "FuturesStandardMargin":
        if self.mm_base_rate > self.im_base_rate or self.mm_rate_per_coin > self.im_rate_per_coin:
            raise ValueError(
                f"maintenance rates ({self.mm_base_rate}, {self.mm_rate_per_coin} per coin) exceed initial rates "
                f"({self.im_base_rate}, {self.im_rate_per_coin} per coin); initial margin must not fall below maintenance"
            )
        return self


class UnderlyingStandardMargin(FrozenModel):
    """Standard margin rules of one underlying (all its settlement currencies).

    Attributes
    ----------
    underlying : str
        e.g. ``"BTC"``; must be the underlying of a combined commodity of the set.
    options : OptionStandardMargin or None
        None: the venue lists no options on it (a held option is then an error).
    futures : FuturesStandardMargin or None
        Futures and perpetuals; None as for ``options``.
    """

    underlying: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    options: OptionStandardMargin | None = None
    futures: FuturesStandardMargin | None = None

    @model_validator(mode="after")
    def _check(self) -> "UnderlyingStandardMargin":
        if self.options is None and self.futures is None:
            raise ValueError(f"isolated rules of {self.underlying} need an 'options' or a 'futures' section")
        return self


class IsolatedMargin(FrozenModel):
    """A venue's standard (non-portfolio) margin rules, per underlying.

    Attributes
    ----------
    venue : str
        Whose rules, e.g. ``"Deribit standard margin"``.
    as_of : date
        Date of the source the numbers come from.
    sources : tuple of str
        Public sources of the numbers.
    underlyings : tuple of UnderlyingStandardMargin
        One entry per underlying, each underlying once.
    """

    venue: Annotated[str, Field(min_length=1)]
    as_of: Annotated[dt.date, Field(strict=False)]  # ISO text from JSON, a date from TOML
    sources: tuple[str, ...] = ()
    underlyings: tuple[UnderlyingStandardMargin, ...]

    @model_validator(mode="after")
    def _check(self) -> "IsolatedMargin":
        names = [u.underlying for u in self.underlyings]
        if not names:
            raise ValueError("isolated rules need at least one entry in 'underlyings'")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"isolated rules list an underlying twice: {dup}")
        return self

    def rules_for(self, underlying: str) -> UnderlyingStandardMargin | None:
        """The rules of ``underlying``, or None if the section does not cover it."""
        for u in self.underlyings:
            if u.underlying == underlying:
                return u
        return None


def _check_underlyings_defined(value: IsolatedMargin | None, info: ValidationInfo) -> IsolatedMargin | None:
    """Every underlying the isolated rules name must belong to a combined commodity of the set.

    Runs as a field validator of ``ParameterSet.isolated``, which is declared
    after ``combined_commodities`` and so sees them in ``info.data`` (absent
    when they failed validation themselves; then that error is reported alone).
    """
    if value is None:
        return value
    commodities: Any = info.data.get("combined_commodities")
    if not commodities:
        return value
    known = sorted({cc.underlying for cc in commodities})
    for u in value.underlyings:
        if u.underlying not in known:
            raise ValueError(
                f"isolated rules reference underlying '{u.underlying}', which no combined commodity defines "
                f"(defined: {known}); remove the entry or add the combined commodity"
            )
    return value


#: The type of ``ParameterSet.isolated``: optional rules, checked against the set's underlyings.
IsolatedSection = Annotated[IsolatedMargin | None, AfterValidator(_check_underlyings_defined)]
