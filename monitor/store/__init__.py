"""Feed states, articles, figures, metrics and the alert outbox: the only user of TinyDB, filelock and orjson.

``_store`` is the ``Store`` the rest of the code uses; ``_document`` shares the in-memory document between
threads and writes staged polls together; ``_file`` is the atomic JSON storage; ``_rows`` and ``_edits`` turn
records into rows and back; ``_schema`` migrates older files.
"""

from ._file import AtomicJSONStorage
from ._schema import SCHEMA_VERSION
from ._store import Store

__all__ = ["SCHEMA_VERSION", "AtomicJSONStorage", "Store"]
