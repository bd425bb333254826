"""Margin rules, one home each.

Each module holds one rule that the run-time margin path applies, so that the
engine and the tools around it (calibration, backtests) import the same code
from below instead of from each other. Nothing is imported here: a module is
loaded only when it is used.
"""
