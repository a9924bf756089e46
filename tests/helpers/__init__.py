"""Helpers shared by the integration and stress tests."""
