"""The annotation schema: the labels annotators choose from, with descriptions and examples.

A schema is stored per task in versions (see :meth:`tailorml.labeling.store.LabelStore.update_schema`):
editing it makes a new version, and every annotation records the version it was made under.
A schema file is YAML or JSON::

    labels:
      - name: refund
        description: The customer wants money back for a purchase.
        examples: ["I want my money back", "refund my order please"]
      - name: billing

Example
-------
>>> schema = LabelSchema.from_names(["refund", "billing"])
>>> schema.names
['refund', 'billing']
>>> schema.key_of("billing")
'2'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tailorml.errors import SpecError

__all__ = ["LabelDefinition", "LabelSchema", "load_schema"]

MAX_LABELS = 500


class LabelDefinition(BaseModel):
    """One label: its name, what it means, and a few examples of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    examples: tuple[str, ...] = Field((), max_length=20)

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("must not start or end with spaces")
        return value


class LabelSchema(BaseModel):
    """The labels of a task, in the order annotators see them (keys 1, 2, … pick them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: tuple[LabelDefinition, ...] = Field(min_length=2, max_length=MAX_LABELS)

    @field_validator("labels")
    @classmethod
    def _unique(cls, labels: tuple[LabelDefinition, ...]) -> tuple[LabelDefinition, ...]:
        seen: set[str] = set()
        for label in labels:
            if label.name in seen:
                raise ValueError(f"label {label.name!r} appears twice")
            seen.add(label.name)
        return labels

    @classmethod
    def from_names(cls, names: Iterable[str]) -> LabelSchema:
        """A schema of bare labels (no descriptions yet), in the given order."""
        return cls(labels=tuple(LabelDefinition(name=str(n)) for n in names))

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]

    def key_of(self, name: str) -> str:
        """The keyboard key that picks ``name``: its 1-based position."""
        return str(self.names.index(name) + 1)


def load_schema(path: str | Path) -> LabelSchema:
    """Read a schema file (YAML or JSON); errors name the file, the entry and the fix."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"schema file {path} does not exist", hint="give the path of a YAML file with a labels: list")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(f"schema file {path} is not valid YAML or JSON: {exc}", hint="fix the syntax") from None
    if isinstance(raw, list):
        raw = {"labels": raw}
    if isinstance(raw, dict) and isinstance(raw.get("labels"), list):
        raw["labels"] = [{"name": str(x)} if isinstance(x, str | int) else x for x in raw["labels"]]
    try:
        return LabelSchema.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'top level'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise SpecError(
            f"schema file {path} is not a valid annotation schema: {problems}",
            hint="write `labels:` as a list of names, or of {name, description, examples} entries (two or more)",
        ) from None
