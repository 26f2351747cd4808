"""Tests of tailor plan: capacity, labeling cost, pilot figures, overrides, roadmap, and the command.

The formulas are tested on hand-made inputs; the planner on hand-made measurements of a
tiny project; the command once, end to end, on 600 synthetic rows with tfidf-linear only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailorml.cli import app
from tailorml.errors import TailorError
from tailorml.hardware import load_price_table
from tailorml.plan.compute import instances_needed, max_rps_per_instance, serving_options
from tailorml.plan.fit import PathRun
from tailorml.plan.labeling_cost import LabelingInputs, labeling_cost
from tailorml.plan.overrides import PlanOverrides, parse_money, parse_traffic
from tailorml.plan.pilot import read_pilot
from tailorml.plan.planner import Plan, make_plan
from tailorml.plan.quantity import Quantity, from_rate
from tailorml.plan.render import quantities, render_plan_markdown
from tailorml.plan.roadmap import RoadmapInputs, build_roadmap
from tailorml.results import Estimate, Latency, LearningPoint
from tailorml.run import prepare_data
from tailorml.spec import load_spec
from tests._projects import write_project

TABLE = load_price_table()
PILOT = {
    "as_of": "2026-11-30T10:00:00+00:00",
    "items_labeled": 120,
    "annotations": 240,
    "annotators": 3,
    "annotators_per_item": 2.0,
    "seconds_per_item_median": 7.5,
    "seconds_per_item_p90": 15.2,
    "agreement": {"krippendorff_alpha": 0.81, "fleiss_kappa": 0.80},
    "hourly_rate": 25.0,
}


def q(value: float, unit: str = "") -> Quantity:
    return Quantity(value=value, unit=unit, basis="default", source="test")


@pytest.fixture(autouse=True)
def _no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAILOR_HOME", raising=False)


# --- serving capacity and training ----------------------------------------------------------------


def test_instances_from_traffic_throughput_and_p95() -> None:
    # M/M/1: p95 = ln 20 / (mu - lambda) <= 50 ms  ->  lambda <= 100 - 59.9 = 40.1 (below the 70% cap)
    per = max_rps_per_instance(capacity=100.0, utilization=0.7, p95_objective_ms=50.0)
    assert per == pytest.approx(100 - math.log(20) / 0.05)
    assert instances_needed(traffic=100.0, per_instance=per, minimum=2) == 3
    assert instances_needed(traffic=1.0, per_instance=per, minimum=2) == 2  # the minimum for availability
    # without a latency objective only the utilization cap applies
    assert max_rps_per_instance(capacity=100.0, utilization=0.7, p95_objective_ms=None) == pytest.approx(70.0)
    assert instances_needed(traffic=10.0, per_instance=0.0, minimum=2) is None


def test_serving_options_scale_price_and_refuse_a_p95_out_of_reach() -> None:
    options = serving_options(
        throughput=Quantity.measured(100.0, "rps", "test"),
        threads=2,
        p95_ms=Quantity.measured(20.0, "ms", "test"),
        neural=True,
        traffic=Quantity.override(300.0, "rps", "--traffic 300rps"),
        p95_objective=Quantity(value=10.0, unit="ms", basis="spec", source="tailor.yaml"),
        table=TABLE,
    )
    by = {o.profile: o for o in options}
    # CPU: 20 ms single-request p95 cannot meet 10 ms with any number of instances
    assert not by["cpu-2"].meets_p95 and by["cpu-2"].instances is None and "any number" in by["cpu-2"].note
    # GPU: the dated table's assumed speed-ups (12x throughput, 3x latency) apply to a neural path
    t4 = by["gpu-t4"]
    assert t4.capacity_rps.value == pytest.approx(1200.0) and t4.p95_ms.value == pytest.approx(20 / 3)
    per = min(0.7 * 1200, 1200 - math.log(20) / 0.010)
    assert t4.max_rps_per_instance.value == pytest.approx(per)
    assert t4.instances is not None and t4.instances.value == 2 == max(2, math.ceil(300 / per))
    hours = from_rate(TABLE.planning, "hours_per_month").value
    assert t4.monthly_usd is not None
    assert t4.monthly_usd.value == pytest.approx(2 * TABLE.profile("gpu-t4").usd_per_hour * hours)
    assert (
        "assumed" in t4.capacity_rps.source
        and TABLE.planning is not None
        and TABLE.planning.as_of in t4.capacity_rps.source
    )
    # cheapest first, profiles that cannot meet the objective last
    assert options[0].profile == "gpu-t4" and all(o.monthly_usd is None for o in options if not o.meets_p95)


# --- labeling cost --------------------------------------------------------------------------------


def _inputs(**kw: Any) -> LabelingInputs:
    base: dict[str, Any] = {
        "items": q(3000, "items"),
        "seconds_per_item": q(9, "s"),
        "annotators_per_item": q(2),
        "hourly_rate": q(20, "USD/h"),
        "vendor_per_judgment": q(0.05, "USD"),
        "review_share": q(0.1, "share"),
        "adjudication_share": q(0.15, "share"),
        "synthetic_per_item": q(0.002, "USD"),
        "synthetic_verify_share": q(0.2, "share"),
        "synthetic_max_share": q(0.3, "share"),
        "train_share": q(0.7, "share"),
    }
    base.update(kw)
    return LabelingInputs(**base)


def test_labeling_cost_formula_in_house_vendor_and_mix() -> None:
    cost = labeling_cost(_inputs())
    assert cost.annotation_hours.value == pytest.approx(3000 * 9 * 2 / 3600)  # 15 h
    assert cost.in_house_usd.value == pytest.approx(15 * 20 * 1.1)  # $330
    assert cost.vendor_usd.value == pytest.approx(3000 * 2 * 0.05 * 1.1)  # $330 too: a tie goes in-house
    assert cost.cheaper == "in-house"
    mix = cost.synthetic_mix
    assert mix is not None
    assert mix.synthetic_items.value == math.floor(3000 * 0.7 * 0.3) == 630
    per_item = 330 / 3000
    expected = 2370 * per_item + 630 * 0.002 + 630 * 0.2 * 9 / 3600 * 20
    assert mix.cost_usd.value == pytest.approx(expected)
    assert mix.saving_usd.value == pytest.approx(330 - expected)
    for number in (cost.annotation_hours, cost.in_house_usd, cost.vendor_usd, mix.cost_usd):
        assert number.basis == "derived" and number.source.startswith("derived: ")


def test_low_agreement_adds_adjudication_and_no_synthetic_when_not_allowed() -> None:
    cost = labeling_cost(_inputs(low_agreement=True, synthetic_allowed=False))
    assert cost.overhead_share.value == pytest.approx(0.25)
    assert cost.in_house_usd.value == pytest.approx(15 * 20 * 1.25)
    assert "adjudication" in cost.overhead_share.source
    assert cost.synthetic_mix is None and cost.synthetic_note and "does not allow" in cost.synthetic_note


# --- pilot ----------------------------------------------------------------------------------------


def test_read_pilot_full_missing_and_partial(tmp_path: Path) -> None:
    path = tmp_path / "pilot.json"
    assert read_pilot(path) is None
    path.write_text(json.dumps(PILOT))
    pilot = read_pilot(path)
    assert pilot is not None and pilot.seconds_per_item_median == 7.5 and pilot.annotators_per_item == 2.0
    assert pilot.krippendorff_alpha == 0.81 and not pilot.low_agreement and not pilot.notes
    path.write_text(json.dumps({"as_of": "2026-11-30", "seconds_per_item_median": "fast", "agreement": None}))
    partial = read_pilot(path)
    assert partial is not None and partial.seconds_per_item_median is None and partial.krippendorff_alpha is None
    assert any("seconds_per_item_median is 'fast'" in n for n in partial.notes)
    assert any("no annotators_per_item" in n for n in partial.notes)
    path.write_text("{not json")
    broken = read_pilot(path)
    assert broken is not None and broken.notes and "defaults are used" in broken.notes[0]


# --- overrides ------------------------------------------------------------------------------------


def test_parse_overrides_and_name_the_fix() -> None:
    assert parse_traffic("20rps") == 20 and parse_traffic("1200rpm") == 20 and parse_traffic("1.5k/s") == 1500
    assert parse_money("5000") == parse_money("$5,000") == parse_money("5k") == 5000
    with pytest.raises(TailorError) as err:
        parse_traffic("20xyz")
    assert "'20xyz' is not a request rate" in err.value.message and err.value.hint and "20rps" in err.value.hint
    with pytest.raises(TailorError, match="not an amount"):
        parse_money("lots")


# --- roadmap --------------------------------------------------------------------------------------


def test_roadmap_durations_come_from_the_estimates() -> None:
    inputs = RoadmapInputs(
        annotation_hours=Quantity.derived(180, "h", "test"),
        overhead_share=Quantity.derived(0.1, "share", "test"),
        training_hours=Quantity.derived(80, "h", "test"),
        research=True,
    )
    roadmap = build_roadmap(inputs, TABLE.planning)
    phases = {p.name: p for p in roadmap.phases}
    # 180 h x 1.1 / (3 annotators x 30 h per week) = 2.2 weeks
    assert phases["labeling at scale"].weeks.value == pytest.approx(2.2)
    assert phases["prototype"].weeks.value == pytest.approx(3 + 80 / 40)
    assert phases["labeling at scale"].start_week.value == phases["prototype"].start_week.value == 3
    ends = [p.start_week.value + p.weeks.value for p in (phases["labeling at scale"], phases["prototype"])]
    assert phases["evaluation"].start_week.value == pytest.approx(max(ends))
    assert "research" in {r.name for r in roadmap.roles}
    assert roadmap.retrain.weeks and all(
        b - a == 4 for a, b in zip(roadmap.retrain.weeks, roadmap.retrain.weeks[1:], strict=False)
    )
    done = build_roadmap(inputs.model_copy(update={"pilot_done": True, "pilot_source": "the pilot"}), TABLE.planning)
    pilot = next(p for p in done.phases if p.name == "labeling pilot")
    assert pilot.done and pilot.weeks.value == 0 and pilot.weeks.basis == "pilot"


# --- the planner on hand-made measurements --------------------------------------------------------


def _project(folder: Path, rows: int = 600, **overrides: object) -> Path:
    objectives = {"accuracy": {"min": 0.9}, "latency_p95_ms": {"max": 50}, "oos_recall": {"min": 0.5}}
    return write_project(folder, rows=rows, seed=3, **{"objectives": objectives, **overrides})


def _run(path: str, *, n: int, asymptote: float, p95: float, throughput: float) -> PathRun:
    curve = [
        LearningPoint(fraction=f, n_train=round(f * n), accuracy=asymptote - 3.0 * (f * n) ** -0.5)
        for f in (0.1, 0.2, 0.4, 0.8, 1.0)
        for _ in range(2 if f < 1 else 1)
    ]
    latency = Latency(
        p50_ms=p95 / 2,
        p95_ms=p95,
        p99_ms=p95 * 1.5,
        samples_ms=[p95],
        throughput_per_s=throughput,
        threads=2,
        peak_memory_mb=100,
        size_mb=5,
    )
    quality = {
        "accuracy": Estimate(value=curve[-1].accuracy, low=curve[-1].accuracy - 0.02, high=curve[-1].accuracy + 0.02),
        "oos_recall": Estimate(value=0.9, low=0.8, high=0.95),
    }
    return PathRun(
        path=path,
        train_rows=n,
        test_rows=120,
        train_seconds=2.0,
        threads=2,
        latency=latency,
        quality=quality,
        curve=curve,
        measured_on="2026-11-30, test",
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    folder = tmp_path_factory.mktemp("plan")
    spec = load_spec(_project(folder))
    _, dataset = prepare_data(spec)
    return spec, dataset


def test_make_plan_ranks_forecasts_and_prices(tiny: tuple[Any, Any]) -> None:
    spec, dataset = tiny
    n = len(dataset.train)
    runs = {
        # fast but levels off at 0.85: the 0.9 objective is not reachable
        "tfidf-linear": _run("tfidf-linear", n=n, asymptote=0.85, p95=1.0, throughput=5000),
        # slower, reaches 0.9 with more labels than we have
        "embedding-linear": _run("embedding-linear", n=n, asymptote=0.95, p95=15.0, throughput=200),
    }
    plan = make_plan(
        spec, dataset, runs, overrides=PlanOverrides(traffic_rps=50, given={"traffic": "50rps"}), table=TABLE
    )
    assert [f.path for f in plan.paths] == ["embedding-linear", "tfidf-linear"]  # the one expected to pass first
    assert plan.recommended == "embedding-linear"
    tfidf, emb = plan.path("tfidf-linear"), plan.path("embedding-linear")
    assert tfidf.forecast is not None and tfidf.forecast.reachable is False
    assert tfidf.check("accuracy") is not None and tfidf.check("accuracy").status == "fail"  # type: ignore[union-attr]
    assert "not reachable" in tfidf.check("accuracy").why  # type: ignore[union-attr]
    assert emb.forecast is not None and emb.forecast.reachable and emb.forecast.labels_needed
    needed = emb.forecast.labels_needed
    assert needed > n and emb.planned_train_rows.value == needed
    assert emb.planned_labeled.value == math.ceil(needed / plan.data.train_share.value)
    assert plan.items_to_label.value == emb.planned_labeled.value - plan.data.labeled_rows.value
    # training scales linearly from the 2 s measured on n rows
    assert emb.training.hours_per_run.value == pytest.approx(2.0 * needed / n / 3600)
    # cost per 1k on the spec's hardware, at the measured throughput
    assert emb.expected["cost_per_1k_usd"].value == pytest.approx(
        TABLE.profile("cpu-2").usd_per_hour / 3600 / 200 * 1000
    )
    assert plan.traffic.basis == "override" and plan.traffic.value == 50 and "--traffic 50rps" in plan.traffic.source
    cpu2 = next(o for o in emb.serving if o.profile == "cpu-2")
    assert cpu2.instances is not None and cpu2.instances.value == max(
        2, math.ceil(50 / min(0.7 * 200, 200 - math.log(20) / 0.05))
    )
    # no pilot: defaults, said so
    assert plan.labeling.inputs.seconds_per_item.basis == "default"
    assert any("no labeling pilot" in n for n in plan.notes)


def test_make_plan_uses_the_pilot_and_warns_on_low_agreement(tiny: tuple[Any, Any], tmp_path: Path) -> None:
    spec, dataset = tiny
    path = tmp_path / "pilot.json"
    path.write_text(json.dumps({**PILOT, "agreement": {"krippendorff_alpha": 0.55, "fleiss_kappa": None}}))
    runs = {"tfidf-linear": _run("tfidf-linear", n=len(dataset.train), asymptote=0.97, p95=1.0, throughput=5000)}
    plan = make_plan(
        spec,
        dataset,
        runs,
        overrides=PlanOverrides(budget_usd=10, labels=5000, given={"budget": "10"}),
        table=TABLE,
        pilot=read_pilot(path),
    )
    inputs = plan.labeling.inputs
    assert inputs.seconds_per_item.value == 7.5 and inputs.seconds_per_item.basis == "pilot"
    assert inputs.hourly_rate.basis == "pilot" and inputs.annotators_per_item.basis == "pilot"
    assert "labeling pilot of 2026-11-30" in inputs.seconds_per_item.source
    assert inputs.low_agreement and plan.labeling.overhead_share.value == pytest.approx(0.25)
    assert any("agreement is low" in w for w in plan.warnings)
    assert next(p for p in plan.roadmap.phases if p.name == "labeling pilot").done
    # --labels and --budget applied, and the budget is exceeded
    assert plan.path("tfidf-linear").planned_labeled.basis == "override"
    assert plan.items_to_label.value == 5000 - plan.data.labeled_rows.value
    assert plan.spend.budget is not None and plan.spend.budget.basis == "override"
    assert plan.spend.within_budget is False and plan.spend.advice
    assert "Over budget" in render_plan_markdown(plan)


# --- the command, end to end ----------------------------------------------------------------------


def _numbers_without_source(node: Any, sourced: bool = False, where: str = "") -> list[str]:
    """Paths of numbers in the JSON that no enclosing object gives a source for (a rank is an order, not a figure)."""
    if isinstance(node, dict):
        sourced = sourced or isinstance(node.get("source"), str)
        return [m for k, v in node.items() if k != "rank" for m in _numbers_without_source(v, sourced, f"{where}.{k}")]
    if isinstance(node, list):
        return [m for i, v in enumerate(node) for m in _numbers_without_source(v, sourced, f"{where}[{i}]")]
    if isinstance(node, int | float) and not isinstance(node, bool) and not sourced:
        return [where]
    return []


def test_cli_plan_json_overrides_files_and_sources(tiny: tuple[Any, Any]) -> None:
    spec, _ = tiny
    runner = CliRunner()
    result = runner.invoke(
        app, ["--spec", str(spec.root / "tailor.yaml"), "plan", "--json", "--budget", "5k", "--traffic", "20rps"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    plan = Plan.model_validate(body["plan"])
    assert plan.traffic.value == 20 and plan.traffic.basis == "override"
    assert plan.spend.budget is not None and plan.spend.budget.value == 5000
    assert [f.path for f in plan.paths] == ["tfidf-linear"]
    fit = plan.paths[0]
    assert fit.expected["latency_p95_ms"].basis == "measured" and fit.expected["latency_p95_ms"].value > 0
    assert [p.fraction for p in fit.learning_curve.points] == [0.1, 0.1, 0.2, 0.2, 0.4, 0.4, 0.8, 0.8, 1.0]
    assert {c.metric for c in fit.checks} == {"accuracy", "latency_p95_ms", "oos_recall"}
    # every number in the JSON has a source, and every Quantity names its basis
    assert _numbers_without_source(body["plan"]) == []
    assert all(qty.source for _, qty in quantities(plan))
    for name in ("plan.json", "plan.md", "plan.html"):
        assert Path(body["files"][name]).is_file()
    html = Path(body["files"]["plan.html"]).read_text()
    assert "Roadmap: phases by week" in html and "<svg" in html
    markdown = Path(body["files"]["plan.md"]).read_text()
    assert "## 5. Roadmap and staffing" in markdown and "Where every number comes from" in markdown


def test_cli_plan_bad_traffic_is_a_clear_error(tiny: tuple[Any, Any]) -> None:
    spec, _ = tiny
    result = CliRunner().invoke(app, ["--spec", str(spec.root / "tailor.yaml"), "plan", "--traffic", "20xyz"])
    assert result.exit_code == 1
    assert "'20xyz' is not a request rate" in result.output and "20rps" in result.output
    bad = CliRunner().invoke(app, ["--spec", str(spec.root / "tailor.yaml"), "plan", "--paths", "tfidf-linera"])
    assert bad.exit_code == 2 and "Did you mean 'tfidf-linear'" in bad.output
