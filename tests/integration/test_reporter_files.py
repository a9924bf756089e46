"""Reporter files appear whole or not at all, also when the disk fills up mid-write."""

from __future__ import annotations

from pathlib import Path

from helpers.stores import cli
from helpers.tmpfs import fill, small_tmpfs

PIPELINE = """Loader:
  load:
    filepath: {csv}
Reporter:
  out:
    method: save_data
    source: Loader
"""


def _pipeline(folder: Path, rows: int) -> Path:
    csv = folder / f"data-{rows}.csv"
    csv.write_text("a,b\n" + "".join(f"{i},value-{i:08d}\n" for i in range(rows)),
                   encoding="utf-8")
    path = folder / f"pipeline-{rows}.yaml"
    path.write_text(PIPELINE.format(csv=csv), encoding="utf-8")
    return path


def test_reporter_output_on_a_full_disk_keeps_the_earlier_file(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with small_tmpfs(tmp_path / "out", "2m") as out:
        first = cli("run", str(_pipeline(tmp_path, 100)), "--db", str(db), "--run", "one",
                    "--output", str(out))
        assert first.returncode == 0, first.stderr
        (written,) = [p for p in out.iterdir() if p.suffix == ".csv"]
        before = written.read_bytes()
        fill(out, leave=64 * 1024)
        second = cli("run", str(_pipeline(tmp_path, 20_000)), "--db", str(db), "--run", "two",
                     "--output", str(out))
        assert second.returncode != 0 and "Traceback" not in second.stderr, second.stderr
        assert written.read_bytes() == before
        assert sorted(p.name for p in out.iterdir()) == sorted(["filler", written.name])
