"""The ``petsard-status`` command line."""

from petsard_status.cli.main import main

__all__ = ["main"]
