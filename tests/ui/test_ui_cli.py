"""`report RUN --html` offline in Chromium, and the `ui` command's guard rails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ui_support import EXAMPLE_RUN, chromium, free_port, sha256, watch_errors

CLI = [sys.executable, "-m", "petsard_status.cli"]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_report_html_opens_offline_and_shows_the_run_page(example_db: Path,
                                                          tmp_path: Path) -> None:
    before = sha256(example_db)
    target = tmp_path / "report.html"
    done = _cli("report", EXAMPLE_RUN, "--html", str(target), "--db", str(example_db))
    assert done.returncode == 0, done.stderr
    assert sha256(example_db) == before
    with chromium() as browser:
        context = browser.new_context(offline=True)
        requested: list[str] = []

        def refuse(route: object) -> None:
            requested.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith("file:"), refuse)
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(target.as_uri())
        page.wait_for_selector("#timeline svg.main-svg")
        assert page.locator("#run-name").inner_text() == EXAMPLE_RUN
        assert page.locator("#steps tr.step").count() == 8
        assert page.locator("#flow .state").all_inner_texts() == ["done"] * 8
        assert page.locator("#timeline svg.main-svg g.trace.bars g.point").count() == 8
        # Links to other pages would not work in a mailed file: there are none.
        assert page.locator("main a").count() == 0
        assert requested == []
        assert errors == []
        context.close()


def test_report_of_an_unknown_run_says_so(example_db: Path, tmp_path: Path) -> None:
    done = _cli("report", "no-such-run", "--html", str(tmp_path / "r.html"),
                "--db", str(example_db))
    assert done.returncode == 1
    assert "no run named 'no-such-run'" in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_ui_without_the_extra_says_how_to_install_it(example_db: Path) -> None:
    # The extra's packages made unimportable in a fresh interpreter, as if not installed.
    code = ("import sys; sys.modules['starlette'] = None; "
            "from petsard_status.cli import main; main(['ui', '--db', sys.argv[1]])")
    done = subprocess.run([sys.executable, "-c", code, str(example_db)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "pip install 'petsard-status[ui]'" in lines[0]


def test_ui_refuses_a_missing_database_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    done = _cli("ui", "--db", str(missing), "--port", str(free_port()))
    assert done.returncode == 1
    assert "no database at" in done.stderr
    assert not missing.exists()


def _first_lines(*args: str) -> tuple[str, str]:
    """Start ``ui``, read the line it prints once listening is set up, stop it."""
    process = subprocess.Popen([*CLI, "ui", *args, "--port", str(free_port())],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    return first, err


def test_ui_warns_when_bound_beyond_loopback(example_db: Path) -> None:
    out, err = _first_lines("--db", str(example_db), "--host", "0.0.0.0")
    assert "http://0.0.0.0:" in out
    assert "Warning: listening on 0.0.0.0, not loopback" in err
    out, err = _first_lines("--db", str(example_db))
    assert "http://127.0.0.1:" in out
    assert "Warning" not in err


def test_the_commands_in_docs_ui_run(tmp_path: Path) -> None:
    """docs/ui.md's shell commands, except the server (which runs until stopped), as written."""
    import re
    import shlex

    from ui_support import REPO

    text = (REPO / "docs" / "ui.md").read_text(encoding="utf-8")
    lines = re.findall(r"^\$ (petsard-status .*)$", text, re.M)
    assert any(line.startswith("petsard-status ui") for line in lines)
    ran = 0
    for line in lines:
        args = shlex.split(line)[1:]
        if args[0] == "ui":
            continue
        args = [str(REPO / a) if a.startswith("examples/") else a for a in args]
        done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300,
                              cwd=tmp_path)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        ran += 1
    assert ran == 2
    assert (tmp_path / "adult-demo.html").stat().st_size > 1_000_000
