"""Content-addressed data versions: a Parquet snapshot plus a JSON manifest per version.

A version's id is a hash of its content (column names, types and values, in order), so
importing the same rows twice — from the same file or from a CSV and a Parquet export of
it — gives the same id and stores nothing new. A version is written to a temporary folder
and renamed into place in one step, so a failed or interrupted import leaves nothing
half-written. Only the manifest's bookkeeping (checks, splits, override) ever changes
after that, and it is replaced atomically too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

from tailorml.data._text import as_string_array, string_buffers
from tailorml.data.checks import CheckSettings, DataReport, TextAnalysis, analyze
from tailorml.data.privacy import apply_privacy
from tailorml.data.split import SPLIT_NAMES, stratified_group_split
from tailorml.errors import DataError, NotFoundError

__all__ = ["DataStore", "DiffResult", "ImportResult", "Manifest", "SplitRecord"]

OnStep = Callable[[str], None]
ID_LENGTH = 12


class ColumnInfo(BaseModel):
    name: str
    type: str


class Source(BaseModel):
    path: str = Field(description="the file imported, as given")
    format: str
    bytes: int
    encoding: str | None = None


class Override(BaseModel):
    reason: str = Field(description="why training may go ahead despite data errors")
    errors: list[str] = Field(description="the checks that failed when the override was made")
    at: str


class SplitRecord(BaseModel):
    """One stratified split of a version: which row goes where, and how it was chosen."""

    key: str
    seed: int
    validation: float
    test: float
    test_version: str | None = Field(None, description="the version used as test set instead of a split")
    validation_version: str | None = Field(None, description="the version used as validation set instead of a split")
    counts: dict[str, int]
    file: str


class Manifest(BaseModel):
    """What a data version is, where it came from, and what its checks found."""

    id: str
    name: str
    created_at: str
    source: Source
    rows: int
    columns: list[ColumnInfo]
    input: str
    target: str
    parent: str | None = None
    transforms: list[str] = Field(default_factory=list)
    checks: dict[str, Any] | None = None
    override: Override | None = None
    splits: dict[str, SplitRecord] = Field(default_factory=dict)
    tailorml_version: str


class ImportResult(BaseModel):
    manifest: Manifest
    report: DataReport
    created: bool = Field(description="False when the same content was already stored")


class DiffResult(BaseModel):
    """How version ``b`` differs from version ``a``, keyed by input text."""

    a: str
    b: str
    rows_a: int
    rows_b: int
    added: int
    removed: int
    relabeled: int
    columns_added: list[str]
    columns_removed: list[str]
    examples: dict[str, list[dict[str, Any]]]


class DataStore:
    """The data versions of one project, under ``<project>/.tailor/data``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- reading -------------------------------------------------------------------------

    def versions(self) -> list[Manifest]:
        """Every stored version, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            manifest = folder / "manifest.json"
            if folder.name.startswith(".") or not manifest.is_file():
                continue
            found.append(Manifest.model_validate_json(manifest.read_text(encoding="utf-8")))
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def get(self, version: str | None = None) -> Manifest:
        """The version with this id (or unique id prefix); the newest when ``version`` is None."""
        versions = self.versions()
        if not versions:
            raise NotFoundError(
                f"no data versions in {self.root}",
                hint="import data first: tailor data import FILE",
            )
        if version is None or version == "latest":
            return versions[-1]
        matches = [m for m in versions if m.id.startswith(version)]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(m.id for m in versions[-5:])
        if not matches:
            raise NotFoundError(
                f"no data version {version!r}", hint=f"newest versions: {known} (see tailor data versions)"
            )
        raise NotFoundError(f"{version!r} matches {len(matches)} versions", hint="give more characters of the id")

    def table(self, version: str | Manifest) -> pa.Table:
        """The rows of a version."""
        import pyarrow.parquet as pq

        manifest = version if isinstance(version, Manifest) else self.get(version)
        return pq.read_table(self.root / manifest.id / "data.parquet")

    def split_codes(self, manifest: Manifest, record: SplitRecord) -> np.ndarray:
        """Per-row split codes (indexing ``SPLIT_NAMES``) of a recorded split."""
        return np.load(self.root / manifest.id / record.file, allow_pickle=False)

    # -- writing -------------------------------------------------------------------------

    def import_table(
        self,
        table: pa.Table,
        *,
        source: Source,
        name: str,
        input: str,
        target: str,
        settings: CheckSettings | None = None,
        split_seed: int = 7,
        test_version: str | None = None,
        validation_version: str | None = None,
        redact_pii: list[str] | tuple[str, ...] = (),
        drop_columns: list[str] | tuple[str, ...] = (),
        allow_errors: str | None = None,
        fixed_split: tuple[str, np.ndarray] | None = None,
        on_step: OnStep | None = None,
    ) -> ImportResult:
        """Check, split and store a table as a version; return its manifest and data report.

        Parameters
        ----------
        table:
            The rows, as read by :func:`tailorml.data.io.read_table`.
        source, name:
            Where the rows came from, and the data set's name (versions of one name form a
            lineage: each new one records the previous as its parent).
        input, target:
            The input and label columns.
        settings:
            Thresholds of the checks and split fractions.
        test_version:
            A stored version to use as the test set: the split then has no test side, and
            the checks look for leakage between the two.
        validation_version:
            A stored version to use as the validation set: the split then has no validation side.
        redact_pii, drop_columns:
            Personal data replaced in every text column, and columns removed, before the
            content is hashed or anything is written.
        allow_errors:
            A reason recorded in the manifest that lets training go ahead despite errors.
        fixed_split:
            ``(key, codes)``: record this split (codes index ``SPLIT_NAMES``, one per row) instead
            of drawing one; retraining uses it to keep the champion's test rows as the test set.
        on_step:
            Called with the name of each step as it starts (for progress display).
        """
        settings = settings or CheckSettings()
        step = on_step or (lambda _name: None)
        table, transforms = apply_privacy(
            table, input=input, target=target, redact_pii=redact_pii, drop_columns=drop_columns, on_step=step
        )
        step("hashing content")
        version_id = content_id(table)
        test_table = self.table(test_version) if test_version else None
        step("checking data")
        report, analysis = analyze(table, input=input, target=target, test=test_table, settings=settings)
        report = _note_redaction(report, transforms)
        step("splitting")
        if fixed_split is None:
            codes, record = _make_split(table[target], analysis, settings, split_seed, test_version, validation_version)
        else:
            codes, record = _fixed_split(*fixed_split, seed=split_seed, validation_version=validation_version)
        existing = self._find(version_id)
        if existing is not None:
            manifest = self._record(existing, report, record, codes, allow_errors)
            return ImportResult(manifest=manifest, report=report, created=False)
        parents = [m for m in self.versions() if m.name == name]
        manifest = Manifest(
            id=version_id,
            name=name,
            created_at=_now(),
            source=source,
            rows=table.num_rows,
            columns=[ColumnInfo(name=f.name, type=str(f.type)) for f in table.schema],
            input=input,
            target=target,
            parent=parents[-1].id if parents else None,
            transforms=transforms,
            tailorml_version=_version(),
        )
        manifest = _with_checks(manifest, report, record, allow_errors)
        step("writing snapshot")
        self._write_new(manifest, table, record, codes)
        return ImportResult(manifest=self.get(version_id), report=report, created=True)

    def record_checks(self, manifest: Manifest, report: DataReport, allow_errors: str | None = None) -> Manifest:
        """Store the result of re-running the checks on a version."""
        return self._record(manifest, report, None, None, allow_errors)

    def diff(self, a: str, b: str) -> DiffResult:
        """Rows added, removed and relabeled from version ``a`` to version ``b``."""
        import pandas as pd

        ma, mb = self.get(a), self.get(b)
        ta, tb = self.table(ma), self.table(mb)
        for manifest, table in ((mb, tb),):
            if ma.input not in table.column_names or ma.target not in table.column_names:
                raise DataError(
                    f"version {manifest.id} has no columns {ma.input!r} and {ma.target!r} to compare",
                    hint="diff versions of the same data set",
                )
        fa = pd.DataFrame({"text": ta[ma.input].to_pandas(), "label": ta[ma.target].to_pandas()})
        fb = pd.DataFrame({"text": tb[ma.input].to_pandas(), "label": tb[ma.target].to_pandas()})
        labels_a = _label_sets(fa)
        labels_b = _label_sets(fb)
        in_a = fa["text"].isin(labels_b.index)
        in_b = fb["text"].isin(labels_a.index)
        common = labels_a.index.intersection(labels_b.index)
        changed = common[labels_a.loc[common].to_numpy() != labels_b.loc[common].to_numpy()]
        relabeled = fb[fb["text"].isin(changed)]
        cols_a, cols_b = set(ta.column_names), set(tb.column_names)

        def rows(frame: pd.DataFrame, old: pd.Series | None = None) -> list[dict[str, Any]]:
            out = []
            for text, label in frame.head(5).itertuples(index=False):
                row: dict[str, Any] = {"text": text, "label": label}
                if old is not None:
                    row["was"] = old.loc[text]
                out.append(row)
            return out

        return DiffResult(
            a=ma.id,
            b=mb.id,
            rows_a=len(fa),
            rows_b=len(fb),
            added=int((~in_b).sum()),
            removed=int((~in_a).sum()),
            relabeled=len(relabeled),
            columns_added=sorted(cols_b - cols_a),
            columns_removed=sorted(cols_a - cols_b),
            examples={
                "added": rows(fb[~in_b]),
                "removed": rows(fa[~in_a]),
                "relabeled": rows(relabeled, labels_a),
            },
        )

    # -- internals -----------------------------------------------------------------------

    def _find(self, version_id: str) -> Manifest | None:
        path = self.root / version_id / "manifest.json"
        if not path.is_file():
            return None
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))

    def _write_new(self, manifest: Manifest, table: pa.Table, record: SplitRecord, codes: np.ndarray) -> None:
        import pyarrow.parquet as pq

        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=self.root))
        try:
            pq.write_table(table, tmp / "data.parquet", compression="zstd", compression_level=1)
            (tmp / "splits").mkdir()
            np.save(tmp / record.file, codes, allow_pickle=False)
            _write_json(tmp / "manifest.json", manifest.model_dump(mode="json"))
            try:
                os.rename(tmp, self.root / manifest.id)
            except OSError:
                if not (self.root / manifest.id / "manifest.json").is_file():
                    raise
                # Another import stored the same content first: same id, same rows.
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _record(
        self,
        manifest: Manifest,
        report: DataReport,
        record: SplitRecord | None,
        codes: np.ndarray | None,
        allow_errors: str | None,
    ) -> Manifest:
        folder = self.root / manifest.id
        if record is not None and codes is not None and record.key not in manifest.splits:
            (folder / "splits").mkdir(exist_ok=True)
            _atomic_save(folder / record.file, codes)
        updated = _with_checks(manifest, report, record, allow_errors)
        _write_json(folder / "manifest.json", updated.model_dump(mode="json"))
        return updated


def _label_sets(frame: pd.DataFrame) -> pd.Series:
    """Per distinct text, its distinct labels joined in sorted order ('a, b')."""
    pairs = frame.astype(str).drop_duplicates().sort_values(["text", "label"])
    return pairs.groupby("text", sort=False)["label"].agg(", ".join)


def content_id(table: pa.Table) -> str:
    """Hash of column names, types and values, in order; the same rows give the same id."""
    digest = hashlib.sha256()
    digest.update(str(table.num_rows).encode())
    for field, column in zip(table.schema, table.columns, strict=True):
        digest.update(f"\0{field.name}\0".encode())
        for chunk in _hashable_parts(column):
            digest.update(chunk)
    return digest.hexdigest()[:ID_LENGTH]


def _hashable_parts(column: pa.ChunkedArray) -> Iterator[bytes]:
    import pyarrow.compute as pc

    if column.null_count:
        yield b"nulls"
        yield np.packbits(np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)).tobytes()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        yield b"str"
        offsets, data = string_buffers(as_string_array(pc.fill_null(column, "")))
        yield np.diff(offsets).astype(np.int64).tobytes()
        yield data.tobytes()
    else:
        yield str(column.type).encode()
        arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        try:
            values = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = None
        if values is not None and values.dtype != object:
            yield values.tobytes()
        else:
            yield json.dumps(arr.to_pylist(), default=str).encode()


def _make_split(
    labels: pa.ChunkedArray,
    analysis: TextAnalysis,
    settings: CheckSettings,
    seed: int,
    test_version: str | None,
    validation_version: str | None = None,
) -> tuple[np.ndarray, SplitRecord]:
    test = 0.0 if test_version else settings.test
    validation = 0.0 if validation_version else settings.validation
    label_values = np.asarray(as_string_array(labels.cast(pa.string())).to_numpy(zero_copy_only=False))
    codes = stratified_group_split(
        label_values,
        analysis.groups[: analysis.n_train],
        validation=validation,
        test=test,
        seed=seed,
    )
    key = (
        f"seed{seed}-val{validation:g}-test{test:g}"
        + (f"-{test_version}" if test_version else "")
        + (f"-val-{validation_version}" if validation_version else "")
    )
    counts = np.bincount(codes, minlength=3)
    record = SplitRecord(
        key=key,
        seed=seed,
        validation=validation,
        test=test,
        test_version=test_version,
        validation_version=validation_version,
        counts={name: int(c) for name, c in zip(SPLIT_NAMES, counts, strict=True)},
        file=f"splits/{key}.npy",
    )
    return codes, record


def _note_redaction(report: DataReport, transforms: list[str]) -> DataReport:
    """Say in the PII check that personal data was replaced before the check saw the rows."""
    done = [t for t in transforms if t.startswith("redact_pii")]
    if not done:
        return report
    checks = [
        c.model_copy(update={"message": f"{c.message} after redaction; {done[0]}"}) if c.name == "pii" else c
        for c in report.checks
    ]
    return report.model_copy(update={"checks": checks})


def _fixed_split(
    key: str, codes: np.ndarray, *, seed: int, validation_version: str | None = None
) -> tuple[np.ndarray, SplitRecord]:
    codes = np.asarray(codes, dtype=np.int8)
    counts = np.bincount(codes, minlength=3)
    n = max(len(codes), 1)
    record = SplitRecord(
        key=key,
        seed=seed,
        validation=float(counts[1] / n),
        test=float(counts[2] / n),
        validation_version=validation_version,
        counts={name: int(c) for name, c in zip(SPLIT_NAMES, counts, strict=True)},
        file=f"splits/{key}.npy",
    )
    return codes, record


def _with_checks(
    manifest: Manifest, report: DataReport, record: SplitRecord | None, allow_errors: str | None
) -> Manifest:
    update: dict[str, Any] = {"checks": report.summary()}
    if record is not None:
        update["splits"] = {**manifest.splits, record.key: record}
    if allow_errors:
        update["override"] = Override(reason=allow_errors, errors=[c.name for c in report.errors], at=_now())
    return manifest.model_copy(update=update)


def _write_json(path: Path, payload: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _atomic_save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp.npy")
    np.save(tmp, array, allow_pickle=False)
    os.replace(tmp, path)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _version() -> str:
    from tailorml import __version__

    return __version__
