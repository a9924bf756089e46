"""PETsARD's own Executor and adapters, recording into a petsard-status store.

``from petsard_status.petsard import Executor`` in place of ``from petsard
import Executor``; the rest of a PETsARD script stays as it is.  Needs PETsARD
(``pip install 'petsard-status[petsard]'``, after torch: see docs/petsard.md).
"""

from petsard_status.errors import PetsardNotInstalledError

INSTALL_HINT = (
    "PETsARD is not installed; install it with: pip install torch==2.13.0 && "
    "pip install 'petsard-status[petsard]'"
)

try:
    import petsard as _petsard  # noqa: F401  (checked here, once, for the message)
except ModuleNotFoundError as exc:
    if exc.name != "petsard":
        raise
    raise PetsardNotInstalledError(INSTALL_HINT) from None

from petsard_status.petsard._executor import Executor, petsard_version  # noqa: E402

__all__ = ["INSTALL_HINT", "Executor", "petsard_version"]
