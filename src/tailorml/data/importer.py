"""``tailor data import``: read a file, clean what the spec asks, check, split and version it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tailorml.data.checks import CheckSettings
from tailorml.data.io import detect_format, read_table
from tailorml.data.versions import DataStore, ImportResult, Source
from tailorml.errors import DataError
from tailorml.project import Project
from tailorml.spec import Spec

__all__ = ["ImportOutcome", "check_settings", "import_data", "import_file"]


@dataclass(frozen=True)
class ImportOutcome:
    """The training version and, when the spec names them, the test and validation versions."""

    train: ImportResult
    test: ImportResult | None = None
    validation: ImportResult | None = None


def check_settings(spec: Spec) -> CheckSettings:
    """The data-check thresholds and split fractions a spec sets."""
    checks, split = spec.data.checks, spec.data.split
    return CheckSettings(
        max_input_chars=checks.max_input_chars,
        near_duplicate_similarity=checks.near_duplicate_similarity,
        max_imbalance_ratio=checks.max_imbalance_ratio,
        validation=0.0 if spec.data.validation else split.validation,
        test=0.0 if spec.data.test else split.test,
        out_of_scope=spec.task.out_of_scope,
    )


def import_file(
    store: DataStore,
    path: str | Path,
    *,
    input: str,
    target: str,
    settings: CheckSettings | None = None,
    name: str | None = None,
    format: str | None = None,
    encoding: str = "utf-8",
    seed: int = 7,
    test_version: str | None = None,
    validation_version: str | None = None,
    redact_pii: list[str] | tuple[str, ...] = (),
    drop_columns: list[str] | tuple[str, ...] = (),
    allow_errors: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ImportResult:
    """Read one file and store it as a data version (see :meth:`DataStore.import_table`)."""
    path = Path(path)
    step = on_step or (lambda _name: None)
    step(f"reading {path.name}")
    fmt = format or detect_format(path)
    table = read_table(path, format=fmt, encoding=encoding)
    source = Source(
        path=str(path), format=fmt, bytes=path.stat().st_size, encoding=None if fmt == "parquet" else encoding
    )
    return store.import_table(
        table,
        source=source,
        name=name or path.stem,
        input=input,
        target=target,
        settings=settings,
        split_seed=seed,
        test_version=test_version,
        validation_version=validation_version,
        redact_pii=redact_pii,
        drop_columns=drop_columns,
        allow_errors=allow_errors,
        on_step=on_step,
    )


def import_data(
    spec: Spec,
    *,
    allow_errors: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ImportOutcome:
    """Import the files a spec names: the test file first (if any), then the training file.

    Example
    -------
    >>> outcome = import_data(load_spec("tailor.yaml"))  # doctest: +SKIP
    >>> outcome.train.manifest.id  # doctest: +SKIP
    '3f9a2c1b7e4d'
    """
    store = DataStore(Project.at(spec.root).data_dir)
    settings = check_settings(spec)
    common = dict(
        input=spec.task.input,
        target=spec.task.target,
        encoding=spec.data.encoding,
        seed=spec.data.split.seed,
        redact_pii=spec.privacy.redact_pii,
        drop_columns=spec.privacy.drop_columns,
        on_step=on_step,
    )
    train_path = spec.resolve(spec.data.train).resolve()
    held: dict[str, ImportResult] = {}
    for side, file in (("test", spec.data.test), ("validation", spec.data.validation)):
        if not file:
            continue
        path = spec.resolve(file)
        if path.resolve() == train_path:
            raise DataError(
                f"data.{side} and data.train name the same file ({file})",
                hint=f"remove data.{side} to split a {side} set off the training file",
            )
        # A held-out set is not split, so its classes need no minimum size.
        held_out = replace(settings, validation=0.0, test=0.0)
        held[side] = import_file(store, path, settings=held_out, name=f"{spec.project}-{side}", **common)  # type: ignore[arg-type]
    train = import_file(
        store,
        spec.resolve(spec.data.train),
        settings=settings,
        name=spec.project,
        test_version=held["test"].manifest.id if "test" in held else None,
        validation_version=held["validation"].manifest.id if "validation" in held else None,
        allow_errors=allow_errors,
        **common,  # type: ignore[arg-type]
    )
    return ImportOutcome(train=train, test=held.get("test"), validation=held.get("validation"))
