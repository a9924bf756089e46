"""The ``petsard-status`` command: run pipelines and inspect their stored status."""

from __future__ import annotations

import click

from petsard_status._version import __version__
from petsard_status.cli.db import (
    db_group,
)
from petsard_status.cli.exchange import (
    export_command,
    import_command,
    materialize_command,
)
from petsard_status.cli.inspect import (
    changes_command,
    diff_command,
    restore_command,
    runs_command,
    show_command,
    snapshots_command,
    timings_command,
)
from petsard_status.cli.results import results_command
from petsard_status.cli.run import (
    resume_command,
    run_command,
)
from petsard_status.cli.ui import report_command, ui_command
from petsard_status.cli.validate import validate_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="petsard-status")
def main() -> None:
    """Run data pipelines with a persistent, inspectable, resumable status.

    Every command that reads or writes a store takes --db; without it the store is
    $PETSARD_STATUS_DB, else ./petsard_status.db.
    """


for _command in (
    run_command,
    resume_command,
    validate_command,
    results_command,
    runs_command,
    snapshots_command,
    show_command,
    changes_command,
    diff_command,
    timings_command,
    restore_command,
    export_command,
    import_command,
    materialize_command,
    db_group,
    ui_command,
    report_command,
):
    main.add_command(_command)
