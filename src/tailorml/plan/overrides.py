"""``tailor plan`` options: a budget, a traffic rate, label and rate overrides, parsed at the boundary.

Example
-------
>>> parse_traffic("20rps"), parse_traffic("1200rpm"), parse_traffic("86400/day")
(20.0, 20.0, 1.0)
>>> parse_money("5k"), parse_money("$5,000")
(5000.0, 5000.0)
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from tailorml.errors import TailorError

__all__ = ["PlanOverrides", "parse_count", "parse_money", "parse_traffic"]

_PER_SECOND = {
    "": 1.0,
    "rps": 1.0,
    "/s": 1.0,
    "/sec": 1.0,
    "rpm": 1 / 60,
    "/min": 1 / 60,
    "rph": 1 / 3600,
    "/h": 1 / 3600,
    "/hour": 1 / 3600,
    "rpd": 1 / 86400,
    "/day": 1 / 86400,
    "/d": 1 / 86400,
}
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6}
_NUMBER = r"(\d+(?:\.\d+)?)\s*([km]?)"


def _number(text: str) -> tuple[float, str] | None:
    match = re.fullmatch(_NUMBER + r"\s*(.*)", text.strip().lower().replace(",", "").replace("_", ""))
    if not match:
        return None
    return float(match.group(1)) * _SUFFIX[match.group(2)], match.group(3).strip()


def parse_traffic(text: str, option: str = "--traffic") -> float:
    """A request rate such as ``20rps``, ``1200rpm``, ``50k/day`` or ``20``, in requests per second."""
    parsed = _number(text)
    if parsed is None or parsed[1] not in _PER_SECOND or parsed[0] <= 0:
        raise TailorError(
            f"{option} {text!r} is not a request rate",
            hint=f"write a positive number with a unit, e.g. {option} 20rps, 1200rpm or 50k/day",
        )
    return parsed[0] * _PER_SECOND[parsed[1]]


def parse_money(text: str, option: str = "--budget") -> float:
    """US dollars such as ``5000``, ``$5,000``, ``5k`` or ``1.2m``."""
    parsed = _number(text.strip().lstrip("$").removesuffix("usd").removesuffix("USD").strip())
    if parsed is None or parsed[1] or parsed[0] <= 0:
        raise TailorError(
            f"{option} {text!r} is not an amount of US dollars",
            hint=f"write a positive amount, e.g. {option} 5000, $5,000 or 5k",
        )
    return parsed[0]


def parse_count(text: str, option: str) -> int:
    """A whole positive count such as ``3000`` or ``3k``."""
    parsed = _number(text)
    if parsed is None or parsed[1] or parsed[0] < 1 or not float(parsed[0]).is_integer():
        raise TailorError(f"{option} {text!r} is not a whole positive number", hint=f"e.g. {option} 3000 or 3k")
    return int(parsed[0])


class PlanOverrides(BaseModel):
    """What the user stated on the command line; each replaces a default and says so."""

    budget_usd: float | None = Field(
        None, gt=0, description="money for labeling, training and serving (staff excluded)"
    )
    traffic_rps: float | None = Field(None, gt=0, description="expected requests per second")
    labels: int | None = Field(None, gt=0, description="labeled items planned in all (train, validation and test)")
    hourly_rate: float | None = Field(None, gt=0, description="in-house annotator cost per hour, USD")
    vendor_rate: float | None = Field(None, gt=0, description="vendor price per judgment, USD")
    seconds_per_item: float | None = Field(None, gt=0, description="annotation seconds per item")
    months: float | None = Field(None, gt=0, description="months of serving the budget covers")
    paths: list[str] | None = Field(None, description="model paths to compare (default: the spec's candidates)")
    given: dict[str, str] = Field(default_factory=dict, description="each override as the user wrote it")
    source: str = "your overrides on the tailor plan command line"
