"""docs/api.md runs as written: every ```python block, in order, in one namespace.

Printed values are checked against the comments that show them
(``print(x)  # value``, or comment lines right below the print), so the page
cannot drift from what the library does.
"""

from __future__ import annotations

import builtins
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers.paths import REPO
from petsard_status import Status

DOC = REPO / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[tuple[int, str]]:
    """(line number in the page, code) of every python block."""
    text = DOC.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1))
            for match in BLOCK.finditer(text)]


def shown_output(lines: list[str], index: int, calls: int) -> list[str] | None:
    """What the page says the print on ``lines[index]`` prints, or None if it does not say."""
    inline = re.search(r"\)\s+# (.*)$", lines[index])
    if inline:
        return [inline.group(1)]
    below = []
    for line in lines[index + 1:]:
        if not line.lstrip().startswith("#"):
            break
        below.append(line.lstrip()[2:])
    if not below:
        return None
    return below if calls > 1 or len(below) == 1 else ["".join(below)]


def matches(printed: str, shown: str) -> bool:
    """Equal, or equal followed by an explanation (``5: because ...``, ``x   (note)``)."""
    if printed == shown:
        return True
    rest = shown[len(printed):]
    return shown.startswith(printed) and (rest.startswith(":") or rest.startswith("  "))


def test_api_page_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PETSARD_STATUS_DB", raising=False)
    blocks = python_blocks()
    assert len(blocks) > 20
    printed: list[tuple[str, int, str]] = []

    def recording_print(*args: Any, sep: str = " ", end: str = "\n", file: Any = None) -> None:
        caller = sys._getframe(1)
        printed.append((caller.f_code.co_filename, caller.f_lineno, sep.join(map(str, args))))
        builtins.print(*args, sep=sep, end=end, file=file)

    namespace: dict[str, Any] = {"__name__": "docs_api", "print": recording_print}
    checked = 0
    try:
        for start, code in blocks:
            name = f"docs/api.md:{start}"
            printed.clear()
            exec(compile(code, name, "exec"), namespace)
            lines = code.splitlines()
            by_line: dict[int, list[str]] = {}
            for filename, lineno, text in printed:
                if filename == name:
                    by_line.setdefault(lineno, []).append(text)
            for lineno, outputs in by_line.items():
                shown = shown_output(lines, lineno - 1, len(outputs))
                if shown is None:
                    continue
                assert len(shown) == len(outputs), f"{name} line {lineno}: {outputs} vs {shown}"
                for out, expected in zip(outputs, shown):
                    assert matches(out, expected), (
                        f"docs/api.md line {start + lineno - 1} prints {out!r}, "
                        f"the page shows {expected!r}")
                    checked += 1
    finally:
        status = namespace.get("status")
        if isinstance(status, Status):
            status.close()
    assert checked > 40


def test_every_public_method_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    code = "\n".join(code for _, code in python_blocks())
    public = [name for name, _ in inspect.getmembers(Status) if not name.startswith("_")]
    public += ["run", "config", "sequence", "status"]  # instance attributes
    undocumented = [name for name in public if not re.search(rf"[`.]{name}\b", text)]
    assert undocumented == [], f"docs/api.md does not show {undocumented}"
    used = [name for name in public if re.search(rf"\b{name}\b", code)]
    # Most of the API appears in running examples, not only in prose.
    assert len(used) >= len(public) - 8, sorted(set(public) - set(used))
