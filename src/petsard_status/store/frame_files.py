"""Large result frames as content-addressed files beside a SQLite database.

A SQLite store at ``runs.db`` keeps frames of more than
:data:`DEFAULT_FILE_CELLS` cells (rows x columns; ``$PETSARD_STATUS_FRAME_FILE_CELLS``
or ``Store(frame_file_cells=...)`` change it) in the folder ``runs.db.frames/``,
one file ``<hash>.arrows`` per frame: exactly the bytes ``encode_frame`` would
give, written batch by batch with ``write_frame``, named by their content hash.
Its ``blobs`` row has kind :data:`FRAME_FILE_KIND`, the hash and size, and empty
``data``.  PostgreSQL stores keep every frame in the database: machines that
share a database need not share a file system.

Writing is crash-safe because the file is complete before anything names it:
``<random>.partial`` is written and fsynced, renamed to ``<hash>.arrows``, the
folder is fsynced, and only then does the put's transaction commit.  A crash
before the commit leaves at most a file no row refers to (``db check`` lists it,
``db vacuum`` removes it); a committed row always finds its file.

A writer holds a shared ``flock`` on each file from its creation until its
transaction ends; removing a file (``rm``, ``db vacuum``) takes an exclusive
one without waiting and leaves a file it cannot lock alone, so a put in flight
never loses its file.  A database from elsewhere is untrusted: a file name is
built only from a hash that is 32 lowercase hex digits, never from stored text.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from petsard_status import formats
from petsard_status.errors import CorruptDataError, StoreError, StoreFullError

if TYPE_CHECKING:
    import pandas as pd

    from petsard_status.formats import Compression

__all__ = ["DEFAULT_FILE_CELLS", "FILE_CELLS_ENV", "FRAME_FILE_KIND", "FrameFolder",
           "file_cells", "frames_folder"]

FRAME_FILE_KIND = "frame-file"
FILE_CELLS_ENV = "PETSARD_STATUS_FRAME_FILE_CELLS"
# 1,000,000 cells: about 8 MB of numbers in memory, 2 to 5 MB encoded, twenty
# times SQLite's own guidance for blobs (about 100 KB) and well below where
# holding the encoded bytes twice (bound parameter, driver copy) starts to
# show in a put's peak memory; benchmarks/README.md has the measurements.
DEFAULT_FILE_CELLS = 1_000_000
SUFFIX = ".arrows"
PARTIAL = ".partial"
_HASH = re.compile(r"[0-9a-f]{32}")
_CHECK = "run `petsard-status db check` to list what is damaged"


def file_cells(given: int | None) -> int:
    """The threshold in cells: ``given``, else ``$PETSARD_STATUS_FRAME_FILE_CELLS``, else 1M."""
    if given is not None:
        value: object = given
    else:
        value = os.environ.get(FILE_CELLS_ENV, DEFAULT_FILE_CELLS)
    try:
        cells = int(str(value))
    except ValueError:
        raise StoreError(f"{FILE_CELLS_ENV}={value!r} is not a whole number of cells; unset it "
                         f"or give one such as {DEFAULT_FILE_CELLS}") from None
    if cells < 1:
        raise StoreError(f"the frame file threshold must be at least 1 cell, got {cells}")
    return cells


def frames_folder(database: Path) -> Path:
    """The folder of a SQLite file's frame files: ``runs.db`` -> ``runs.db.frames``."""
    return database.with_name(database.name + ".frames")


def valid_hash(digest: object) -> bool:
    return isinstance(digest, str) and _HASH.fullmatch(digest) is not None


