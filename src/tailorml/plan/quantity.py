"""A number in a plan and where it came from.

Every figure ``tailor plan`` prints is a :class:`Quantity`: a value, its unit, its *basis*
(measured here, stated in the spec, a user override, a dated default, or derived from other
quantities) and a sentence naming the source. Derived quantities name their formula and
inputs, each of which is itself a quantity elsewhere in the plan.

Example
-------
>>> from tailorml.hardware import load_price_table
>>> rate = from_rate(load_price_table().annotation, "in_house_usd_per_hour")
>>> rate.basis, rate.unit
('default', 'USD/h')
>>> hours = Quantity.derived(10.0, "h", "400 items × 45 s ÷ 3600")
>>> cost = Quantity.derived(hours.value * rate.value, "USD", f"{hours.value:g} h × ${rate.value:g}/h")
>>> cost.value, cost.basis
(250.0, 'derived')
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from tailorml.hardware import RateTable

__all__ = ["Basis", "Quantity", "from_rate"]

Basis = Literal["measured", "spec", "override", "pilot", "default", "derived"]

BASIS_TEXT: dict[str, str] = {
    "measured": "measured here",
    "spec": "tailor.yaml",
    "override": "your override",
    "pilot": "measured in the labeling pilot",
    "default": "dated default table",
    "derived": "derived",
}


class Quantity(BaseModel):
    """A value with its unit and its source; the only way a plan carries a number."""

    value: float
    unit: str = Field("", description="USD, h, ms, rps, items, weeks, … ('' for a count or share)")
    basis: Basis = Field(description="measured, spec, override, pilot, default or derived")
    source: str = Field(description="where the value comes from: the measurement, table and date, or formula")
    low: float | None = Field(None, description="lower end of the 95% interval, when the value is a sample statistic")
    high: float | None = Field(None, description="upper end of the 95% interval")

    @classmethod
    def measured(
        cls, value: float, unit: str, source: str, *, low: float | None = None, high: float | None = None
    ) -> Quantity:
        return cls(value=value, unit=unit, basis="measured", source=f"measured here: {source}", low=low, high=high)

    @classmethod
    def override(cls, value: float, unit: str, option: str) -> Quantity:
        return cls(value=value, unit=unit, basis="override", source=f"your override: {option}")

    @classmethod
    def derived(
        cls, value: float, unit: str, formula: str, *, low: float | None = None, high: float | None = None
    ) -> Quantity:
        return cls(value=value, unit=unit, basis="derived", source=f"derived: {formula}", low=low, high=high)

    def text(self) -> str:
        """The value in its unit, for people: ``$1,250``, ``7.5 s``, ``3 instances``."""
        text = format_value(self.value, self.unit)
        if self.low is not None and self.high is not None:
            text += f" [{format_value(self.low, self.unit)}, {format_value(self.high, self.unit)}]"
        return text


def from_rate(table: RateTable | None, name: str) -> Quantity:
    """A default from a dated rate section of the price table, with its note, source and date."""
    if table is None:  # pragma: no cover - load_price_table always fills the sections
        raise ValueError("the price table has no rate sections")
    rate = table.rate(name)
    return Quantity(
        value=rate.value,
        unit=rate.unit,
        basis="default",
        source=f"dated default table: {rate.note} ({table.source}, {table.as_of})",
    )


def format_value(value: float, unit: str) -> str:
    """A value in its unit: dollars with cents below $100, thousands grouped, shares as percentages."""
    if unit == "USD":
        if abs(value) >= 100:
            return f"${value:,.0f}"
        if abs(value) >= 0.01 or value == 0:
            return f"${value:,.2f}"
        return f"${value:.{1 - math.floor(math.log10(abs(value)))}f}"  # two significant figures, no exponent
    if unit == "share":
        return f"{value:.0%}"
    if unit == "accuracy":
        return f"{value:.3f}"
    number = f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.3g}"
    if unit in ("", "items", "rows", "instances", "x"):
        return number + ("×" if unit == "x" else "")
    if unit == "USD/h":
        return f"${value:,.2f}/h"
    if value == 1 and unit in ("weeks", "months"):
        unit = unit[:-1]
    return f"{number} {unit}"
