"""Hardware profiles from a dated price table: where latency is measured, what it costs.

The same file carries two more dated sections that ``tailor plan`` reads: ``annotation``
(annotator rates and labeling assumptions) and ``planning`` (capacity and roadmap
assumptions). Each is a :class:`RateTable`: named values with a unit and a note, plus the
section's date and source, so every number derived from them can say where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tailorml.errors import SpecError

__all__ = ["HardwareProfile", "PriceTable", "Rate", "RateTable", "load_price_table"]


@dataclass(frozen=True)
class HardwareProfile:
    """One machine type and its hourly price."""

    name: str
    instance: str
    vcpus: int
    memory_gb: float
    usd_per_hour: float
    accelerator: str | None = None


@dataclass(frozen=True)
class Rate:
    """One assumed rate: its value, unit and what it stands for."""

    value: float
    unit: str
    note: str


@dataclass(frozen=True)
class RateTable:
    """A dated section of rates (``annotation``, ``planning``) and where it comes from."""

    as_of: str
    source: str
    rates: dict[str, Rate]
    file: str = "the shipped price table"

    def rate(self, name: str) -> Rate:
        """The rate called ``name``, or SpecError naming the section's rates."""
        try:
            return self.rates[name]
        except KeyError:
            raise SpecError(
                f"the price table ({self.file}) has no rate {name!r} in its section dated {self.as_of}",
                hint=f"add {name} to the section (known rates: {', '.join(self.rates)}), "
                "or delete the section to use the shipped one",
            ) from None


@dataclass(frozen=True)
class PriceTable:
    """Hardware profiles plus where their prices come from and when they were read.

    ``annotation`` and ``planning`` are the rate sections; a user's file without them gets
    the shipped ones.
    """

    as_of: str
    source: str
    profiles: dict[str, HardwareProfile]
    annotation: RateTable | None = None
    planning: RateTable | None = None

    def profile(self, name: str) -> HardwareProfile:
        """Return the profile called ``name``, or raise SpecError naming the known ones."""
        try:
            return self.profiles[name]
        except KeyError:
            raise SpecError(
                f"hardware profile {name!r} is not in the price table ({self.source}, {self.as_of})",
                hint=f"use one of: {', '.join(self.profiles)}, or add it to a price file "
                "named by `prices:` in tailor.yaml",
            ) from None


def load_price_table(path: str | Path | None = None) -> PriceTable:
    """Read the shipped price table, or a user's file of the same shape."""
    import yaml

    if path is None:
        text = resources.files("tailorml").joinpath("prices.yaml").read_text(encoding="utf-8")
        where = "the shipped price table"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(
                f"cannot read price table {path}: {exc.strerror}",
                hint="fix `prices:` in tailor.yaml",
            ) from None
        where = str(path)
    try:
        raw = yaml.safe_load(text)
        profiles = {
            name: HardwareProfile(
                name=name,
                instance=str(p["instance"]),
                vcpus=int(p["vcpus"]),
                memory_gb=float(p["memory_gb"]),
                usd_per_hour=float(p["usd_per_hour"]),
                accelerator=p.get("accelerator"),
            )
            for name, p in raw["profiles"].items()
        }
        sections = {key: _rate_table(raw.get(key), where) for key in _RATE_SECTIONS}
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(
            f"price table {where} is malformed: {exc}",
            hint="each profile needs instance, vcpus, memory_gb and usd_per_hour; "
            "the file needs as_of, source and profiles; a rate section needs as_of, source and "
            "rates of {value, unit, note}",
        ) from None
    if path is not None and any(table is None for table in sections.values()):
        shipped = load_price_table()
        sections = {key: table or getattr(shipped, key) for key, table in sections.items()}
    return PriceTable(as_of=str(raw["as_of"]), source=str(raw["source"]), profiles=profiles, **sections)


_RATE_SECTIONS = ("annotation", "planning")


def _rate_table(raw: object, where: str) -> RateTable | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TypeError(f"a rate section must be a mapping; got {type(raw).__name__}")
    rates = {
        str(name): Rate(value=float(r["value"]), unit=str(r.get("unit") or ""), note=str(r.get("note") or name))
        for name, r in raw["rates"].items()
    }
    return RateTable(as_of=str(raw["as_of"]), source=str(raw["source"]), rates=rates, file=where)
