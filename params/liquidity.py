"""Liquidity and concentration add-on of one combined commodity.

A position that is large against the market's liquidity cannot be closed out
at the scenario prices within the margin period of risk; exchanges charge it
with size-tiered factors (e.g. Deribit's futures margin rising per coin of size,
OKX's position tiers), CCPs with a market-impact add-on. Both forms are data:

For each instrument group ``g`` of the combined commodity (``futures``:
futures and perpetuals; ``options``) with a liquidity value ``L_g`` (underlying
units: coins per day for ``measure = "adv"``, coins outstanding for
``"open_interest"``), the size ``q_g`` in underlying units is

* ``size = "net_delta"``: ``|sum_i q_i delta_i|`` over the group's positions
  (composite deltas, so a group's own hedges offset);
* ``size = "gross"``: ``sum_i |q_i| x multiplier_i``.

With ``P`` the underlying's index price (USD), the charge in USD is

* ``ladder`` (tiered factors): ``P x sum_k rate_k x max(0, q_g - above_k x L_g)``,
  so each step adds ``rate_k`` per unit of size beyond ``above_k`` times the
  liquidity value (the marginal rate beyond step ``k`` is ``rate_1 + ... + rate_k``),
  and a position below the first threshold pays nothing;
* ``square_root`` (market impact, e.g. Almgren et al. 2005; Toth et al. 2011):
  ``k x P x q_g x sqrt(q_g / L_g)``;

summed over the groups and converted to the settlement currency at the index
price (coin commodities: divided by ``P``). A group whose liquidity value is
absent is not charged; the set states which groups it charges.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from .base import FrozenModel

__all__ = ["LadderStep", "SizeLadder", "SquareRootImpact", "LiquidityCharge"]

Positive = Annotated[float, Field(gt=0.0)]


class LadderStep(FrozenModel):
    """One step of a size ladder.

    Attributes
    ----------
    above : float
        Threshold as a multiple of the group's liquidity value (0.1 = 10 % of ADV), >= 0.
    rate : float
        Extra charge per unit of size beyond the threshold, a fraction of the
        underlying price (0.01 = 1 % of notional), in [0, 1].
    """

    above: Annotated[float, Field(ge=0.0)]
    rate: Annotated[float, Field(ge=0.0, le=1.0)]


class SizeLadder(FrozenModel):
    """Tiered factors: ``P x sum_k rate_k x max(0, q - above_k x L)``.

    Attributes
    ----------
    steps : tuple of LadderStep
        At least one step, thresholds strictly increasing.
    """

    model: Literal["ladder"] = "ladder"
    steps: tuple[LadderStep, ...]

    @model_validator(mode="after")
    def _check(self) -> "SizeLadder":
        if not self.steps:
            raise ValueError("a size ladder needs at least one step")
        for before, after in zip(self.steps, self.steps[1:]):
            if after.above <= before.above:
                raise ValueError(
                    f"ladder thresholds must increase strictly; {after.above} follows {before.above}"
                )
        return self


class SquareRootImpact(FrozenModel):
    """Square-root market impact: ``k x P x q x sqrt(q / L)``.

    Attributes
    ----------
    k : float
        Impact coefficient, in (0, 10]; about the daily volatility times a
        constant of order 1 in the empirical literature.
    """

    model: Literal["square_root"] = "square_root"
    k: Annotated[float, Field(gt=0.0, le=10.0)]


class LiquidityCharge(FrozenModel):
    """Liquidity/concentration add-on of one combined commodity (module docstring).

    Attributes
    ----------
    measure : {"adv", "open_interest"}
        What the liquidity values are: average daily volume (coins per day)
        or open interest (coins).
    size : {"net_delta", "gross"}
        How a group's size is measured.
    futures : float or None
        Liquidity value of futures and perpetuals, underlying units (> 0).
    options : float or None
        Liquidity value of options, underlying units (> 0).
    charge : SizeLadder or SquareRootImpact
    """

    measure: Literal["adv", "open_interest"] = "adv"
    size: Literal["net_delta", "gross"] = "net_delta"
    futures: Positive | None = None
    options: Positive | None = None
    charge: Annotated[Union[SizeLadder, SquareRootImpact], Field(discriminator="model")]

    @model_validator(mode="after")
    def _check(self) -> "LiquidityCharge":
        if self.futures is None and self.options is None:
            raise ValueError(
                "a liquidity section needs a liquidity value for 'futures', 'options' or both "
                "(underlying units, e.g. coins of average daily volume)"
            )
        return self
