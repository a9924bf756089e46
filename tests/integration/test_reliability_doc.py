"""Every test that docs/reliability.md names under tests/integration or tests/stress exists."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_reliability_doc_names_integration_and_stress_tests_that_exist() -> None:
    doc = (TESTS.parent / "docs" / "reliability.md").read_text(encoding="utf-8")
    named = re.findall(r"tests/((?:integration|stress)/test_\w+\.py)(?:::(test_\w+))?", doc)
    assert len(named) >= 15
    missing = []
    for file, test in named:
        path = TESTS / file
        if not path.is_file():
            missing.append(file)
        elif test and not re.search(rf"^def {test}\(", path.read_text(encoding="utf-8"),
                                    re.MULTILINE):
            missing.append(f"{file}::{test}")
    assert missing == []
