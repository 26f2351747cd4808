"""Planning command: tailor plan."""

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from tailorml.cli._render import _row

_STATUS_STYLE = {"pass": "green", "fail": "bold red", "uncertain": "yellow", "not_measured": "dim"}
_STATUS_MARK = {"pass": "✓", "fail": "✗", "uncertain": "?", "not_measured": "–"}


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)


def plan(
    ctx: typer.Context,
    budget: str = typer.Option(
        None, "--budget", metavar="USD", help="Money for labeling, training and serving, e.g. 5000 or 5k."
    ),
    traffic: str = typer.Option(
        None, "--traffic", metavar="RATE", help="Expected traffic, e.g. 20rps, 1200rpm or 50k/day."
    ),
    labels: str = typer.Option(
        None, "--labels", metavar="N", help="Labeled items planned in all (default: what the accuracy objective needs)."
    ),
    hourly_rate: str = typer.Option(None, "--hourly-rate", metavar="USD", help="In-house annotator cost per hour."),
    vendor_rate: str = typer.Option(None, "--vendor-rate", metavar="USD", help="Vendor price per judgment."),
    seconds_per_item: float = typer.Option(None, "--seconds-per-item", min=0.1, help="Annotation seconds per item."),
    months: float = typer.Option(
        None, "--months", min=0.1, help="Months of serving to budget for (default: until the roadmap ends)."
    ),
    paths: str = typer.Option(
        None, "--paths", metavar="A,B", help="Model paths to compare (default: the spec's candidates)."
    ),
    allow_errors: str = typer.Option(None, "--allow-errors", metavar="REASON", help="Plan despite data check errors."),
) -> None:
    """Which model path fits, how many labels, what compute and labeling cost, which roadmap."""
    from tailorml.plan.overrides import PlanOverrides, parse_count, parse_money, parse_traffic
    from tailorml.plan.planner import plan_project

    state = ctx.obj
    given = {
        k: v
        for k, v in {
            "budget": budget,
            "traffic": traffic,
            "labels": labels,
            "hourly-rate": hourly_rate,
            "vendor-rate": vendor_rate,
            "seconds-per-item": None if seconds_per_item is None else f"{seconds_per_item:g}",
            "months": None if months is None else f"{months:g}",
        }.items()
        if v is not None
    }
    overrides = PlanOverrides(
        budget_usd=parse_money(budget) if budget else None,
        traffic_rps=parse_traffic(traffic) if traffic else None,
        labels=parse_count(labels, "--labels") if labels else None,
        hourly_rate=parse_money(hourly_rate, "--hourly-rate") if hourly_rate else None,
        vendor_rate=parse_money(vendor_rate, "--vendor-rate") if vendor_rate else None,
        seconds_per_item=seconds_per_item,
        months=months,
        paths=[p.strip() for p in paths.split(",") if p.strip()] if paths else None,
        given=given,
    )
    spec = state.spec()
    with state.output.steps() as on_step:
        result, folder = plan_project(spec, overrides, allow_errors=allow_errors, on_step=on_step)
    state.output.result(
        {
            "plan": result.model_dump(mode="json"),
            "files": {name: str(folder / name) for name in ("plan.json", "plan.md", "plan.html")},
        }
    )
    _show(state.output, result, folder)


def _show(out: Any, plan: Any, folder: Any) -> None:
    _show_fit(out, plan)
    best = plan.path(plan.recommended) if plan.recommended else None
    out.print(Text(f"recommended: {plan.recommendation}", style="bold"))
    if best:
        _show_labels_and_compute(out, plan, best)
    _show_labeling(out, plan)
    _show_roadmap_and_spend(out, plan)
    out.print(f"plan: {folder / 'plan.html'}")
    out.print(f"markdown: {folder / 'plan.md'}")


