"""Compute: training hours and cost for the planned data size, and serving capacity for the traffic.

Training time is measured here on the project's training rows and scaled linearly with the
number of rows (each path's cost is dominated by one pass of featurization or encoding
over the rows, which is linear; the linear head is a small share of it).

Serving capacity per instance starts from the batched throughput measured here (``μ``,
predictions per second, on ``threads`` cores) and is scaled to each hardware profile: by its
vCPUs over the threads measured (CPU work scales about linearly across cores), or, for a
neural path on a GPU profile, by the dated planning table's assumed GPU speed-up. Each
instance takes at most ``λ = min(ρ·μ, μ − ln 20 / L)`` requests per second: ``ρ`` is the
utilization cap, and the second term keeps the 95th percentile of an M/M/1 queue's response
time, ``ln 20 / (μ − λ)``, within the p95 objective ``L`` (seconds). A profile whose
single-request p95 is above ``L`` cannot meet it with any number of instances.

Example
-------
>>> import math
>>> round(max_rps_per_instance(capacity=100.0, utilization=0.7, p95_objective_ms=50.0), 1)
40.1
>>> instances_needed(traffic=100.0, per_instance=40.1, minimum=2)
3
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from tailorml.hardware import HardwareProfile, PriceTable
from tailorml.plan.quantity import Quantity, from_rate

__all__ = [
    "ServingOption",
    "TrainingCost",
    "instances_needed",
    "max_rps_per_instance",
    "serving_options",
    "training_cost",
]

LN20 = math.log(20)  # the 95th percentile of an exponential response time is ln(20) / rate


def max_rps_per_instance(*, capacity: float, utilization: float, p95_objective_ms: float | None) -> float:
    """Requests per second one instance of throughput ``capacity`` takes within the utilization cap and p95."""
    limit = utilization * capacity
    if p95_objective_ms is not None:
        limit = min(limit, capacity - LN20 / (p95_objective_ms / 1000))
    return max(limit, 0.0)


def instances_needed(*, traffic: float, per_instance: float, minimum: int) -> int | None:
    """Instances that carry ``traffic``, at least ``minimum``; None when one instance carries nothing."""
    if per_instance <= 0:
        return None
    return max(minimum, math.ceil(traffic / per_instance - 1e-9))


class ServingOption(BaseModel):
    """One hardware profile serving one path at the planned traffic."""

    profile: str
    instance: str
    accelerator: str | None = None
    capacity_rps: Quantity = Field(description="batched predictions per second of one instance")
    p95_ms: Quantity = Field(description="expected single-request p95 latency on this profile")
    max_rps_per_instance: Quantity
    instances: Quantity | None = Field(None, description="None when the p95 objective cannot be met")
    monthly_usd: Quantity | None = None
    meets_p95: bool
    note: str = ""


def serving_options(
    *,
    throughput: Quantity,
    threads: int,
    p95_ms: Quantity,
    neural: bool,
    traffic: Quantity,
    p95_objective: Quantity | None,
    table: PriceTable,
) -> list[ServingOption]:
    """Instances and monthly cost on every profile of the price table, cheapest first."""
    planning = table.planning
    util = from_rate(planning, "max_utilization")
    minimum = from_rate(planning, "min_instances")
    hours = from_rate(planning, "hours_per_month")
    options = [
        _option(profile, throughput, threads, p95_ms, neural, traffic, p95_objective, table, util, minimum, hours)
        for profile in table.profiles.values()
    ]
    return sorted(options, key=lambda o: (o.monthly_usd is None, o.monthly_usd.value if o.monthly_usd else 0))


def _option(
    profile: HardwareProfile,
    throughput: Quantity,
    threads: int,
    p95_ms: Quantity,
    neural: bool,
    traffic: Quantity,
    p95_objective: Quantity | None,
    table: PriceTable,
    util: Quantity,
    minimum: Quantity,
    hours: Quantity,
) -> ServingOption:
    note = ""
    if profile.accelerator and neural:
        speed = from_rate(table.planning, "gpu_throughput_speedup")
        latency = from_rate(table.planning, "gpu_latency_speedup")
        capacity = Quantity.derived(
            throughput.value * speed.value,
            "rps",
            f"{throughput.text()} measured here × {speed.text()} assumed GPU speed-up ({speed.source})",
        )
        p95 = Quantity.derived(
            p95_ms.value / latency.value,
            "ms",
            f"{p95_ms.text()} measured here ÷ {latency.text()} assumed GPU latency gain ({latency.source})",
        )
        note = (
            f"{profile.accelerator}: assumed speed-up, not measured; run tailor evaluate with hardware: {profile.name}"
        )
    else:
        capacity = Quantity.derived(
            throughput.value * profile.vcpus / threads,
            "rps",
            f"{throughput.text()} measured here on {threads} threads × {profile.vcpus} vCPUs ÷ {threads} "
            "(linear scaling across cores)",
        )
        p95 = p95_ms
        if profile.accelerator:
            note = f"this path does not use the {profile.accelerator}; a CPU profile serves it cheaper"
    objective_ms = p95_objective.value if p95_objective else None
    per_instance = max_rps_per_instance(capacity=capacity.value, utilization=util.value, p95_objective_ms=objective_ms)
    formula = f"min({util.text()} utilization × {capacity.text()}"
    formula += f", {capacity.text()} − ln 20 ÷ {objective_ms:g} ms)" if objective_ms else ")"
    max_rps = Quantity.derived(per_instance, "rps", formula)
    meets = objective_ms is None or p95.value <= objective_ms
    instances = monthly = None
    if not meets:
        note = f"single-request p95 {p95.text()} is above the {objective_ms:g} ms objective at any number of instances"
    else:
        count = instances_needed(traffic=traffic.value, per_instance=per_instance, minimum=int(minimum.value))
        if count is None:
            meets, note = False, f"at {p95.text()} p95 there is no headroom left for queueing within the objective"
        else:
            instances = Quantity.derived(
                count,
                "instances",
                f"max({minimum.text()} minimum, ⌈{traffic.text()} ÷ {max_rps.text()} per instance⌉)",
            )
            monthly = Quantity.derived(
                count * profile.usd_per_hour * hours.value,
                "USD",
                f"{count} × ${profile.usd_per_hour:g}/h ({profile.instance}, {table.source}, {table.as_of}) × "
                f"{hours.text()} per month",
            )
    return ServingOption(
        profile=profile.name,
        instance=profile.instance,
        accelerator=profile.accelerator,
        capacity_rps=capacity,
        p95_ms=p95,
        max_rps_per_instance=max_rps,
        instances=instances,
        monthly_usd=monthly,
        meets_p95=meets,
        note=note,
    )


class TrainingCost(BaseModel):
    """Training one path on the planned rows, once and over the project's runs."""

    rows: Quantity = Field(description="training rows planned")
    hours_per_run: Quantity
    usd_per_run: Quantity
    runs: Quantity
    total_usd: Quantity
    hardware: str
    gpu_hours_per_run: Quantity | None = None
    gpu_usd_per_run: Quantity | None = None
    gpu_profile: str | None = None


