"""VaR/ES margin model: joint historical scenarios carried by the parameter set.

The direction CME SPAN 2 and OCC STANS took: a book is revalued in full over
historical (or filtered historical) scenarios of *joint* moves of all
underlyings and their implied vols, and the margin is the value at risk (VaR)
or expected shortfall (ES) of the book's losses at a confidence level over the
margin period of risk (MPOR), optionally plus a stress component.

A set that carries a ``var_model`` section is self-contained: the scenarios are
data in the file (dates, underlyings, a price-move matrix and an optional
vol-move matrix), and every combined commodity uses a ``historical`` grid
(:class:`spanlike.params.grids.HistoricalGrid`) that names the scenario set.

Scenario ``j`` of a :class:`ScenarioSet` moves underlying ``u`` by the relative
price move ``price_moves[j][u]`` (0.05 = +5 %, > -1) over ``mpor_days`` and its
implied vols by ``vol_moves[j][u]`` (relative: ``sigma (1 + v)``; absolute:
``sigma + v`` in vol points as decimals). ``dates[j]`` is the last day of the
MPOR window the move was observed over (the day the move is complete).

Stress component (:class:`StressComponent`): extra scenarios (e.g. the moves of
a named stress window), each move multiplied by ``scale``; with the worst
stressed loss ``S = max(0, max_j loss_j)`` and the VaR/ES ``M``,

* ``combine = "max"``: margin ``= max(M, weight x S)``;
* ``combine = "add"``: margin ``= M + weight x S``.

The quantile convention is the calibration's (lower empirical quantile, ES of
Acerbi & Tasche 2002, :mod:`spanlike.calibration.risk_measures`), so at least
one scenario must lie in the tail: ``n (1 - confidence) >= 1``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, Strict, model_validator

from .base import FrozenModel

__all__ = ["ScenarioSet", "StressComponent", "VarModel", "minimum_scenarios"]

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


def minimum_scenarios(confidence: float) -> int:
    """Fewest scenarios that leave one observation in the tail: ``ceil(1 / (1 - confidence))``.

    ``n (1 - confidence)`` is rounded to 9 decimals first (as the calibration
    does), so 100 scenarios suffice at 0.99.
    """
    return int(math.ceil(round(1.0 / (1.0 - confidence), 9)))


def _matrix(rows: tuple[tuple[float, ...], ...], *, what: str, n: int, k: int, set_name: str) -> np.ndarray:
    if len(rows) != n:
        raise ValueError(
            f"scenario set '{set_name}': {what} has {len(rows)} rows but there are {n} dates; "
            "give one row per scenario date"
        )
    for j, row in enumerate(rows):
        if len(row) != k:
            raise ValueError(
                f"scenario set '{set_name}': {what}[{j}] has {len(row)} values but there are {k} underlyings; "
                "give one column per underlying, in the order of 'underlyings'"
            )
    m = np.asarray(rows, dtype=np.float64).reshape(n, k)
    if not np.isfinite(m).all():
        j, u = (int(x) for x in np.argwhere(~np.isfinite(m))[0])
        raise ValueError(f"scenario set '{set_name}': {what}[{j}][{u}] must be a finite number; got {float(m[j, u])!r}")
    return m


class ScenarioSet(FrozenModel):
    """Joint historical scenarios: one row per date, one column per underlying.

    Attributes
    ----------
    name : str
        Referenced by ``HistoricalGrid.scenario_set``.
    underlyings : tuple of str
        Column order of the matrices, e.g. ``("BTC", "ETH")``.
    dates : tuple of date
        Last day of each scenario's MPOR window, strictly increasing.
    price_moves : tuple of tuple of float
        Shape (scenarios, underlyings): relative price moves over the MPOR,
        each > -1 (-0.3 = price down 30 %).
    vol_moves : tuple of tuple of float or None
        Same shape: implied-vol moves over the MPOR (``vol_move_kind``);
        None = vols unchanged in every scenario.
    vol_move_kind : {"relative", "absolute"}
        ``relative``: ``sigma' = sigma (1 + v)``, each v > -1.
        ``absolute``: ``sigma' = sigma + v`` (vol points as decimals).
    filtered : bool
        True if the moves are filtered historical simulation (returns
        rescaled to the volatility at calibration time), False for plain HS.
    provenance : dict of str to str
        How the moves were produced (data, window, MPOR, filtering).
    """

    name: Name
    underlyings: tuple[Name, ...]
    dates: tuple[Annotated[dt.date, Strict(False)], ...]  # ISO text from JSON, dates from TOML
    price_moves: tuple[tuple[float, ...], ...]
    vol_moves: tuple[tuple[float, ...], ...] | None = None
    vol_move_kind: Literal["relative", "absolute"] = "relative"
    filtered: bool = False
    provenance: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "ScenarioSet":
        k = len(self.underlyings)
        if k == 0:
            raise ValueError(f"scenario set '{self.name}' needs at least one underlying")
        if len(set(self.underlyings)) != k:
            dup = sorted({u for u in self.underlyings if self.underlyings.count(u) > 1})
            raise ValueError(f"scenario set '{self.name}' lists an underlying twice: {dup}")
        n = len(self.dates)
        if n == 0:
            raise ValueError(f"scenario set '{self.name}' needs at least one scenario date")
        for before, after in zip(self.dates, self.dates[1:]):
            if after <= before:
                raise ValueError(
                    f"scenario set '{self.name}': dates must be strictly increasing; {after} follows {before}"
                )
        price = _matrix(self.price_moves, what="price_moves", n=n, k=k, set_name=self.name)
        if (price <= -1.0).any():
            j, u = (int(x) for x in np.argwhere(price <= -1.0)[0])
            raise ValueError(
                f"scenario set '{self.name}': price_moves[{j}][{u}] ({self.underlyings[u]} on {self.dates[j]}) "
                f"is {float(price[j, u])!r}; a relative price move must be above -1 (-100 %) so prices stay positive"
            )
        if self.vol_moves is not None:
            vol = _matrix(self.vol_moves, what="vol_moves", n=n, k=k, set_name=self.name)
            if self.vol_move_kind == "relative" and (vol <= -1.0).any():
                j, u = (int(x) for x in np.argwhere(vol <= -1.0)[0])
                raise ValueError(
                    f"scenario set '{self.name}': vol_moves[{j}][{u}] ({self.underlyings[u]} on {self.dates[j]}) "
                    f"is {float(vol[j, u])!r}; a relative vol move must be above -1 so vols stay positive"
                )
        return self

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios (rows)."""
        return len(self.dates)

    def column(self, underlying: str) -> int:
        """Column of ``underlying`` (KeyError if absent)."""
        try:
            return self.underlyings.index(underlying)
        except ValueError:
            raise KeyError(underlying) from None

    def price_array(self) -> np.ndarray:
        """``price_moves`` as float64, shape (scenarios, underlyings)."""
        return np.asarray(self.price_moves, dtype=np.float64).reshape(self.n_scenarios, len(self.underlyings))

    def vol_array(self) -> np.ndarray:
        """``vol_moves`` as float64 (zeros when absent), shape (scenarios, underlyings)."""
        if self.vol_moves is None:
            return np.zeros((self.n_scenarios, len(self.underlyings)))
        return np.asarray(self.vol_moves, dtype=np.float64).reshape(self.n_scenarios, len(self.underlyings))


