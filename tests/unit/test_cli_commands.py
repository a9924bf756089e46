"""The command table: every entry loads its command, and its one-line help is the command's."""

from __future__ import annotations

import subprocess
import sys

import click

import petsard_status
from petsard_status.cli.main import COMMANDS, load_command, main


def test_every_listed_command_loads_and_its_help_matches() -> None:
    for name, (_, _, help_text) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert command.get_short_help_str(limit=500) == help_text


def test_help_lists_every_command() -> None:
    ctx = click.Context(main)
    text = main.get_help(ctx)
    for name in COMMANDS:
        assert f"  {name} " in text


def test_help_imports_neither_pandas_nor_sqlalchemy() -> None:
    script = ("import sys; from petsard_status.cli import main\n"
              "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in ('pandas', 'sqlalchemy', 'pyarrow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_public_names_are_exactly_the_exports() -> None:
    for name in petsard_status.__all__:
        assert getattr(petsard_status, name) is not None
    assert "Status" in petsard_status.__all__
    assert sorted(n for n in dir(petsard_status) if not n.startswith("_")) == sorted(
        n for n in petsard_status.__all__ if not n.startswith("_"))
