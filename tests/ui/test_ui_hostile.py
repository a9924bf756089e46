"""Names that are markup show as text: no script a store's names carry runs in the browser.

The store is made by really running a Loader and a Splitter on a CSV whose
column names, experiment name and run name hold ``<script>``, event-handler
attributes and quotes; each would set ``window.__pwned`` if it ever ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from ui_support import chromium, live_server, watch_errors

RUN = "<script>window.__pwned='run'</script>\"quoted\" 'run'"
EXPERIMENT = "<img src=x onerror=\"window.__pwned='experiment'\">"
COLUMNS = [
    "<script>window.__pwned='column'</script>",
    "\"><svg onload=\"window.__pwned='svg'\">",
    "it's \"quoted\"",
    "plain",
]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pandas as pd

    from petsard_status.execution import Executor

    folder = tmp_path_factory.mktemp("hostile")
    csv = folder / "hostile.csv"
    pd.DataFrame({
        COLUMNS[0]: [1, 2, 3, 4, 5, 6],
        COLUMNS[1]: ["<b>a</b>", "b", "c", "d", "e", "f"],
        COLUMNS[2]: [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],
        COLUMNS[3]: ["x", "y", "x", "y", "x", "y"],
    }).to_csv(csv, index=False)
    config = {
        "Loader": {EXPERIMENT: {"filepath": str(csv)}},
        "Splitter": {"split": {"train_split_ratio": 0.5, "num_samples": 1, "random_state": 1}},
    }
    db = folder / "hostile.db"
    with Executor(config, store=db, run=RUN, seed=1, output_dir=folder / "out") as executor:
        executor.run()
    return db


@pytest.fixture(scope="module")
def site(hostile_db: Path) -> Iterator[str]:
    with live_server(hostile_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _visit(browser: object, url: str) -> object:
    context = browser.new_context()
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(url)
    page.wait_for_load_state("load")
    _nothing_ran(page)
    assert errors == []
    return page


def _nothing_ran(page: object) -> None:
    page.wait_for_timeout(300)  # let any injected handler (onerror, onload) fire
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # The only script inside a page's content is the chart's JSON data.
    injected = "main img, main [onload], main [onerror], main script:not(.plotly-figure)"
    assert page.locator(injected).count() == 0


def test_runs_and_run_pages_show_hostile_names_as_text(site: str, browser: object) -> None:
    page = _visit(browser, f"{site}/")
    assert page.locator("#runs .run-name").inner_text() == RUN
    page.click("#runs .run-name a")
    _nothing_ran(page)
    page.wait_for_selector("#timeline svg.main-svg")
    assert page.locator("#run-name").inner_text() == RUN
    labels = page.locator("#steps tr.step td:nth-child(3)").all_inner_texts()
    assert f"Loader[{EXPERIMENT}]" in labels
    assert page.locator("#flow .flow-label").first.inner_text() == f"Loader[{EXPERIMENT}]"
    # The config is shown as JSON: the name appears as a JSON string.
    assert json.dumps(EXPERIMENT) in page.locator("#config").inner_text()


def test_snapshot_field_and_result_pages_show_hostile_columns_as_text(
    site: str, browser: object
) -> None:
    run = urlencode({"run": RUN})
    page = _visit(browser, f"{site}/snapshot?{run}&seq=1")
    assert page.locator("#fields .field-name").all_inner_texts() == COLUMNS
    page.click("#fields .field-name a >> nth=0")
    _nothing_ran(page)
    assert page.locator("#field-name").inner_text() == COLUMNS[0]
    assert page.locator("#versions tr.version").count() >= 1

    page = _visit(browser, f"{site}/result?{run}&seq=1")
    headers = [h.split("\n")[0] for h in page.locator("table.frame thead th").all_inner_texts()]
    assert headers[1:] == COLUMNS
    assert page.locator("table.frame tbody tr").first.locator("td").nth(1).inner_text() == \
        "<b>a</b>"


def test_the_report_file_shows_hostile_names_as_text(
    hostile_db: Path, browser: object, tmp_path: Path
) -> None:
    from petsard_status.ui import write_report

    report = write_report(hostile_db, RUN, tmp_path / "report.html")
    page = _visit(browser, report.as_uri())
    assert page.locator("#run-name").inner_text() == RUN
    assert f"Loader[{EXPERIMENT}]" in page.locator("#steps").inner_text()
    # The chart's labels are the names too, as text in the SVG.
    ticks = page.locator("#timeline svg.main-svg .ytick text").all_text_contents()
    assert any(EXPERIMENT in t for t in ticks), ticks
