"""The examples in docs/ run: SQL blocks, shell commands and Python snippets.

* Every ```sql block of every page runs in the ``sqlite3`` shell against a store
  written by the example pipeline, and must return at least one row; blocks that
  are not SQLite-only run on PostgreSQL too.  A block is SQLite-only or
  PostgreSQL-only when its first line says ``-- sqlite only`` / ``-- postgresql
  only``, or when it is one of a pair marked ``<!-- query: NAME -->`` and
  ``<!-- query: NAME (postgresql) -->``.
* In the pages this suite owns, every ``$ petsard-status ...`` line of a
  ```console block runs (in order, in a folder holding ``runs.db`` and
  ``examples/``), and each output line shown must be among the lines it prints
  (ids, times, durations and hashes aside; ``...`` stands for lines left out).
  Each ```python block runs as a script in the same folder.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from helpers.paths import EXAMPLE_RUN, EXAMPLE_YAML, REPO, copy_sqlite
from helpers.postgres import IN_CI, pg_unavailable_reason
from petsard_status import Status, Store
from petsard_status.cli.main import main
from petsard_status.store.materialize import materialize_run

DOCS = REPO / "docs"
SQLITE3 = "/usr/bin/sqlite3" if Path("/usr/bin/sqlite3").exists() else shutil.which("sqlite3")
EXECUTED_PAGES = ("quickstart.md", "cli.md", "resume.md", "backends.md")
# backends.md shows PostgreSQL commands with this URL; they run against the test server.
PG_PLACEHOLDER = "postgresql+psycopg://user@dbhost/pipelines"

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
QUERY_MARK = re.compile(r"<!-- query: ([\w-]+)(?: \((postgresql)\))? -->\s*$")


@dataclass
class Block:
    page: str
    line: int
    lang: str
    text: str
    dialects: set[str] = field(default_factory=lambda: {"sqlite", "postgresql"})

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def page_blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    marks: dict[int, tuple[str, bool]] = {}
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        block = Block(page.name, line, match.group(1), match.group(2))
        before = text[: match.start()].rstrip().splitlines()
        mark = QUERY_MARK.search(before[-1]) if before else None
        if mark:
            marks[len(found)] = (mark.group(1), bool(mark.group(2)))
        found.append(block)
    twins = {name for name, pg in marks.values() if pg}
    for index, (name, pg) in marks.items():
        if pg:
            found[index].dialects = {"postgresql"}
        elif name in twins:
            found[index].dialects = {"sqlite"}
    for block in found:
        first = block.text.strip().splitlines()[0].strip().lower() if block.text.strip() else ""
        if first == "-- sqlite only":
            block.dialects = {"sqlite"}
        elif first == "-- postgresql only":
            block.dialects = {"postgresql"}
    return found


def all_blocks(lang: str, dialect: str | None = None) -> list[Block]:
    out = []
    for page in sorted(DOCS.glob("*.md")):
        out.extend(b for b in page_blocks(page)
                   if b.lang == lang and (dialect is None or dialect in b.dialects))
    return out


def prepare(store: Store) -> None:
    """What the documented queries read besides the run: materialized tables, a restore."""
    materialize_run(store, EXAMPLE_RUN, "Splitter")
    with Status.open(EXAMPLE_RUN, store) as status:
        status.restore_from_snapshot(status.get_snapshots()[-1].snapshot_id)


@pytest.fixture(scope="module")
def sql_db(example_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = copy_sqlite(example_db, tmp_path_factory.mktemp("docs_sql") / "runs.db")
    with Store(db) as store:
        prepare(store)
    return db


@pytest.fixture(scope="module")
def sql_pg(example_pg: str) -> str:
    with Store(example_pg) as store:
        prepare(store)
    return example_pg


def test_the_docs_have_sql_to_run() -> None:
    pages = {b.page for b in all_blocks("sql")}
    assert {"quickstart.md", "cli.md", "resume.md", "schema.md"} <= pages


@pytest.mark.skipif(SQLITE3 is None, reason="the sqlite3 command-line shell is not installed")
@pytest.mark.parametrize("block", all_blocks("sql", "sqlite"), ids=lambda b: b.id)
def test_sql_block_in_the_sqlite3_shell(block: Block, sql_db: Path) -> None:
    done = subprocess.run([SQLITE3, "-bail", str(sql_db), block.text], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, f"{block.id}: {done.stderr}"
    assert done.stdout.strip(), f"{block.id} returned no rows"


@pytest.mark.postgres
@pytest.mark.parametrize("block", all_blocks("sql", "postgresql"), ids=lambda b: b.id)
def test_sql_block_on_postgresql(block: Block, sql_pg: str) -> None:
    engine = create_engine(sql_pg)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(block.text).all()
    finally:
        engine.dispose()
    assert rows, f"{block.id} returned no rows"


# --- console and python blocks --------------------------------------------------------------


def normalize(line: str) -> str:
    """A line with what differs between runs (ids, times, durations, hashes) blanked."""
    line = re.sub(r"\d{8}_\d{6}", "<stamp>", line)
    line = re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?", "<time>", line)
    line = re.sub(r"\b\d+[hm] \d{2}[ms]\b", "<dur>", line)
    line = re.sub(r"(?<![\w.])\d+(\.\d+)?s\b", "<dur>", line)
    line = re.sub(r"[0-9a-f]{32}", "<hash>", line)
    line = re.sub(r"-{2,}", "--", line)
    return " ".join(line.split())


def commands(block: Block) -> list[tuple[str, list[str]]]:
    """(command line, documented output lines) for each ``$`` line of a console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def run_command(line: str, expected: list[str], where: str, pg: str | None) -> None:
    words = shlex.split(line)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if not words or words[0] != "petsard-status":
        return  # pip, sqlite3, ...: not ours to run
    args = words[1:]
    location = None
    if any(PG_PLACEHOLDER in a for a in args):
        if pg is None:
            return
        args = [a.replace(PG_PLACEHOLDER, pg) for a in args]
        location = Store(pg).location
    result = CliRunner(env=env).invoke(main, args, prog_name="petsard-status")
    output = result.output
    if location:
        output = output.replace(location, PG_PLACEHOLDER)
    assert "Traceback" not in output, f"{where}: {line}\n{output}"
    shown = [e for e in expected if e.strip() and e.strip() != "..."]
    failing = bool(shown) and shown[0].startswith("Error:")
    assert result.exit_code == (1 if failing else 0), f"{where}: {line}\n{output}"
    actual = {normalize(a) for a in output.splitlines()}
    for expected_line in shown:
        assert normalize(expected_line) in actual, (
            f"{where}: `{line}` did not print\n  {expected_line}\nit printed:\n{output}")


