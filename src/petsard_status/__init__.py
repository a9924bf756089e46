"""petsard-status: a persistent, inspectable, resumable execution status for data pipelines."""

from petsard_status.errors import *  # noqa: F403

__version__ = "0.1.0"
