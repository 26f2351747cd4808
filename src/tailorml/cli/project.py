"""Project-level commands: init, check, demo."""

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from tailorml.cli import _render
from tailorml.errors import SpecError

EXAMPLES = ("customer-service",)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("check")(check)
    app.command("demo")(demo)


def init(
    ctx: typer.Context,
    example: str = typer.Option(None, "--example", "-e", help=f"Start from an example: {', '.join(EXAMPLES)}."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing spec."),
) -> None:
    """Write a commented tailor.yaml to start from."""
    from importlib import resources

    state = ctx.obj
    if example is not None and example not in EXAMPLES:
        raise SpecError(f"unknown example {example!r}", hint=f"use one of: {', '.join(EXAMPLES)}")
    target: Path = state.spec_path
    if target.exists() and not force:
        raise SpecError(f"{target} already exists", hint="pass --force to overwrite it, or --spec OTHER.yaml")
    name = f"{example or 'default'}.yaml"
    text = resources.files("tailorml").joinpath("examples", name).read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    state.output.result({"written": str(target), "example": example})
    state.output.print(f"wrote {target}" + (f" (example: {example})" if example else ""))
    if example == "customer-service":
        state.output.print("next: tailor data synth   (writes data/customer_service.csv), then tailor check")
    else:
        state.output.print("next: edit the columns and file names, then run tailor check")


def check(ctx: typer.Context) -> None:
    """Validate the spec and its data without training or storing anything."""
    from tailorml.check import check_project

    state = ctx.obj
    spec = state.spec()
    with state.output.steps() as on_step:
        result = check_project(spec, on_step=on_step)
    state.output.result(result.model_dump(mode="json"))
    out = state.output
    out.print(f"spec {state.spec_path}: valid (project {result.project}, hash {result.spec_hash})")
    if result.objectives:
        out.print("objectives: " + ", ".join(f"{k} {v}" for k, v in result.objectives.items()))
    out.print(_render.data_report(result.report))
    out.print("split: " + ", ".join(f"{k} {v:,}" for k, v in result.split.items()))
    if result.report.errors:
        out.print(_render.blocked(result.report, None, "import with --allow-errors REASON"))
        raise typer.Exit(3)
    out.print("ready to train", style="green")


def demo(
    ctx: typer.Context,
    folder: Path = typer.Option(Path("tailor-demo"), "--dir", help="Folder to run the demo in."),
    rows: int = typer.Option(2000, "--rows", min=100, help="Rows of synthetic data."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic data."),
    data_only: bool = typer.Option(False, "--data-only", help="Stop after importing and checking the data."),
    drift: bool = typer.Option(
        False, "--drift", help="Then simulate drifting traffic: monitor alerts, people label, retraining promotes."
    ),
) -> None:
    """Run the loop on synthetic customer-service data in a fresh folder: data, train, evaluate, report."""
    from tailorml.demo import run_demo

    state = ctx.obj
    if drift:
        _drift_demo(state, folder, rows, seed)
        return
    with state.output.steps() as on_step:
        result = run_demo(folder, rows=rows, seed=seed, data_only=data_only, on_step=on_step)
    train = result.outcome.train
    payload: dict[str, Any] = {
        "folder": str(result.folder),
        "spec": str(result.spec_path),
        "data": str(result.data_path),
        "version": train.manifest.model_dump(mode="json"),
        "data_report": train.report.model_dump(mode="json"),
    }
    if result.run is not None:
        payload["evaluation"] = result.run.evaluation.model_dump(mode="json")
        payload["report"] = str(result.run.published.report)
    state.output.result(payload)
    out = state.output
    out.print(f"spec:  {result.spec_path}")
    out.print(f"data:  {result.data_path} ({train.manifest.rows:,} rows, synthesized with seed {seed})")
    stored = "stored as new version" if train.created else "already stored as version"
    out.print(Text.assemble(f"{stored} ", (train.manifest.id, "bold"), f" in {result.folder / '.tailor' / 'data'}"))
    out.print(_render.data_report(train.report))
    if result.run is None:
        out.print(_render.class_counts(train.report))
    for record in train.manifest.splits.values():
        out.print(
            "split: "
            + ", ".join(f"{k} {v:,}" for k, v in record.counts.items())
            + f" (seed {record.seed}, near-duplicates kept on one side)"
        )
    if result.run is None:
        out.print(f"next: cd {result.folder} && tailor data show {train.manifest.id}")
        return
    from tailorml.cli.model import show_evaluation

    show_evaluation(state, result.run.evaluation, result.run.published)
    out.print(
        f"next: open the report, or cd {result.folder} && mlflow ui --backend-store-uri sqlite:///.tailor/mlflow.db"
    )


def _drift_demo(state: Any, folder: Path, rows: int, seed: int) -> None:
    from tailorml.cli.monitoring import _show as show_monitor
    from tailorml.demo import run_drift_demo

    with state.output.steps() as on_step:
        result = run_drift_demo(folder, rows=rows, seed=seed, on_step=on_step)
    outcome = result.retrain
    state.output.result(
        {
            "monitor": result.monitor.model_dump(mode="json"),
            "reviewed": result.reviewed,
            "retrain": outcome.model_dump(mode="json"),
        }
    )
    out = state.output
    out.print(f"champion before drift: {result.base.run.evaluation.chosen if result.base.run else '?'} (v1)")
    show_monitor(state, result.monitor, [], result.base.folder)
    out.print(f"a person answered {result.reviewed} review items and labeled {result.labeled_file.name}")
    for c in outcome.comparisons:
        out.print(
            f"retrain — {c.rows}: champion {c.champion:.3f}, challenger {c.challenger:.3f} "
            f"(difference {c.difference.value:+.3f} [{c.difference.low:+.3f}, {c.difference.high:+.3f}], {c.n:,} rows)"
        )
    out.print(Text(outcome.reason, style="bold green" if outcome.promoted else "yellow"))
    out.print(f"next: cd {result.base.folder} && tailor monitor   (or tailor rollback to undo the promotion)")
