"""A data version's rows as the train, validation and test sides of one recorded split."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from tailorml.data.split import SPLIT_NAMES
from tailorml.data.versions import DataStore, Manifest, SplitRecord
from tailorml.errors import DataError, NotFoundError

__all__ = ["Dataset", "Side", "ensure_trainable", "load_dataset"]


@dataclass(frozen=True)
class Side:
    """Inputs, labels and group columns of one side of the split."""

    texts: np.ndarray  # object array of str
    labels: np.ndarray  # object array of str
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> Side:
        return Side(self.texts[index], self.labels[index], {k: v[index] for k, v in self.groups.items()})


@dataclass(frozen=True)
class Dataset:
    """The sides every candidate trains and is judged on."""

    version: Manifest
    split: SplitRecord
    train: Side
    validation: Side
    test: Side

    @property
    def all_labeled(self) -> Side:
        """Train, validation and test together (for cross-validation on small data)."""
        parts = (self.train, self.validation, self.test)
        return Side(
            np.concatenate([p.texts for p in parts]),
            np.concatenate([p.labels for p in parts]),
            {k: np.concatenate([p.groups[k] for p in parts]) for k in self.train.groups},
        )


def ensure_trainable(manifest: Manifest) -> None:
    """Raise DataError when the version's checks found errors and nobody overrode them."""
    checks = manifest.checks or {}
    failing = [name for name, c in checks.get("checks", {}).items() if c["status"] == "error"]
    if failing and manifest.override is None:
        raise DataError(
            f"data version {manifest.id} has check errors: {', '.join(failing)}",
            hint="fix the data and import it again, or import with --allow-errors REASON to train anyway "
            "(the reason is recorded with the version)",
        )


def load_dataset(
    store: DataStore,
    manifest: Manifest,
    *,
    split_key: str | None = None,
    group_columns: list[str] | tuple[str, ...] = (),
) -> Dataset:
    """Load a version's rows and cut them by a recorded split (the newest when not named)."""
    if not manifest.splits:
        raise NotFoundError(f"data version {manifest.id} has no recorded split", hint="import it again")
    record = manifest.splits[split_key] if split_key else list(manifest.splits.values())[-1]
    table = store.table(manifest)
    codes = store.split_codes(manifest, record)
    whole = _side(table, manifest.input, manifest.target, group_columns)
    sides = {name: whole.subset(np.flatnonzero(codes == i)) for i, name in enumerate(SPLIT_NAMES)}
    for side, version in (("test", record.test_version), ("validation", record.validation_version)):
        if version:
            sides[side] = _side(store.table(store.get(version)), manifest.input, manifest.target, group_columns)
    if len(sides["test"]) == 0:
        raise DataError(f"split {record.key} of {manifest.id} has no test rows", hint="set data.split.test > 0")
    return Dataset(manifest, record, sides["train"], sides["validation"], sides["test"])


def _side(table: pa.Table, input: str, target: str, group_columns: list[str] | tuple[str, ...]) -> Side:
    missing = [c for c in (input, target, *group_columns) if c not in table.column_names]
    if missing:
        raise DataError(
            f"the data version has no columns {missing}",
            hint=f"columns are: {', '.join(table.column_names)}; check task.groups",
        )

    def strings(column: str) -> np.ndarray:
        values = table[column].cast(pa.string()).fill_null("")
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)

    return Side(strings(input), strings(target), {c: strings(c) for c in group_columns})
