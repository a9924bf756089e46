"""The database behind a Status: engine set-up, tables, migrations, blobs."""

from petsard_status.store.engine import default_store, resolve_url
from petsard_status.store.store import Store

__all__ = ["Store", "default_store", "resolve_url"]
