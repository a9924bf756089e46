"""Every exception the package raises on purpose.

One hierarchy, rooted at :class:`PetsardStatusError`, so that callers can catch
"anything this library complains about" with one ``except`` clause while still
telling a bad config from a broken database.  Messages name the problem and say
what to do about it.

    PetsardStatusError
    ├── ConfigError (ValueError)
    ├── MetadataError (ValueError)
    │   └── SerializationError
    │       └── UnknownFormatError
    ├── StatusError
    │   ├── UnexecutedError (LookupError)
    │   │   └── LiveObjectUnavailableError
    │   ├── SnapshotError (LookupError)
    │   ├── RunExistsError
    │   ├── RunNotFoundError (LookupError)
    │   ├── PutError
    │   └── ConcurrentWriterError
    ├── StoreError
    │   ├── StoreConnectionError
    │   ├── NotAStoreError
    │   ├── SchemaVersionError
    │   ├── StoreReadOnlyError
    │   ├── StoreFullError
    │   ├── CorruptDataError
    │   ├── ForeignObjectError
    │   └── LockTimeoutError
    └── ExecutionError
        └── ModuleError
"""

from __future__ import annotations


class PetsardStatusError(Exception):
    """Base class of every error raised by petsard-status."""


# --- configuration -----------------------------------------------------------------


class ConfigError(PetsardStatusError, ValueError):
    """The pipeline configuration is malformed or names something unknown."""


class InvalidConfigError(ConfigError):
    """A pipeline's parameters were checked before it ran, and some are wrong.

    ``problems`` holds one line per problem (``FILE:LINE: Module[experiment]: ...``);
    the message lists them all.
    """

    def __init__(self, problems: list[str], where: str = "") -> None:
        self.problems = list(problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"{count} in the config{where}; nothing was run:\n  "
                         + "\n  ".join(self.problems))


# --- metadata ----------------------------------------------------------------------


class MetadataError(PetsardStatusError, ValueError):
    """Metadata could not be built, compared or validated."""


class SerializationError(MetadataError):
    """A value cannot be encoded to, or decoded from, the store's JSON format."""


class UnknownFormatError(SerializationError):
    """A stored document has a format name or version this package does not know."""


# --- status ------------------------------------------------------------------------


class StatusError(PetsardStatusError):
    """Base class for errors of the Status API."""


class UnexecutedError(StatusError, LookupError):
    """A module, result or object was asked for before the module ran."""


class LiveObjectUnavailableError(UnexecutedError):
    """A live object (a fitted synthesizer or processor) is not in this process.

    Live objects are not stored (storing them would mean pickling), so after
    ``Status.open`` in a new process the module that made them must run again.
    ``module`` names that module.
    """

    module: str = ""


class SnapshotError(StatusError, LookupError):
    """A snapshot does not exist or cannot be restored."""


class RunExistsError(StatusError):
    """A new run was asked for under a name the store already holds."""


class RunNotFoundError(StatusError, LookupError):
    """No run of that name is in the store."""


class PutError(StatusError):
    """A module's output could not be recorded; nothing of that put was stored."""


class ConcurrentWriterError(StatusError):
    """Another writer added to the same run at the same time."""


class RunInUseError(ConcurrentWriterError):
    """The run's lease is held by a live process: it is being written right now."""


# --- store -------------------------------------------------------------------------


class StoreError(PetsardStatusError):
    """Base class for problems with the database behind a Status."""


class StoreConnectionError(StoreError):
    """The database URL is malformed, or the server or file cannot be reached."""


class NotAStoreError(StoreError):
    """The file or database is not a petsard-status store (or is corrupt)."""


class SchemaVersionError(StoreError):
    """The store's schema revision is unknown to this version of the package."""


class StoreReadOnlyError(StoreError):
    """The store cannot be written (read-only file, folder or server)."""


class StoreFullError(StoreError):
    """The database cannot grow (disk full, or a size limit was reached)."""


class CorruptDataError(StoreError):
    """A stored row or blob is missing, malformed, or fails validation."""


class ForeignObjectError(StoreError):
    """The store holds a table, view, trigger, rule or policy its migrations did not create.

    Reading through such an object could run code planted in the database, so
    the store is refused before anything is read.  ``objects`` names each one.
    """

    objects: tuple[str, ...] = ()

    def __init__(self, message: str, objects: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.objects = objects


class LockTimeoutError(StoreError):
    """A statement waited too long for a lock another session holds; retrying may succeed."""


# --- execution ---------------------------------------------------------------------


class ExecutionError(PetsardStatusError):
    """A pipeline step failed; the run is marked failed and can be resumed."""


class ModuleError(ExecutionError):
    """A module was given parameters or input it cannot work with."""


class PetsardNotInstalledError(ModuleError, ImportError):
    """PETsARD's own modules were asked for, and PETsARD is not installed."""


__all__ = [name for name, obj in globals().items() if isinstance(obj, type)]
