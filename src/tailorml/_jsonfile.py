"""Saving result objects: JSON written atomically, so a crash never leaves half a file."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

__all__ = ["write_model_json"]


def write_model_json(model: BaseModel, path: str | Path) -> Path:
    """Write ``model`` as indented JSON to ``path`` via a temporary file and one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(model.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return path
