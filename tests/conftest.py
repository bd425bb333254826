"""Shared pytest configuration (keep minimal: fixtures only where several test files need them)."""