def training_cost(
    *,
    measured_seconds: Quantity,
    measured_rows: int,
    planned_rows: Quantity,
    neural: bool,
    profile: HardwareProfile,
    table: PriceTable,
    runs: Quantity,
) -> TrainingCost:
    """Hours and cost of training on ``planned_rows``, from seconds measured on ``measured_rows``."""
    hours = Quantity.derived(
        measured_seconds.value * planned_rows.value / max(measured_rows, 1) / 3600,
        "h",
        f"{measured_seconds.text()} measured on {measured_rows:,} rows × {planned_rows.text()} ÷ {measured_rows:,} "
        "(linear in rows) ÷ 3600",
    )
    price = f"${profile.usd_per_hour:g}/h ({profile.name}: {profile.instance}, {table.source}, {table.as_of})"
    per_run = Quantity.derived(hours.value * profile.usd_per_hour, "USD", f"{hours.text()} × {price}")
    total = Quantity.derived(per_run.value * runs.value, "USD", f"{per_run.text()} per run × {runs.text()} runs")
    gpu = _cheapest_gpu(table) if neural else None
    gpu_hours = gpu_usd = None
    if gpu is not None:
        speed = from_rate(table.planning, "gpu_throughput_speedup")
        gpu_hours = Quantity.derived(
            hours.value / speed.value, "h", f"{hours.text()} ÷ {speed.text()} assumed GPU speed-up ({speed.source})"
        )
        gpu_usd = Quantity.derived(
            gpu_hours.value * gpu.usd_per_hour,
            "USD",
            f"{gpu_hours.text()} × ${gpu.usd_per_hour:g}/h ({gpu.name}: {gpu.instance}, {table.as_of})",
        )
    return TrainingCost(
        rows=planned_rows,
        hours_per_run=hours,
        usd_per_run=per_run,
        runs=runs,
        total_usd=total,
        hardware=profile.name,
        gpu_hours_per_run=gpu_hours,
        gpu_usd_per_run=gpu_usd,
        gpu_profile=gpu.name if gpu else None,
    )


def _cheapest_gpu(table: PriceTable) -> HardwareProfile | None:
    gpus = [p for p in table.profiles.values() if p.accelerator]
    return min(gpus, key=lambda p: p.usd_per_hour) if gpus else None
