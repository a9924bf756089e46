"""Adapters whose outputs are given: what a put stores, without running a module."""

from __future__ import annotations

from typing import Any


class Fixed:
    """An adapter with a given result and, optionally, metadata."""

    def __init__(self, result: Any, metadata: Any = None) -> None:
        self._result = result
        self._metadata = metadata

    def get_result(self) -> Any:
        return self._result

    def get_metadata(self) -> Any:
        return self._metadata


class ResultOnly:
    """An adapter without metadata, as a Synthesizer's or an Evaluator's."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def get_result(self) -> Any:
        return self._result
