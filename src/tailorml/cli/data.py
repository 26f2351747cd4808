"""``tailor data``: import, check, list, show, diff and synthesize data versions."""

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from tailorml.cli import _render
from tailorml.errors import DataError

app = typer.Typer(no_args_is_help=True, help="Import, check, version and synthesize data.")


def _store(state: Any) -> Any:
    from tailorml.data.versions import DataStore
    from tailorml.project import Project

    return DataStore(Project.at(state.project_folder()).data_dir)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(None, help="File to import; default: the files tailor.yaml names."),
    name: str = typer.Option(None, "--name", help="Data set name (default: the file name)."),
    input: str = typer.Option(None, "--input", help="Input column (default: task.input, else 'text')."),
    target: str = typer.Option(None, "--target", help="Label column (default: task.target, else 'label')."),
    format: str = typer.Option(None, "--format", help="csv, tsv, jsonl or parquet (default: from the extension)."),
    encoding: str = typer.Option(None, "--encoding", help="Text encoding (default: data.encoding, else utf-8)."),
    redact_pii: bool = typer.Option(None, "--redact-pii/--keep-pii", help="Replace personal data before storing."),
    drop_columns: str = typer.Option(None, "--drop-columns", help="Comma-separated columns to remove before storing."),
    test_version: str = typer.Option(None, "--test-version", help="A stored version to use as the test set."),
    allow_errors: str = typer.Option(
        None,
        "--allow-errors",
        metavar="REASON",
        help="Let training use this version despite check errors; the reason is recorded.",
    ),
) -> None:
    """Import a data file as a content-addressed, checked and split version."""
    from tailorml.data.checks import CheckSettings
    from tailorml.data.importer import check_settings, import_data, import_file
    from tailorml.spec import PII_KINDS

    state = ctx.obj
    spec = state.spec_if_present()
    with state.output.steps() as on_step:
        if file is None:
            if spec is None:
                raise DataError(
                    f"no file given and no spec at {state.spec_path}",
                    hint="pass a file (tailor data import data.csv) or run tailor init",
                )
            outcome = import_data(spec, allow_errors=allow_errors, on_step=on_step)
            results = [r for r in (outcome.test, outcome.validation, outcome.train) if r is not None]
        else:
            settings = check_settings(spec) if spec else CheckSettings()
            redact = (
                list(PII_KINDS)
                if redact_pii
                else ([] if redact_pii is False or spec is None else spec.privacy.redact_pii)
            )
            drops = (
                [c.strip() for c in drop_columns.split(",") if c.strip()]
                if drop_columns
                else (spec.privacy.drop_columns if spec else [])
            )
            results = [
                import_file(
                    _store(state),
                    file,
                    input=input or (spec.task.input if spec else "text"),
                    target=target or (spec.task.target if spec else "label"),
                    settings=settings,
                    name=name,
                    format=format,
                    encoding=encoding or (spec.data.encoding if spec else "utf-8"),
                    seed=spec.data.split.seed if spec else 7,
                    test_version=test_version,
                    redact_pii=redact,
                    drop_columns=drops,
                    allow_errors=allow_errors,
                    on_step=on_step,
                )
            ]
    state.output.result(
        [
            {
                "created": r.created,
                "manifest": r.manifest.model_dump(mode="json"),
                "report": r.report.model_dump(mode="json"),
            }
            for r in results
        ]
    )
    for result in results:
        m = result.manifest
        verb = "imported" if result.created else "already stored:"
        state.output.print(
            Text.assemble(f"{verb} ", (m.id, "bold"), f" ({m.name}, {m.rows:,} rows) from {m.source.path}")
        )
        state.output.print(_render.data_report(result.report))
        if result.report.errors and not m.override:
            state.output.print(_render.blocked(result.report, m.id, "re-import with --allow-errors REASON"))


@app.command("versions")
def versions(ctx: typer.Context) -> None:
    """List the stored data versions, oldest first."""
    state = ctx.obj
    manifests = _store(state).versions()
    state.output.result([m.model_dump(mode="json") for m in manifests])
    if not manifests:
        state.output.print("no data versions yet: tailor data import FILE")
        return
    state.output.print(_render.versions(manifests))


@app.command("show")
def show(ctx: typer.Context, version: str = typer.Argument("latest", help="Version id or prefix.")) -> None:
    """Show a data version's manifest: source, schema, lineage, checks, splits."""
    state = ctx.obj
    manifest = _store(state).get(version)
    state.output.result(manifest.model_dump(mode="json"))
    state.output.print(_render.manifest(manifest))


@app.command("diff")
def diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="Older version."),
    b: str = typer.Argument(..., help="Newer version."),
) -> None:
    """Rows added, removed and relabeled between two versions."""
    state = ctx.obj
    result = _store(state).diff(a, b)
    state.output.result(result.model_dump(mode="json"))
    state.output.print(_render.diff(result))


@app.command("check")
def check(
    ctx: typer.Context,
    version: str = typer.Argument("latest", help="Version id or prefix."),
    test_version: str = typer.Option(None, "--test-version", help="Check leakage against this version."),
    allow_errors: str = typer.Option(
        None,
        "--allow-errors",
        metavar="REASON",
        help="Record a reason that lets training go ahead despite errors.",
    ),
) -> None:
    """Run the data checks on a stored version and record the result."""
    from tailorml.data.checks import CheckSettings, analyze
    from tailorml.data.importer import check_settings

    state = ctx.obj
    spec = state.spec_if_present()
    store = _store(state)
    manifest = store.get(version)
    if test_version is None:
        test_version = next((r.test_version for r in manifest.splits.values() if r.test_version), None)
    with state.output.steps() as on_step:
        on_step(f"checking {manifest.id}")
        report, _ = analyze(
            store.table(manifest),
            input=manifest.input,
            target=manifest.target,
            test=store.table(test_version) if test_version else None,
            settings=check_settings(spec) if spec else CheckSettings(),
        )
        manifest = store.record_checks(manifest, report, allow_errors=allow_errors)
    state.output.result({"version": manifest.id, "report": report.model_dump(mode="json")})
    state.output.print(_render.data_report(report, title=f"Data checks of {manifest.id}"))
    if report.errors and not manifest.override:
        state.output.print(_render.blocked(report, manifest.id, "pass --allow-errors REASON"))
        raise typer.Exit(3)


@app.command("synth")
def synth(
    ctx: typer.Context,
    out: Path = typer.Option(
        Path("data/customer_service.csv"), "--out", "-o", help="CSV, JSON Lines or Parquet file to write."
    ),
    rows: int = typer.Option(2000, "--rows", "-n", min=1, help="Number of rows."),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same data."),
    oos: float = typer.Option(0.1, "--oos", min=0.0, max=0.9, help="Share of out-of-scope rows."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a synthetic customer-service intent data set (about 15 intents plus out-of-scope)."""
    from tailorml.data.io import write_frame
    from tailorml.data.synth import synthesize

    state = ctx.obj
    if out.exists() and not force:
        raise DataError(f"{out} already exists", hint="pass --force to overwrite it, or --out OTHER.csv")
    with state.output.steps() as on_step:
        on_step(f"synthesizing {rows:,} rows")
        frame = synthesize(rows, seed=seed, oos_fraction=oos)
        on_step(f"writing {out}")
        write_frame(frame, out)
    labels = frame["label"].value_counts()
    state.output.result({"written": str(out), "rows": len(frame), "labels": {k: int(v) for k, v in labels.items()}})
    state.output.print(f"wrote {out}: {len(frame):,} rows, {len(labels)} labels (seed {seed})")
