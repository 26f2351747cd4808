"""Each data check fires on the problem it names, with a count and examples, and not otherwise."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tailorml.data.checks import CheckSettings, analyze
from tailorml.data.synth import synthesize
from tailorml.errors import DataError


def table(rows: list[tuple[str | None, str | None]]) -> pa.Table:
    texts, labels = zip(*rows, strict=True)
    return pa.table({"text": pa.array(texts, pa.string()), "label": pa.array(labels, pa.string())})


WORDS = (
    "apple river stone cloud ember violet harbor falcon meadow copper lantern quartz willow summit "
    "orchid tundra canyon marble velvet thunder glacier saffron pepper walnut cobalt"
).split()


def clean_rows(per_class: int = 12) -> list[tuple[str, str]]:
    """Distinct, unrelated sentences: no check should fire on them."""
    rng = np.random.default_rng(0)
    return [
        (" ".join(rng.choice(WORDS, size=10)), label)
        for label in ("billing", "shipping", "login")
        for _ in range(per_class)
    ]


def run(rows: list, **kw: object):
    report, _ = analyze(table(rows), input="text", target="label", **kw)  # type: ignore[arg-type]
    return {c.name: c for c in report.checks}, report


def test_clean_data_passes_every_check() -> None:
    checks, report = run(clean_rows())
    assert {name: c.status for name, c in checks.items() if c.status != "ok"} == {}
    assert report.errors == [] and report.rows == 36
    assert report.classes == {"billing": 12, "login": 12, "shipping": 12}


def test_empty_and_whitespace_inputs_are_errors() -> None:
    checks, _ = run([*clean_rows(), ("   ", "billing"), (None, "login"), ("", "shipping")])
    empty = checks["empty_inputs"]
    assert empty.status == "error" and empty.count == 3
    assert [e["row"] for e in empty.examples] == [36, 37, 38]


def test_missing_labels_are_errors() -> None:
    checks, _ = run([*clean_rows(), ("a question without label", None)])
    assert checks["missing_labels"].status == "error" and checks["missing_labels"].count == 1


def test_exact_and_near_duplicates() -> None:
    rows = [*clean_rows(), ("Reset my password please", "login"), ("Reset my password please", "login")]
    rows.append(("reset my password, please!", "login"))
    checks, _ = run(rows)
    assert checks["exact_duplicates"].count == 1 and checks["exact_duplicates"].status == "warning"
    near_rows = [e["row"] for e in checks["near_duplicates"].examples]
    assert 38 in near_rows and 37 not in near_rows  # the exact copy is not counted twice


def test_conflicting_labels_compare_normalized_text() -> None:
    rows = [*clean_rows(), ("Where is my refund?", "billing"), ("where is my refund", "shipping")]
    checks, report = run(rows)
    conflict = checks["conflicting_labels"]
    assert conflict.status == "error" and conflict.count == 2
    assert {e["label"] for e in conflict.examples} == {"billing", "shipping"}
    assert "1 input appears with different labels" in conflict.message
    assert report.errors


def test_small_classes_depend_on_the_split() -> None:
    rows = [*clean_rows(), ("rare one", "rare"), ("rare two", "rare"), ("rare three", "rare")]
    checks, _ = run(rows)
    assert checks["small_classes"].status == "error" and "rare (3)" in checks["small_classes"].message
    assert "fewer than 10 rows" in checks["small_classes"].message  # 1 / min(0.1, 0.2)
    checks, _ = run(rows, settings=CheckSettings(validation=0.0, test=0.0))
    assert checks["small_classes"].status == "ok"


def test_imbalance_ratio_warns_above_the_limit() -> None:
    rows = clean_rows(per_class=12) + [(f"extra billing {i}", "billing") for i in range(300)]
    checks, _ = run(rows, settings=CheckSettings(max_imbalance_ratio=10))
    assert checks["class_balance"].status == "warning"
    assert "26.0x" in checks["class_balance"].message
    checks, _ = run([(f"only {i}", "one") for i in range(20)])
    assert checks["class_balance"].status == "error"


def test_overlong_inputs() -> None:
    checks, _ = run([*clean_rows(), ("word " * 300, "billing")], settings=CheckSettings(max_input_chars=1000))
    assert checks["overlong_inputs"].count == 1 and "longest 1,500" in checks["overlong_inputs"].message


def test_pii_is_found_with_its_kind() -> None:
    rows = [*clean_rows(), ("mail me at jane.doe@example.com", "billing"), ("card 4111 1111 1111 1111", "billing")]
    checks, _ = run(rows)
    pii = checks["pii"]
    assert pii.status == "warning"
    assert "email in 1 rows" in pii.message and "card in 1 rows" in pii.message
    assert sorted(e["row"] for e in pii.examples) == [36, 37]


def test_out_of_scope_label_missing_is_a_warning() -> None:
    checks, _ = run(clean_rows(), settings=CheckSettings(out_of_scope="oos"))
    assert checks["out_of_scope"].status == "warning"


def test_leakage_and_unseen_test_labels() -> None:
    rows = clean_rows()
    train = table(rows)
    test = table(
        [
            (rows[3][0].upper() + "!", "billing"),  # the same text after normalization
            (rows[4][0] + " x", "billing"),  # nearly the same
            ("a brand new question about refunds", "refunds"),  # unseen label
        ]
    )
    report, analysis = analyze(train, input="text", target="label", test=test)
    checks = {c.name: c for c in report.checks}
    assert checks["leakage_exact"].status == "error" and checks["leakage_exact"].count == 1
    assert checks["leakage_near"].status == "warning" and checks["leakage_near"].examples[0]["test_row"] == 1
    assert checks["unseen_test_labels"].status == "error" and "refunds" in checks["unseen_test_labels"].message
    assert len(analysis.groups) == 39 and analysis.n_train == 36


def test_missing_column_names_the_spec_key() -> None:
    with pytest.raises(DataError) as info:
        analyze(table(clean_rows()), input="message", target="label")
    assert "'message' (task.input)" in info.value.message and "text" in (info.value.hint or "")


def test_synthetic_demo_data_has_no_errors() -> None:
    frame = synthesize(600, seed=2)
    report, _ = analyze(pa.Table.from_pandas(frame), input="text", target="label")
    assert report.errors == []
    assert len(report.classes) >= 15
