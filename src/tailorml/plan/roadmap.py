"""Roadmap and staffing: the mission's phases, with durations derived from the plan's estimates.

Phases follow the checklist from objectives to retraining. Fixed phases take their length
from the dated planning table; labeling at scale takes ``annotation hours × (1 + overhead) ÷
(annotators × productive hours per week)``; the prototype adds the training compute of its
runs. Labeling at scale and the prototype run side by side after the pilot; evaluation waits
for both. Retraining repeats at the table's cadence until the horizon.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from tailorml.hardware import RateTable
from tailorml.plan.quantity import Quantity, from_rate

__all__ = ["Phase", "RetrainSchedule", "Roadmap", "RoadmapInputs", "Role", "build_roadmap"]

WORK_HOURS_PER_WEEK = 40  # wall-clock hours a training job can run in a working week
MIN_HORIZON_WEEKS = 13  # a roadmap covers at least three months


class Phase(BaseModel):
    name: str
    start_week: Quantity
    weeks: Quantity
    deliverable: str
    roles: list[str]
    done: bool = Field(False, description="already done (the labeling pilot, when its figures exist)")


class Role(BaseModel):
    name: str
    phases: list[str]
    why: str


class RoadmapInputs(BaseModel):
    """What the roadmap is derived from."""

    annotation_hours: Quantity
    overhead_share: Quantity
    training_hours: Quantity = Field(description="training compute of all runs on the recommended path")
    pilot_done: bool = False
    pilot_source: str | None = None
    fairness: bool = Field(False, description="the spec slices quality by groups")
    privacy: bool = Field(False, description="the spec or the data involves personal data")
    research: bool = Field(False, description="no path is expected to reach the accuracy objective")
    low_agreement: bool = False


class RetrainSchedule(BaseModel):
    weeks: list[int] = Field(description="weeks in which a retraining run is planned")
    source: str


class Roadmap(BaseModel):
    phases: list[Phase]
    roles: list[Role]
    total_weeks: Quantity
    retrain: RetrainSchedule
    warnings: list[str] = Field(default_factory=list)


def _weeks(planning: RateTable | None, name: str) -> Quantity:
    return from_rate(planning, f"weeks_{name}")


def build_roadmap(inputs: RoadmapInputs, planning: RateTable | None) -> Roadmap:
    """Phases with start weeks and durations, the roles they need, and the retraining weeks."""
    annotators = from_rate(planning, "annotators")
    per_week = from_rate(planning, "annotator_hours_per_week")
    phases: list[Phase] = []

    def add(name: str, start: float, weeks: Quantity, deliverable: str, roles: list[str], done: bool = False) -> Phase:
        phase = Phase(
            name=name,
            start_week=Quantity.derived(start, "weeks", _start_why(start, phases)),
            weeks=weeks,
            deliverable=deliverable,
            roles=roles,
            done=done,
        )
        phases.append(phase)
        return phase

    obj = add(
        "objectives",
        0,
        _weeks(planning, "objectives"),
        "tailor.yaml with measurable objectives; a first data sample; tailor check passes",
        ["ML engineer", "product owner"],
    )
    pilot_weeks = _weeks(planning, "pilot")
    if inputs.pilot_done:
        pilot_weeks = Quantity(value=0, unit="weeks", basis="pilot", source=f"done: {inputs.pilot_source}")
    pilot = add(
        "labeling pilot",
        _end(obj),
        pilot_weeks,
        "guidelines, 100-200 items by 2-3 annotators, seconds per item and agreement (tailor label report)",
        ["data engineer", "annotators"] + (["QA"] if inputs.low_agreement else []),
        done=inputs.pilot_done,
    )
    hours = inputs.annotation_hours.value * (1 + inputs.overhead_share.value)
    label_weeks = Quantity.derived(
        math.ceil(hours / (annotators.value * per_week.value) * 10) / 10 if hours else 0,
        "weeks",
        f"{inputs.annotation_hours.text()} × (1 + {inputs.overhead_share.text()} overhead) ÷ "
        f"({annotators.text()} annotators × {per_week.text()} per week)",
    )
    labeling = add(
        "labeling at scale",
        _end(pilot),
        label_weeks,
        "the planned labeled items, double-annotated where the pilot says so, reviewed; a new data version",
        ["annotators", "data engineer"] + (["QA"] if label_weeks.value else []),
    )
    base = _weeks(planning, "prototype")
    compute_weeks = inputs.training_hours.value / WORK_HOURS_PER_WEEK
    proto_weeks = Quantity.derived(
        base.value + round(compute_weeks, 1),
        "weeks",
        f"{base.text()} ({base.source}) + {inputs.training_hours.text()} training compute ÷ "
        f"{WORK_HOURS_PER_WEEK} h per week",
    )
    proto = add(
        "prototype",
        _end(pilot),
        proto_weeks,
        "candidate paths trained and evaluated on the data so far (tailor run); the gap to each objective",
        ["ML engineer"] + (["research"] if inputs.research else []),
    )
    eval_base = _weeks(planning, "evaluation")
    eval_weeks = eval_base
    if inputs.fairness or inputs.privacy:
        eval_weeks = Quantity.derived(
            eval_base.value + 1, "weeks", f"{eval_base.text()} ({eval_base.source}) + 1 week fairness/privacy review"
        )
    evaluation = add(
        "evaluation",
        max(_end(labeling), _end(proto)),
        eval_weeks,
        "every gate judged on the final data; model card; sign-off",
        ["ML engineer", "QA"] + (["privacy/compliance"] if inputs.fairness or inputs.privacy else []),
    )
    launch = add(
        "launch with monitoring",
        _end(evaluation),
        _weeks(planning, "launch"),
        "tailor serve behind the API gateway, request log, drift monitoring and alerts, staged rollout",
        ["deployment/observability", "ML engineer"],
    )
    cadence = from_rate(planning, "weeks_between_retrains")
    horizon = from_rate(planning, "horizon_weeks")
    live = _end(launch)
    end = min(max(live + 2 * cadence.value, MIN_HORIZON_WEEKS), max(horizon.value, live + cadence.value))
    retrain_weeks = [int(live + cadence.value * i) for i in range(1, 100) if live + cadence.value * i <= end]
    add(
        "retraining",
        live,
        Quantity.derived(
            end - live,
            "weeks",
            f"from launch to the roadmap's end, retraining every {cadence.text()} ({cadence.source})",
        ),
        f"tailor retrain every {cadence.text()} on reviewed traffic; tailor monitor alerts trigger an early one",
        ["ML engineer", "annotators"],
    )
    warnings = []
    if live > horizon.value:
        warnings.append(
            f"launch is in week {live:g}, past the {horizon.text()} horizon: labeling or compute is the long pole; "
            "add annotators, use the vendor or the synthetic mix, or lower the objectives"
        )
    return Roadmap(
        phases=phases,
        roles=_roles(phases, inputs),
        total_weeks=Quantity.derived(end, "weeks", "end of the last phase"),
        retrain=RetrainSchedule(
            weeks=retrain_weeks, source=f"derived: every {cadence.text()} from launch (week {live:g}) to week {end:g}"
        ),
        warnings=warnings,
    )


def _end(phase: Phase) -> float:
    return phase.start_week.value + phase.weeks.value


def _start_why(start: float, phases: list[Phase]) -> str:
    if not phases:
        return "the project starts"
    after = [p.name for p in phases if math.isclose(_end(p), start)]
    return f"after {' and '.join(after)}" if after else f"week {start:g}"


_ROLE_WHY = {
    "ML engineer": "owns the spec, candidate paths, evaluation and retraining",
    "product owner": "states the objectives and accepts the trade-offs",
    "data engineer": "data import, versions, labeling tool and pipelines",
    "annotators": "label the pilot, the planned items and the review queue",
    "QA": "audits annotation quality and the release checklist",
    "deployment/observability": "serving, request log, dashboards and alerts",
    "research": "no path is expected to reach the accuracy objective: a stronger model path is needed",
    "privacy/compliance": "personal data or fairness slices: review before launch",
}


def _roles(phases: list[Phase], inputs: RoadmapInputs) -> list[Role]:
    names: list[str] = []
    for phase in phases:
        for role in phase.roles:
            if role not in names:
                names.append(role)
    out = []
    for name in names:
        why = _ROLE_WHY[name]
        if name == "QA" and inputs.low_agreement:
            why += "; the pilot's agreement is low, so adjudication needs an owner"
        out.append(Role(name=name, phases=[p.name for p in phases if name in p.roles], why=why))
    return out