class StressComponent(FrozenModel):
    """Stress scenarios added to the VaR/ES margin (module docstring).

    Attributes
    ----------
    scenarios : ScenarioSet
        The stress moves (e.g. every MPOR window ending in March 2020).
    scale : float
        Multiplier of every price and vol move, in (0, 10] (1 = as observed).
    weight : float
        Share of the worst stressed loss that counts, in (0, 1].
    combine : {"max", "add"}
        ``max``: margin = max(VaR/ES, weight x stress); ``add``: their sum.
    """

    scenarios: ScenarioSet
    scale: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    weight: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    combine: Literal["max", "add"] = "max"

    @model_validator(mode="after")
    def _check(self) -> "StressComponent":
        s = self.scenarios
        scaled = self.scale * s.price_array()
        if (scaled <= -1.0).any():
            j, u = (int(x) for x in np.argwhere(scaled <= -1.0)[0])
            raise ValueError(
                f"stress scenario set '{s.name}': scale {self.scale} x price move {float(s.price_array()[j, u])!r} "
                f"({s.underlyings[u]} on {s.dates[j]}) = {float(scaled[j, u])!r} is not above -1; lower the scale"
            )
        if s.vol_moves is not None and s.vol_move_kind == "relative":
            vol = self.scale * s.vol_array()
            if (vol <= -1.0).any():
                j, u = (int(x) for x in np.argwhere(vol <= -1.0)[0])
                raise ValueError(
                    f"stress scenario set '{s.name}': scale {self.scale} x relative vol move "
                    f"({s.underlyings[u]} on {s.dates[j]}) = {float(vol[j, u])!r} is not above -1; lower the scale"
                )
        return self


class VarModel(FrozenModel):
    """The set-level section that selects the VaR/ES margin model.

    Attributes
    ----------
    measure : {"var", "es"}
        Value at risk or expected shortfall of the scenario losses.
    confidence : float
        In (0, 1), e.g. 0.99.
    mpor_days : int
        Margin period of risk in days (>= 1): the scenarios are moves over
        this many days and every scenario advances time by it (the historical
        grids' ``time_advance_days`` must equal it).
    scenarios : ScenarioSet
        The historical scenarios; ``n (1 - confidence) >= 1`` is required.
    stress : StressComponent or None
        Optional stress add-on.
    """

    measure: Literal["var", "es"]
    confidence: Annotated[float, Field(gt=0.0, lt=1.0)]
    mpor_days: Annotated[int, Field(ge=1, le=30)]
    scenarios: ScenarioSet
    stress: StressComponent | None = None

    @model_validator(mode="after")
    def _check(self) -> "VarModel":
        n = self.scenarios.n_scenarios
        need = minimum_scenarios(self.confidence)
        if round(n * (1.0 - self.confidence), 9) < 1.0:
            raise ValueError(
                f"{n} scenarios leave no observation in the {1 - self.confidence:.4g} tail at confidence "
                f"{self.confidence}; give at least {need} scenarios or lower the confidence"
            )
        if self.stress is not None:
            missing = sorted(set(self.scenarios.underlyings) - set(self.stress.scenarios.underlyings))
            if missing:
                raise ValueError(
                    f"stress scenario set '{self.stress.scenarios.name}' lacks underlyings {missing} of the "
                    f"scenario set '{self.scenarios.name}'; add their columns"
                )
            if self.stress.scenarios.name == self.scenarios.name:
                raise ValueError(
                    f"the stress scenario set must have its own name; both are called '{self.scenarios.name}'"
                )
        return self