def run_python(block: Block, cwd: Path) -> None:
    script = cwd / f"example_{block.line}.py"
    script.write_text(block.text, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, f"{block.id}:\n{done.stdout}\n{done.stderr}"


def doc_params() -> list:
    params = []
    for name in EXECUTED_PAGES:
        runs_pipeline = "$ petsard-status run " in (DOCS / name).read_text(encoding="utf-8")
        marks = [pytest.mark.slow] if runs_pipeline else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.mark.parametrize("page", doc_params())
def test_console_and_python_examples(page: str, example_db: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     request: pytest.FixtureRequest) -> None:
    blocks = [b for b in page_blocks(DOCS / page) if b.lang in ("console", "python")]
    assert blocks, f"{page} has no examples"
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLE_YAML, tmp_path / "examples" / EXAMPLE_YAML.name)
    text = (DOCS / page).read_text(encoding="utf-8")
    if "$ petsard-status run " not in text:
        copy_sqlite(example_db, tmp_path / "runs.db")
    pg = None
    if PG_PLACEHOLDER in text and (pg_unavailable_reason() is None or IN_CI):
        pg = request.getfixturevalue("example_pg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PETSARD_STATUS_DB", raising=False)
    ran = 0
    for block in blocks:
        if block.lang == "python":
            run_python(block, tmp_path)
            ran += 1
            continue
        for line, expected in commands(block):
            run_command(line, expected, block.id, pg)
            ran += 1
    assert ran