def _show_fit(out: Any, plan: Any) -> None:
    fits = Table(title="Model fit (ranked)", title_justify="left")
    for column in ("#", "path", "accuracy", "p95", "cost / 1k", "verdict"):
        fits.add_column(column, overflow="fold")
    for f in plan.paths:
        acc = f.expected.get("accuracy")
        _row(
            fits,
            str(f.rank),
            f.path,
            acc.text() if acc else "—",
            f.expected["latency_p95_ms"].text(),
            f.expected["cost_per_1k_usd"].text(),
            f.verdict,
        )
    out.print(fits)
    if not (plan.paths and plan.paths[0].checks):
        return
    checks = Table(title="Objectives", title_justify="left")
    checks.add_column("objective")
    for f in plan.paths:
        checks.add_column(f.path, overflow="fold", max_width=48)
    for i, c in enumerate(plan.paths[0].checks):
        op = "≥" if c.bound == "min" else "≤"
        cells = [
            Text(f"{_STATUS_MARK[f.checks[i].status]} {f.checks[i].why}", style=_STATUS_STYLE[f.checks[i].status])
            for f in plan.paths
        ]
        _row(checks, f"{c.metric} {op} {c.threshold.text()}", *cells)
    out.print(checks)


def _show_labels_and_compute(out: Any, plan: Any, best: Any) -> None:
    fc = best.forecast
    if fc is not None:
        reach = ""
        if fc.accuracy_target is not None:
            reach = (
                f"; {fc.accuracy_target:g} needs {fc.labels_needed:,} training rows"
                if fc.reachable
                else f"; {fc.accuracy_target:g} is not reachable with {best.path}"
            )
        out.print(
            f"labels: accuracy {fc.predicted_accuracy:.3f} [{fc.low:.3f}, {fc.high:.3f}] at {fc.n_target:,} "
            f"training rows{reach}; items to label: {plan.items_to_label.text()}"
        )
    t = best.training
    out.print(
        f"training {best.path}: {t.hours_per_run.text()} and {t.usd_per_run.text()} per run on {t.hardware}, "
        f"{t.total_usd.text()} for {t.runs.text()} runs"
    )
    title = f"Serving {best.path} at {plan.traffic.text()} ({plan.traffic.basis})"
    serving = Table(title=title, title_justify="left")
    for column in ("profile", "capacity", "p95", "instances", "per month", "note"):
        serving.add_column(column, overflow="fold")
    for o in best.serving:
        _row(
            serving,
            o.profile,
            o.capacity_rps.text(),
            o.p95_ms.text(),
            o.instances.text() if o.instances else "—",
            o.monthly_usd.text() if o.monthly_usd else "—",
            o.note,
        )
    out.print(serving)


def _show_labeling(out: Any, plan: Any) -> None:
    lab, per = plan.labeling, plan.labeling_per_1k
    mix = f"; synthetic mix {lab.synthetic_mix.cost_usd.text()}" if lab.synthetic_mix else ""
    seconds = lab.inputs.seconds_per_item
    out.print(
        f"labeling {plan.items_to_label.text()} items: in-house {lab.in_house_usd.text()}, "
        f"vendor {lab.vendor_usd.text()}{mix} (per 1,000 items: in-house {per.in_house_usd.text()}, "
        f"vendor {per.vendor_usd.text()}; {seconds.text()} per item, {seconds.basis})"
    )


def _show_roadmap_and_spend(out: Any, plan: Any) -> None:
    road = Table(title=f"Roadmap ({plan.roadmap.total_weeks.text()})", title_justify="left")
    for column in ("phase", "weeks", "roles"):
        road.add_column(column, overflow="fold")
    for p in plan.roadmap.phases:
        end = p.start_week.value + p.weeks.value
        _row(road, p.name + (" (done)" if p.done else ""), f"{p.start_week.value:g}–{end:g}", ", ".join(p.roles))
    out.print(road)
    s = plan.spend
    line = (
        f"spend (staff excluded): {s.total.text()} = labeling {s.labeling.text()} + training {s.training.text()} "
        f"+ serving {s.serving.text()}"
    )
    if s.budget is not None:
        line += f"; budget {s.budget.text()}: " + ("within" if s.within_budget else "OVER — " + "; ".join(s.advice))
    out.print(Text(line, style={True: "green", False: "bold red", None: ""}[s.within_budget]))
    for w in plan.warnings:
        out.print(Text(f"warning: {w}", style="yellow"))
    for n in plan.notes:
        out.print(Text(f"note: {n}", style="dim"))
