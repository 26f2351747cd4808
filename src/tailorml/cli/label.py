"""``tailor label``: the labeling pilot — users, tasks, the annotation app, agreement, active learning, label errors."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tailorml.cli._render import _row
from tailorml.errors import TailorError

app = typer.Typer(no_args_is_help=True, help="The labeling pilot: tasks, the annotation app, agreement, label errors.")
users_app = typer.Typer(no_args_is_help=True, help="Annotator, reviewer and admin accounts.")
app.add_typer(users_app, name="users")

PASSWORD_ENV = "TAILOR_LABEL_PASSWORD"


def _home(state: Any) -> Path:
    from tailorml.project import Project

    return Project.at(state.project_folder()).home


def _stores(state: Any) -> tuple[Any, Any]:
    from tailorml.data.versions import DataStore
    from tailorml.labeling.pilot import open_store
    from tailorml.project import Project

    project = Project.at(state.project_folder())
    return open_store(project.home), DataStore(project.data_dir)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Login name (no spaces)."),
    role: str = typer.Option("annotator", "--role", help="annotator, reviewer or admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create an account. The password comes from a prompt, --password-stdin, or $TAILOR_LABEL_PASSWORD."""
    state = ctx.obj
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    else:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    store, _ = _stores(state)
    user = store.add_user(name, password, role=role)
    state.output.result({"id": user.id, "name": user.name, "role": user.role})
    state.output.print(f"created {user.role} {user.name!r}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every account and its role."""
    state = ctx.obj
    store, _ = _stores(state)
    users = store.users()
    state.output.result([u.__dict__ for u in users])
    table = Table(title="Accounts", title_justify="left")
    for column in ("name", "role"):
        table.add_column(column)
    for u in users:
        _row(table, u.name, u.role)
    state.output.print(table)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Task name."),
    version: str = typer.Option(None, "--version", help="Data version id or prefix (default: the newest)."),
    strategy: str = typer.Option("random", "--strategy", help="random, stratified or active."),
    items: int = typer.Option(None, "--items", min=1, help="Items to sample (default: every row)."),
    annotators: int = typer.Option(2, "--annotators", min=1, max=20, help="Annotators per item."),
    schema: Path = typer.Option(None, "--schema", help="Label schema file (default: the version's labels)."),
    member: list[str] = typer.Option([], "--member", help="A user who may work on the task (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling."),
) -> None:
    """Create a labeling task from a data version."""
    from tailorml.labeling.pilot import create_task

    state = ctx.obj
    store, data_store = _stores(state)
    members = [store.user(m).id for m in member]
    task = create_task(
        store,
        data_store,
        name=name,
        version=version,
        strategy=strategy,
        items=items,
        annotators_per_item=annotators,
        schema=schema,
        seed=seed,
        members=members,
    )
    progress = store.progress(task.id)
    _, label_schema = store.schema(task.id)
    state.output.result({"task": task.__dict__, "items": progress["items"], "labels": label_schema.names})
    state.output.print(
        f"created task {task.name!r}: {progress['items']} items from {task.data_version[:12]} ({strategy}), "
        f"{annotators} annotator(s) per item, {len(label_schema.names)} labels"
    )


@app.command("tasks")
def tasks(ctx: typer.Context) -> None:
    """Every task and its progress."""
    state = ctx.obj
    store, _ = _stores(state)
    found = [(t, store.progress(t.id), store.members(t.id)) for t in store.tasks()]
    state.output.result([t.__dict__ | {"progress": p, "members": [m.name for m in ms]} for t, p, ms in found])
    table = Table(title="Labeling tasks", title_justify="left")
    for column in ("task", "data version", "strategy", "items", "complete", "annotations", "members"):
        table.add_column(column, overflow="fold")
    for t, p, ms in found:
        _row(
            table,
            t.name,
            t.data_version[:12],
            t.strategy,
            str(p["items"]),
            str(p["complete"]),
            str(p["annotations"]),
            ", ".join(m.name for m in ms),
        )
    state.output.print(table)


@app.command("add-member")
def add_member(ctx: typer.Context, task: str = typer.Argument(...), user: list[str] = typer.Argument(...)) -> None:
    """Let users work on a task (annotators see only the tasks they are members of)."""
    state = ctx.obj
    store, _ = _stores(state)
    found = store.task(task)
    for name in user:
        store.add_member(found.id, store.user(name).id)
    state.output.result({"task": found.name, "members": [m.name for m in store.members(found.id)]})
    state.output.print(f"{', '.join(user)} may now work on {found.name!r}")


