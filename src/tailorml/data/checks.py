"""Data checks: each finds one kind of problem and reports a severity, a count and examples.

``analyze`` runs every check over a training table (and a test table when there is one)
in one pass of text normalization and near-duplicate grouping; the split reuses the groups.
Errors block training until they are fixed or explicitly overridden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from tailorml.data._text import as_string_array, normalized_buffers, row_hashes, string_buffers
from tailorml.data.neardup import group_normalized
from tailorml.errors import DataError

__all__ = ["CheckResult", "CheckSettings", "DataReport", "TextAnalysis", "analyze"]

Status = Literal["ok", "info", "warning", "error"]
MAX_EXAMPLES = 5


class CheckResult(BaseModel):
    """The outcome of one check."""

    name: str = Field(description="stable identifier, e.g. 'conflicting_labels'")
    status: Status = Field(description="ok, or the severity of what was found")
    count: int = Field(description="rows affected (0 when ok)")
    message: str = Field(description="what was found, in one sentence")
    hint: str | None = Field(default=None, description="what to do about it")
    examples: list[dict[str, Any]] = Field(default_factory=list, description="a few affected rows")


class DataReport(BaseModel):
    """Everything the checks found in one data set (and its test set, if any)."""

    rows: int
    test_rows: int | None = None
    input: str
    target: str
    classes: dict[str, int] = Field(description="rows per label in training data, largest first")
    checks: list[CheckResult]

    @property
    def errors(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "warning"]

    def summary(self) -> dict[str, Any]:
        """The compact form stored in a version manifest."""
        return {
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "checks": {c.name: {"status": c.status, "count": c.count} for c in self.checks},
        }


@dataclass(frozen=True)
class CheckSettings:
    """Thresholds of the checks (from ``data.checks`` in tailor.yaml)."""

    max_input_chars: int = 1000
    near_duplicate_similarity: float = 0.8
    max_imbalance_ratio: float = 20.0
    min_rows_per_split: int = 1  # each class needs this many rows in every held-out split
    validation: float = 0.1
    test: float = 0.2
    out_of_scope: str | None = None


@dataclass
class TextAnalysis:
    """Per-row facts the checks and the split share: normalized-text hash and group id."""

    normalized_hash: np.ndarray
    groups: np.ndarray
    n_train: int


def analyze(
    train: pa.Table,
    *,
    input: str,
    target: str,
    test: pa.Table | None = None,
    settings: CheckSettings | None = None,
) -> tuple[DataReport, TextAnalysis]:
    """Run every check on ``train`` (and ``test``); return the report and the shared analysis.

    Raises DataError when ``input`` or ``target`` is not a column.
    """
    settings = settings or CheckSettings()
    for table, role in ((train, "training"), (test, "test")):
        if table is None:
            continue
        for column, key in ((input, "task.input"), (target, "task.target")):
            if column not in table.column_names:
                raise DataError(
                    f"the {role} data has no column {column!r} ({key})",
                    hint=f"set {key} to one of: {', '.join(table.column_names)}",
                )
    texts = _texts(train[input])
    labels = _labels(train[target])
    test_texts = _texts(test[input]) if test is not None else None
    test_labels = _labels(test[target]) if test is not None else None
    all_texts = pa.concat_arrays([texts, test_texts]) if test_texts is not None else texts

    offsets, data = normalized_buffers(all_texts)
    norm_hash = row_hashes(offsets, data)
    groups = group_normalized(offsets, data, exact=norm_hash, threshold=settings.near_duplicate_similarity)
    raw_offsets, raw_data = string_buffers(as_string_array(pc.fill_null(all_texts, "")))
    raw_hash = row_hashes(raw_offsets, raw_data)
    n = len(texts)
    ctx = _Context(texts, labels, norm_hash[:n], raw_hash[:n], groups[:n])
    counts = _class_counts(labels)
    checks = [
        _missing_labels(ctx),
        _empty_inputs(ctx, offsets[: n + 1]),
        _exact_duplicates(ctx),
        _near_duplicates(ctx),
        _conflicting_labels(ctx),
        _small_classes(counts, settings),
        _imbalance(counts, settings),
        _overlong(ctx, settings),
        _pii(ctx),
    ]
    if settings.out_of_scope is not None:
        checks.append(_out_of_scope_present(counts, settings.out_of_scope))
    if test_texts is not None and test_labels is not None:
        checks.append(_unseen_test_labels(labels, test_labels, test_texts))
        checks.extend(_leakage(ctx, test_texts, norm_hash[n:], groups))
    report = DataReport(
        rows=n,
        test_rows=len(test_texts) if test_texts is not None else None,
        input=input,
        target=target,
        classes=counts,
        checks=checks,
    )
    return report, TextAnalysis(normalized_hash=norm_hash, groups=groups, n_train=n)


@dataclass
class _Context:
    texts: pa.LargeStringArray
    labels: pa.LargeStringArray
    norm_hash: np.ndarray
    raw_hash: np.ndarray
    groups: np.ndarray

    def examples(self, rows: np.ndarray, limit: int = MAX_EXAMPLES) -> list[dict[str, Any]]:
        rows = np.asarray(rows)[:limit]
        texts = self.texts.take(pa.array(rows, pa.int64())).to_pylist()
        labels = self.labels.take(pa.array(rows, pa.int64())).to_pylist()
        return [{"row": int(r), "text": _clip(t), "label": lab} for r, t, lab in zip(rows, texts, labels, strict=True)]


def _texts(column: pa.ChunkedArray) -> pa.LargeStringArray:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    return as_string_array(column)


def _labels(column: pa.ChunkedArray) -> pa.LargeStringArray:
    return _texts(column)


def _clip(text: str | None, width: int = 120) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n:,} {singular if n == 1 else plural}"


def _ok(name: str, message: str) -> CheckResult:
    return CheckResult(name=name, status="ok", count=0, message=message)


def _class_counts(labels: pa.LargeStringArray) -> dict[str, int]:
    counts = pc.value_counts(pc.drop_null(labels))
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))


def _duplicate_rows(keys: np.ndarray) -> np.ndarray:
    """Rows whose key appeared on an earlier row."""
    import pandas as pd

    return np.flatnonzero(pd.Series(keys).duplicated(keep="first").to_numpy())


def _missing_labels(ctx: _Context) -> CheckResult:
    missing = np.flatnonzero(_is_blank(ctx.labels))
    if not missing.size:
        return _ok("missing_labels", "every row has a label")
    return CheckResult(
        name="missing_labels",
        status="error",
        count=int(missing.size),
        message=f"{_count(missing.size, 'row has', 'rows have')} no label",
        hint="label them, or drop them before importing",
        examples=ctx.examples(missing),
    )


def _is_blank(arr: pa.LargeStringArray) -> np.ndarray:
    blank = pc.equal(pc.utf8_trim_whitespace(pc.fill_null(arr, "")), "")
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


def _empty_inputs(ctx: _Context, norm_offsets: np.ndarray) -> CheckResult:
    empty = np.flatnonzero(_is_blank(ctx.texts))
    if not empty.size:
        return _ok("empty_inputs", "no empty or whitespace-only inputs")
    return CheckResult(
        name="empty_inputs",
        status="error",
        count=int(empty.size),
        message=f"{_count(empty.size, 'input is', 'inputs are')} empty or only whitespace",
        hint="remove those rows: a model cannot learn a label from nothing",
        examples=ctx.examples(empty),
    )


def _exact_duplicates(ctx: _Context) -> CheckResult:
    dup = _duplicate_rows(ctx.raw_hash)
    if not dup.size:
        return _ok("exact_duplicates", "no input appears twice")
    return CheckResult(
        name="exact_duplicates",
        status="warning",
        count=int(dup.size),
        message=f"{_count(dup.size, 'row repeats', 'rows repeat')} an earlier input exactly",
        hint="duplicates weigh some inputs more than others; drop them unless that is intended",
        examples=ctx.examples(dup),
    )


def _near_duplicates(ctx: _Context) -> CheckResult:
    in_group = _duplicate_rows(ctx.groups)
    near = np.setdiff1d(in_group, _duplicate_rows(ctx.raw_hash))
    if not near.size:
        return _ok("near_duplicates", "no near-duplicate inputs")
    return CheckResult(
        name="near_duplicates",
        status="info",
        count=int(near.size),
        message=f"{_count(near.size, 'row nearly repeats', 'rows nearly repeat')} an earlier input "
        "(case, punctuation, small edits)",
        hint="near-duplicates are kept on the same side of the split, so they cannot leak",
        examples=ctx.examples(near),
    )


def _conflicting_labels(ctx: _Context) -> CheckResult:
    import pandas as pd

    frame = pd.DataFrame({"key": ctx.norm_hash, "label": ctx.labels.to_numpy(zero_copy_only=False)})
    n_labels = frame.groupby("key")["label"].transform("nunique")
    rows = np.flatnonzero(n_labels.to_numpy() > 1)
    if not rows.size:
        return _ok("conflicting_labels", "no input carries two different labels")
    keys = ctx.norm_hash[rows]
    order = np.argsort(keys, kind="stable")
    n_inputs = len(np.unique(keys))
    return CheckResult(
        name="conflicting_labels",
        status="error",
        count=int(rows.size),
        message=f"{_count(n_inputs, 'input appears', 'inputs appear')} with different labels ({rows.size:,} rows)",
        hint="decide the right label for each and fix the file; ambiguous pairs of labels may need clearer definitions",
        examples=ctx.examples(rows[order], limit=MAX_EXAMPLES * 2),
    )


def _needed_rows(settings: CheckSettings) -> int:
    held_out = [f for f in (settings.validation, settings.test) if f > 0]
    if not held_out:
        return 1
    return max(2, math.ceil(settings.min_rows_per_split / min(held_out)))


def _small_classes(counts: dict[str, int], settings: CheckSettings) -> CheckResult:
    needed = _needed_rows(settings)
    small = {label: c for label, c in counts.items() if c < needed}
    if not small:
        return _ok("small_classes", f"every class has at least {needed} rows")
    listed = ", ".join(f"{label} ({c})" for label, c in list(small.items())[:10])
    return CheckResult(
        name="small_classes",
        status="error",
        count=sum(small.values()),
        message=f"{len(small)} classes have fewer than {needed} rows, too few to appear in every split: {listed}",
        hint="label more examples of them, merge them into a related class, or lower "
        "data.split.validation / data.split.test",
        examples=[{"label": label, "rows": c} for label, c in list(small.items())[:MAX_EXAMPLES]],
    )


def _imbalance(counts: dict[str, int], settings: CheckSettings) -> CheckResult:
    if len(counts) < 2:
        return CheckResult(
            name="class_balance",
            status="error",
            count=sum(counts.values()),
            message=f"the data has {len(counts)} class; a classifier needs at least two",
            hint="check task.target names the label column",
        )
    largest, smallest = max(counts.values()), min(counts.values())
    ratio = largest / smallest
    status: Status = "warning" if ratio > settings.max_imbalance_ratio else "ok"
    most = max(counts, key=lambda k: counts[k])
    least = min(counts, key=lambda k: counts[k])
    message = (
        f"{len(counts)} classes of {largest:,} rows each"
        if largest == smallest
        else f"{len(counts)} classes; largest {most!r} ({largest:,}) / smallest {least!r} ({smallest:,}) = {ratio:.1f}x"
    )
    return CheckResult(
        name="class_balance",
        status=status,
        count=0 if status == "ok" else counts[least],
        message=message,
        hint=None
        if status == "ok"
        else f"above data.checks.max_imbalance_ratio ({settings.max_imbalance_ratio:g}); "
        "label more of the small classes or weigh classes in training",
    )


def _overlong(ctx: _Context, settings: CheckSettings) -> CheckResult:
    lengths = pc.utf8_length(pc.fill_null(ctx.texts, "")).to_numpy()
    rows = np.flatnonzero(lengths > settings.max_input_chars)
    if not rows.size:
        return _ok("overlong_inputs", f"no input longer than {settings.max_input_chars:,} characters")
    return CheckResult(
        name="overlong_inputs",
        status="warning",
        count=int(rows.size),
        message=f"{rows.size:,} inputs exceed {settings.max_input_chars:,} characters (longest {int(lengths.max()):,})",
        hint="transformer paths truncate long inputs; split long documents, or raise "
        "data.checks.max_input_chars if this is expected",
        examples=ctx.examples(rows),
    )


def _pii(ctx: _Context) -> CheckResult:
    from tailorml.data.pii import find_pii

    findings = find_pii(ctx.texts, max_examples=MAX_EXAMPLES)
    if not findings:
        return _ok("pii", "no emails, phone numbers, payment cards or IBANs found")
    rows = sorted({r for f in findings for r in f.examples})
    kinds = ", ".join(f"{f.kind} in {f.rows:,} rows" for f in findings)
    return CheckResult(
        name="pii",
        status="warning",
        count=max(f.rows for f in findings),
        message=f"personal data found: {kinds}",
        hint="set privacy.redact_pii: true in tailor.yaml (or pass --redact-pii) to replace it "
        "before anything is stored; privacy.drop_columns removes whole columns",
        examples=[
            {**e, "pii": [f.kind for f in findings if e["row"] in f.examples]}
            for e in ctx.examples(np.array(rows), limit=MAX_EXAMPLES)
        ],
    )


def _out_of_scope_present(counts: dict[str, int], label: str) -> CheckResult:
    if counts.get(label, 0) > 0:
        return CheckResult(
            name="out_of_scope",
            status="ok",
            count=0,
            message=f"{counts[label]:,} out-of-scope examples labeled {label!r}",
        )
    return CheckResult(
        name="out_of_scope",
        status="warning",
        count=0,
        message=f"no training row is labeled {label!r} (task.out_of_scope)",
        hint="add examples of inputs the model should refuse; without them out-of-scope "
        "detection relies on confidence alone",
    )


def _unseen_test_labels(
    labels: pa.LargeStringArray, test_labels: pa.LargeStringArray, test_texts: pa.LargeStringArray
) -> CheckResult:
    seen = pc.is_in(test_labels, value_set=pc.unique(labels))
    rows = np.flatnonzero(~np.asarray(seen.to_numpy(zero_copy_only=False), dtype=bool))
    if not rows.size:
        return _ok("unseen_test_labels", "every test label occurs in training data")
    unseen = sorted({test_labels[int(r)].as_py() or "" for r in rows})
    return CheckResult(
        name="unseen_test_labels",
        status="error",
        count=int(rows.size),
        message=f"{_count(rows.size, 'test row has a label', 'test rows have labels')} never seen in training: "
        f"{', '.join(unseen[:10])}",
        hint="add training examples of those labels, or remove them from the test file",
        examples=[
            {
                "test_row": int(r),
                "text": _clip(test_texts[int(r)].as_py()),
                "label": test_labels[int(r)].as_py(),
            }
            for r in rows[:MAX_EXAMPLES]
        ],
    )


def _leakage(
    ctx: _Context, test_texts: pa.LargeStringArray, test_norm: np.ndarray, groups: np.ndarray
) -> list[CheckResult]:
    n = len(ctx.norm_hash)
    exact_rows = np.flatnonzero(np.isin(test_norm, ctx.norm_hash))
    near_rows = np.flatnonzero(np.isin(groups[n:], ctx.groups))
    near_rows = np.setdiff1d(near_rows, exact_rows)

    def example(rows: np.ndarray) -> list[dict[str, Any]]:
        return [{"test_row": int(r), "text": _clip(test_texts[int(r)].as_py())} for r in rows[:MAX_EXAMPLES]]

    results = []
    if exact_rows.size:
        results.append(
            CheckResult(
                name="leakage_exact",
                status="error",
                count=int(exact_rows.size),
                message=f"{_count(exact_rows.size, 'test input also appears', 'test inputs also appear')} "
                "in training data",
                hint="remove them from the test file (or from training): scores on them are not "
                "a measure of generalization",
                examples=example(exact_rows),
            )
        )
    else:
        results.append(_ok("leakage_exact", "no test input appears in training data"))
    if near_rows.size:
        results.append(
            CheckResult(
                name="leakage_near",
                status="warning",
                count=int(near_rows.size),
                message=_count(near_rows.size, "test input is a near-duplicate", "test inputs are near-duplicates")
                + " of training inputs",
                hint="scores on these overstate quality on new inputs; consider removing them",
                examples=example(near_rows),
            )
        )
    else:
        results.append(_ok("leakage_near", "no test input nearly repeats a training input"))
    return results
