"""What labeling costs: in-house hours, a vendor's per-judgment rate, and a mix with synthetic data.

The formulas, each a derived :class:`~tailorml.plan.quantity.Quantity` naming its inputs:

* annotation hours = items × seconds per item × annotators per item ÷ 3600
* overhead share = review share (+ adjudication share when pilot agreement is low)
* in-house cost = annotation hours × hourly rate × (1 + overhead share)
* vendor cost = items × annotators per item × rate per judgment × (1 + overhead share)
* synthetic mix: up to ``synthetic_max_share`` of the *training* items are generated instead
  (validation and test rows stay human-labeled); each costs the generation rate plus a
  person checking ``synthetic_verify_share`` of them once; the human items cost the cheaper
  of in-house and vendor.

Example
-------
>>> from tailorml.plan.quantity import Quantity as Q
>>> def d(v, u=""): return Q(value=v, unit=u, basis="default", source="example")
>>> cost = labeling_cost(LabelingInputs(
...     items=d(1000, "items"), seconds_per_item=d(9, "s"), annotators_per_item=d(2), hourly_rate=d(20, "USD/h"),
...     vendor_per_judgment=d(0.08, "USD"), review_share=d(0.1, "share"), adjudication_share=d(0.15, "share"),
...     synthetic_per_item=d(0.002, "USD"), synthetic_verify_share=d(0.2, "share"),
...     synthetic_max_share=d(0.3, "share"), train_share=d(0.7, "share")))
>>> cost.annotation_hours.value, round(cost.in_house_usd.value, 2), round(cost.vendor_usd.value, 2)
(5.0, 110.0, 176.0)
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from tailorml.plan.quantity import Quantity

__all__ = ["LabelingCost", "LabelingInputs", "SyntheticMix", "labeling_cost"]


class LabelingInputs(BaseModel):
    """Every figure the labeling cost is computed from, each with its source."""

    items: Quantity = Field(description="items to label")
    seconds_per_item: Quantity
    annotators_per_item: Quantity
    hourly_rate: Quantity = Field(description="in-house annotator cost per hour")
    vendor_per_judgment: Quantity = Field(description="vendor price of one judgment of one item")
    review_share: Quantity
    adjudication_share: Quantity
    synthetic_per_item: Quantity
    synthetic_verify_share: Quantity
    synthetic_max_share: Quantity
    train_share: Quantity = Field(description="share of labeled items that become training rows")
    low_agreement: bool = Field(False, description="pilot agreement below 0.667: adjudication overhead applies")
    synthetic_allowed: bool = Field(True, description="whether the task allows synthetic training data")


class SyntheticMix(BaseModel):
    """Replacing part of the training items with checked synthetic ones."""

    synthetic_items: Quantity
    human_items: Quantity
    cost_usd: Quantity
    saving_usd: Quantity
    caveat: str


class LabelingCost(BaseModel):
    """What labeling the planned items costs, by who labels them."""

    inputs: LabelingInputs
    annotation_hours: Quantity
    overhead_share: Quantity
    in_house_usd: Quantity
    vendor_usd: Quantity
    cheaper: str = Field(description="in-house or vendor")
    synthetic_mix: SyntheticMix | None = None
    synthetic_note: str | None = Field(None, description="why there is no synthetic mix, when there is none")


def _fmt(q: Quantity) -> str:
    return q.text()


def labeling_cost(inputs: LabelingInputs) -> LabelingCost:
    """Cost of labeling ``inputs.items``; see the module docstring for the formulas."""
    n, sec, k, rate = inputs.items, inputs.seconds_per_item, inputs.annotators_per_item, inputs.hourly_rate
    hours = Quantity.derived(
        n.value * sec.value * k.value / 3600,
        "h",
        f"{_fmt(n)} items × {_fmt(sec)} per item × {_fmt(k)} annotators per item ÷ 3600",
    )
    share = inputs.review_share.value + (inputs.adjudication_share.value if inputs.low_agreement else 0.0)
    why = f"review {_fmt(inputs.review_share)}" + (
        f" + adjudication {_fmt(inputs.adjudication_share)} (low pilot agreement)" if inputs.low_agreement else ""
    )
    overhead = Quantity.derived(share, "share", why)
    in_house = Quantity.derived(
        hours.value * rate.value * (1 + share),
        "USD",
        f"{_fmt(hours)} × {_fmt(rate)} × (1 + {overhead.text()} overhead)",
    )
    vendor = Quantity.derived(
        n.value * k.value * inputs.vendor_per_judgment.value * (1 + share),
        "USD",
        f"{_fmt(n)} items × {_fmt(k)} judgments × {_fmt(inputs.vendor_per_judgment)} "
        f"× (1 + {overhead.text()} overhead)",
    )
    cheaper = "in-house" if in_house.value <= vendor.value else "vendor"
    mix, note = None, None
    if not inputs.synthetic_allowed:
        note = "the task does not allow synthetic training data"
    elif n.value <= 0:
        note = "no items to label"
    else:
        mix = _synthetic_mix(inputs, per_human_item=min(in_house.value, vendor.value) / n.value, best=cheaper)
        if mix.saving_usd.value <= 0:
            note, mix = "synthetic data would not be cheaper than labeling at these rates", None
    return LabelingCost(
        inputs=inputs,
        annotation_hours=hours,
        overhead_share=overhead,
        in_house_usd=in_house,
        vendor_usd=vendor,
        cheaper=cheaper,
        synthetic_mix=mix,
        synthetic_note=note,
    )


def _synthetic_mix(inputs: LabelingInputs, *, per_human_item: float, best: str) -> SyntheticMix:
    n = inputs.items.value
    synthetic = math.floor(n * inputs.train_share.value * inputs.synthetic_max_share.value)
    human = n - synthetic
    check_hours = synthetic * inputs.synthetic_verify_share.value * inputs.seconds_per_item.value / 3600
    cost = human * per_human_item + synthetic * inputs.synthetic_per_item.value + check_hours * inputs.hourly_rate.value
    full = n * per_human_item
    return SyntheticMix(
        synthetic_items=Quantity.derived(
            synthetic,
            "items",
            f"{inputs.items.text()} items × {inputs.train_share.text()} training share × "
            f"{inputs.synthetic_max_share.text()} synthetic at most",
        ),
        human_items=Quantity.derived(human, "items", "items to label minus synthetic items"),
        cost_usd=Quantity.derived(
            cost,
            "USD",
            f"{human:,.0f} human items at the {best} cost per item (${per_human_item:.3f}) + {synthetic:,} × "
            f"{inputs.synthetic_per_item.text()} generation + {check_hours:,.1f} h checking "
            f"{inputs.synthetic_verify_share.text()} of them × {inputs.hourly_rate.text()}",
        ),
        saving_usd=Quantity.derived(full - cost, "USD", f"${full:,.2f} all human ({best}) minus the mix"),
        caveat="validation and test rows stay human-labeled; keep the mix only if the learning curve on "
        "human-labeled test rows does not drop",
    )
