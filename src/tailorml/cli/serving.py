"""Serving commands: serve, promote, rollback, models, log, review, keys."""

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from tailorml.cli._output import parse_age
from tailorml.cli._render import _row

log_app = typer.Typer(no_args_is_help=True, help="Read, export and trim the request log.")
keys_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API keys.")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("promote")(promote)
    app.command("rollback")(rollback)
    app.command("models")(models)
    app.command("review")(review)
    app.add_typer(log_app, name="log")
    app.add_typer(keys_app, name="keys")


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    no_auth: bool = typer.Option(False, "--no-auth", help="Serve without API keys (loopback only)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Threads running model predictions."),
    watch: float = typer.Option(5.0, "--watch", min=0, help="Seconds between checks for a new champion (0: never)."),
    batch_window_ms: float = typer.Option(
        None, "--batch-window-ms", min=0, help="Micro-batching window (default: serving.batch_window_ms)."
    ),
    model_batch: int = typer.Option(32, "--model-batch", min=1, help="Most inputs per model call (1: no batching)."),
) -> None:
    """Answer predictions over HTTP with the champion; every request is logged."""
    from tailorml.serving.server import serve as run_server

    state = ctx.obj
    spec = state.spec()
    state.output.print(f"serving {spec.project} on http://{host}:{port} (docs at /docs)", style="green")
    run_server(
        spec,
        host=host,
        port=port,
        no_auth=no_auth,
        workers=workers,
        watch_seconds=watch,
        batch_window_ms=batch_window_ms,
        model_batch=model_batch,
    )


def _tracker(state: Any) -> Any:
    from tailorml.tracking import Tracker

    return Tracker.for_project(state.spec())


def promote(ctx: typer.Context, ref: str = typer.Argument(..., help="Version number or run id.")) -> None:
    """Make a registered version the champion (running servers pick it up)."""
    state = ctx.obj
    tracker = _tracker(state)
    version = tracker.promote(tracker.resolve(ref).version)
    state.output.result({"champion": version.version, "run_id": version.run_id})
    state.output.print(f"champion is now {version.name} v{version.version} (run {version.run_id})")


def rollback(ctx: typer.Context) -> None:
    """Point the champion back at the version it replaced."""
    state = ctx.obj
    version = _tracker(state).rollback()
    state.output.result({"champion": version.version, "run_id": version.run_id})
    state.output.print(f"rolled back: champion is {version.name} v{version.version} (run {version.run_id})")


def models(ctx: typer.Context) -> None:
    """List the registered versions of the project's model."""
    state = ctx.obj
    versions = _tracker(state).versions()
    state.output.result([v.__dict__ | {"aliases": list(v.aliases)} for v in versions])
    table = Table(title="Registered versions", title_justify="left")
    for column in ("version", "aliases", "path", "data version", "run id"):
        table.add_column(column)
    for v in versions:
        _row(
            table,
            str(v.version),
            ", ".join(v.aliases),
            v.tags.get("tailorml.path", ""),
            v.tags.get("tailorml.data_version", ""),
            v.run_id,
        )
    state.output.print(table)


def _log(state: Any) -> Any:
    from tailorml.serving.requestlog import RequestLog

    spec = state.spec()
    return RequestLog(spec.serving.log_url(spec.root))


@log_app.command("tail")
def log_tail(ctx: typer.Context, n: int = typer.Option(20, "-n", min=1, max=10_000, help="Rows to show.")) -> None:
    """The newest logged predictions."""
    state = ctx.obj
    rows = _log(state).tail(n)
    state.output.result([_plain(r) for r in rows])
    table = Table(title=f"Last {len(rows)} requests", title_justify="left")
    for column in ("time", "model", "input", "label", "conf.", "abstained", "ms"):
        table.add_column(column, overflow="fold")
    for r in rows:
        _row(
            table,
            r["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
            f"v{r['model_version']}",
            r["input_text"][:60],
            r["label"],
            f"{r['confidence']:.2f}",
            "yes" if r["abstained"] else "",
            f"{r['latency_ms']:.1f}",
        )
    state.output.print(table)


@log_app.command("export")
def log_export(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="A .csv or .jsonl file to write."),
    since: str = typer.Option(None, "--since", help="ISO date/time or an age like 7d, 12h."),
) -> None:
    """Write logged predictions to a file."""
    state = ctx.obj
    n = _log(state).export(out, since=_since(since))
    state.output.result({"written": str(out), "rows": n})
    state.output.print(f"wrote {n:,} rows to {out}")


