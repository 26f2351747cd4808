"""Real benchmark data from ../shared/data: import and check run and find what is there.

Skipped when the folder is absent (it is never copied into the repository).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tailorml.data.checks import CheckSettings
from tailorml.data.importer import import_file
from tailorml.data.versions import DataStore

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = [
    pytest.mark.benchdata,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"benchmark data not found at {SHARED}"),
]


@pytest.mark.parametrize(
    ("name", "classes", "oos"),
    [("banking77", 77, None), ("clinc150", 151, "oos")],
)
def test_import_and_check_real_intent_data(tmp_path: Path, name: str, classes: int, oos: str | None) -> None:
    store = DataStore(tmp_path / "data")
    settings = CheckSettings(out_of_scope=oos)
    test = import_file(
        store,
        SHARED / name / "test.csv",
        input="text",
        target="label",
        name=f"{name}-test",
        settings=CheckSettings(validation=0.0, test=0.0),
    )
    train = import_file(
        store,
        SHARED / name / "train.csv",
        input="text",
        target="label",
        name=name,
        settings=settings,
        test_version=test.manifest.id,
    )
    report = train.report
    checks = {c.name: c for c in report.checks}
    assert len(report.classes) == classes
    assert report.rows == train.manifest.rows and report.test_rows == test.manifest.rows
    # Every check ran and reported a status; leakage between the official splits is looked for.
    assert {"exact_duplicates", "near_duplicates", "conflicting_labels", "leakage_exact", "pii"} <= set(checks)
    assert checks["empty_inputs"].status == "ok"
    split = next(iter(train.manifest.splits.values()))
    assert split.test_version == test.manifest.id and split.counts["test"] == 0
    if oos:
        assert checks["out_of_scope"].status == "ok"
    # Importing the same file again stores nothing new.
    again = import_file(
        store,
        SHARED / name / "train.csv",
        input="text",
        target="label",
        name=name,
        settings=settings,
        test_version=test.manifest.id,
    )
    assert again.created is False and again.manifest.id == train.manifest.id
