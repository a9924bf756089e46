"""File and folder names for exports: readable, distinct per run, safe on any file system.

A run name that is already a safe file name is used as it is, Unicode included
(``台北.json``).  Any other name becomes an ASCII slug plus a short hash of the
full name (``my_run-1f2e3d4c.json``), so two runs whose slugs would agree
(``台北`` and ``台中`` both slug to nothing) still get different files.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["export_stem"]

MAX_STEM_BYTES = 120
# Unsafe on some file system (Windows, macOS) or in a shell: refused in a name kept as is.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}


def _is_safe(name: str) -> bool:
    if not name or name != name.strip() or name.startswith(".") or name.endswith("."):
        return False
    if _UNSAFE.search(name) or unicodedata.normalize("NFC", name) != name:
        return False
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
           for ch in name):
        return False
    if name.split(".")[0].lower() in _RESERVED:
        return False
    return len(name.encode("utf-8")) <= MAX_STEM_BYTES


def export_stem(run: str) -> str:
    """The stem of a run's export file or folder: the run name if safe, else slug-hash."""
    if _is_safe(run):
        return run
    digest = hashlib.blake2b(run.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", run).strip("._-")[:60]
    return f"{slug}-{digest}" if slug else f"run-{digest}"
