"""PETsARD's own Executor and adapters, recording into a petsard-status store.

``from petsard_status.petsard import Executor`` in place of ``from petsard
import Executor``; the rest of a PETsARD script stays as it is.  Needs PETsARD
(``pip install 'petsard-status[petsard]'``, after torch: see docs/petsard.md).
"""

from petsard_status.errors import PetsardNotInstalledError

_INSTALL_HINT = (
    "PETsARD is not installed; install it with: pip install torch==2.13.0 && "
    "pip install 'petsard-status[petsard]'"
)

try:
    import petsard as _petsard
except ModuleNotFoundError as exc:
    if exc.name != "petsard":
        raise
    raise PetsardNotInstalledError(_INSTALL_HINT) from None
if getattr(_petsard, "__file__", None) is None:
    # A folder named petsard on sys.path imports as an empty namespace package.
    raise PetsardNotInstalledError(_INSTALL_HINT)

from petsard_status.petsard._executor import Executor, petsard_version  # noqa: E402

__all__ = ["Executor", "petsard_version"]
