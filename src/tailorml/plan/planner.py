"""``tailor plan``: which model path fits, how many labels, what compute and labeling cost, which roadmap.

:func:`plan_project` imports and splits the spec's data, runs each candidate path quickly on
it (:func:`tailorml.plan.fit.quick_run`) and hands the measurements to :func:`make_plan`,
which is pure: measurements, the price table, the pilot's figures and the user's overrides
in, a :class:`Plan` out. Every number in a plan is a :class:`~tailorml.plan.quantity.Quantity`
that says whether it was measured here, stated in the spec, overridden, measured in the
labeling pilot, taken from the dated default table, or derived (and from what).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tailorml.data.dataset import Dataset
from tailorml.errors import SpecError
from tailorml.gates import Objectives
from tailorml.hardware import HardwareProfile, PriceTable, load_price_table
from tailorml.plan.compute import ServingOption, TrainingCost, serving_options, training_cost
from tailorml.plan.fit import CURVE_SEEDS, PathRun, quick_run
from tailorml.plan.labeling_cost import LabelingCost, LabelingInputs, labeling_cost
from tailorml.plan.labels import LabelForecast, forecast
from tailorml.plan.overrides import PlanOverrides
from tailorml.plan.pilot import LOW_AGREEMENT, PilotFigures, read_pilot
from tailorml.plan.quantity import Quantity, from_rate
from tailorml.plan.roadmap import Roadmap, RoadmapInputs, build_roadmap
from tailorml.results import Estimate, GateStatus, LearningPoint
from tailorml.spec import Spec

__all__ = ["DataFacts", "ObjectiveCheck", "PathFit", "Plan", "Spend", "make_plan", "plan_project"]

OnStep = Callable[[str], None]
WEEKS_PER_MONTH = 52 / 12
NEURAL_CURVE_SEEDS = (0,)  # a neural path's curve costs one seed per size: its fits take minutes, not seconds


class ObjectiveCheck(BaseModel):
    """One objective against what a path is expected to reach, and why."""

    metric: str
    bound: Literal["min", "max"]
    threshold: Quantity
    expected: Quantity | None = None
    status: GateStatus
    why: str


class LearningRuns(BaseModel):
    points: list[LearningPoint]
    source: str


class PathFit(BaseModel):
    """One candidate path: expected quality, speed and cost, and which objectives it should meet."""

    path: str
    description: str
    neural: bool
    rank: int
    verdict: str
    checks: list[ObjectiveCheck]
    expected: dict[str, Quantity] = Field(description="quality, latency, throughput, cost per 1k, size")
    learning_curve: LearningRuns
    forecast: LabelForecast | None = None
    planned_train_rows: Quantity
    planned_labeled: Quantity
    training: TrainingCost
    serving: list[ServingOption] = Field(description="every hardware profile, cheapest first")

    def check(self, metric: str) -> ObjectiveCheck | None:
        return next((c for c in self.checks if c.metric == metric), None)


class DataFacts(BaseModel):
    version: str
    labeled_rows: Quantity
    train_rows: Quantity
    test_rows: Quantity
    train_share: Quantity
    classes: Quantity


class Spend(BaseModel):
    """Money the plan spends besides staff: labeling, training, serving until the roadmap ends."""

    labeling: Quantity
    training: Quantity
    serving_monthly: Quantity | None
    serving_months: Quantity
    serving: Quantity
    total: Quantity
    budget: Quantity | None = None
    within_budget: bool | None = None
    advice: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """Everything ``tailor plan`` answers, every number with its source."""

    project: str
    spec_hash: str
    created_at: str
    hardware: str
    prices: str = Field(description="the price table's source and date")
    data: DataFacts
    accuracy_objective: Quantity | None = None
    paths: list[PathFit] = Field(description="ranked: best fit first")
    recommended: str | None
    recommendation: str
    traffic: Quantity
    p95_objective: Quantity | None = None
    items_to_label: Quantity
    labeling: LabelingCost
    labeling_per_1k: LabelingCost = Field(description="the same rates for 1,000 items, for comparison")
    pilot: PilotFigures | None = None
    roadmap: Roadmap
    spend: Spend
    overrides: PlanOverrides
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def path(self, name: str) -> PathFit:
        return next(p for p in self.paths if p.path == name)

    def save(self, folder: str | Path) -> Path:
        from tailorml._jsonfile import write_model_json

        return write_model_json(self, Path(folder) / "plan.json")

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------


def plan_project(
    spec: Spec,
    overrides: PlanOverrides | None = None,
    *,
    allow_errors: str | None = None,
    on_step: OnStep | None = None,
) -> tuple[Plan, Path]:
    """Import and split the data, run each path quickly, plan, and write plan.json, plan.md and plan.html.

    Returns the plan and the folder it was written to (``.tailor/plan``).
    """
    from tailorml.paths import available_paths
    from tailorml.plan.render import write_plan_files
    from tailorml.project import Project
    from tailorml.run import prepare_data
    from tailorml.runtime import serving_threads

    overrides = overrides or PlanOverrides()
    table = load_price_table(spec.resolve(spec.prices) if spec.prices else None)
    profile = table.profile(spec.hardware)
    _, dataset = prepare_data(spec, allow_errors=allow_errors, on_step=on_step)
    names = candidate_paths(spec, overrides, n_train_rows=len(dataset.train))
    paths = available_paths()
    runs = {
        name: quick_run(
            name,
            dataset,
            threads=serving_threads(profile.vcpus),
            out_of_scope=spec.task.out_of_scope,
            groups=spec.task.groups,
            seeds=NEURAL_CURVE_SEEDS if paths[name].neural else CURVE_SEEDS,
            on_step=on_step,
        )
        for name in names
    }
    home = Project.at(spec.root).home
    pilot = read_pilot(home / "labeling" / "pilot.json")
    if on_step:
        on_step("planning")
    plan = make_plan(spec, dataset, runs, overrides=overrides, table=table, pilot=pilot)
    folder = home / "plan"
    plan.save(folder)
    write_plan_files(plan, folder)
    return plan, folder


def candidate_paths(spec: Spec, overrides: PlanOverrides, *, n_train_rows: int) -> list[str]:
    """The paths to compare: ``--paths``, else the spec's list, else (``auto``) the paths ``tailor train``
    would train within ``budget.train_minutes`` (:func:`tailorml.train.plan_candidates`)."""
    import difflib

    from tailorml.paths import available_paths
    from tailorml.train import plan_candidates

    known = available_paths()
    if overrides.paths:
        names = overrides.paths
    elif spec.candidates == "auto":
        names = [name for name, _ in plan_candidates(spec, n_train_rows)]
    else:
        names = list(spec.candidates)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            raise SpecError(
                f"unknown model path {name!r}." + (f" Did you mean {close[0]!r}?" if close else ""),
                hint=f"known model paths: {', '.join(known)}",
            )
    return names


def make_plan(
    spec: Spec,
    dataset: Dataset,
    runs: dict[str, PathRun],
    *,
    overrides: PlanOverrides,
    table: PriceTable,
    pilot: PilotFigures | None = None,
    today: dt.date | None = None,
) -> Plan:
    """The plan from measurements already made; see the module docstring."""
    from tailorml.gates import objectives_from_spec
    from tailorml.paths import available_paths

    profile = table.profile(spec.hardware)
    objectives = objectives_from_spec(spec)
    given = overrides.given
    data = _data_facts(dataset)
    acc_metric = next((m for m in ("accuracy", "in_scope_accuracy") if m in objectives), None)
    acc_target = objectives[acc_metric][1] if acc_metric else None
    traffic = (
        Quantity.override(overrides.traffic_rps, "rps", f"--traffic {given.get('traffic', overrides.traffic_rps)}")
        if overrides.traffic_rps
        else from_rate(table.planning, "traffic_rps")
    )
    p95 = _spec_quantity("latency_p95_ms", objectives, "ms")
    runs_planned = from_rate(table.planning, "training_runs")
    warnings: list[str] = []
    notes: list[str] = []

    fits = []
    for name, run in runs.items():
        info = available_paths()[name]
        fits.append(
            _path_fit(
                spec,
                run,
                info.description,
                info.neural,
                data,
                objectives,
                acc_metric,
                acc_target,
                overrides,
                profile,
                table,
                traffic,
                p95,
                runs_planned,
                today,
            )
        )
    fits.sort(key=_rank_key)
    for rank, fit in enumerate(fits, 1):
        fit.rank = rank
    best = fits[0] if fits else None
    recommendation = _recommendation(fits)

    items_needed = best.planned_labeled.value - data.labeled_rows.value if best else 0
    items = Quantity.derived(
        max(items_needed, 0),
        "items",
        f"{best.planned_labeled.text() if best else 0} labeled items planned for {best.path if best else '-'} − "
        f"{data.labeled_rows.text()} labeled now",
    )
    inputs = _labeling_inputs(spec, items, data, overrides, pilot, table)
    labeling = labeling_cost(inputs)
    per_1k = labeling_cost(
        inputs.model_copy(
            update={"items": Quantity(value=1000, unit="items", basis="default", source="for comparison")}
        )
    )
    if pilot is not None:
        notes.extend(f"labeling pilot: {n}" for n in pilot.notes)
        if pilot.low_agreement:
            warnings.append(
                f"the labeling pilot's agreement is low (Krippendorff alpha {pilot.krippendorff_alpha:.2f} < "
                f"{LOW_AGREEMENT}): sharpen the guidelines and re-pilot; the plan adds "
                f"{inputs.adjudication_share.text()} adjudication overhead"
            )
    else:
        notes.append(
            "no labeling pilot yet (.tailor/labeling/pilot.json): seconds per item and annotators per item are "
            "dated defaults; run the pilot to measure them"
        )
    busy = [r.path for r in runs.values() if r.busy]
    if busy:
        warnings.append(
            f"this machine was busy (load above its cores) while timing {', '.join(busy)}: latency and throughput "
            "are pessimistic; run tailor plan again on a quiet machine"
        )
    if traffic.basis == "default":
        notes.append(f"no traffic given: {traffic.text()} assumed for serving capacity; pass --traffic (e.g. 20rps)")
    if not acc_metric:
        notes.append("the spec has no accuracy objective, so labels are planned at the current data size")
    if data.test_rows.value < 200:
        warnings.append(
            f"only {data.test_rows.text()} test rows: quality figures and the learning curve are rough; "
            "label more rows before trusting the forecast"
        )

    training_hours = (best.training.hours_per_run.value * runs_planned.value) if best else 0.0
    roadmap = build_roadmap(
        RoadmapInputs(
            annotation_hours=labeling.annotation_hours,
            overhead_share=labeling.overhead_share,
            training_hours=Quantity.derived(
                training_hours,
                "h",
                f"{best.training.hours_per_run.text() if best else 0} per run × {runs_planned.text()} runs",
            ),
            pilot_done=bool(pilot and pilot.seconds_per_item_median),
            pilot_source=pilot.describe() if pilot else None,
            fairness=bool(spec.task.groups),
            privacy=bool(spec.privacy.redact_pii or spec.privacy.drop_columns),
            research=not any(f.verdict.startswith("expected to meet") for f in fits),
            low_agreement=bool(pilot and pilot.low_agreement),
        ),
        table.planning,
    )
    warnings.extend(roadmap.warnings)
    spend = _spend(best, labeling, roadmap, overrides, table)
    if spend.within_budget is False:
        warnings.append(
            f"the plan spends {spend.total.text()}, over the {spend.budget.text() if spend.budget else ''} budget"
        )
    return Plan(
        project=spec.project,
        spec_hash=spec.spec_hash(),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        hardware=spec.hardware,
        prices=f"{table.source}, {table.as_of}",
        data=data,
        accuracy_objective=_spec_quantity(acc_metric, objectives, "accuracy") if acc_metric else None,
        paths=fits,
        recommended=best.path if best else None,
        recommendation=recommendation,
        traffic=traffic,
        p95_objective=p95,
        items_to_label=items,
        labeling=labeling,
        labeling_per_1k=per_1k,
        pilot=pilot,
        roadmap=roadmap,
        spend=spend,
        overrides=overrides,
        warnings=warnings,
        notes=notes,
    )


def _spec_quantity(metric: str | None, objectives: Objectives, unit: str) -> Quantity | None:
    if metric is None or metric not in objectives:
        return None
    bound, value = objectives[metric]
    return Quantity(value=value, unit=unit, basis="spec", source=f"tailor.yaml: objectives.{metric}.{bound}")


def _data_facts(dataset: Dataset) -> DataFacts:
    n_train, n_val, n_test = len(dataset.train), len(dataset.validation), len(dataset.test)
    labeled = n_train + n_val + n_test
    where = f"data version {dataset.version.id}, split {dataset.split.key}"
    return DataFacts(
        version=dataset.version.id,
        labeled_rows=Quantity.measured(labeled, "rows", f"labeled rows of {where}"),
        train_rows=Quantity.measured(n_train, "rows", f"train side of {where}"),
        test_rows=Quantity.measured(n_test, "rows", f"test side of {where}"),
        train_share=Quantity.measured(n_train / max(labeled, 1), "share", f"train rows ÷ labeled rows of {where}"),
        classes=Quantity.measured(len(set(dataset.train.labels)), "", f"labels in the train side of {where}"),
    )


def _path_fit(
    spec: Spec,
    run: PathRun,
    description: str,
    neural: bool,
    data: DataFacts,
    objectives: Objectives,
    acc_metric: str | None,
    acc_target: float | None,
    overrides: PlanOverrides,
    profile: HardwareProfile,
    table: PriceTable,
    traffic: Quantity,
    p95: Quantity | None,
    runs_planned: Quantity,
    today: dt.date | None,
) -> PathFit:
    where = f"{run.path}, {run.measured_on}"
    curve_source = (
        f"measured here: {len(run.curve)} runs of {run.path} on 10–100% of {run.train_rows:,} training rows, "
        f"scored on {run.test_rows:,} test rows ({run.measured_on})"
    )
    current = run.train_rows
    fc = _forecast(run, current, acc_target, today)
    train_share = data.train_share
    labels_given = overrides.labels
    if labels_given:
        planned_labeled = Quantity.override(
            labels_given, "items", f"--labels {overrides.given.get('labels', labels_given)}"
        )
        planned_train = Quantity.derived(
            round(labels_given * train_share.value),
            "rows",
            f"{planned_labeled.text()} × {train_share.text()} train share",
        )
    elif fc is not None and fc.reachable and fc.labels_needed and fc.labels_needed > current:
        planned_train = Quantity.derived(
            fc.labels_needed, "rows", f"training rows the learning curve needs for {acc_metric} {acc_target:g}"
        )
        planned_labeled = Quantity.derived(
            math.ceil(fc.labels_needed / train_share.value),
            "items",
            f"{planned_train.text()} training rows ÷ {train_share.text()} train share "
            "(validation and test need labels too)",
        )
    else:
        planned_train = Quantity.measured(current, "rows", f"training rows now ({where})")
        planned_labeled = data.labeled_rows
    if fc is not None and planned_train.value != current:
        fc = _forecast(run, int(planned_train.value), acc_target, today)

    expected = _expected(run, fc, planned_train, profile, table, acc_metric)
    training = training_cost(
        measured_seconds=Quantity.measured(
            run.train_seconds, "s", f"one fit of {run.path} on {current:,} rows, cold cache"
        ),
        measured_rows=current,
        planned_rows=planned_train,
        neural=neural,
        profile=profile,
        table=table,
        runs=runs_planned,
    )
    expected["train_minutes"] = Quantity.derived(
        training.hours_per_run.value * 60, "min", f"{training.hours_per_run.text()} per run × 60"
    )
    expected["train_cost_usd"] = training.usd_per_run
    checks = [_check(metric, bound, value, expected, acc_metric, fc) for metric, (bound, value) in objectives.items()]
    serving = serving_options(
        throughput=expected["throughput_per_s"],
        threads=run.threads,
        p95_ms=expected["latency_p95_ms"],
        neural=neural,
        traffic=traffic,
        p95_objective=p95,
        table=table,
    )
    return PathFit(
        path=run.path,
        description=description,
        neural=neural,
        rank=0,
        verdict=_verdict(checks, fc),
        checks=checks,
        expected=expected,
        learning_curve=LearningRuns(points=run.curve, source=curve_source),
        forecast=fc,
        planned_train_rows=planned_train,
        planned_labeled=planned_labeled,
        training=training,
        serving=serving,
    )


def _forecast(run: PathRun, n_target: int, target: float | None, today: dt.date | None) -> LabelForecast | None:
    if len({p.n_train for p in run.curve}) < 2:
        return None
    return forecast(
        run.curve, n_target=n_target, accuracy_target=target, path=run.path, n_labeled=run.train_rows, measured_on=today
    )


def _expected(
    run: PathRun,
    fc: LabelForecast | None,
    planned_train: Quantity,
    profile: HardwareProfile,
    table: PriceTable,
    acc_metric: str | None,
) -> dict[str, Quantity]:
    on_test = (
        f"{run.path} trained on {run.train_rows:,} rows, scored on {run.test_rows:,} test rows ({run.measured_on})"
    )
    out: dict[str, Quantity] = {}
    for name, est in run.quality.items():
        out[name] = Quantity.measured(est.value, "accuracy", on_test, low=est.low, high=est.high)
    if fc is not None and acc_metric == "accuracy":
        out["accuracy"] = Quantity.derived(
            fc.predicted_accuracy,
            "accuracy",
            f"learning-curve forecast at {planned_train.text()} training rows ({fc.source})",
            low=fc.low,
            high=fc.high,
        )
    timing = f"{run.path} in a fresh process on {run.threads} threads ({run.measured_on})"
    lat = run.latency
    out["latency_p50_ms"] = Quantity.measured(lat.p50_ms, "ms", f"median single-request latency of {timing}")
    out["latency_p95_ms"] = Quantity.measured(lat.p95_ms, "ms", f"95th percentile single-request latency of {timing}")
    out["latency_p99_ms"] = Quantity.measured(lat.p99_ms, "ms", f"99th percentile single-request latency of {timing}")
    out["throughput_per_s"] = Quantity.measured(
        lat.throughput_per_s, "rps", f"predictions per second in batches of {lat.batch_size}, {timing}"
    )
    out["model_size_mb"] = Quantity.measured(lat.size_mb, "MB", f"bytes serving needs on disk, {timing}")
    out["peak_memory_mb"] = Quantity.measured(lat.peak_memory_mb, "MB", f"peak resident memory, {timing}")
    out["cost_per_1k_usd"] = Quantity.derived(
        profile.usd_per_hour / 3600 / lat.throughput_per_s * 1000,
        "USD",
        f"${profile.usd_per_hour:g}/h ({profile.name}, {table.source}, {table.as_of}) ÷ 3600 ÷ "
        f"{lat.throughput_per_s:,.0f} predictions/s × 1000, at full use",
    )
    return out


_OP = {"min": "≥", "max": "≤"}


def _check(
    metric: str,
    bound: Literal["min", "max"],
    threshold: float,
    expected: dict[str, Quantity],
    acc_metric: str | None,
    fc: LabelForecast | None,
) -> ObjectiveCheck:
    from tailorml.gates import judge_one

    unit = expected[metric].unit if metric in expected else ""
    limit = Quantity(value=threshold, unit=unit, basis="spec", source=f"tailor.yaml: objectives.{metric}.{bound}")
    q = expected.get(metric)
    gate = judge_one(metric, bound, threshold, Estimate(value=q.value, low=q.low, high=q.high) if q else None)
    if q is None:
        why = f"{metric} is not measured by a quick run; tailor evaluate measures it"
    else:
        how = {
            "measured": "measured",
            "derived": "forecast" if metric == acc_metric and fc is not None else "derived",
        }.get(q.basis, q.basis)
        verdict = {"pass": "expected to meet", "fail": "expected to miss", "uncertain": "may miss"}.get(gate.status, "")
        why = f"{how} {q.text()} {_OP[bound]} {limit.text()}: {verdict}"
        if metric == acc_metric and fc is not None and fc.reachable is False:
            why += f"; not reachable with this path (the curve levels off near {fc.asymptote:.3f})"
        if gate.status == "uncertain":
            why += " (the interval straddles the objective)"
    return ObjectiveCheck(metric=metric, bound=bound, threshold=limit, expected=q, status=gate.status, why=why)


def _verdict(checks: list[ObjectiveCheck], fc: LabelForecast | None) -> str:
    misses = [c.metric for c in checks if c.status == "fail"]
    unsure = [c.metric for c in checks if c.status == "uncertain"]
    unknown = [c.metric for c in checks if c.status == "not_measured"]
    if misses:
        return f"expected to miss {', '.join(misses)}"
    if unsure:
        return f"may miss {', '.join(unsure)} (intervals straddle the objectives)"
    tail = f" measured here (not measured: {', '.join(unknown)})" if unknown else ""
    return f"expected to meet every objective{tail}"


def _rank_key(fit: PathFit) -> tuple[int, int, int, float, float]:
    statuses = [c.status for c in fit.checks]
    return (
        statuses.count("fail"),
        statuses.count("uncertain"),
        statuses.count("not_measured"),
        fit.expected["cost_per_1k_usd"].value,
        fit.expected["latency_p95_ms"].value,
    )


def _recommendation(fits: list[PathFit]) -> str:
    if not fits:
        return "no model path to compare"
    best = fits[0]
    text = f"{best.path}: {best.verdict}"
    if len(fits) > 1:
        runner = fits[1]
        key = (
            "cheaper per 1k predictions"
            if not best.verdict.startswith("expected to miss")
            else "fewer objectives missed"
        )
        costs = f"{best.expected['cost_per_1k_usd'].text()} vs {runner.expected['cost_per_1k_usd'].text()} per 1k"
        text += f"; ranked above {runner.path} ({key}: {costs})"
    if best.verdict.startswith("expected to miss"):
        text += ". No path is expected to meet every objective: see the research role in the roadmap"
    return text


def _labeling_inputs(
    spec: Spec,
    items: Quantity,
    data: DataFacts,
    overrides: PlanOverrides,
    pilot: PilotFigures | None,
    table: PriceTable,
) -> LabelingInputs:
    rates, given = table.annotation, overrides.given

    def pick(
        name: str, override: float | None, option: str, unit: str, pilot_value: float | None, pilot_what: str
    ) -> Quantity:
        if override is not None:
            return Quantity.override(override, unit, f"{option} {given.get(option.lstrip('-'), override)}")
        if pilot is not None and pilot_value is not None:
            return Quantity(value=pilot_value, unit=unit, basis="pilot", source=f"{pilot_what} in {pilot.describe()}")
        return from_rate(rates, name)

    return LabelingInputs(
        items=items,
        seconds_per_item=pick(
            "seconds_per_item",
            overrides.seconds_per_item,
            "--seconds-per-item",
            "s",
            pilot.seconds_per_item_median if pilot else None,
            "median seconds per item",
        ),
        annotators_per_item=pick(
            "annotators_per_item", None, "", "", pilot.annotators_per_item if pilot else None, "annotators per item"
        ),
        hourly_rate=pick(
            "in_house_usd_per_hour",
            overrides.hourly_rate,
            "--hourly-rate",
            "USD/h",
            pilot.hourly_rate if pilot else None,
            "hourly rate",
        ),
        vendor_per_judgment=pick("vendor_usd_per_judgment", overrides.vendor_rate, "--vendor-rate", "USD", None, ""),
        review_share=from_rate(rates, "review_share"),
        adjudication_share=from_rate(rates, "adjudication_share"),
        synthetic_per_item=from_rate(rates, "synthetic_usd_per_item"),
        synthetic_verify_share=from_rate(rates, "synthetic_verify_share"),
        synthetic_max_share=from_rate(rates, "synthetic_max_share"),
        train_share=data.train_share,
        low_agreement=bool(pilot and pilot.low_agreement),
        synthetic_allowed=spec.task.kind == "text-classification",
    )


def _spend(
    best: PathFit | None, labeling: LabelingCost, roadmap: Roadmap, overrides: PlanOverrides, table: PriceTable
) -> Spend:
    if labeling.synthetic_mix is not None:
        label_q = Quantity.derived(labeling.synthetic_mix.cost_usd.value, "USD", "the synthetic mix (cheapest)")
    else:
        cheaper = labeling.in_house_usd if labeling.cheaper == "in-house" else labeling.vendor_usd
        label_q = Quantity.derived(cheaper.value, "USD", f"{labeling.cheaper} labeling (cheaper)")
    train_q = Quantity.derived(
        best.training.total_usd.value if best else 0.0,
        "USD",
        f"training {best.path if best else '-'} (all planned runs)",
    )
    option = next((o for o in best.serving if o.monthly_usd is not None), None) if best else None
    monthly = (
        Quantity.derived(
            option.monthly_usd.value, "USD", f"{option.profile}: cheapest profile meeting the p95 objective"
        )
        if option and option.monthly_usd
        else None
    )
    launch = next((p for p in roadmap.phases if p.name == "retraining"), None)
    if overrides.months:
        months = Quantity.override(
            overrides.months, "months", f"--months {overrides.given.get('months', overrides.months)}"
        )
    else:
        live_weeks = roadmap.total_weeks.value - (launch.start_week.value if launch else roadmap.total_weeks.value)
        months = Quantity.derived(
            live_weeks / WEEKS_PER_MONTH, "months", "from launch to the roadmap's end (weeks ÷ 4.33)"
        )
    serving = Quantity.derived(
        (monthly.value if monthly else 0) * months.value,
        "USD",
        f"{monthly.text() if monthly else 'no profile meets the p95 objective: $0'} per month × {months.text()}",
    )
    total = Quantity.derived(label_q.value + train_q.value + serving.value, "USD", "labeling + training + serving")
    budget = within = None
    advice: list[str] = []
    if overrides.budget_usd:
        budget = Quantity.override(
            overrides.budget_usd, "USD", f"--budget {overrides.given.get('budget', overrides.budget_usd)}"
        )
        within = total.value <= budget.value
        if not within:
            if labeling.synthetic_mix is None and labeling.synthetic_note is None:
                advice.append("replace part of the training labels with checked synthetic data")
            if labeling.cheaper == "in-house" and labeling.vendor_usd.value < labeling.in_house_usd.value * 1.2:
                advice.append("compare a vendor quote: its cost is close")
            if label_q.value > total.value / 2:
                advice.append("labeling is most of the spend: aim the labels at the weakest classes (active learning)")
            if serving.value > total.value / 2:
                advice.append("serving is most of the spend: a smaller path, or fewer minimum instances off-peak")
            gap = Quantity.derived(total.value - budget.value, "USD", "total − budget")
            advice.append(f"or raise the budget by {gap.text()}")
    return Spend(
        labeling=label_q,
        training=train_q,
        serving_monthly=monthly,
        serving_months=months,
        serving=serving,
        total=total,
        budget=budget,
        within_budget=within,
        advice=advice,
    )
