"""The spec is the only place user input is validated: every error names key, value and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tailorml.errors import SpecError
from tailorml.spec import load_spec, parse_spec

EXAMPLES = Path(__file__).parents[1] / "src" / "tailorml" / "examples"


def minimal(**extra: object) -> dict:
    spec = {"project": "demo", "task": {"input": "text", "target": "label"}, "data": {"train": "train.csv"}}
    spec.update(extra)
    return spec


def problems(data: dict) -> list[dict]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return info.value.details


def messages(data: dict) -> str:
    return "\n".join(f"{p['path']}: {p['message']}" for p in problems(data))


@pytest.mark.parametrize("name", ["default.yaml", "customer-service.yaml"])
def test_shipped_examples_are_valid(name: str) -> None:
    spec = load_spec(EXAMPLES / name)
    assert spec.task.kind == "text-classification"
    assert spec.root == EXAMPLES.resolve()


def test_defaults_fill_optional_sections() -> None:
    spec = parse_spec(minimal())
    assert spec.data.split.validation == 0.1 and spec.data.split.test == 0.2 and spec.data.split.seed == 7
    assert spec.hardware == "cpu-2" and spec.candidates == "auto" and spec.privacy.redact_pii == []


def test_percent_instead_of_fraction_suggests_the_fraction() -> None:
    text = messages(minimal(objectives={"accuracy": {"min": 95}}))
    assert "objectives.accuracy.min: must be in [0, 1]; got 95. Did you mean 0.95?" in text


def test_unknown_metric_suggests_the_closest_one() -> None:
    text = messages(minimal(objectives={"acuracy": {"min": 0.9}}))
    assert "unknown metric 'acuracy'. Did you mean 'accuracy'?" in text
    assert "latency_p95_ms" in text  # the known metrics are listed


def test_objective_in_the_wrong_direction_says_which_bound() -> None:
    text = messages(minimal(objectives={"latency_p95_ms": {"min": 10}, "macro_f1": {"max": 0.9}}))
    assert "latency_p95_ms is lower-is-better, so its objective is a `max`" in text
    assert "macro_f1: {min: 0.9}" in text


def test_objectives_that_cannot_be_met_by_definition() -> None:
    text = messages(minimal(objectives={"latency_p95_ms": {"max": 0}, "accuracy": {"min": 1.5}}))
    assert "objectives.latency_p95_ms.max" in text and "cannot be met" in text
    assert "objectives.accuracy.min: must be in [0, 1]; got 1.5." in text


def test_objective_needing_a_task_setting() -> None:
    text = messages(minimal(objectives={"oos_recall": {"min": 0.8}, "fairness_gap": {"max": 0.05}}))
    assert "oos_recall needs task.out_of_scope" in text
    assert "fairness_gap needs task.groups" in text
    ok = parse_spec(
        minimal(
            task={"input": "text", "target": "label", "out_of_scope": "oos", "groups": ["channel"]},
            objectives={"oos_recall": {"min": 0.8}, "fairness_gap": {"max": 0.05}},
        )
    )
    assert set(ok.objectives) == {"oos_recall", "fairness_gap"}


def test_unknown_key_lists_allowed_keys_and_the_closest() -> None:
    text = messages(minimal(task={"input": "text", "tagret": "label"}))
    assert "task.tagret: unknown key 'tagret' in task; allowed: kind, input, target" in text
    assert "Did you mean 'target'?" in text
    assert "task.target: is required" in text


def test_every_problem_is_reported_at_once_with_yaml_lines(tmp_path: Path) -> None:
    path = tmp_path / "tailor.yaml"
    path.write_text(
        "project: Demo Project\n"
        "task:\n"
        "  input: text\n"
        "  target: label\n"
        "data:\n"
        "  train: train.csv\n"
        "  split: {validation: 0.5, test: 0.45}\n"
        "candidates: tfidf\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    details = {p["path"]: p for p in info.value.details}
    assert details["project"]["line"] == 1 and "Did you mean 'demo-project'?" in details["project"]["message"]
    assert details["data.split"]["line"] == 7
    assert details["candidates"]["line"] == 8
    assert "3 problems" in info.value.message


def test_unknown_hardware_profile_suggests_one() -> None:
    text = messages(minimal(hardware="cpu2"))
    assert "unknown hardware profile 'cpu2'. Did you mean 'cpu-2'?" in text


def test_price_table_override_adds_profiles(tmp_path: Path) -> None:
    (tmp_path / "prices.yaml").write_text(
        "as_of: '2026-01'\nsource: my contract\nprofiles:\n"
        "  onprem: {instance: rack-1, vcpus: 16, memory_gb: 64, usd_per_hour: 0.5}\n"
    )
    spec = parse_spec(minimal(hardware="onprem", prices="prices.yaml"), root=tmp_path)
    assert spec.hardware == "onprem"
    assert "cannot read price table" in messages(minimal(prices="missing.yaml"))


def test_wrong_types_name_the_value() -> None:
    text = messages(minimal(task="text", data={"train": "t.csv", "split": {"validation": "abc"}}))
    assert "task: must be a mapping of keys; got 'text'" in text
    assert "data.split.validation" in text and "'abc'" in text


def test_other_fields_validated() -> None:
    text = messages(
        minimal(
            serving={"log": "mysql://db", "abstain": {}},
            privacy={"redact_pii": ["emial"]},
            task={"kind": "tabular-classification", "input": "a", "target": "b"},
        )
    )
    assert "serving.log: must be a database URL" in text
    assert "serving.abstain: set target_precision" in text
    assert "Did you mean 'email'?" in text
    assert "planned but not supported yet" in text
    assert "must differ" in messages(minimal(task={"input": "text", "target": "text"}))
    assert "empty list" in messages(minimal(candidates=[]))


def test_redact_pii_true_means_every_kind() -> None:
    spec = parse_spec(minimal(privacy={"redact_pii": True}))
    assert spec.privacy.redact_pii == ["email", "phone", "card", "iban"]


def test_not_a_mapping() -> None:
    with pytest.raises(SpecError, match="must be a mapping"):
        parse_spec(["project", "demo"])


def test_missing_file_points_to_init(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "tailor.yaml")
    assert "tailor init" in (info.value.hint or "")


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "tailor.yaml"
    path.write_text("project: demo\n" + "# padding\n" * 40_000)
    with pytest.raises(SpecError, match="at most"):
        load_spec(path)


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tailor.yaml"
    path.write_text("a: &x [1, 2]\nb: *x\n")
    with pytest.raises(SpecError, match="aliases are not allowed"):
        load_spec(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tailor.yaml"
    path.write_text("project: demo\ntask:\n  input: text\n target: label\n")
    with pytest.raises(SpecError, match="line 4"):
        load_spec(path)


def test_python_tags_are_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "tailor.yaml"
    path.write_text("project: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError):
        load_spec(path)


def test_relative_paths_resolve_against_the_spec_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "tailor.yaml"
    path.write_text(yaml.safe_dump(minimal()))
    spec = load_spec(path)
    assert spec.resolve(spec.data.train) == (tmp_path / "sub" / "train.csv").resolve()


def test_spec_hash_is_stable_and_sensitive() -> None:
    a, b = parse_spec(minimal()), parse_spec(minimal())
    assert a.spec_hash() == b.spec_hash()
    assert parse_spec(minimal(hardware="cpu-4")).spec_hash() != a.spec_hash()


def test_settings_reference_in_docs_is_generated_from_the_models() -> None:
    from tailorml._spec_docs import spec_reference

    docs = Path(__file__).parents[1] / "docs" / "spec.md"
    assert docs.read_text(encoding="utf-8") == spec_reference(), (
        "docs/spec.md is stale: python -m tailorml._spec_docs > docs/spec.md"
    )


def test_an_ensemble_may_list_more_than_two_candidates_but_not_one_or_a_repeat() -> None:
    base = {"project": "p", "task": {"input": "text", "target": "label"}, "data": {"train": "t.csv"}}
    three = ["tfidf-linear", "embedding-linear", "embedding-linear-mpnet"]
    assert parse_spec({**base, "candidates": three, "ensemble": three}).ensemble == three
    for bad in (["tfidf-linear"], ["tfidf-linear", "tfidf-linear"]):
        with pytest.raises(SpecError, match="two or more different candidates"):
            parse_spec({**base, "candidates": ["tfidf-linear", "embedding-linear"], "ensemble": bad})


def test_the_out_of_scope_threshold_rule_follows_the_objectives_it_can_serve() -> None:
    task = {"input": "text", "target": "label", "out_of_scope": "oos"}
    recall = {"oos_recall": {"min": 0.8}}
    floor = {"in_scope_accuracy": {"min": 0.96}}
    both = parse_spec(minimal(task=task, objectives={**recall, **floor}))
    assert both.oos_threshold_rule() == "keep_in_scope_accuracy"
    assert (both.oos_target_recall(), both.in_scope_floor()) == (0.8, 0.96)
    assert parse_spec(minimal(task=task, objectives=recall)).oos_threshold_rule() == "reach_recall"
    chosen = {"threshold_rule": "reach_recall", "min_in_scope_accuracy": 0.9}
    explicit = parse_spec(minimal(task=task, objectives={**recall, **floor}, out_of_scope_detection=chosen))
    assert explicit.oos_threshold_rule() == "reach_recall" and explicit.in_scope_floor() == 0.9
    no_floor = messages(
        minimal(task=task, objectives=recall, out_of_scope_detection={"threshold_rule": "keep_in_scope_accuracy"})
    )
    assert "needs a floor" in no_floor and "objectives.in_scope_accuracy.min" in no_floor
    no_recall = messages(minimal(task=task, out_of_scope_detection={"threshold_rule": "reach_recall"}))
    assert "needs a recall" in no_recall and "target_recall" in no_recall
    assert "less than 1" in messages(minimal(task=task, out_of_scope_detection={"expected_rate": 1.0}))
