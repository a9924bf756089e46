"""The ``petsard-status`` command: run pipelines and inspect their stored status.

Commands are registered here, in one table, and imported only when they run:
``petsard-status --help`` (and any one command) loads no more of the package,
pandas or SQLAlchemy than it needs.  Each entry keeps its command's one-line
help, so the command list needs no imports; a test checks that it matches.
"""

from __future__ import annotations

import importlib

import click

from petsard_status._version import __version__

# name -> (module, function, one-line help), in the order `--help` lists them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("run", "run_command",
            "Run the pipeline in PIPELINE (a YAML file), recording every step."),
    "resume": ("run", "resume_command",
               "Finish RUN where it stopped, without redoing finished steps."),
    "validate": ("validate", "validate_command",
                 "Check every parameter of PIPELINE (a YAML file) and print the flow it "
                 "would run."),
    "runs": ("inspect", "runs_command",
             "List the runs in the store: state, start, duration, steps done and seed."),
    "results": ("results", "results_command",
                "Show what RUN found: each Evaluator's scores and each Reporter's reports."),
    "compare": ("manage", "compare_command",
                "Compare two runs: config differences, per-step metadata, evaluator scores "
                "side by side."),
    "rm": ("manage", "rm_command",
           "Remove RUN...: their history and the documents no other run uses (logged in the "
           "store)."),
    "snapshots": ("inspect", "snapshots_command",
                  "List RUN's snapshots: one per module execution, oldest first."),
    "show": ("inspect", "show_command",
             "Show one snapshot of RUN: its context and its metadata, field by field."),
    "changes": ("inspect", "changes_command",
                "List RUN's metadata changes: schemas and fields created, updated or "
                "deleted."),
    "diff": ("inspect", "diff_command",
             "Compare the metadata of two snapshots of RUN, field by field."),
    "timings": ("inspect", "timings_command", "List RUN's timing records, slowest first."),
    "restore": ("inspect", "restore_command",
                "Set RUN's state back to right after SNAPSHOT_ID (recorded; history is kept)."),
    "export": ("exchange", "export_command",
               "Export RUN: snapshots, changes, timings, metadata (and, in JSON, results)."),
    "import": ("exchange", "import_command",
               "Import a run from FILE (made by `petsard-status export`) into the store."),
    "materialize": ("exchange", "materialize_command",
                    "Write RUN's result frames as ordinary SQL tables (listed in "
                    "materialized_view)."),
    "ui": ("ui", "ui_command",
           "Serve a read-only web view of the store's runs (Ctrl-C stops it)."),
    "report": ("ui", "report_command",
               "Write RUN's page as one HTML file that opens offline and can be mailed."),
    "db": ("db", "db_group", "The store's schema: upgrade, show, check or vacuum it."),
}


def load_command(name: str) -> click.Command:
    module, attribute, _ = COMMANDS[name]
    command = getattr(importlib.import_module(f"petsard_status.cli.{module}"), attribute)
    assert isinstance(command, click.Command)
    return command


class _Commands(click.Group):
    """A group whose commands come from :data:`COMMANDS`, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="petsard-status")
def main() -> None:
    """Run data pipelines with a persistent, inspectable, resumable status.

    Every command that reads or writes a store takes --db; without it the store is
    $PETSARD_STATUS_DB, else ./petsard_status.db.
    """
