"""``tailor check``: validate the spec and its data without training or storing anything."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from tailorml.data.checks import DataReport, analyze
from tailorml.data.importer import check_settings
from tailorml.data.io import read_table
from tailorml.data.privacy import apply_privacy
from tailorml.data.split import SPLIT_NAMES, stratified_group_split
from tailorml.spec import Spec

__all__ = ["ProjectCheck", "check_project"]


class ProjectCheck(BaseModel):
    """What ``tailor check`` found: the spec's essentials, the data report, the split."""

    project: str
    spec_hash: str
    task: str
    objectives: dict[str, str]
    train_file: str
    test_file: str | None
    columns: list[str]
    report: DataReport
    split: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.report.errors


def check_project(spec: Spec, *, on_step: Callable[[str], None] | None = None) -> ProjectCheck:
    """Read the spec's data, run every data check and preview the split.

    Raises DataError or NotFoundError when a file cannot be read or lacks a needed column.
    """
    step = on_step or (lambda _name: None)
    settings = check_settings(spec)
    train_path = spec.resolve(spec.data.train)
    step(f"reading {train_path.name}")
    train = _private(spec, read_table(train_path, encoding=spec.data.encoding), step)
    test = validation = None
    if spec.data.test:
        test_path = spec.resolve(spec.data.test)
        step(f"reading {test_path.name}")
        test = _private(spec, read_table(test_path, encoding=spec.data.encoding), step)
    if spec.data.validation:
        validation_path = spec.resolve(spec.data.validation)
        step(f"reading {validation_path.name}")
        validation = _private(spec, read_table(validation_path, encoding=spec.data.encoding), step)
    _require_columns(spec, train)
    step("checking data")
    report, analysis = analyze(train, input=spec.task.input, target=spec.task.target, test=test, settings=settings)
    labels = np.asarray(train[spec.task.target].cast(pa.string()).to_numpy(zero_copy_only=False))
    codes = stratified_group_split(
        labels,
        analysis.groups[: analysis.n_train],
        validation=settings.validation,
        test=settings.test,
        seed=spec.data.split.seed,
    )
    split = dict(zip(SPLIT_NAMES, map(int, np.bincount(codes, minlength=3)), strict=True))
    if test is not None:
        split["test"] = test.num_rows
    if validation is not None:
        split["validation"] = validation.num_rows
    return ProjectCheck(
        project=spec.project,
        spec_hash=spec.spec_hash(),
        task=spec.task.kind,
        objectives={
            name: f"{'>=' if o.min is not None else '<='} {o.min if o.min is not None else o.max:g}"
            for name, o in spec.objectives.items()
        },
        train_file=str(train_path),
        test_file=str(spec.resolve(spec.data.test)) if spec.data.test else None,
        columns=train.column_names,
        report=report,
        split=split,
    )


def _private(spec: Spec, table: pa.Table, on_step: Callable[[str], None]) -> pa.Table:
    """The table as an import would store it: named columns dropped, personal data redacted."""
    private, _ = apply_privacy(
        table,
        input=spec.task.input,
        target=spec.task.target,
        redact_pii=spec.privacy.redact_pii,
        drop_columns=spec.privacy.drop_columns,
        on_step=on_step,
    )
    return private


def _require_columns(spec: Spec, table: pa.Table) -> None:
    from tailorml.errors import DataError

    for column in spec.task.groups:
        if column not in table.column_names:
            raise DataError(
                f"task.groups names {column!r}, but the training data has no such column",
                hint=f"columns are: {', '.join(table.column_names)}",
            )
