"""An on-disk cache of sentence embeddings keyed by (model id, SHA-256 of the text).

One SQLite file in WAL mode: readers never block, writers from several processes queue on
SQLite's lock (``INSERT OR IGNORE``, so two processes embedding the same text is harmless),
and 15k lookups are a few chunked ``IN`` queries. Vectors are little-endian float32 blobs.
A cache that cannot be opened or written degrades to no cache, with a warning: it must
never fail a training run.
"""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache"]

_CHUNK = 900  # below SQLite's oldest limit of 999 bound variables per statement
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS embeddings ("
    "model TEXT NOT NULL, text_sha256 TEXT NOT NULL, vector BLOB NOT NULL, "
    "PRIMARY KEY (model, text_sha256)) WITHOUT ROWID"
)


class EmbeddingCache:
    """Embeddings stored under ``folder/embeddings.sqlite3``.

    Parameters
    ----------
    folder:
        Created on first use.
    timeout:
        Seconds a writer waits for another process's write to finish.

    Example
    -------
    >>> import tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> cache.put_many("m", {"ab12": np.ones(3, dtype=np.float32)})
    >>> cache.get_many("m", ["ab12", "cd34"])["ab12"].tolist()
    [1.0, 1.0, 1.0]
    """

    FILE = "embeddings.sqlite3"

    def __init__(self, folder: str | Path, *, timeout: float = 60.0) -> None:
        self.folder = Path(folder)
        self.path = self.folder / self.FILE
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.folder)!r})"

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors found for ``keys`` (text hashes) under ``model``; missing keys are absent."""
        if not keys or not self.path.exists():
            return {}
        found: dict[str, np.ndarray] = {}
        try:
            with closing(self._connect()) as con:
                for start in range(0, len(keys), _CHUNK):
                    chunk = list(keys[start : start + _CHUNK])
                    marks = ",".join("?" * len(chunk))
                    rows = con.execute(
                        f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN ({marks})",
                        [model, *chunk],
                    )
                    for key, blob in rows:
                        found[key] = np.frombuffer(blob, dtype="<f4")
        except sqlite3.Error as exc:
            self._warn(exc)
            return {}
        return found

    def put_many(self, model: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors by key (text hash) under ``model``, in one transaction."""
        if not vectors:
            return
        rows = [(model, key, np.asarray(v, dtype="<f4").tobytes()) for key, v in vectors.items()]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as con, con:
                con.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?)", rows)
        except (OSError, sqlite3.Error) as exc:
            self._warn(exc)

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        with closing(self._connect()) as con:
            return int(con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute(_SCHEMA)
        return con

    def _warn(self, exc: Exception) -> None:
        warnings.warn(
            f"embedding cache {self.path} is unusable ({exc}); continuing without it. "
            "Delete the file to start a fresh cache.",
            RuntimeWarning,
            stacklevel=3,
        )
