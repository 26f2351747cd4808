"""The labeling pilot's store, workflow, interchange and CLI, on a small generated data version."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from tailorml.cli import app as cli
from tailorml.data.versions import DataStore, Source
from tailorml.errors import DataError, SpecError, TailorError
from tailorml.labeling.costs import project
from tailorml.labeling.interchange import export_csv, export_label_studio, import_annotations, read_annotations
from tailorml.labeling.pilot import create_task, final_labels, finish_task, label_report, open_store, queue_active
from tailorml.labeling.sampling import sample_rows
from tailorml.labeling.schema import load_schema
from tailorml.labeling.store import IDLE_CAP_S, LabelStore, hash_password, verify_password

WORDS = {
    "refund": ["refund my order", "I want my money back", "return and refund please", "money back for the toaster"],
    "delivery": ["where is my parcel", "the courier is late", "track my delivery", "parcel has not arrived"],
    "billing": ["my invoice is wrong", "charged twice on my card", "billing address change", "the bill is too high"],
}


def _rows(n_per_class: int = 10) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, phrases in WORDS.items():
        for i in range(n_per_class):
            texts.append(f"{phrases[i % len(phrases)]} #{i}")
            labels.append(label)
    return texts, labels


@pytest.fixture
def project_home(tmp_path: Path) -> Path:
    texts, labels = _rows()
    store = DataStore(tmp_path / ".tailor" / "data")
    store.import_table(
        pa.table({"text": texts, "label": labels}),
        source=Source(path="generated", format="parquet", bytes=0),
        name="tickets",
        input="text",
        target="label",
    )
    return tmp_path / ".tailor"


@pytest.fixture
def stores(project_home: Path) -> tuple[LabelStore, DataStore]:
    return open_store(project_home), DataStore(project_home / "data")


def _annotate_all(store: LabelStore, task_id: int, user: str, choose) -> None:
    user_id = store.user(user).id
    while (item := store.next_item(task_id, user_id)) is not None:
        store.annotate(item.id, user_id, choose(item))


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = hash_password("open sesame"), hash_password("open sesame")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("open sesame", first)
    assert not verify_password("open sesamE", first)
    assert not verify_password("open sesame", "not-a-hash")


def test_accounts_sessions_and_their_errors(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / "l.db")
    store.add_user("ada", "long enough", role="admin")
    with pytest.raises(TailorError, match="exists already"):
        store.add_user("ada", "long enough")
    with pytest.raises(TailorError, match="at least 8"):
        store.add_user("bob", "short")
    with pytest.raises(TailorError, match="role 'boss'"):
        store.add_user("bob", "long enough", role="boss")
    assert store.login("ada", "wrong password") is None
    assert store.login("nobody", "long enough") is None
    token, session = store.login("ada", "long enough")
    assert store.session(token).user.name == "ada" and store.session(token).csrf == session.csrf
    raw = sqlite3.connect(tmp_path / "l.db").execute("SELECT token_hash, password_hash FROM sessions, users").fetchone()
    assert token not in raw and "long enough" not in raw[1]  # neither the token nor the password is stored
    store.logout(token)
    assert store.session(token) is None


def test_a_task_samples_a_version_and_serves_each_item_to_k_annotators(stores) -> None:
    store, data = stores
    admin = store.add_user("ada", "long enough", role="admin")
    for name in ("bob", "cy", "dee"):
        store.add_user(name, "long enough")
    task = create_task(
        store, data, name="pilot", strategy="stratified", items=9, annotators_per_item=2, created_by=admin.id
    )
    items = store.items(task.id)
    assert len(items) == 9 and {i.given_label for i in items} == set(WORDS)  # 3 of each class
    _, schema = store.schema(task.id)
    assert schema.names == sorted(WORDS)  # the version's labels, most frequent first (a tie: by name)
    _annotate_all(store, task.id, "bob", lambda item: item.given_label)
    _annotate_all(store, task.id, "cy", lambda item: item.given_label)
    assert store.next_item(task.id, store.user("dee").id) is None  # every item has its 2 annotators
    progress = store.progress(task.id)
    assert progress == {"items": 9, "annotations": 18, "skipped": 0, "complete": 9}
    assert all(0 <= a.seconds <= IDLE_CAP_S for a in store.annotations(task.id))


def test_a_skip_does_not_count_and_an_unknown_label_is_refused(stores) -> None:
    store, data = stores
    store.add_user("bob", "long enough")
    task = create_task(store, data, name="pilot", items=3, annotators_per_item=1)
    bob = store.user("bob").id
    first = store.next_item(task.id, bob)
    store.annotate(first.id, bob, None, skipped=True)
    assert store.next_item(task.id, bob).id != first.id  # a skipped item is not shown to the same user again
    with pytest.raises(TailorError, match="not in schema version 1"):
        store.annotate(first.id, bob, "weather")
    assert store.progress(task.id)["skipped"] == 1 and store.annotations(task.id) == []


def test_editing_the_schema_makes_a_version_and_annotations_keep_theirs(stores, tmp_path: Path) -> None:
    store, data = stores
    store.add_user("bob", "long enough")
    task = create_task(store, data, name="pilot", items=4, annotators_per_item=1)
    bob = store.user("bob").id
    item = store.next_item(task.id, bob)
    store.annotate(item.id, bob, "refund")
    schema_file = tmp_path / "schema.yaml"
    schema_file.write_text(
        "labels:\n  - name: refund\n    description: money back\n    examples: [refund please]\n"
        "  - delivery\n  - billing\n  - other\n",
        encoding="utf-8",
    )
    assert store.update_schema(task.id, load_schema(schema_file)) == 2
    assert store.update_schema(task.id, load_schema(schema_file)) == 2  # unchanged: no new version
    second = store.next_item(task.id, bob)
    store.annotate(second.id, bob, "other")
    versions = {a.item_id: a.schema_version for a in store.annotations(task.id)}
    assert versions == {item.id: 1, second.id: 2}
    assert store.schema(task.id, 1)[1].names == sorted(WORDS)


def test_a_bad_schema_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("labels:\n  - refund\n  - refund\n", encoding="utf-8")
    with pytest.raises(SpecError, match="appears twice"):
        load_schema(path)
    path.write_text("labels: [only-one]\n", encoding="utf-8")
    with pytest.raises(SpecError, match="at least 2"):
        load_schema(path)
    path.write_text("labels: [a, b\n", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_schema(path)


def test_stratified_sampling_keeps_every_class_and_needs_labels() -> None:
    labels = ["a"] * 90 + ["b"] * 9 + ["c"]
    rows = sample_rows(labels, 10, strategy="stratified", seed=1)
    assert len(rows) == 10 and {labels[i] for i in rows} == {"a", "b", "c"}
    assert sample_rows(labels, 10, strategy="random", seed=1) == sample_rows(labels, 10, strategy="random", seed=1)
    with pytest.raises(TailorError, match="needs labels"):
        sample_rows([None, None], 1, strategy="stratified")


def test_final_labels_majority_adjudication_and_ties(stores) -> None:
    store, data = stores
    for name in ("bob", "cy", "dee"):
        store.add_user(name, "long enough")
    task = create_task(store, data, name="pilot", items=3, annotators_per_item=2)
    items = store.items(task.id)
    rows = [
        (items[0].position, "bob", "refund"),
        (items[0].position, "cy", "refund"),
        (items[1].position, "bob", "refund"),
        (items[1].position, "cy", "billing"),
        (items[2].position, "bob", "delivery"),
        (items[2].position, "cy", "billing"),
    ]
    store.import_annotations(task.id, rows)
    store.adjudicate(items[2].id, "billing", user_id=store.user("dee").id)
    labels, unresolved = final_labels(store, task)
    assert labels == {items[0].id: "refund", items[2].id: "billing"}
    assert unresolved == [items[1].id]


def test_report_measures_agreement_time_and_cost_and_writes_pilot_figures(stores, tmp_path: Path) -> None:
    store, data = stores
    store.add_user("bob", "long enough")
    store.add_user("cy", "long enough")
    task = create_task(store, data, name="pilot", items=12, annotators_per_item=2)
    _annotate_all(store, task.id, "bob", lambda item: item.given_label)
    flip = {"refund": "billing", "billing": "refund", "delivery": "delivery"}
    _annotate_all(store, task.id, "cy", lambda item: flip[item.given_label])  # refund/billing always disputed
    report = label_report(store, task, hourly_rate=30.0, project_items=1000, write_to=tmp_path)
    pair = report.agreement.ambiguous_pairs[0]
    assert (pair.label_a, pair.label_b) == ("billing", "refund") and pair.rate == 1.0
    assert report.agreement.pairwise.mean < 0.2  # only delivery agrees
    assert report.unresolved == report.progress["items"] - sum(
        1 for i in store.items(task.id) if i.given_label == "delivery"
    )
    figures = json.loads((tmp_path / "pilot.json").read_text())
    assert figures["annotators"] == 2 and figures["annotators_per_item"] == 2.0
    assert figures["hourly_rate"] == 30.0 and figures["agreement"]["krippendorff_alpha"] is not None
    assert report.projection.items == 1000 and report.projection.annotators_per_item == 2


def test_cost_projection_formula() -> None:
    p = project(3600, seconds_per_item=10.0, annotators_per_item=2, hourly_rate=20.0, annotators=5)
    assert p.annotator_hours == 20.0 and p.cost == 400.0 and p.cost_per_item == pytest.approx(0.1111, abs=1e-4)
    assert p.working_days == round(20 / (5 * 6), 2)
    assert project(10, seconds_per_item=5, annotators_per_item=1, hourly_rate=None).cost is None


def test_active_queue_puts_the_uncertain_items_first(stores) -> None:
    store, data = stores
    store.add_user("bob", "long enough")
    task = create_task(store, data, name="pilot", annotators_per_item=1)
    bob = store.user("bob").id
    for _ in range(12):  # label some of every class so a model can be fitted
        item = store.next_item(task.id, bob)
        store.annotate(item.id, bob, item.given_label)
    suggestions = queue_active(store, task, 3)
    assert suggestions.used == "margin" and len(suggestions.items) == 3
    assert store.next_item(task.id, bob).position == suggestions.items[0].index


def test_finish_makes_a_child_version_with_the_final_labels(stores) -> None:
    store, data = stores
    store.add_user("bob", "long enough")
    task = create_task(store, data, name="pilot", items=5, annotators_per_item=1)
    first = store.items(task.id)[0]
    store.import_annotations(
        task.id, [(first.position, "bob", "delivery" if first.given_label != "delivery" else "refund")]
    )
    result = finish_task(store, data, task)
    assert result.created and result.manifest.parent == task.data_version
    frame = data.table(result.manifest).to_pandas()
    assert frame.loc[int(first.row_key), "label"] != first.given_label
    assert len(frame) == data.get(task.data_version).rows


def test_label_studio_and_csv_round_trip(stores, tmp_path: Path) -> None:
    store, data = stores
    store.add_user("bob", "long enough")
    task = create_task(store, data, name="pilot", items=4, annotators_per_item=1)
    _annotate_all(store, task.id, "bob", lambda item: item.given_label)
    exported = export_label_studio(store, task)
    assert exported[0]["annotations"][0]["result"][0]["value"]["choices"] == [store.items(task.id)[0].given_label]
    (tmp_path / "ls.json").write_text(json.dumps(exported), encoding="utf-8")
    (tmp_path / "a.csv").write_text(export_csv(store, task), encoding="utf-8")
    copy = create_task(store, data, name="copy", items=4, annotators_per_item=1)  # same seed: the same rows
    assert import_annotations(store, copy, read_annotations(tmp_path / "ls.json")) == 4
    third = create_task(store, data, name="third", items=4, annotators_per_item=1)
    assert import_annotations(store, third, read_annotations(tmp_path / "a.csv")) == 4
    labels = lambda t: sorted(a.label for a in store.annotations(t.id))  # noqa: E731
    assert labels(copy) == labels(task) == labels(third)


def test_a_bad_import_names_the_row_and_stores_nothing(stores, tmp_path: Path) -> None:
    store, data = stores
    task = create_task(store, data, name="pilot", items=4, annotators_per_item=1)
    items = store.items(task.id)
    path = tmp_path / "bad.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["item", "annotator", "label"])
        writer.writerow([items[0].position, "bob", "refund"])
        writer.writerow(["three", "bob", "refund"])
    with pytest.raises(DataError, match="line 3: item 'three' is not a whole number"):
        read_annotations(path)
    path.write_text(f"item,annotator,label\n{items[0].position},bob,refund\n{items[1].position},bob,weather\n")
    with pytest.raises(TailorError, match=r"outside the schema, e\.g\. 'weather'"):
        import_annotations(store, task, read_annotations(path))
    (tmp_path / "bad.json").write_text('[{"data": {"text": 1}}]')
    with pytest.raises(DataError, match=r"data\.text is missing"):
        read_annotations(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text('[{"data": ')
    with pytest.raises(DataError, match="not valid JSON"):
        read_annotations(tmp_path / "broken.json")
    assert store.annotations(task.id) == []


def test_cli_pilot_from_accounts_to_a_new_version(project_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project_home.parent
    monkeypatch.chdir(folder)
    monkeypatch.setenv("TAILOR_LABEL_PASSWORD", "long enough")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run("label", "users", "add", "bob")
    run("label", "users", "add", "cy", "--role", "reviewer")
    created = json.loads(run("--json", "label", "create", "pilot", "--items", "6", "--member", "bob"))
    assert created["items"] == 6 and len(created["labels"]) == 3
    store = open_store(project_home)
    task = store.task("pilot")
    _annotate_all(store, task.id, "bob", lambda item: item.given_label)
    _annotate_all(store, task.id, "cy", lambda item: item.given_label)
    report = json.loads(run("--json", "label", "report", "pilot", "--rate", "25"))
    assert report["agreement"]["pairwise"]["mean"] == 1.0
    assert (project_home / "labeling" / "pilot.json").is_file()
    assert "Krippendorff" in run("label", "report", "pilot")
    run("label", "export", "pilot", str(folder / "out.json"))
    assert json.loads((folder / "out.json").read_text())[0]["data"]["tailor_item"] == 0
    finished = json.loads(run("--json", "label", "finish", "pilot"))
    assert finished["created"] is False  # the annotators agreed with every given label: same content
    bad = runner.invoke(cli, ["label", "next", "pilot", "--strategy", "guess"])
    assert bad.exit_code == 1 and "use one of: margin" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(cli, ["label", "report", "nope"])
    assert missing.exit_code == 4 and "tailor label tasks" in missing.output
