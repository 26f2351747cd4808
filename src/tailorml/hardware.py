"""Hardware profiles from a dated price table: where latency is measured, what it costs."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tailorml.errors import SpecError

__all__ = ["HardwareProfile", "PriceTable", "load_price_table"]


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
class PriceTable:
    """Hardware profiles plus where their prices come from and when they were read."""

    as_of: str
    source: str
    profiles: dict[str, HardwareProfile]

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
        return PriceTable(as_of=str(raw["as_of"]), source=str(raw["source"]), profiles=profiles)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(
            f"price table {where} is malformed: {exc}",
            hint="each profile needs instance, vcpus, memory_gb and usd_per_hour; "
            "the file needs as_of, source and profiles",
        ) from None