@app.command("schema")
def schema(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    file: Path = typer.Option(None, "--file", help="A new schema (YAML/JSON); it becomes the next version."),
) -> None:
    """Show a task's schema versions, or store an edited schema as a new version."""
    from tailorml.labeling.schema import load_schema

    state = ctx.obj
    store, _ = _stores(state)
    found = store.task(task)
    if file is not None:
        version = store.update_schema(found.id, load_schema(file))
        state.output.print(f"task {found.name!r} now uses schema version {version}")
    versions = store.schema_versions(found.id)
    state.output.result([{"version": v, "created_at": at, **s.model_dump()} for v, at, s in versions])
    version, current = versions[-1][0], versions[-1][2]
    table = Table(title=f"{found.name}: schema v{version} ({len(versions)} version(s))", title_justify="left")
    for column in ("key", "label", "description", "examples"):
        table.add_column(column, overflow="fold")
    for i, label in enumerate(current.labels, start=1):
        _row(table, str(i), label.name, label.description, " · ".join(label.examples))
    state.output.print(table)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8500, "--port", min=1, max=65535),
) -> None:
    """Run the annotation web app."""
    from tailorml.labeling.app import serve as run_app

    state = ctx.obj
    store, _ = _stores(state)
    if not store.users():
        raise TailorError(
            "there are no accounts yet, so nobody could log in",
            hint="create one first: tailor label users add NAME --role admin",
        )
    state.output.print(f"labeling app on http://{host}:{port} (Ctrl+C stops it)", style="green")
    run_app(store, host=host, port=port)


@app.command("report")
def report(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    rate: float = typer.Option(None, "--rate", min=0, help="Annotator cost per hour, for cost projections."),
    project: int = typer.Option(None, "--project", min=1, help="Project the cost and time of labeling N more items."),
) -> None:
    """Agreement, ambiguous label pairs, seconds per item and cost; writes .tailor/labeling/pilot.json."""
    from tailorml.labeling.pilot import label_report

    state = ctx.obj
    store, _ = _stores(state)
    found = store.task(task)
    result = label_report(store, found, hourly_rate=rate, project_items=project, write_to=store.path.parent)
    state.output.result(result.model_dump(mode="json"))
    _show_report(state, result)


def _show_report(state: Any, result: Any) -> None:
    out = state.output
    a = result.agreement
    p = result.progress
    out.print(
        f"{result.task}: {p['items']} items, {p['complete']} complete, {p['annotations']} annotations "
        f"({p['skipped']} skipped) by {a.n_annotators} annotator(s); schema v{result.schema_version}"
    )
    table = Table(title="Agreement", title_justify="left")
    for column in ("statistic", "value", "reading"):
        table.add_column(column)
    _row(table, "Cohen's kappa (mean of pairs)", _fmt(a.pairwise.mean), a.pairwise.band or a.pairwise.reason or "")
    _row(table, "Fleiss' kappa", _fmt(a.fleiss.value), a.fleiss.band or a.fleiss.reason or "")
    _row(
        table,
        "Krippendorff's alpha",
        _fmt(a.krippendorff.value),
        a.krippendorff.verdict or a.krippendorff.reason or "",
    )
    out.print(table)
    if a.ambiguous_pairs:
        texts = {d["item_id"]: d["text"] for d in result.disputed}
        pairs = Table(title="Ambiguous label pairs", title_justify="left")
        for column in ("labels", "disputed", "rate", "example"):
            pairs.add_column(column, overflow="fold")
        for pair in a.ambiguous_pairs[:10]:
            example = next((texts[i] for i in pair.items if i in texts), "")
            _row(
                pairs,
                f"{pair.label_a} vs {pair.label_b}",
                f"{pair.n_disputed}/{pair.n_either}",
                f"{pair.rate:.2f}",
                example[:80],
            )
        out.print(pairs)
    t = result.time
    if t.median is not None:
        out.print(f"seconds per item: median {t.median:.1f}, p90 {t.p90:.1f} ({t.timed} timed annotations)")
    for label, proj in (("to finish this task", result.remaining), ("to label more", result.projection)):
        if proj is not None:
            cost = f", cost {proj.cost:,.2f}" if proj.cost is not None else " (give --rate for cost)"
            out.print(
                f"{label}: {proj.items:,} items × {proj.annotators_per_item:g} → {proj.annotator_hours:,.1f} "
                f"annotator-hours{cost}, {proj.working_days:,.1f} working days with {proj.annotators} annotator(s)"
            )
    if result.unresolved:
        out.print(f"{result.unresolved} item(s) tie without adjudication: resolve them on the review page")
    if result.pilot_file:
        out.print(f"pilot figures for tailor plan: {result.pilot_file}")


