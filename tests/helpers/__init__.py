"""Helpers shared by test modules (imported, never through conftest)."""
