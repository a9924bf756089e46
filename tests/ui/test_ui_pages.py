"""The web view's pages on the bundled example run, in real headless Chromium.

The same checks run on a SQLite store and on PostgreSQL.  Expected values come
from the example itself (8 flow steps, the 15 columns of the adult CSV, read
here with pandas), not from the view's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from ui_support import ADULT_CSV, EXAMPLE_RUN, chromium, live_server, sha256, watch_errors

EXAMPLE_STEPS = [
    "Loader[adult]", "Splitter[split_[1-1]]", "Preprocessor[default]", "Synthesizer[copula]",
    "Postprocessor[inverse]", "Evaluator[quality]", "Reporter[data]", "Reporter[report]",
]
DURATION = re.compile(r"^\d+(\.\d+)?s$|^\d+m \d\ds$")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def example_store(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("example_db"))
    return request.getfixturevalue("example_pg")


@pytest.fixture
def site(example_store: str) -> Iterator[str]:
    with live_server(example_store) as url:
        yield url


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors = watch_errors(tab)
    yield tab
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def test_runs_page_lists_the_example_run(site: str, page: object) -> None:
    page.goto(f"{site}/")
    rows = page.locator("#runs tr.run")
    assert rows.count() == 1
    row = rows.first
    assert row.locator(".run-name").inner_text() == EXAMPLE_RUN
    text = row.inner_text()
    assert "completed" in text
    assert "8/8" in text
    page.select_option("select[name=state]", "failed")
    page.click("button[type=submit]")
    assert page.locator("#runs tr.run").count() == 0
    page.select_option("select[name=state]", "completed")
    page.click("button[type=submit]")
    assert page.locator("#runs tr.run").count() == 1


def test_run_page_shows_eight_steps_with_durations_and_a_chart(site: str, page: object) -> None:
    page.goto(f"{site}/")
    page.click(f"text={EXAMPLE_RUN}")
    page.wait_for_selector("#timeline svg.main-svg")
    steps = page.locator("#steps tr.step")
    assert steps.count() == 8
    labels = [steps.nth(i).locator("td").nth(2).inner_text() for i in range(8)]
    assert labels == EXAMPLE_STEPS[::-1]  # newest first
    durations = page.locator("#steps .step-duration").all_inner_texts()
    assert all(DURATION.match(d) for d in durations), durations
    assert page.locator("#flow .flow-label").all_inner_texts() == EXAMPLE_STEPS
    assert page.locator("#flow .state").all_inner_texts() == ["done"] * 8
    # One bar per timing record: the executor writes one per step.
    assert page.locator("#timeline svg.main-svg g.trace.bars g.point").count() == 8
    assert "Evaluator[quality]" in page.locator("main").inner_text()
    assert page.locator("h3", has_text="Evaluator[quality]").count() == 1
    assert '"gaussian_copula"' in page.locator("#config").inner_text()


def test_snapshot_page_shows_the_fifteen_fields(site: str, page: object) -> None:
    columns = list(pd.read_csv(ADULT_CSV, nrows=1).columns)
    page.goto(f"{site}/run?name={EXAMPLE_RUN}")
    page.click("#steps tr.step >> nth=-1 >> a")  # the oldest step: the Loader
    names = page.locator("#fields tr.field .field-name").all_inner_texts()
    assert names == columns
    assert len(names) == 15
    age = page.locator("#fields tr.field").first.inner_text()
    assert "int64" in age
    page.click("text=result rows")
    assert page.locator("table.frame tbody tr").count() == 50


def test_diff_page_names_what_the_preprocessor_changed(site: str, page: object) -> None:
    page.goto(f"{site}/snapshot?run={EXAMPLE_RUN}&seq=3")
    page.click("text=difference from snapshot #2")
    rows = page.locator("#diff tr.field-change")
    age = rows.filter(has_text="age").first.inner_text()
    assert "data_type" in age
    assert "int64" in age
    assert "float64" in age


def test_field_page_shows_the_fields_changes(site: str, page: object) -> None:
    page.goto(f"{site}/snapshot?run={EXAMPLE_RUN}&seq=1")
    page.click("#fields >> text=age")
    assert page.locator("#field-name").inner_text() == "age"
    versions = page.locator("#versions tr.version")
    texts = versions.all_inner_texts()
    preprocessor = [t for t in texts if "Preprocessor[default]" in t]
    assert len(preprocessor) == 1
    assert "data_type" in preprocessor[0]
    assert "float64" in preprocessor[0]
    assert "int64" in texts[0]


def test_result_page_shows_the_first_rows_a_page_at_a_time(site: str, page: object) -> None:
    expected = pd.read_csv(ADULT_CSV, nrows=60)
    page.goto(f"{site}/result?run={EXAMPLE_RUN}&seq=1")
    headers = page.locator("table.frame thead th").all_inner_texts()[1:]
    assert [h.split("\n")[0] for h in headers] == list(expected.columns)
    assert headers[0].split("\n")[1] == "int64"
    rows = page.locator("table.frame tbody tr")
    assert rows.count() == 50
    first = rows.first.locator("td").all_inner_texts()
    assert first[0] == str(expected.loc[0, "age"])
    assert first[1] == expected.loc[0, "workclass"]
    page.click("text=next")
    row = page.locator("table.frame tbody tr").first
    assert row.locator("th").inner_text() == "50"
    assert row.locator("td").first.inner_text() == str(expected.loc[50, "age"])


def test_browsing_leaves_the_store_file_unchanged(example_db: Path, page: object) -> None:
    before = sha256(example_db)
    with live_server(example_db) as site:
        for path in ("/", f"/run?name={EXAMPLE_RUN}", f"/snapshot?run={EXAMPLE_RUN}&seq=3",
                     f"/diff?run={EXAMPLE_RUN}&seq=3", f"/field?run={EXAMPLE_RUN}&name=age",
                     f"/result?run={EXAMPLE_RUN}&seq=2&part=train&page=3",
                     f"/api/progress?run={EXAMPLE_RUN}", "/run?name=missing"):
            page.goto(f"{site}{path}")
        response = page.request.post(f"{site}/run?name={EXAMPLE_RUN}")
        assert response.status == 405
    assert sha256(example_db) == before