@app.command("next")
def next_(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    k: int = typer.Option(20, "--k", min=1, help="Items to move to the front of the queue."),
    strategy: str = typer.Option("margin", "--strategy", help="margin, entropy or least_confident."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Active learning: queue the open items the current model is least sure of."""
    from tailorml.labeling.active import STRATEGIES
    from tailorml.labeling.pilot import queue_active

    if strategy not in STRATEGIES:
        raise TailorError(f"--strategy {strategy!r} is not known", hint=f"use one of: {', '.join(STRATEGIES)}")
    state = ctx.obj
    store, _ = _stores(state)
    found = store.task(task)
    suggestions = queue_active(store, found, k, strategy=strategy, seed=seed)
    state.output.result(suggestions.model_dump(mode="json"))
    texts = {i.position: i.text for i in store.items(found.id)}
    if suggestions.note:
        state.output.print(suggestions.note, style="yellow")
    table = Table(
        title=f"{found.name}: {len(suggestions.items)} items queued first ({suggestions.used})", title_justify="left"
    )
    for column in ("item", "uncertainty", "model's guess", "p", "text"):
        table.add_column(column, overflow="fold")
    for s in suggestions.items:
        _row(table, str(s.index), _fmt(s.score), s.predicted_label or "", _fmt(s.probability, 2), texts[s.index][:70])
    state.output.print(table)


@app.command("errors")
def errors(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    top: float = typer.Option(0.05, "--top", min=0.0001, max=1.0, help="Share of rows to queue for review."),
    path: str = typer.Option("tfidf-linear", "--path", help="Model path for the out-of-fold probabilities."),
    folds: int = typer.Option(5, "--folds", min=2, max=20),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Find suspected mislabeled rows of the task's data version (confident learning) and queue them."""
    from tailorml.labeling.pilot import queue_label_errors

    state = ctx.obj
    store, data_store = _stores(state)
    found = store.task(task)
    with state.output.steps() as on_step:
        on_step("cross-validated probabilities and confident learning")
        suspects = queue_label_errors(store, data_store, found, top_fraction=top, path=path, folds=folds, seed=seed)
    state.output.result([s.__dict__ for s in suspects])
    table = Table(title=f"{found.name}: {len(suspects)} suspected label errors (review page)", title_justify="left")
    for column in ("rank", "row", "given", "suggested", "quality", "text"):
        table.add_column(column, overflow="fold")
    for s in suspects[:25]:
        _row(table, str(s.rank), s.row_key, s.given_label, s.suggested_label, f"{s.score:.3f}", s.text[:60])
    state.output.print(table)


@app.command("export")
def export(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    out: Path = typer.Argument(..., help="A .json (Label Studio) or .csv file to write."),
) -> None:
    """Write a task's annotations as Label Studio JSON or CSV."""
    from tailorml.labeling.interchange import export_csv, export_label_studio

    state = ctx.obj
    store, _ = _stores(state)
    found = store.task(task)
    kind = out.suffix.lower()
    if kind == ".json":
        text = json.dumps(export_label_studio(store, found), indent=2, ensure_ascii=False)
    elif kind == ".csv":
        text = export_csv(store, found)
    else:
        raise TailorError(f"cannot tell the format of {out}", hint="name a .json (Label Studio) or .csv file")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    state.output.result({"written": str(out)})
    state.output.print(f"wrote {out}")


@app.command("import")
def import_(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    file: Path = typer.Argument(..., help="Label Studio JSON or CSV annotations."),
    format: str = typer.Option(None, "--format", help="labelstudio or csv (default: from the extension)."),
) -> None:
    """Add annotations made elsewhere to a task (all rows or none)."""
    from tailorml.labeling.interchange import import_annotations, read_annotations

    state = ctx.obj
    store, _ = _stores(state)
    found = store.task(task)
    n = import_annotations(store, found, read_annotations(file, format))
    state.output.result({"task": found.name, "imported": n})
    state.output.print(f"imported {n} annotation(s) into {found.name!r}")


@app.command("finish")
def finish(ctx: typer.Context, task: str = typer.Argument(...)) -> None:
    """Store the task's final labels (adjudicated, else majority vote) as a new data version."""
    from tailorml.labeling.pilot import finish_task

    state = ctx.obj
    store, data_store = _stores(state)
    found = store.task(task)
    with state.output.steps() as on_step:
        result = finish_task(store, data_store, found, on_step=on_step)
    manifest = result.manifest
    state.output.result({"version": manifest.id, "parent": manifest.parent, "created": result.created})
    if result.created:
        state.output.print(
            f"data version {manifest.id[:12]} ({manifest.rows:,} rows) from task {found.name!r}; "
            f"parent {(manifest.parent or '')[:12]}"
        )
    else:
        state.output.print(f"the final labels change nothing: the content is data version {manifest.id[:12]} already")
