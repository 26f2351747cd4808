"""The labeling database: users, tasks, schema versions, items, annotations and review queues.

One SQLite file per project, ``.tailor/labeling/labeling.db``, opened per operation (safe
from the web app's worker threads) in WAL mode. Every write is one transaction, so a
failed import or a crash leaves what was stored before intact.

Time spent on an item is measured on the server: from when the item was shown to a user
(:meth:`LabelStore.next_item`) to when that user's answer arrived, capped at
:data:`IDLE_CAP_S` so a coffee break does not count as labeling time.

Example
-------
>>> import tempfile
>>> from tailorml.labeling.schema import LabelSchema
>>> store = LabelStore(tempfile.mkdtemp() + "/labeling.db")
>>> admin = store.add_user("ada", "correct horse battery", role="admin")
>>> schema = LabelSchema.from_names(["billing", "refund"])
>>> task = store.create_task("pilot", data_version="v1", schema=schema, texts=["refund me", "my bill"],
...                          row_keys=["0", "1"], annotators_per_item=1, created_by=admin.id)
>>> item = store.next_item(task.id, admin.id)
>>> store.annotate(item.id, admin.id, "refund").label
'refund'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tailorml.errors import NotFoundError, TailorError
from tailorml.labeling.schema import LabelSchema

__all__ = [
    "IDLE_CAP_S",
    "ROLES",
    "Annotation",
    "Item",
    "LabelStore",
    "Task",
    "User",
    "hash_password",
    "verify_password",
]

Role = Literal["annotator", "reviewer", "admin"]
ROLES: tuple[str, ...] = ("annotator", "reviewer", "admin")
STRATEGIES: tuple[str, ...] = ("random", "stratified", "active", "imported")
IDLE_CAP_S = 600.0
SESSION_HOURS = 12
MIN_PASSWORD = 8
# scrypt parameters (RFC 7914): 16 MiB of memory per hash, ~50 ms on a slow core.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('annotator', 'reviewer', 'admin')),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data_version TEXT NOT NULL,
    strategy TEXT NOT NULL,
    annotators_per_item INTEGER NOT NULL CHECK (annotators_per_item >= 1),
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS task_members (
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (task_id, user_id)
);
CREATE TABLE IF NOT EXISTS schema_versions (
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    version INTEGER NOT NULL,
    labels TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (task_id, version)
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    position INTEGER NOT NULL,
    row_key TEXT NOT NULL,
    text TEXT NOT NULL,
    given_label TEXT,
    priority REAL NOT NULL DEFAULT 0,
    UNIQUE (task_id, position)
);
CREATE TABLE IF NOT EXISTS views (
    item_id INTEGER NOT NULL REFERENCES items(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    shown_at REAL NOT NULL,
    PRIMARY KEY (item_id, user_id)
);
CREATE TABLE IF NOT EXISTS annotations (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    label TEXT,
    skipped INTEGER NOT NULL DEFAULT 0,
    schema_version INTEGER NOT NULL,
    seconds REAL,
    created_at TEXT NOT NULL,
    UNIQUE (item_id, user_id)
);
CREATE TABLE IF NOT EXISTS adjudications (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    label TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS suspects (
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    rank INTEGER NOT NULL,
    row_key TEXT NOT NULL,
    text TEXT NOT NULL,
    given_label TEXT NOT NULL,
    suggested_label TEXT NOT NULL,
    score REAL NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (task_id, rank)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_task ON items (task_id, priority DESC, position);
CREATE INDEX IF NOT EXISTS annotations_user ON annotations (user_id);
"""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str

    @property
    def can_review(self) -> bool:
        return self.role in ("reviewer", "admin")


@dataclass(frozen=True)
class Task:
    id: int
    name: str
    data_version: str
    strategy: str
    annotators_per_item: int
    created_at: str


@dataclass(frozen=True)
class Item:
    id: int
    task_id: int
    position: int
    row_key: str
    text: str
    given_label: str | None


@dataclass(frozen=True)
class Annotation:
    item_id: int
    user: str
    label: str | None
    skipped: bool
    schema_version: int
    seconds: float | None
    created_at: str


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


@dataclass(frozen=True)
class Suspect:
    rank: int
    row_key: str
    text: str
    given_label: str
    suggested_label: str
    score: float


