"""The ``tailor`` command, driven in-process with Typer's CliRunner."""

from __future__ import annotations

import csv
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tailorml.cli import app
from tailorml.data.io import read_table, write_frame
from tailorml.data.synth import synthesize
from tailorml.data.versions import DataStore
from tailorml.errors import TailorError, error_body
from tailorml.project import Project
from tailorml.spec import load_spec

# A wide terminal so Rich never wraps a message or a table cell; no colour codes.
RUNNER = CliRunner(env={"COLUMNS": "1000", "NO_COLOR": "1", "FORCE_COLOR": None, "TAILOR_HOME": None})


def tailor(*args: Any) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


def example_text(name: str) -> str:
    return resources.files("tailorml").joinpath("examples", f"{name}.yaml").read_text(encoding="utf-8")


def write_spec(path: Path, **overrides: Any) -> Path:
    spec: dict[str, Any] = {
        "project": "shop",
        "task": {"input": "text", "target": "label"},
        "data": {"train": "train.csv"},
        "objectives": {"accuracy": {"min": 0.9}},
    }
    spec.update(overrides)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def raised(fn: Any, *args: Any) -> TailorError:
    with pytest.raises(TailorError) as exc:
        fn(*args)
    return exc.value


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TAILOR_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_help_lists_the_commands() -> None:
    result = tailor("--help")
    assert result.exit_code == 0
    for command in ("init", "check", "demo", "data"):
        assert re.search(rf"^\s+{command}\s+\S", result.output, re.MULTILINE), command


def test_global_options_after_the_command(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "elsewhere.yaml", objectives={"acuracy": {"min": 0.9}})
    before = tailor("--json", "--spec", spec, "check")
    after = tailor("check", "--spec", spec, "--json")
    assert after.exit_code == before.exit_code == 2
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert "objectives.acuracy" in json.loads(after.stdout)["error"]["message"]


# -- init ------------------------------------------------------------------------------


def test_init_writes_the_default_spec(tmp_path: Path) -> None:
    result = tailor("init")
    assert result.exit_code == 0, result.output
    assert "wrote tailor.yaml" in result.output
    assert (tmp_path / "tailor.yaml").read_text(encoding="utf-8") == example_text("default")
    assert load_spec(tmp_path / "tailor.yaml").project == "my-project"


