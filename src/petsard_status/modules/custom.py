"""Loading user classes named in a pipeline config (custom adapters and synthesizers).

Loading a class runs the Python file it lives in.  The file is named by the
pipeline config, which its author wrote, so this is the same trust as running
their script; a stored run (the database) never names code to run by itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from petsard_status.errors import ModuleError

# Keyed by (resolved path, mtime, size) so that a file is executed once per
# version even when both the registry and an adapter ask for its class.
_LOADED: dict[tuple[str, int, int], Any] = {}


def resolve_path(module_path: Any, base_dir: Path, where: str) -> Path:
    if not isinstance(module_path, str) or not module_path:
        raise ModuleError(f"{where}: 'module_path' must name a .py file")
    path = Path(module_path)
    if not path.is_absolute():
        path = Path(base_dir) / path
    path = path.resolve()
    if not path.is_file():
        raise ModuleError(f"{where}: module_path {path} does not exist")
    return path


def load_class(module_path: Any, class_name: Any, base_dir: Path, where: str) -> type:
    """Import ``module_path`` (relative to ``base_dir``) and return its ``class_name``."""
    if not isinstance(class_name, str) or not class_name.isidentifier():
        raise ModuleError(f"{where}: 'class_name' must be a Python class name")
    path = resolve_path(module_path, base_dir, where)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    module = _LOADED.get(key)
    if module is None:
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        name = f"petsard_status_user_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ModuleError(f"{where}: {path} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        # Registered before running: dataclasses and typing in the user's file
        # look their own module up in sys.modules.
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ModuleError(f"{where}: importing {path} failed: {exc!r}") from exc
        _LOADED[key] = module
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ModuleError(f"{where}: {path} defines no class {class_name!r}")
    return cls
