"""Postprocessor: maps synthetic rows back to the schema the Preprocessor was fitted on."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from petsard_status.errors import ModuleError
from petsard_status.modules.base import BaseAdapter
from petsard_status.modules.params import STRING, Param, ParamSpec
from petsard_status.modules.splitter import previous_frame


class PostprocessorAdapter(BaseAdapter):
    """Runs ``processor.inverse_transform`` on the previous module's table.

    Input: the previous module's result (normally the Synthesizer's) and the
    live processor from ``status.get_processor()``; when that processor is not
    in this process (a resumed run), the Status raises and the Preprocessor has
    to run again first.
    """

    module_name: ClassVar[str] = "Postprocessor"
    params: ClassVar[ParamSpec] = ParamSpec((Param("method", (STRING,), choices=("default",)),))

    def __init__(self, config: dict[str, Any], context: Any = None) -> None:
        super().__init__(config, context)
        self.result: pd.DataFrame | None = None

    def set_input(self, status: Any) -> dict[str, Any]:
        return {
            "data": previous_frame(status, "Postprocessor"),
            "preprocessor": status.get_processor(),
        }

    def run(self, input: dict[str, Any]) -> None:
        processor: Any = input.get("preprocessor")
        if not callable(getattr(processor, "inverse_transform", None)):
            raise ModuleError(
                "Postprocessor: needs a fitted processor with inverse_transform(); "
                "put a Preprocessor earlier in the sequence"
            )
        self.result = processor.inverse_transform(input["data"])

    def get_result(self) -> pd.DataFrame:
        if self.result is None:
            raise ModuleError("Postprocessor: get_result() before run()")
        return self.result
