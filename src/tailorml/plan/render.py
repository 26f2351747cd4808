"""A plan as Markdown and as one self-contained HTML page (Gantt chart and learning curve inline).

Both render from a :class:`~tailorml.plan.planner.Plan` alone. Every number shows its basis
(measured, tailor.yaml, override, pilot, default, derived); the HTML page shows the full
source sentence on hover and both end with every number's source listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tailorml.plan.planner import Plan
from tailorml.plan.quantity import BASIS_TEXT, Quantity

__all__ = ["gantt_svg", "quantities", "render_plan_html", "render_plan_markdown", "write_plan_files"]

_STATUS = {"pass": "✓ meets", "fail": "✗ misses", "uncertain": "? may miss", "not_measured": "– not measured"}
_GANTT_COLUMNS = 48


def quantities(obj: Any, prefix: str = "") -> Iterator[tuple[str, Quantity]]:
    """Every :class:`Quantity` inside ``obj`` with a dotted name saying where it sits."""
    if isinstance(obj, Quantity):
        yield prefix, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from quantities(getattr(obj, name), f"{prefix}.{name}" if prefix else name)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from quantities(value, f"{prefix}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            label = getattr(value, "path", None) or getattr(value, "profile", None) or getattr(value, "name", None)
            yield from quantities(value, f"{prefix}[{label if isinstance(label, str) else i}]")


def _q(q: Quantity | None) -> str:
    return "—" if q is None else q.text()


def _qb(q: Quantity | None) -> str:
    return "—" if q is None else f"{q.text()} ({BASIS_TEXT[q.basis]})"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _table(header: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    return [_row(*header), _row(*(["---"] * len(header))), *(_row(*r) for r in rows)]


def gantt_rows(plan: Plan) -> list[tuple[str, float, float, bool]]:
    """(phase, start week, end week, done) for each phase."""
    return [(p.name, p.start_week.value, p.start_week.value + p.weeks.value, p.done) for p in plan.roadmap.phases]


def _text_gantt(plan: Plan) -> list[str]:
    total = max(plan.roadmap.total_weeks.value, 1)
    scale = _GANTT_COLUMNS / total
    width = max(len(p.name) for p in plan.roadmap.phases)
    lines = [f"{'week':<{width}}  0{' ' * (_GANTT_COLUMNS - len(f'{total:g}') - 1)}{total:g}"]
    for name, start, end, done in gantt_rows(plan):
        first, last = round(start * scale), max(round(end * scale), round(start * scale) + (0 if done else 1))
        bar = " " * first + ("·" if done else "█") * max(last - first, 1 if done else 0)
        if name == "retraining":
            marks = {round(w * scale) for w in plan.roadmap.retrain.weeks}
            bar = "".join("▲" if i in marks else ("─" if i >= first else " ") for i in range(_GANTT_COLUMNS + 1))
        lines.append(f"{name:<{width}}  {bar.rstrip()}")
    return lines


def _md_header(plan: Plan) -> list[str]:
    out = [f"# Plan: {plan.project}", ""]
    out.append(
        f"Created {plan.created_at} · hardware `{plan.hardware}` · prices: {plan.prices} · "
        f"data version `{plan.data.version}` ({plan.data.labeled_rows.text()} labeled rows, "
        f"{plan.data.classes.text()} classes)"
    )
    out += ["", f"**Recommendation:** {plan.recommendation}.", ""]
    for w in plan.warnings:
        out.append(f"> **Warning:** {w}")
    if plan.warnings:
        out.append("")
    return out


def _md_fit(plan: Plan) -> list[str]:
    out: list[str] = ["## 1. Model fit", ""]
    out += _table(
        ["rank", "path", "verdict", "accuracy", "p95 latency", "cost / 1k", "train h / run"],
        [
            [
                f.rank,
                f"`{f.path}`",
                f.verdict,
                _q(f.expected.get("accuracy")),
                _q(f.expected["latency_p95_ms"]),
                _q(f.expected["cost_per_1k_usd"]),
                _q(f.training.hours_per_run),
            ]
            for f in plan.paths
        ],
    )
    if plan.paths and plan.paths[0].checks:
        out += ["", "Objectives, per path (what each is expected to reach, and why):", ""]
        header = ["objective", *(f"`{f.path}`" for f in plan.paths)]
        rows = []
        for i, check in enumerate(plan.paths[0].checks):
            op = "≥" if check.bound == "min" else "≤"
            rows.append(
                [f"{check.metric} {op} {check.threshold.text()}"]
                + [f"{_STATUS[f.checks[i].status]}: {f.checks[i].why}" for f in plan.paths]
            )
        out += _table(header, rows)
    return out


def _md_labels(plan: Plan) -> list[str]:
    out: list[str] = ["", "## 2. How many labels", ""]
    for f in plan.paths:
        fc = f.forecast
        if fc is None:
            out.append(f"- `{f.path}`: too few distinct training sizes for a learning curve.")
            continue
        reach = ""
        if fc.accuracy_target is not None:
            reach = (
                f"; {fc.accuracy_target:g} needs {fc.labels_needed:,} training rows"
                if fc.reachable
                else f"; {fc.accuracy_target:g} is **not reachable** with this path "
                f"(levels off near {fc.asymptote:.3f})"
            )
        out.append(
            f"- `{f.path}`: accuracy {fc.predicted_accuracy:.3f} [{fc.low:.3f}, {fc.high:.3f}] at "
            f"{fc.n_target:,} training rows{reach}; planned {f.planned_labeled.text()} labeled items "
            f"({BASIS_TEXT[f.planned_labeled.basis]}). Curve: "
            + ", ".join(
                f"{p.n_train:,} → {p.accuracy:.3f}" for p in sorted(f.learning_curve.points, key=lambda p: p.n_train)
            )
            + f". Fit: {fc.source}."
        )
    out += ["", f"Items to label: **{plan.items_to_label.text()}** ({plan.items_to_label.source}).", ""]
    return out


def _md_compute(plan: Plan) -> list[str]:
    out: list[str] = ["## 3. Compute", "", "Training (planned rows, every planned run):", ""]
    out += _table(
        ["path", "rows", "hours / run", "cost / run", "runs", "total", "GPU option"],
        [
            [
                f"`{f.path}`",
                _q(f.training.rows),
                _q(f.training.hours_per_run),
                _q(f.training.usd_per_run),
                _q(f.training.runs),
                _q(f.training.total_usd),
                f"{f.training.gpu_profile}: {_q(f.training.gpu_hours_per_run)}, {_q(f.training.gpu_usd_per_run)} / run"
                if f.training.gpu_profile
                else "—",
            ]
            for f in plan.paths
        ],
    )
    p95 = f"p95 ≤ {plan.p95_objective.text()}" if plan.p95_objective else "no p95 objective"
    out += ["", f"Serving at {_qb(plan.traffic)}, {p95}:", ""]
    for f in plan.paths:
        out += [f"`{f.path}`:", ""]
        out += _table(
            ["profile", "capacity / instance", "p95", "usable rps / instance", "instances", "per month", "note"],
            [
                [
                    f"{o.profile} ({o.instance})",
                    _q(o.capacity_rps),
                    _q(o.p95_ms),
                    _q(o.max_rps_per_instance),
                    _q(o.instances),
                    _q(o.monthly_usd),
                    o.note,
                ]
                for o in f.serving
            ],
        )
        out.append("")
    return out


def _md_labeling(plan: Plan) -> list[str]:
    out: list[str] = []
    lab = plan.labeling
    out += ["## 4. Labeling cost", ""]
    inputs = lab.inputs
    out += _table(
        ["input", "value", "source"],
        [
            [name.replace("_", " "), q.text(), q.source]
            for name, q in (
                ("items", inputs.items),
                ("seconds_per_item", inputs.seconds_per_item),
                ("annotators_per_item", inputs.annotators_per_item),
                ("hourly_rate", inputs.hourly_rate),
                ("vendor_per_judgment", inputs.vendor_per_judgment),
                ("review_share", inputs.review_share),
            )
        ],
    )
    per = plan.labeling_per_1k
    out += [
        "",
        f"- annotation: {_q(lab.annotation_hours)}; overhead {_q(lab.overhead_share)} ({lab.overhead_share.source})",
        f"- in-house: **{_q(lab.in_house_usd)}** ({lab.in_house_usd.source})",
        f"- vendor: **{_q(lab.vendor_usd)}** ({lab.vendor_usd.source})",
        f"- per 1,000 items: in-house {_q(per.in_house_usd)}, vendor {_q(per.vendor_usd)}"
        + (f", synthetic mix {_q(per.synthetic_mix.cost_usd)}" if per.synthetic_mix else ""),
    ]
    if lab.synthetic_mix:
        mix = lab.synthetic_mix
        out.append(
            f"- cheaper mix: {_q(mix.synthetic_items)} synthetic + {_q(mix.human_items)} human = {_q(mix.cost_usd)} "
            f"(saves {_q(mix.saving_usd)}); {mix.caveat}"
        )
    elif lab.synthetic_note:
        out.append(f"- synthetic mix: {lab.synthetic_note}")
    return out


def _md_roadmap(plan: Plan) -> list[str]:
    out: list[str] = ["", "## 5. Roadmap and staffing", ""]
    out += _table(
        ["phase", "weeks", "duration", "roles", "deliverable"],
        [
            [
                p.name + (" (done)" if p.done else ""),
                f"{p.start_week.value:g}–{p.start_week.value + p.weeks.value:g}",
                f"{_q(p.weeks)} ({p.weeks.source})",
                ", ".join(p.roles),
                p.deliverable,
            ]
            for p in plan.roadmap.phases
        ],
    )
    out += ["", "```text", *_text_gantt(plan), "```", ""]
    if plan.roadmap.retrain.weeks:
        out.append(f"Retraining in weeks {', '.join(str(w) for w in plan.roadmap.retrain.weeks)} (▲).")
        out.append("")
    out += _table(["role", "phases", "why"], [[r.name, ", ".join(r.phases), r.why] for r in plan.roadmap.roles])
    return out


def _md_spend(plan: Plan) -> list[str]:
    out: list[str] = []
    s = plan.spend
    out += ["", "## 6. Spend (staff excluded)", ""]
    out += _table(
        ["item", "amount", "source"],
        [
            ["labeling", _q(s.labeling), s.labeling.source],
            ["training", _q(s.training), s.training.source],
            ["serving", _q(s.serving), s.serving.source],
            ["total", f"**{_q(s.total)}**", s.total.source],
            ["budget", _q(s.budget), s.budget.source if s.budget else "no --budget given"],
        ],
    )
    if s.within_budget is not None:
        out += ["", "Within budget." if s.within_budget else "**Over budget.** " + "; ".join(s.advice) + "."]
    return out


def render_plan_markdown(plan: Plan) -> str:
    """The plan as Markdown: recommendation, model fit, labels, compute, labeling, roadmap, spend, sources."""
    out = _md_header(plan)
    for section in (_md_fit, _md_labels, _md_compute, _md_labeling, _md_roadmap, _md_spend):
        out += section(plan)
    if plan.notes:
        out += ["", "## Notes", "", *(f"- {n}" for n in plan.notes)]
    out += ["", "## Where every number comes from", ""]
    out += _table(
        ["number", "value", "basis", "source"], [[n, q.text(), q.basis, q.source] for n, q in quantities(plan)]
    )
    return "\n".join(out) + "\n"


def gantt_svg(plan: Plan) -> str:
    """The roadmap as a Gantt chart: one bar per phase, retraining runs marked."""
    from tailorml.report import _plots

    rows = gantt_rows(plan)
    with _plots._style():
        fig = _plots._figure(8.8, 0.45 * len(rows) + 0.9)
        ax = fig.add_subplot()
        for i, (name, start, end, done) in enumerate(rows):
            y = len(rows) - 1 - i
            colour = _plots.GREY if done else (_plots.SKY if name == "retraining" else _plots.BLUE)
            ax.barh(y, max(end - start, 0.15), left=start, height=0.55, color=colour)
            label = f"{end - start:g} wk" + (" (done)" if done else "")
            ax.annotate(label, (end, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7.5)
            if name == "retraining":
                ax.plot(plan.roadmap.retrain.weeks, [y] * len(plan.roadmap.retrain.weeks), "^", color=_plots.INK, ms=5)
        ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)])
        ax.set_xlim(0, max(plan.roadmap.total_weeks.value, 1) * 1.08)
        ax.set_xlabel("week")
        _plots._tidy(ax, grid="x")
        return _plots._svg(fig, "gantt", "Roadmap: phases by week")


def render_plan_html(plan: Plan) -> str:
    """The plan as one self-contained HTML page."""
    from tailorml import __version__
    from tailorml.report import _plots
    from tailorml.report.html import _environment

    curves = {}
    for f in plan.paths:
        fc = f.forecast
        curves[f.path] = _plots.learning_curve(
            f.learning_curve.points,
            key=f"curve-{f.rank}",
            target=fc.accuracy_target if fc else None,
            labels_needed=fc.labels_needed if fc else None,
        )
    return (
        _environment()
        .get_template("plan.html.j2")
        .render(
            plan=plan,
            gantt=gantt_svg(plan),
            curves=curves,
            sources=list(quantities(plan)),
            basis=BASIS_TEXT,
            status=_STATUS,
            version=__version__,
        )
    )


def write_plan_files(plan: Plan, folder: str | Path) -> tuple[Path, Path]:
    """Write ``plan.md`` and ``plan.html`` into ``folder`` atomically; return their paths."""
    from tailorml.report._format import write_atomic

    folder = Path(folder)
    return (
        write_atomic(folder / "plan.md", render_plan_markdown(plan)),
        write_atomic(folder / "plan.html", render_plan_html(plan)),
    )
