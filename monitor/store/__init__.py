"""Feed states, articles, figures, metrics and the alert outbox: the only user of TinyDB, filelock and orjson.

``_store`` is the ``Store`` the rest of the code uses; ``_document`` shares the in-memory document between
threads and writes staged polls together; ``_file`` is the atomic JSON storage; ``_rows`` and ``_edits`` turn
records into rows and back; ``_schema`` migrates older files; ``_heartbeat`` is the scheduler's heartbeat file
(``read_heartbeat`` reads it without opening the store).
"""

from ._file import AtomicJSONStorage
from ._heartbeat import read_heartbeat
from ._schema import SCHEMA_VERSION
from ._store import Store

__all__ = ["SCHEMA_VERSION", "AtomicJSONStorage", "Store", "read_heartbeat"]
