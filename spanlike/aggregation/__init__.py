"""Aggregation of risk arrays into margin: SPAN and exchange-style paths, cross offsets."""
