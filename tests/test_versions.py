"""Data versions: import, content addressing, lineage, diff, atomic writes, privacy, test sets."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tailorml.check import check_project
from tailorml.data.dataset import load_dataset
from tailorml.data.importer import import_data, import_file
from tailorml.data.io import write_frame
from tailorml.data.synth import synthesize
from tailorml.data.versions import DataStore
from tailorml.errors import DataError, NotFoundError
from tailorml.spec import parse_spec

CHECK_NAMES = {
    "missing_labels",
    "empty_inputs",
    "exact_duplicates",
    "near_duplicates",
    "conflicting_labels",
    "small_classes",
    "class_balance",
    "overlong_inputs",
    "pii",
}


def write_csv(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = ("text", "label")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = ("text", "label")) -> Path:
    lines = [json.dumps(dict(zip(header, row, strict=True))) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SMALL = [
    ("where is my parcel", "status"),
    ("please cancel the subscription", "cancel"),
    ("I want my money back", "refund"),
    ("what time do you open tomorrow", "hours"),
    ("the box arrived crushed", "damaged"),
    ("how do I change my password", "account"),
]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataStore:
    monkeypatch.delenv("TAILOR_HOME", raising=False)
    return DataStore(tmp_path / ".tailor" / "data")


def test_import_creates_a_complete_version(tmp_path: Path, store: DataStore) -> None:
    frame = synthesize(300, seed=1)
    path = write_frame(frame, tmp_path / "tickets.csv")

    result = import_file(store, path, input="text", target="label")
    m = result.manifest

    assert result.created
    assert re.fullmatch(r"[0-9a-f]{12}", m.id)
    assert m.name == "tickets"
    assert m.rows == 300
    assert [(c.name, c.type) for c in m.columns] == [("text", "string"), ("label", "string"), ("channel", "string")]
    assert (m.input, m.target, m.parent) == ("text", "label", None)
    assert (m.source.path, m.source.format, m.source.encoding) == (str(path), "csv", "utf-8")
    assert m.source.bytes == path.stat().st_size
    assert m.checks is not None
    assert set(m.checks["checks"]) == CHECK_NAMES
    assert m.checks["errors"] == len(result.report.errors) == 0
    assert m.checks["warnings"] == len(result.report.warnings)
    assert m.checks["checks"]["pii"]["status"] == "warning"  # synth rows carry emails and phones

    (record,) = m.splits.values()
    assert record.test_version is None
    assert (record.seed, record.validation, record.test) == (7, 0.1, 0.2)
    assert sum(record.counts.values()) == 300
    assert record.counts["test"] > 0 and record.counts["validation"] > 0
    codes = np.load(store.root / m.id / record.file, allow_pickle=False)
    assert codes.shape == (300,)
    assert np.bincount(codes, minlength=3).tolist() == [record.counts[k] for k in ("train", "validation", "test")]
    assert np.array_equal(store.split_codes(m, record), codes)

    on_disk = json.loads((store.root / m.id / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == m.model_dump(mode="json")
    assert [v.id for v in store.versions()] == [m.id]
    assert store.get().id == m.id

    table = store.table(m.id)
    assert table.column_names == ["text", "label", "channel"]
    assert table.column("text").to_pylist() == frame["text"].tolist()
    assert table.column("label").to_pylist() == frame["label"].tolist()


def test_same_content_is_stored_once(tmp_path: Path, store: DataStore) -> None:
    path = write_csv(tmp_path / "small.csv", SMALL)
    first = import_file(store, path, input="text", target="label")
    again = import_file(store, path, input="text", target="label")

    assert first.created and not again.created
    assert again.manifest.id == first.manifest.id
    assert again.manifest.created_at == first.manifest.created_at
    assert len(store.versions()) == 1


def test_csv_and_json_lines_of_the_same_rows_share_an_id(tmp_path: Path, store: DataStore) -> None:
    csv_path, jsonl_path = write_csv(tmp_path / "rows.csv", SMALL), write_jsonl(tmp_path / "rows.jsonl", SMALL)
    from_csv = import_file(store, csv_path, input="text", target="label")
    elsewhere = import_file(DataStore(tmp_path / "other"), jsonl_path, input="text", target="label")
    from_jsonl = import_file(store, jsonl_path, input="text", target="label")

    assert elsewhere.manifest.source.format == "jsonl"
    assert elsewhere.manifest.id == from_csv.manifest.id
    assert from_jsonl.manifest.id == from_csv.manifest.id
    assert not from_jsonl.created
    assert from_jsonl.manifest.source.format == "csv"  # the stored version keeps its first source
    assert len(store.versions()) == 1


def test_a_changed_row_makes_a_child_version(tmp_path: Path, store: DataStore) -> None:
    path = tmp_path / "small.csv"
    v1 = import_file(store, write_csv(path, SMALL), input="text", target="label").manifest
    changed = [*SMALL[:-1], ("how do I change my password", "security")]
    v2 = import_file(store, write_csv(path, changed), input="text", target="label").manifest
    other = import_file(store, write_csv(tmp_path / "other.csv", changed[:4]), input="text", target="label")

    assert v2.id != v1.id
    assert v2.parent == v1.id
    assert v1.parent is None
    assert other.manifest.parent is None  # another name starts its own lineage
    assert [m.id for m in store.versions()] == [v1.id, v2.id, other.manifest.id]
    assert store.table(v1.id).column("label").to_pylist()[-1] == "account"  # the old version is kept


def test_get_by_prefix_and_not_found(tmp_path: Path, store: DataStore) -> None:
    with pytest.raises(NotFoundError) as empty:
        store.get()
    assert "tailor data import" in str(empty.value)

    a = import_file(store, write_csv(tmp_path / "a.csv", SMALL), input="text", target="label").manifest
    b = import_file(store, write_csv(tmp_path / "b.csv", SMALL[:5]), input="text", target="label").manifest

    assert store.get(a.id[:6]).id == a.id
    assert store.get(b.id).id == b.id
    assert store.get("latest").id == b.id
    with pytest.raises(NotFoundError) as unknown:
        store.get("nope")
    assert "'nope'" in unknown.value.message
    assert a.id in (unknown.value.hint or "") and b.id in (unknown.value.hint or "")
    with pytest.raises(NotFoundError, match="matches 2 versions"):
        store.get("")


def test_diff_counts_added_removed_and_relabeled_rows(tmp_path: Path, store: DataStore) -> None:
    old = [
        ("hello there", "greet"),
        ("bye for now", "farewell"),
        ("refund please", "refund"),
        ("cancel it", "cancel"),
        ("some old thing", "misc"),
    ]
    new = [
        ("hello there", "greet", "chat"),
        ("bye for now", "greet", "chat"),  # relabeled
        ("refund please", "billing", "email"),  # relabeled
        ("cancel it", "cancel", "chat"),
        ("a brand new message", "misc", "email"),  # added
        ("another fresh one", "misc", "chat"),  # added
    ]  # "some old thing" removed
    a = import_file(store, write_csv(tmp_path / "a.csv", old), input="text", target="label").manifest
    b = import_file(
        store, write_csv(tmp_path / "b.csv", new, ("text", "label", "channel")), input="text", target="label"
    ).manifest

    d = store.diff(a.id, b.id[:7])
    assert (d.a, d.b, d.rows_a, d.rows_b) == (a.id, b.id, 5, 6)
    assert (d.added, d.removed, d.relabeled) == (2, 1, 2)
    assert (d.columns_added, d.columns_removed) == (["channel"], [])
    assert {e["text"] for e in d.examples["added"]} == {"a brand new message", "another fresh one"}
    assert d.examples["removed"] == [{"text": "some old thing", "label": "misc"}]
    assert {(e["text"], e["label"], e["was"]) for e in d.examples["relabeled"]} == {
        ("bye for now", "greet", "farewell"),
        ("refund please", "billing", "refund"),
    }

    back = store.diff(b.id, a.id)
    assert (back.added, back.removed, back.relabeled) == (1, 2, 2)
    assert (back.columns_added, back.columns_removed) == ([], ["channel"])


def test_failed_write_leaves_nothing_behind(tmp_path: Path, store: DataStore, monkeypatch: pytest.MonkeyPatch) -> None:
    kept = import_file(store, write_csv(tmp_path / "a.csv", SMALL), input="text", target="label").manifest
    manifest_bytes = (store.root / kept.id / "manifest.json").read_bytes()
    before = sorted(p.relative_to(store.root) for p in store.root.rglob("*"))

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", disk_full)
    with pytest.raises(OSError, match="disk full"):
        import_file(store, write_csv(tmp_path / "a.csv", SMALL[:5]), input="text", target="label")

    assert [p.name for p in store.root.iterdir()] == [kept.id]
    assert not list(store.root.glob(".import-*"))
    assert sorted(p.relative_to(store.root) for p in store.root.rglob("*")) == before
    assert (store.root / kept.id / "manifest.json").read_bytes() == manifest_bytes
    assert [m.id for m in store.versions()] == [kept.id]


PII_ROWS = [
    ("contact me at jane.doe@example.com about my order", "status", "reach jane.doe@example.com"),
    ("call 555-123-4567 please", "callback", "ok"),
    ("no personal data here", "status", "fine"),
    ("another clean message", "callback", "mail bob@corp.io"),
]


def test_redact_pii_replaces_personal_data_before_storing(tmp_path: Path, store: DataStore) -> None:
    path = write_csv(tmp_path / "pii.csv", PII_ROWS, ("text", "label", "note"))
    result = import_file(store, path, input="text", target="label", redact_pii=["email", "phone"])
    m = result.manifest

    stored = pq.read_table(store.root / m.id / "data.parquet")
    values = " ".join(str(v) for column in stored.columns for v in column.to_pylist())
    for secret in ("jane.doe@example.com", "555-123-4567", "bob@corp.io"):
        assert secret not in values
    assert stored.column("text").to_pylist()[:2] == ["contact me at [EMAIL] about my order", "call [PHONE] please"]
    assert stored.column("note").to_pylist()[3] == "mail [EMAIL]"  # every text column, not only the input
    assert stored.column("label").to_pylist() == ["status", "callback", "status", "callback"]
    (transform,) = m.transforms
    assert transform.startswith("redact_pii")
    for part in ("email", "phone", "2 in text", "2 in note"):  # kinds, and rows changed per column
        assert part in transform
    assert result.report.checks[[c.name for c in result.report.checks].index("pii")].status == "ok"

    plain = import_file(store, path, input="text", target="label")
    assert plain.manifest.id != m.id
    assert plain.manifest.transforms == []


def test_drop_columns_removes_a_column_before_storing(tmp_path: Path, store: DataStore) -> None:
    path = write_csv(tmp_path / "pii.csv", PII_ROWS, ("text", "label", "note"))
    m = import_file(store, path, input="text", target="label", drop_columns=["note"]).manifest

    assert [c.name for c in m.columns] == ["text", "label"]
    assert pq.read_table(store.root / m.id / "data.parquet").column_names == ["text", "label"]
    (transform,) = m.transforms
    assert transform.startswith("drop_columns") and "note" in transform
    same_rows = write_csv(tmp_path / "two.csv", [r[:2] for r in PII_ROWS])
    assert import_file(store, same_rows, input="text", target="label").manifest.id == m.id


def test_drop_columns_errors(tmp_path: Path, store: DataStore) -> None:
    path = write_csv(tmp_path / "pii.csv", PII_ROWS, ("text", "label", "note"))
    with pytest.raises(DataError) as needed:
        import_file(store, path, input="text", target="label", drop_columns=["text"])
    assert "'text'" in needed.value.message
    with pytest.raises(DataError) as missing:
        import_file(store, path, input="text", target="label", drop_columns=["nosuch"])
    assert "nosuch" in missing.value.message
    assert "text, label, note" in (missing.value.hint or "")
    assert store.versions() == []


CONFLICTS = [
    ("where is my order", "status"),
    ("where is my order", "cancel"),
    ("stop my subscription", "cancel"),
    ("track the parcel", "status"),
]


def test_allow_errors_records_an_override(tmp_path: Path, store: DataStore) -> None:
    path = write_csv(tmp_path / "conflicts.csv", CONFLICTS)
    plain = import_file(store, path, input="text", target="label")
    assert plain.manifest.checks is not None
    assert plain.manifest.checks["errors"] >= 1
    assert plain.manifest.checks["checks"]["conflicting_labels"] == {"status": "error", "count": 2}
    assert plain.manifest.override is None

    reason = "labels reviewed by the support lead"
    again = import_file(store, path, input="text", target="label", allow_errors=reason)
    override = again.manifest.override
    assert not again.created and again.manifest.id == plain.manifest.id
    assert override is not None and override.reason == reason
    assert "conflicting_labels" in override.errors
    assert override.errors == [c.name for c in again.report.errors]
    assert store.get(plain.manifest.id).override == override  # persisted in the manifest


def test_import_data_imports_the_test_file_first(
    tmp_path: Path, store: DataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = synthesize(300, seed=1)
    write_frame(frame, tmp_path / "train.csv")
    copied = [tuple(r) for r in frame[["text", "label"]].head(3).itertuples(index=False)]
    fresh = [
        ("zebra quartz xylophone jumps", frame["label"].iloc[0]),
        ("violet kettle orbits the marsh", frame["label"].iloc[1]),
    ]
    write_csv(tmp_path / "test.csv", copied + fresh)
    spec = parse_spec(
        {
            "project": "shop",
            "task": {"input": "text", "target": "label"},
            "data": {"train": "train.csv", "test": "test.csv"},
        },
        root=tmp_path,
    )

    outcome = import_data(spec)
    assert outcome.test is not None
    test_m, train_m = outcome.test.manifest, outcome.train.manifest
    assert (test_m.name, test_m.rows) == ("shop-test", 5)
    assert (train_m.name, train_m.rows) == ("shop", 300)
    assert [m.id for m in store.versions()] == [test_m.id, train_m.id]

    (record,) = train_m.splits.values()
    assert record.test_version == test_m.id
    assert record.counts["test"] == 0
    assert sum(record.counts.values()) == 300

    checks = {c.name: c for c in outcome.train.report.checks}
    assert outcome.train.report.test_rows == 5
    assert {"leakage_exact", "leakage_near", "unseen_test_labels"} <= set(checks)
    assert (checks["leakage_exact"].status, checks["leakage_exact"].count) == ("error", 3)
    assert checks["unseen_test_labels"].status == "ok"
    assert train_m.checks is not None and "leakage_exact" in train_m.checks["checks"]


def test_a_validation_file_is_the_validation_set_and_nothing_of_train_is_held_out_for_it(
    tmp_path: Path, store: DataStore
) -> None:
    write_frame(synthesize(300, seed=1), tmp_path / "train.csv")
    write_frame(synthesize(40, seed=2), tmp_path / "dev.csv")
    spec = parse_spec(
        {
            "project": "shop",
            "task": {"input": "text", "target": "label"},
            "data": {"train": "train.csv", "validation": "dev.csv"},
        },
        root=tmp_path,
    )
    outcome = import_data(spec)
    assert outcome.validation is not None and outcome.validation.manifest.name == "shop-validation"
    (record,) = outcome.train.manifest.splits.values()
    assert record.validation_version == outcome.validation.manifest.id
    assert record.counts["validation"] == 0 and record.counts["test"] > 0  # test is still split off train
    dataset = load_dataset(store, outcome.train.manifest)
    assert len(dataset.validation) == 40 and len(dataset.train) + len(dataset.test) == 300
    assert check_project(spec).split["validation"] == 40

    same_file = parse_spec(
        {
            "project": "shop",
            "task": {"input": "text", "target": "label"},
            "data": {"train": "train.csv", "validation": "train.csv"},
        },
        root=tmp_path,
    )
    with pytest.raises(DataError, match=r"data\.validation and data\.train name the same file"):
        import_data(same_file)


def test_malformed_csv_names_the_line_and_stores_nothing(tmp_path: Path, store: DataStore) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,a\nbye,b,extra\nok,c\n", encoding="utf-8")

    with pytest.raises(DataError) as exc:
        import_file(store, path, input="text", target="label")
    assert "line 3" in exc.value.message
    assert exc.value.details == {"line": 3}
    assert store.versions() == []
    assert not store.root.exists()