def test_init_writes_an_example_where_spec_points(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "cs.yaml"
    result = tailor("--spec", target, "init", "--example", "customer-service")
    assert result.exit_code == 0, result.output
    assert "(example: customer-service)" in result.output
    spec = load_spec(target)
    assert spec.project == "customer-service"
    assert spec.task.out_of_scope == "oos"
    assert not (tmp_path / "tailor.yaml").exists()


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    spec = tmp_path / "tailor.yaml"
    spec.write_text("project: mine\n", encoding="utf-8")

    refused = tailor("init")
    assert refused.exit_code == 2
    assert "tailor.yaml already exists" in refused.output
    assert "--force" in refused.output
    assert spec.read_text(encoding="utf-8") == "project: mine\n"

    forced = tailor("init", "--force")
    assert forced.exit_code == 0
    assert spec.read_text(encoding="utf-8") == example_text("default")


def test_init_rejects_an_unknown_example(tmp_path: Path) -> None:
    result = tailor("init", "--example", "nope")
    assert result.exit_code == 2
    assert "unknown example 'nope'" in result.output
    assert "customer-service" in result.output
    assert not (tmp_path / "tailor.yaml").exists()


# -- data synth ------------------------------------------------------------------------


def test_data_synth_writes_rows_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "data" / "x.csv"
    result = tailor("data", "synth", "--out", "data/x.csv", "--rows", 300)
    assert result.exit_code == 0, result.output
    assert "wrote data/x.csv: 300 rows" in result.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["text", "label", "channel"]
    assert len(rows) == 301
    written = out.read_bytes()

    refused = tailor("data", "synth", "--out", "data/x.csv", "--rows", 300, "--seed", 5)
    assert refused.exit_code == 3
    assert "data/x.csv already exists" in refused.output
    assert "--force" in refused.output
    assert out.read_bytes() == written

    forced = tailor("data", "synth", "--out", "data/x.csv", "--rows", 300, "--seed", 5, "--force")
    assert forced.exit_code == 0
    assert out.read_bytes() != written


# -- check -----------------------------------------------------------------------------


def test_check_a_ready_project() -> None:
    assert tailor("init", "--example", "customer-service").exit_code == 0
    assert tailor("data", "synth", "--rows", 300).exit_code == 0

    result = tailor("check")
    assert result.exit_code == 0, result.output
    assert "valid (project customer-service" in result.output
    assert "ready to train" in result.output

    as_json = tailor("--json", "check")
    assert as_json.exit_code == 0
    payload = json.loads(as_json.stdout)
    assert payload["project"] == "customer-service"
    assert payload["report"]["rows"] == 300
    assert payload["report"]["input"] == "text"
    assert sum(payload["split"].values()) == 300
    assert not list(Path(".tailor").glob("data/*"))  # check stores nothing


def test_check_reports_spec_errors_by_key_path(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "tailor.yaml", objectives={"acuracy": {"min": 0.9}})
    result = tailor("--spec", spec, "check")
    assert result.exit_code == 2
    assert "objectives.acuracy" in result.output
    assert "Did you mean 'accuracy'" in result.output
    assert "Traceback" not in result.output


def test_check_exits_3_on_conflicting_labels(tmp_path: Path) -> None:
    frame = synthesize(300, seed=0)
    first = frame.iloc[0]
    other = next(label for label in frame["label"].unique() if label != first["label"])
    conflict = pd.DataFrame({"text": [first["text"]], "label": [other], "channel": ["chat"]})
    write_frame(pd.concat([frame, conflict], ignore_index=True), tmp_path / "train.csv")
    spec = write_spec(tmp_path / "tailor.yaml")

    result = tailor("--spec", spec, "check")
    assert result.exit_code == 3
    assert re.search(r"conflicting_labels\W+error\W+2\b", result.output), result.output
    assert "training is blocked" in result.output
    assert "ready to train" not in result.output

    as_json = tailor("--json", "--spec", spec, "check")
    assert as_json.exit_code == 3
    checks = {c["name"]: c for c in json.loads(as_json.stdout)["report"]["checks"]}
    assert (checks["conflicting_labels"]["status"], checks["conflicting_labels"]["count"]) == ("error", 2)


def test_check_previews_the_split_that_import_stores() -> None:
    # Redaction changes near-duplicate groups, so check must redact as import does.
    assert tailor("init", "--example", "customer-service").exit_code == 0  # redact_pii: true
    assert tailor("data", "synth", "--rows", 300).exit_code == 0

    preview = json.loads(tailor("--json", "check").stdout)["split"]
    (imported,) = json.loads(tailor("--json", "data", "import").stdout)
    (stored,) = imported["manifest"]["splits"].values()
    assert preview == stored["counts"]


# -- data import / versions / show / diff / check ---------------------------------------


def two_versions(folder: Path) -> tuple[str, str]:
    """Import tickets.csv, then a changed copy (2 rows removed, 4 relabeled, 3 added)."""
    frame = synthesize(300, seed=1)
    write_frame(frame, folder / "tickets.csv")
    first = tailor("data", "import", "tickets.csv")
    assert first.exit_code == 0, first.output
    match = re.search(r"imported (\w{12}) \(tickets, 300 rows\) from tickets\.csv", first.output)
    assert match, first.output

    changed = frame.iloc[2:].copy()
    for i in range(4):
        label = changed["label"].iat[i]
        changed.iat[i, 1] = "store_hours" if label != "store_hours" else "oos"
    added = pd.DataFrame({"text": ["zebra quartz one", "violet kettle two", "amber lantern three"]})
    added["label"], added["channel"] = "oos", "chat"
    write_frame(pd.concat([changed, added], ignore_index=True), folder / "tickets.csv")
    second = tailor("--json", "data", "import", "tickets.csv")
    assert second.exit_code == 0, second.output
    (payload,) = json.loads(second.stdout)
    assert payload["created"] is True
    assert payload["manifest"]["parent"] == match.group(1)
    assert payload["manifest"]["rows"] == 301
    return match.group(1), payload["manifest"]["id"]


def test_data_versions_and_show(tmp_path: Path) -> None:
    v1, v2 = two_versions(tmp_path)

    listed = tailor("data", "versions")
    assert listed.exit_code == 0
    (line1,) = [line for line in listed.output.splitlines() if line.count(v1) == 1 and v2 not in line]
    (line2,) = [line for line in listed.output.splitlines() if v2 in line]
    assert re.search(r"\b300\b", line1) and "tickets.csv" in line1
    assert re.search(r"\b301\b", line2) and v1 in line2  # parent column
    assert [m["id"] for m in json.loads(tailor("--json", "data", "versions").stdout)] == [v1, v2]

    shown = tailor("data", "show", v1[:6])
    assert shown.exit_code == 0, shown.output
    assert f"Data version {v1}" in shown.output
    assert re.search(r"rows\W+300\b", shown.output)
    assert "split seed7-val0.1-test0.2" in shown.output
    as_json = json.loads(tailor("--json", "data", "show", v2[:6]).stdout)
    assert (as_json["id"], as_json["parent"], as_json["rows"]) == (v2, v1, 301)
    assert json.loads(tailor("--json", "data", "show").stdout)["id"] == v2  # latest by default


def test_data_diff_and_check(tmp_path: Path) -> None:
    v1, v2 = two_versions(tmp_path)

    diff = tailor("data", "diff", v1[:6], v2[:6])
    assert diff.exit_code == 0, diff.output
    assert f"Data diff {v1} → {v2}" in diff.output
    for kind, count in (("added", 3), ("removed", 2), ("relabeled", 4)):
        assert re.search(rf"\b{kind}\W+{count}\W", diff.output), kind
    assert "300 rows → 301 rows" in diff.output
    as_json = json.loads(tailor("--json", "data", "diff", v1, v2).stdout)
    assert (as_json["added"], as_json["removed"], as_json["relabeled"]) == (3, 2, 4)

    checked = tailor("data", "check", v1[:6])
    assert checked.exit_code == 0, checked.output
    assert f"Data checks of {v1} (300 rows" in checked.output
    report = json.loads(tailor("--json", "data", "check", v1).stdout)
    assert report["version"] == v1
    assert report["report"]["rows"] == 300
    stored = DataStore(Project.at(tmp_path).data_dir).get(v1)
    assert stored.checks is not None
    assert stored.checks["errors"] == 0


def test_data_check_exits_3_on_errors_and_records_an_override(tmp_path: Path) -> None:
    rows = "text,label\nwhere is my order,status\nwhere is my order,cancel\nstop it,cancel\ntrack it,status\n"
    (tmp_path / "c.csv").write_text(rows, encoding="utf-8")
    assert tailor("data", "import", "c.csv").exit_code == 0  # import stores it; checks gate training

    blocked = tailor("data", "check")
    assert blocked.exit_code == 3
    assert "is blocked by 2 errors" in blocked.output

    allowed = tailor("data", "check", "--allow-errors", "reviewed")
    assert allowed.exit_code == 0
    manifest = json.loads(tailor("--json", "data", "show").stdout)
    assert manifest["override"]["reason"] == "reviewed"
    assert "conflicting_labels" in manifest["override"]["errors"]


# -- errors ----------------------------------------------------------------------------


def _not_found(folder: Path) -> tuple[list[Any], TailorError]:
    return ["data", "show", "abc"], raised(DataStore(Project.at(folder).data_dir).get, "abc")


def _spec_error(folder: Path) -> tuple[list[Any], TailorError]:
    spec = write_spec(folder / "tailor.yaml", objectives={"acuracy": {"min": 0.9}})
    return ["check"], raised(load_spec, Path(spec.name))  # as the CLI names it: relative to the cwd


def _data_error(folder: Path) -> tuple[list[Any], TailorError]:
    (folder / "bad.csv").write_text("text,label\nhello,a\nbye,b,extra\n", encoding="utf-8")
    return ["data", "import", "bad.csv"], raised(read_table, Path("bad.csv"))


ERRORS = [
    pytest.param(_not_found, 4, "not_found", id="not-found"),
    pytest.param(_spec_error, 2, "spec_error", id="spec"),
    pytest.param(_data_error, 3, "data_error", id="data"),
]


@pytest.mark.parametrize(("make", "code", "kind"), ERRORS)
def test_json_errors_print_only_the_error_body(tmp_path: Path, make: Any, code: int, kind: str) -> None:
    args, expected = make(tmp_path)
    result = tailor("--json", *args)
    assert result.exit_code == code
    body = json.loads(result.stdout)
    assert body == error_body(expected)
    assert body["error"]["type"] == kind
    assert {"type", "message", "hint"} <= set(body["error"])
    assert result.stderr == ""


def test_json_not_found_body_has_exactly_type_message_hint(tmp_path: Path) -> None:
    body = json.loads(tailor("--json", "data", "show", "abc").stdout)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message", "hint"}
    assert "tailor data import" in body["error"]["hint"]


@pytest.mark.parametrize(("make", "code", "kind"), ERRORS)
def test_errors_print_message_and_fix_without_traceback(tmp_path: Path, make: Any, code: int, kind: str) -> None:
    args, expected = make(tmp_path)
    result = tailor(*args)
    assert result.exit_code == code
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"error: {expected.message.splitlines()[0]}" in result.output
    assert f"fix: {expected.hint}" in result.output


@pytest.mark.parametrize("name", ["missing [v2].csv", "missing [/x].csv"])
def test_error_messages_are_printed_literally(name: str) -> None:
    result = tailor("data", "import", name)
    assert result.exit_code == 4
    assert f"data file {name} does not exist" in result.output


def test_diff_prints_row_texts_literally(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text,label\nhello there,a\nbye now,b\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("text,label\nhello there,a\nbye now,b\nsee [/quote] here,b\n", encoding="utf-8")
    ids = []
    for name in ("a.csv", "b.csv"):
        (payload,) = json.loads(tailor("--json", "data", "import", name).stdout)
        ids.append(payload["manifest"]["id"])
    result = tailor("data", "diff", *ids)
    assert result.exit_code == 0
    assert "'see [/quote] here'" in result.output


def test_source_paths_are_printed_literally(tmp_path: Path) -> None:
    (tmp_path / "tickets [v2].csv").write_text("text,label\nhello there,a\nbye now,b\n", encoding="utf-8")
    imported = tailor("data", "import", "tickets [v2].csv")
    assert imported.exit_code == 0
    assert "from tickets [v2].csv" in imported.output
    assert "tickets [v2].csv" in tailor("data", "versions").output


# -- demo ------------------------------------------------------------------------------


def test_demo_creates_a_project_and_is_repeatable(tmp_path: Path) -> None:
    first = tailor("demo", "--dir", "D", "--rows", 300, "--data-only")
    assert first.exit_code == 0, first.output
    folder = tmp_path / "D"
    assert load_spec(folder / "tailor.yaml").project == "customer-service"
    assert len(pd.read_csv(folder / "data" / "customer_service.csv")) == 300
    (version,) = DataStore(folder / ".tailor" / "data").versions()
    assert version.rows == 300
    assert f"stored as new version {version.id}" in first.output

    again = tailor("demo", "--dir", "D", "--rows", 300, "--data-only")
    assert again.exit_code == 0, again.output
    assert f"already stored as version {version.id}" in again.output
    assert [m.id for m in DataStore(folder / ".tailor" / "data").versions()] == [version.id]


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me\n", encoding="utf-8")

    result = tailor("demo", "--dir", folder, "--rows", 300, "--data-only")
    assert result.exit_code != 0
    assert "not a tailorml demo folder" in result.output
    assert "--dir NEW_FOLDER" in result.output
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "keep me\n"
