"""The persistent Status and the records it returns."""

from petsard_status.status.records import ExecutionSnapshot, MetadataChange, TimingRecord
from petsard_status.status.status import Status

__all__ = ["ExecutionSnapshot", "MetadataChange", "Status", "TimingRecord"]
