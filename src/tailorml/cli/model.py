"""Model commands: train, evaluate, run, report."""

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from tailorml.cli import _render
from tailorml.errors import NotFoundError


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("run")(run)
    app.command("report")(report)


def train(
    ctx: typer.Context,
    allow_errors: str = typer.Option(None, "--allow-errors", metavar="REASON", help="Train despite data check errors."),
) -> None:
    """Train the spec's candidates on the train side; one MLflow run each."""
    from tailorml.run import prepare_data
    from tailorml.tracking import Tracker
    from tailorml.train import plan_candidates, train_candidates

    state = ctx.obj
    spec = state.spec()
    with state.output.steps() as on_step:
        _, dataset = prepare_data(spec, allow_errors=allow_errors, on_step=on_step)
        plan_candidates(spec, len(dataset.train))
        session = train_candidates(spec, dataset, tracker=Tracker.for_project(spec), on_step=on_step)
    state.output.result(session.model_dump(mode="json"))
    state.output.print(_render.trained(session))
    state.output.print("next: tailor evaluate")


def evaluate(ctx: typer.Context) -> None:
    """Measure the last trained candidates, judge them against the objectives, register the choice."""
    from tailorml.data.dataset import load_dataset
    from tailorml.data.versions import DataStore
    from tailorml.evaluate import evaluate_session
    from tailorml.project import Project
    from tailorml.run import publish
    from tailorml.tracking import Tracker
    from tailorml.train import TrainingSession

    state = ctx.obj
    spec = state.spec()
    project = Project.at(spec.root)
    latest = project.home / "train" / "latest.json"
    if not latest.is_file():
        raise NotFoundError("nothing has been trained in this project yet", hint="run tailor train (or tailor run)")
    session = TrainingSession.model_validate_json(latest.read_text(encoding="utf-8"))
    store = DataStore(project.data_dir)
    manifest = store.get(session.data_version)
    dataset = load_dataset(store, manifest, split_key=session.split, group_columns=spec.task.groups)
    tracker = Tracker.for_project(spec)
    with state.output.steps() as on_step:
        evaluation = evaluate_session(spec, dataset, session, tracker=tracker, on_step=on_step)
        published = publish(spec, evaluation, dataset, tracker=tracker, on_step=on_step)
    show_evaluation(state, evaluation, published)


def run(
    ctx: typer.Context,
    allow_errors: str = typer.Option(None, "--allow-errors", metavar="REASON", help="Train despite data check errors."),
) -> None:
    """Check data, train, evaluate, select, register and report, in one go."""
    from tailorml.run import run_project

    state = ctx.obj
    spec = state.spec()
    with state.output.steps() as on_step:
        result = run_project(spec, allow_errors=allow_errors, on_step=on_step)
    show_evaluation(state, result.evaluation, result.published)


def show_evaluation(state: Any, evaluation: Any, published: Any) -> None:
    state.output.result(
        {
            "evaluation": evaluation.model_dump(mode="json"),
            "report": str(published.report),
            "model_card": str(published.model_card) if published.model_card else None,
            "champion": published.registered.version if published.registered else None,
        }
    )
    out = state.output
    out.print(f"quality: {evaluation.quality_method}")
    out.print(_render.objectives_table(evaluation))
    out.print(_render.decision(evaluation))
    if published.registered:
        out.print(
            Text.assemble(
                "registered ",
                (f"{published.registered.name} v{published.registered.version}", "bold"),
                f" as {published.alias}",
            )
        )
    out.print(f"report: {published.report}")
    if published.model_card:
        out.print(f"model card: {published.model_card}")


def report(ctx: typer.Context) -> None:
    """Print where the newest evaluation report is."""
    from tailorml.run import latest_report

    state = ctx.obj
    folder = latest_report(state.spec())
    if folder is None:
        raise NotFoundError("no evaluation report yet", hint="run tailor run (or tailor evaluate)")
    files = {p.name: str(p) for p in sorted(Path(folder).iterdir()) if p.is_file()}
    state.output.result({"folder": str(folder), "files": files})
    state.output.print(f"report: {folder / 'report.html'}")
    if "model_card.md" in files:
        state.output.print(f"model card: {folder / 'model_card.md'}")
    state.output.print(f"evaluation: {folder / 'evaluation.json'}")