@log_app.command("purge")
def log_purge(
    ctx: typer.Context,
    older_than_days: int = typer.Option(None, "--older-than-days", min=1, help="Default: serving.retention_days."),
) -> None:
    """Delete logged requests older than the retention period."""
    from tailorml.errors import SpecError

    state = ctx.obj
    days = older_than_days or state.spec().serving.retention_days
    if days is None:
        raise SpecError("no retention period set", hint="pass --older-than-days N or set serving.retention_days")
    n = _log(state).purge(days)
    state.output.result({"deleted": n, "older_than_days": days})
    state.output.print(f"deleted {n:,} requests older than {days} days")


def review(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", min=1, help="Items to go through."),
    by: str = typer.Option("cli", "--by", help="Who answers (recorded)."),
) -> None:
    """Answer queued requests in the terminal: type a label, its number in the top-k, s to skip, q to quit."""
    state = ctx.obj
    log = _log(state)
    items = log.pending_reviews(limit=limit)
    if not items:
        state.output.print("the review queue is empty")
        return
    answered = skipped = 0
    for item in items:
        alternatives = _topk(item.get("topk"))
        state.output.print(Text.assemble(("\n" + item["input_text"], "bold")))
        for i, (label, conf) in enumerate(alternatives, start=1):
            state.output.print(f"  {i}. {label} ({conf:.2f})")
        reply = typer.prompt("label (number, text, s=skip, q=quit)", default="s").strip()
        if reply == "q":
            break
        if reply == "s":
            log.skip_review(item["request_id"], by=by)
            skipped += 1
            continue
        label = alternatives[int(reply) - 1][0] if reply.isdigit() and 0 < int(reply) <= len(alternatives) else reply
        log.answer_review(item["request_id"], label, by=by)
        answered += 1
    state.output.result({"answered": answered, "skipped": skipped})
    state.output.print(f"answered {answered}, skipped {skipped}; answers are labeled data for retraining")


def _keys(state: Any) -> Any:
    from tailorml.serving.keys import KeyStore

    spec = state.spec()
    return KeyStore(spec.serving.log_url(spec.root))


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Who or what uses the key."),
    rate: float = typer.Option(
        None, "--rate", min=0.001, help="Requests per second (default: serving.rate_limit_per_s)."
    ),
) -> None:
    """Create an API key; the token is shown once."""
    state = ctx.obj
    info, token = _keys(state).create(name, rate_per_s=rate)
    state.output.result({"id": info.id, "name": info.name, "token": token})
    state.output.print(f"created key {info.id} for {info.name}")
    state.output.print(token, style="bold")
    state.output.print("store it now: only its hash is kept")


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List API keys (never their secrets)."""
    state = ctx.obj
    infos = _keys(state).list()
    state.output.result([_plain(i.__dict__ if hasattr(i, "__dict__") else dict(i)) for i in infos])
    table = Table(title="API keys", title_justify="left")
    for column in ("id", "name", "created", "revoked", "rate/s"):
        table.add_column(column)
    for i in infos:
        _row(
            table,
            i.id,
            i.name,
            str(i.created_at)[:19],
            str(i.revoked_at)[:19] if i.revoked_at else "",
            f"{i.rate_per_s:g}" if i.rate_per_s else "default",
        )
    state.output.print(table)


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: str = typer.Argument(..., help="The key's id (k_...).")) -> None:
    """Revoke an API key."""
    state = ctx.obj
    _keys(state).revoke(key_id)
    state.output.result({"revoked": key_id})
    state.output.print(f"revoked {key_id}")


def _since(text: str | None) -> dt.datetime | None:
    from tailorml.errors import TailorError

    if not text:
        return None
    if text[-1:] in ("d", "h", "m") and text[:-1].isdigit():
        return dt.datetime.now(dt.UTC) - parse_age(text, "--since")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise TailorError(
            f"--since {text!r} is neither an ISO date nor an age",
            hint="use e.g. 2026-11-01, 2026-11-01T08:00, 7d or 12h",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _topk(raw: Any) -> list[tuple[str, float]]:
    import json

    values = json.loads(raw) if isinstance(raw, str) else (raw or [])
    return [(str(label), float(conf)) for label, conf in values]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()}
