"""Exports: a distinct, readable file or folder per run; never overwritten unasked or partial."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.stores import cli, make_run, one_error_line
from helpers.tmpfs import fill, small_tmpfs
from petsard_status.formats import read_export


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    db = tmp_path / "runs.db"
    make_run(db, "台北", puts=1)
    make_run(db, "台中", puts=2)
    make_run(db, "a/b", puts=1)
    make_run(db, "a:b", puts=1)
    return db


def _export(db: Path, run: str, out: Path, *extra: str) -> str:
    result = cli("export", run, "--db", str(db), "-o", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_unicode_run_names_get_their_own_files(two_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for run in ("台北", "台中", "a/b", "a:b"):
        _export(two_runs, run, out)
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 4, names
    assert "台北.json" in names and "台中.json" in names
    assert all("/" not in n and ":" not in n for n in names)
    by_run = {read_export(out / n)["run"]["name"]: n for n in names}
    assert set(by_run) == {"台北", "台中", "a/b", "a:b"}
    assert len(read_export(out / "台中.json")["snapshots"]) == 2


def test_csv_exports_get_distinct_folders(two_runs: Path, tmp_path: Path) -> None:
    for run in ("台北", "台中"):
        result = cli("export", run, "--format", "csv", "--db", str(two_runs), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "台北-csv" / "run.csv").read_text(encoding="utf-8").count("台北") == 1
    assert (tmp_path / "台中-csv" / "run.csv").read_text(encoding="utf-8").count("台中") == 1


def test_an_existing_export_is_replaced_only_with_force(two_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _export(two_runs, "台北", out)
    target = out / "台北.json"
    target.write_bytes(target.read_bytes() + b" ")
    before = target.read_bytes()
    line = one_error_line(cli("export", "台北", "--db", str(two_runs), "-o", str(out)))
    assert "already exists" in line and "--force" in line
    assert target.read_bytes() == before
    _export(two_runs, "台北", out, "--force")
    assert target.read_bytes() != before
    read_export(target)


def test_export_onto_a_full_disk_keeps_the_earlier_export(two_runs: Path, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "1m") as out:
        _export(two_runs, "台中", out)
        target = out / "台中.json"
        before = target.read_bytes()
        fill(out)
        line = one_error_line(cli("export", "台中", "--db", str(two_runs), "-o", str(out),
                                  "--force"))
        assert "No space left" in line or "space" in line.lower()
        assert target.read_bytes() == before
        assert sorted(p.name for p in out.iterdir()) == ["filler", "台中.json"]
        (out / "filler").unlink()
        csv = cli("export", "台中", "--format", "csv", "--db", str(two_runs),
                  "-o", str(out / "csv"))
        assert csv.returncode == 0, csv.stderr
        assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
