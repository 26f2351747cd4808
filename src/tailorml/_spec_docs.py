"""The settings reference of tailor.yaml, generated from the spec models' field descriptions.

``docs/spec.md`` is this module's output; a test keeps the two equal, so the reference
cannot drift from the code. Regenerate with ``python -m tailorml._spec_docs > docs/spec.md``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tailorml.metrics import METRICS
from tailorml.spec import Spec, _first_model


def spec_reference() -> str:
    """Markdown: one table row per setting, then the metrics objectives may use."""
    lines = [
        "# tailor.yaml reference",
        "",
        "Generated from `tailorml.spec` by `python -m tailorml._spec_docs`; do not edit by hand.",
        "",
        "| key | default | meaning |",
        "| --- | --- | --- |",
    ]
    lines.extend(_rows(Spec, ""))
    lines += [
        "",
        "## Metrics an objective may use",
        "",
        "| metric | objective | range | needs | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in METRICS.values():
        bound = f"`{{{m.bound}: x}}`"
        span = "[0, 1]" if m.is_fraction else f"> 0 {m.unit}".strip()
        needs = f"task.{m.requires}" if m.requires else ""
        lines.append(f"| `{m.name}` | {bound} | {span} | {needs} | {m.description} |")
    return "\n".join(lines) + "\n"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        nested = _first_model(field.annotation)
        default = _default(field)
        rows.append(f"| `{key}` | {default} | {field.description or ''} |")
        if nested is not None and name != "objectives":
            rows.extend(_rows(nested, f"{key}."))
    return rows


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return ""
        return f"`{value!r}`" if value not in ([], {}) else "none"
    return "none" if field.default is None else f"`{field.default}`"


if __name__ == "__main__":
    print(spec_reference(), end="")