def hash_password(password: str) -> str:
    """A salted scrypt hash, stored as ``scrypt$n$r$p$salt$digest`` (hex)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches a hash from :func:`hash_password` (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode("utf-8"), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate.hex(), digest)


class LabelStore:
    """The labeling work of one project, in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA_SQL)
        finally:
            conn.close()

    def __repr__(self) -> str:
        return f"LabelStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    # -- users and sessions ----------------------------------------------------------------

    def add_user(self, name: str, password: str, *, role: str = "annotator") -> User:
        """Create an account; the password is stored as a salted scrypt hash."""
        name = name.strip()
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise TailorError(f"user name {name!r} is not valid", hint="use 1–64 characters without spaces")
        if role not in ROLES:
            raise TailorError(f"role {role!r} is not known", hint=f"use one of: {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise TailorError(
                f"the password for {name!r} is {len(password)} characters long",
                hint=f"use at least {MIN_PASSWORD} characters",
            )
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise TailorError(f"user {name!r} exists already", hint="pick another name, or use that account")
            cursor = conn.execute(
                "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                (name, hash_password(password), role, _now()),
            )
        return User(id=int(cursor.lastrowid or 0), name=name, role=role)

    def _ensure_user(self, conn: sqlite3.Connection, name: str) -> int:
        """The id of ``name``, created as an annotator who cannot log in (for imported annotations)."""
        row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row["id"])
        cursor = conn.execute(
            "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, '!imported', 'annotator', ?)",
            (name, _now()),
        )
        return int(cursor.lastrowid or 0)

    def users(self) -> list[User]:
        with self._connect() as conn:
            rows = conn.execute("SELECT id, name, role FROM users ORDER BY id").fetchall()
        return [User(id=r["id"], name=r["name"], role=r["role"]) for r in rows]

    def user(self, name: str) -> User:
        with self._connect() as conn:
            row = conn.execute("SELECT id, name, role FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no user {name!r}", hint="create it: tailor label users add NAME --role annotator")
        return User(id=row["id"], name=row["name"], role=row["role"])

    def login(self, name: str, password: str) -> tuple[str, Session] | None:
        """Check a password; on success open a session and return its token (kept by the browser)."""
        with self._connect() as conn:
            row = conn.execute("SELECT id, name, role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            verify_password(password, hash_password("timing-equalizer"))  # same work for unknown names
            return None
        if not verify_password(password, row["password_hash"]):
            return None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = _clock() + SESSION_HOURS * 3600
        with self._connect() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (_clock(),))
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)",
                (_token_hash(token), row["id"], csrf, expires),
            )
        return token, Session(user=User(id=row["id"], name=row["name"], role=row["role"]), csrf=csrf)

    def session(self, token: str | None) -> Session | None:
        """The live session of a token, or None when unknown or expired."""
        if not token:
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT u.id, u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.token_hash = ? AND s.expires_at > ?",
                (_token_hash(token), _clock()),
            ).fetchone()
        if row is None:
            return None
        return Session(user=User(id=row["id"], name=row["name"], role=row["role"]), csrf=row["csrf"])

    def logout(self, token: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

    # -- tasks and schema ------------------------------------------------------------------

    def create_task(
        self,
        name: str,
        *,
        data_version: str,
        schema: LabelSchema,
        texts: Sequence[str],
        row_keys: Sequence[str],
        given_labels: Sequence[str | None] | None = None,
        strategy: str = "random",
        annotators_per_item: int = 2,
        created_by: int | None = None,
        members: Sequence[int] = (),
    ) -> Task:
        """Create a task with its first schema version and its items, in one transaction."""
        if strategy not in STRATEGIES:
            raise TailorError(
                f"sampling strategy {strategy!r} is not known", hint=f"use one of: {', '.join(STRATEGIES)}"
            )
        if annotators_per_item < 1:
            raise TailorError(
                f"annotators per item must be at least 1; got {annotators_per_item}", hint="use 1 or more"
            )
        if len(texts) != len(row_keys) or (given_labels is not None and len(given_labels) != len(texts)):
            raise ValueError("texts, row_keys and given_labels must have the same length")
        if not texts:
            raise TailorError(f"task {name!r} would have no items", hint="choose a data version with rows")
        given = list(given_labels) if given_labels is not None else [None] * len(texts)
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM tasks WHERE name = ?", (name,)).fetchone():
                raise TailorError(f"task {name!r} exists already", hint="pick another name (tailor label tasks)")
            cursor = conn.execute(
                "INSERT INTO tasks (name, data_version, strategy, annotators_per_item, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, data_version, strategy, annotators_per_item, created_by, _now()),
            )
            task_id = int(cursor.lastrowid or 0)
            conn.execute(
                "INSERT INTO schema_versions (task_id, version, labels, created_by, created_at) VALUES (?, 1, ?, ?, ?)",
                (task_id, schema.model_dump_json(), created_by, _now()),
            )
            conn.executemany(
                "INSERT INTO items (task_id, position, row_key, text, given_label) VALUES (?, ?, ?, ?, ?)",
                [
                    (task_id, i, str(k), str(t), g)
                    for i, (k, t, g) in enumerate(zip(row_keys, texts, given, strict=True))
                ],
            )
            for user_id in {*members, *([created_by] if created_by is not None else [])}:
                conn.execute("INSERT OR IGNORE INTO task_members (task_id, user_id) VALUES (?, ?)", (task_id, user_id))
        return self.task(name)

    def task(self, name_or_id: str | int) -> Task:
        column = "id" if isinstance(name_or_id, int) else "name"
        with self._connect() as conn:
            row = conn.execute(f"SELECT * FROM tasks WHERE {column} = ?", (name_or_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no labeling task {name_or_id!r}", hint="list them: tailor label tasks")
        return _task(row)

    def tasks(self, user: User | None = None) -> list[Task]:
        """Every task, or the tasks ``user`` may see (all of them for an admin)."""
        with self._connect() as conn:
            if user is None or user.role == "admin":
                rows = conn.execute("SELECT * FROM tasks ORDER BY id").fetchall()
            else:
                rows = conn.execute(
                    "SELECT t.* FROM tasks t JOIN task_members m ON m.task_id = t.id WHERE m.user_id = ? ORDER BY t.id",
                    (user.id,),
                ).fetchall()
        return [_task(r) for r in rows]

    def can_access(self, user: User, task_id: int) -> bool:
        if user.role == "admin":
            return True
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM task_members WHERE task_id = ? AND user_id = ?", (task_id, user.id)
            ).fetchone()
        return row is not None

    def add_member(self, task_id: int, user_id: int) -> None:
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO task_members (task_id, user_id) VALUES (?, ?)", (task_id, user_id))

    def members(self, task_id: int) -> list[User]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT u.id, u.name, u.role FROM users u JOIN task_members m ON m.user_id = u.id "
                "WHERE m.task_id = ? ORDER BY u.id",
                (task_id,),
            ).fetchall()
        return [User(id=r["id"], name=r["name"], role=r["role"]) for r in rows]

    def schema(self, task_id: int, version: int | None = None) -> tuple[int, LabelSchema]:
        """The newest schema version of a task (or the given one) and its number."""
        with self._connect() as conn:
            if version is None:
                row = conn.execute(
                    "SELECT version, labels FROM schema_versions WHERE task_id = ? ORDER BY version DESC LIMIT 1",
                    (task_id,),
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT version, labels FROM schema_versions WHERE task_id = ? AND version = ?",
                    (task_id, version),
                ).fetchone()
        if row is None:
            raise NotFoundError(f"task {task_id} has no schema version {version}", hint="see tailor label schema")
        return int(row["version"]), LabelSchema.model_validate_json(row["labels"])

    def schema_versions(self, task_id: int) -> list[tuple[int, str, LabelSchema]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT version, created_at, labels FROM schema_versions WHERE task_id = ? ORDER BY version",
                (task_id,),
            ).fetchall()
        return [(int(r["version"]), r["created_at"], LabelSchema.model_validate_json(r["labels"])) for r in rows]

    def update_schema(self, task_id: int, schema: LabelSchema, *, created_by: int | None = None) -> int:
        """Store an edited schema as the next version; annotations keep the version they were made under."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT version, labels FROM schema_versions WHERE task_id = ? ORDER BY version DESC LIMIT 1",
                (task_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no labeling task with id {task_id}", hint="list them: tailor label tasks")
            if LabelSchema.model_validate_json(row["labels"]) == schema:
                return int(row["version"])
            version = int(row["version"]) + 1
            conn.execute(
                "INSERT INTO schema_versions (task_id, version, labels, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                (task_id, version, schema.model_dump_json(), created_by, _now()),
            )
        return version

    # -- labeling --------------------------------------------------------------------------

    def next_item(self, task_id: int, user_id: int) -> Item | None:
        """The next item for this user: not yet answered by them and still short of annotators.

        Items with a higher priority come first (active learning raises it), then by position.
        Records when it was shown, to measure the seconds spent on it.
        """
        with self._connect() as conn:
            task = conn.execute("SELECT annotators_per_item FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if task is None:
                raise NotFoundError(f"no labeling task with id {task_id}", hint="list them: tailor label tasks")
            row = conn.execute(
                """
                SELECT i.* FROM items i
                WHERE i.task_id = ?
                  AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.id AND a.user_id = ?)
                  AND (SELECT COUNT(*) FROM annotations a WHERE a.item_id = i.id AND a.skipped = 0) < ?
                ORDER BY i.priority DESC, i.position
                LIMIT 1
                """,
                (task_id, user_id, task["annotators_per_item"]),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "INSERT OR IGNORE INTO views (item_id, user_id, shown_at) VALUES (?, ?, ?)",
                (row["id"], user_id, _clock()),
            )
        return _item(row)

    def item(self, item_id: int) -> Item:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no item {item_id}", hint="the item may belong to another project")
        return _item(row)

    def annotate(self, item_id: int, user_id: int, label: str | None, *, skipped: bool = False) -> Annotation:
        """Record a user's label (or skip) for an item under the task's newest schema version."""
        item = self.item(item_id)
        version, schema = self.schema(item.task_id)
        if not skipped and label not in schema.names:
            raise TailorError(
                f"label {label!r} is not in schema version {version}",
                hint=f"use one of: {', '.join(schema.names[:20])}",
            )
        now = _clock()
        with self._connect() as conn:
            shown = conn.execute(
                "SELECT shown_at FROM views WHERE item_id = ? AND user_id = ?", (item_id, user_id)
            ).fetchone()
            seconds = min(max(now - shown["shown_at"], 0.0), IDLE_CAP_S) if shown else None
            conn.execute(
                """
                INSERT INTO annotations (item_id, user_id, label, skipped, schema_version, seconds, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (item_id, user_id) DO UPDATE SET label = excluded.label, skipped = excluded.skipped,
                    schema_version = excluded.schema_version, seconds = excluded.seconds,
                    created_at = excluded.created_at
                """,
                (item_id, user_id, None if skipped else label, int(skipped), version, seconds, _now()),
            )
            name = conn.execute("SELECT name FROM users WHERE id = ?", (user_id,)).fetchone()["name"]
        return Annotation(item_id, name, None if skipped else label, skipped, version, seconds, _now())

    def import_annotations(self, task_id: int, rows: Sequence[tuple[int, str, str]]) -> int:
        """Add ``(position, annotator name, label)`` rows made elsewhere; unknown annotators are created.

        Labels are checked against the newest schema first: one bad row rejects the whole import.
        """
        version, schema = self.schema(task_id)
        bad = [(p, u, lab) for p, u, lab in rows if lab not in schema.names]
        if bad:
            p, u, lab = bad[0]
            raise TailorError(
                f"{len(bad)} imported annotation(s) use labels outside the schema, e.g. {lab!r} by {u!r} on item {p}",
                hint="add the label to the schema first (tailor label schema --file), or fix the file",
            )
        with self._connect() as conn:
            positions = {
                int(r["position"]): int(r["id"])
                for r in conn.execute("SELECT id, position FROM items WHERE task_id = ?", (task_id,))
            }
            missing = [p for p, _, _ in rows if p not in positions]
            if missing:
                raise TailorError(
                    f"{len(missing)} imported annotation(s) refer to items the task does not have, e.g. {missing[0]}",
                    hint="import annotations into the task made from the same file",
                )
            for position, user, label in rows:
                conn.execute(
                    "INSERT INTO annotations (item_id, user_id, label, skipped, schema_version, seconds, created_at) "
                    "VALUES (?, ?, ?, 0, ?, NULL, ?) "
                    "ON CONFLICT (item_id, user_id) DO UPDATE SET label = excluded.label",
                    (positions[position], self._ensure_user(conn, user), label, version, _now()),
                )
        return len(rows)

    def adjudicate(self, item_id: int, label: str, *, user_id: int | None = None) -> None:
        """A reviewer's final label for a disputed item; it wins over the majority vote."""
        item = self.item(item_id)
        _, schema = self.schema(item.task_id)
        if label not in schema.names:
            raise TailorError(f"label {label!r} is not in the schema", hint=f"use one of: {', '.join(schema.names)}")
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO adjudications (item_id, label, user_id, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (item_id) DO UPDATE SET label = excluded.label, user_id = excluded.user_id, "
                "created_at = excluded.created_at",
                (item_id, label, user_id, _now()),
            )

    def set_priorities(self, task_id: int, priorities: dict[int, float]) -> None:
        """Raise the items at these positions to the front of the queue (higher first); others go to 0."""
        with self._connect() as conn:
            conn.execute("UPDATE items SET priority = 0 WHERE task_id = ?", (task_id,))
            conn.executemany(
                "UPDATE items SET priority = ? WHERE task_id = ? AND position = ?",
                [(float(p), task_id, int(pos)) for pos, p in priorities.items()],
            )

    # -- reading results -------------------------------------------------------------------

    def items(self, task_id: int) -> list[Item]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM items WHERE task_id = ? ORDER BY position", (task_id,)).fetchall()
        return [_item(r) for r in rows]

    def annotations(self, task_id: int, *, include_skipped: bool = False) -> list[Annotation]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT a.*, u.name AS user FROM annotations a JOIN items i ON i.id = a.item_id "
                "JOIN users u ON u.id = a.user_id WHERE i.task_id = ? ORDER BY a.id",
                (task_id,),
            ).fetchall()
        found = [
            Annotation(
                item_id=r["item_id"],
                user=r["user"],
                label=r["label"],
                skipped=bool(r["skipped"]),
                schema_version=r["schema_version"],
                seconds=r["seconds"],
                created_at=r["created_at"],
            )
            for r in rows
        ]
        return found if include_skipped else [a for a in found if not a.skipped]

    def adjudications(self, task_id: int) -> dict[int, str]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT d.item_id, d.label FROM adjudications d JOIN items i ON i.id = d.item_id WHERE i.task_id = ?",
                (task_id,),
            ).fetchall()
        return {int(r["item_id"]): r["label"] for r in rows}

    def progress(self, task_id: int) -> dict[str, int]:
        """Items, annotations, skips, and items with their full number of annotators."""
        task = self.task(task_id)
        with self._connect() as conn:
            row = conn.execute(
                """
                SELECT
                  (SELECT COUNT(*) FROM items WHERE task_id = :t) AS items,
                  (SELECT COUNT(*) FROM annotations a JOIN items i ON i.id = a.item_id
                    WHERE i.task_id = :t AND a.skipped = 0) AS annotations,
                  (SELECT COUNT(*) FROM annotations a JOIN items i ON i.id = a.item_id
                    WHERE i.task_id = :t AND a.skipped = 1) AS skipped,
                  (SELECT COUNT(*) FROM items i WHERE i.task_id = :t AND
                    (SELECT COUNT(*) FROM annotations a WHERE a.item_id = i.id AND a.skipped = 0) >= :k) AS complete
                """,
                {"t": task_id, "k": task.annotators_per_item},
            ).fetchone()
        return {k: int(row[k]) for k in ("items", "annotations", "skipped", "complete")}

    # -- label-error review queue ------------------------------------------------------------

    def replace_suspects(self, task_id: int, suspects: Sequence[Suspect]) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM suspects WHERE task_id = ?", (task_id,))
            conn.executemany(
                "INSERT INTO suspects (task_id, rank, row_key, text, given_label, suggested_label, score, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (task_id, s.rank, s.row_key, s.text, s.given_label, s.suggested_label, s.score, _now())
                    for s in suspects
                ],
            )

    def suspects(self, task_id: int) -> list[Suspect]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM suspects WHERE task_id = ? ORDER BY rank", (task_id,)).fetchall()
        return [
            Suspect(r["rank"], r["row_key"], r["text"], r["given_label"], r["suggested_label"], r["score"])
            for r in rows
        ]


def _task(row: sqlite3.Row) -> Task:
    return Task(
        id=row["id"],
        name=row["name"],
        data_version=row["data_version"],
        strategy=row["strategy"],
        annotators_per_item=row["annotators_per_item"],
        created_at=row["created_at"],
    )


def _item(row: sqlite3.Row) -> Item:
    return Item(
        id=row["id"],
        task_id=row["task_id"],
        position=row["position"],
        row_key=row["row_key"],
        text=row["text"],
        given_label=row["given_label"],
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clock() -> float:
    import time

    return time.time()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