def _fsync_folder(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write_error(exc: OSError, where: Path) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFullError(f"the disk holding {where} is full; free some space and put "
                              "again (nothing of this put was stored)")
    return StoreError(f"could not write a frame file in {where}: {exc}; nothing of this put "
                      "was stored")


@dataclass
class FrameFolder:
    """The frame files of one SQLite store."""

    path: Path

    def file_for(self, digest: str) -> Path:
        """The file of a frame hash; refuses anything but 32 lowercase hex digits."""
        if not valid_hash(digest):
            raise CorruptDataError(
                f"the store names a frame file by {digest!r}, which is not a content hash; "
                f"the database was edited outside petsard-status ({_CHECK})"
            )
        return self.path / f"{digest}{SUFFIX}"

    def read(self, digest: str) -> pd.DataFrame:
        """The frame in ``<hash>.arrows``, its hash checked while it is read."""
        path = self.file_for(digest)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise CorruptDataError(
                f"the frame file {path} is missing; restore the folder {self.path} from a "
                f"backup together with the database ({_CHECK})"
            ) from None
        except OSError as exc:
            raise CorruptDataError(f"the frame file {path} cannot be read: {exc}") from exc
        with handle:
            try:
                return formats.read_frame(handle, digest=digest)
            except CorruptDataError as exc:
                raise CorruptDataError(
                    f"the frame file {path} is damaged: {exc}. Restore it from a backup "
                    f"({_CHECK})"
                ) from exc

    def problem(self, digest: str, size: int | None) -> str | None:
        """What is wrong with a referenced frame's file, or None when it reads back exactly."""
        if not valid_hash(digest):
            return f"frame-file blob {digest!r}: its hash is not 32 lowercase hex digits"
        path = self.file_for(digest)
        if not path.is_file():
            return f"frame-file blob {digest}: the file {path} is missing"
        if size is not None and path.stat().st_size != size:
            return (f"frame-file blob {digest}: the file {path} holds {path.stat().st_size} "
                    f"bytes, the store recorded {size}")
        try:
            self.read(digest)
        except CorruptDataError as exc:
            return f"frame-file blob {digest}: {exc}"
        return None

    def listing(self) -> tuple[set[str], list[Path]]:
        """The hashes of the frame files present, and every other entry of the folder."""
        found: set[str] = set()
        other: list[Path] = []
        if not self.path.is_dir():
            return found, other
        for entry in sorted(self.path.iterdir()):
            stem = entry.name[: -len(SUFFIX)] if entry.name.endswith(SUFFIX) else None
            if stem is not None and valid_hash(stem) and entry.is_file():
                found.add(stem)
            else:
                other.append(entry)
        return found, other

    def remove_unused(self, referenced: set[str]) -> list[Path]:
        """Delete frame files not in ``referenced`` and left-over ``*.partial`` files.

        Call inside a write transaction (no put can commit meanwhile); a file a
        writer still holds is left alone.  Returns what was deleted.
        """
        present, other = self.listing()
        doomed = [self.file_for(h) for h in sorted(present - referenced)]
        doomed += [p for p in other if p.name.endswith(PARTIAL) and p.is_file()]
        return [path for path in doomed if _unlink_unheld(path)]

    @contextlib.contextmanager
    def writing(self) -> Iterator[FrameWrites]:
        """Frame writes whose files stay held until the block (the put's commit) ends."""
        writes = FrameWrites(self)
        try:
            yield writes
        finally:
            writes.release()


def _unlink_unheld(path: Path) -> bool:
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return False
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(handle)
    return True


@dataclass
class FrameWrites:
    """The files one put writes (or finds already written), held until it commits."""

    folder: FrameFolder
    held: list[int] = field(default_factory=list)

    def write(self, frame: pd.DataFrame, compression: Compression) -> tuple[str, int]:
        """Stream ``frame`` into ``<hash>.arrows`` durably; its hash and size."""
        return self._land(lambda handle: _write_durably(frame, handle, compression))

    def write_bytes(self, digest: str, data: bytes) -> None:
        """An already-encoded frame (from an export, its hash checked) as its file, durably."""
        target = self.folder.file_for(digest)
        if _holds(target, len(data)):
            self._hold(target)
            return

        def copy(handle: BinaryIO) -> tuple[str, int]:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            return digest, len(data)

        self._land(copy)

    def _land(self, fill: Callable[[BinaryIO], tuple[str, int]]) -> tuple[str, int]:
        # A partial file first, held and fsynced; it becomes <hash>.arrows by a rename
        # (or is dropped when that file is there already), then the folder is fsynced.
        folder = self.folder.path
        try:
            folder.mkdir(exist_ok=True)
            fd, temp = tempfile.mkstemp(suffix=PARTIAL, dir=folder)
        except OSError as exc:
            raise _write_error(exc, folder) from exc
        partial = Path(temp)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            self.held.append(fd)
            with os.fdopen(os.dup(fd), "wb") as handle:
                digest, size = fill(handle)
            target = self.folder.file_for(digest)
            if _holds(target, size):
                partial.unlink()
                self._hold(target)
            else:
                os.replace(partial, target)
            _fsync_folder(folder)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise _write_error(exc, folder) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return digest, size

    def _hold(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return  # removed meanwhile: the commit's own check reports it
        fcntl.flock(fd, fcntl.LOCK_SH)
        self.held.append(fd)

    def release(self) -> None:
        for fd in self.held:
            os.close(fd)
        self.held.clear()


def _holds(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _write_durably(frame: pd.DataFrame, handle: BinaryIO,
                   compression: Compression) -> tuple[str, int]:
    digest, size = formats.write_frame(frame, handle, compression=compression)
    handle.flush()
    os.fsync(handle.fileno())
    return digest, size


def missing_files(folder: FrameFolder, digests: Iterable[str]) -> list[Path]:
    """The files among ``digests`` that are not there (checked inside a put's transaction)."""
    return [path for path in map(folder.file_for, digests) if not path.is_file()]
