"""spanlike parameter sets: margin methodologies as validated, versioned data.

>>> import params
>>> params.available()            # doctest: +SKIP
['crypto-span', 'deribit-style']
>>> ps = params.load("crypto-span")
"""

from .charges import (
    DeliveryCharge,
    DeltaShock,
    ExchangeAddOns,
    IntraSpread,
    IntraSpreadLeg,
    RollShock,
    ShortOptionMinimum,
    SpanCharges,
    Tier,
)
from .derive import (
    DeriveBasisContingency, DeriveCollateral, DeriveMarginFactors, DeriveOtherContingency, DeriveScenario,
    DeriveSection, DeriveSkewScenario, DeriveSkewShock, DeriveVolShock,
)
from .cross import CorrelationMatrix, CrossOffsets, InterSpread, InterSpreadLeg, JointMoveFloor
from .grids import DeltaPoint, ExchangeGrid, HistoricalGrid, ScanPoint, SpanGrid, standard_span_points
from .isolated import (
    FuturesStandardMargin,
    IsolatedMargin,
    OptionStandardMargin,
    UnderlyingStandardMargin,
)
from .liquidity import LadderStep, LiquidityCharge, SizeLadder, SquareRootImpact
from .loader import available, dump, dumps_toml, from_mapping, json_schema, load, validate, versions
from .parameter_set import CombinedCommodity, MarginRelation, Metadata, ParameterSet
from .var_model import ScenarioSet, StressComponent, VarModel

__all__ = [
    "available", "versions", "load", "validate", "from_mapping", "json_schema", "dump", "dumps_toml",
    "ParameterSet", "Metadata", "CombinedCommodity", "MarginRelation",
    "SpanGrid", "ExchangeGrid", "ScanPoint", "DeltaPoint", "standard_span_points",
    "SpanCharges", "Tier", "IntraSpread", "IntraSpreadLeg", "DeliveryCharge", "ShortOptionMinimum",
    "ExchangeAddOns", "RollShock", "DeltaShock",
    "InterSpread", "InterSpreadLeg", "CorrelationMatrix", "JointMoveFloor", "CrossOffsets",
    "IsolatedMargin", "UnderlyingStandardMargin", "OptionStandardMargin", "FuturesStandardMargin",
    "HistoricalGrid", "VarModel", "ScenarioSet", "StressComponent",
    "LiquidityCharge", "SizeLadder", "SquareRootImpact", "LadderStep",
    "DeriveSection", "DeriveScenario", "DeriveSkewScenario", "DeriveVolShock", "DeriveSkewShock",
    "DeriveMarginFactors", "DeriveBasisContingency", "DeriveOtherContingency", "DeriveCollateral",
]
