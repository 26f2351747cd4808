"""The files of a saved model: ``path.json`` (which path, its parameters) beside JSON and ``.npy``.

Nothing here writes or reads pickle: arrays go through ``np.save`` / ``np.load`` with
``allow_pickle=False``, everything else is JSON. Any problem reading a folder becomes one
:class:`~tailorml.errors.DataError` that names the folder and says to retrain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tailorml.errors import DataError, TailorError

__all__ = ["MANIFEST", "Manifest", "corrupt", "load_array", "read_json", "read_manifest", "reading", "save_array"]

MANIFEST = "path.json"


@dataclass(frozen=True)
class Manifest:
    """What ``path.json`` says: the registered path name, its parameters, the writer's version."""

    path: str
    params: dict[str, Any]
    tailorml_version: str


def corrupt(folder: Path, why: str) -> DataError:
    """The one error for an unreadable model folder."""
    return DataError(
        f"artifact {folder} is corrupt: {why}; retrain",
        hint="train the model again (tailor train) or point to the folder save_model wrote",
    )


def write_manifest(folder: Path, model: Any) -> None:
    """Write ``folder/path.json`` for ``model``.

    A class not (yet) registered is recorded by its qualified name: its own ``load`` reads
    the folder, and :func:`~tailorml.paths.load_model` says it is not registered.
    """
    from tailorml import __version__
    from tailorml.paths import path_name

    try:
        name = path_name(model)
    except ValueError:
        name = f"{type(model).__module__}.{type(model).__qualname__}"
    params = {k: _jsonable(v) for k, v in model.get_params(deep=False).items()}
    body = {"path": name, "params": params, "tailorml_version": __version__}
    try:
        text = json.dumps(body, indent=2, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"{type(model).__name__} parameters must be JSON values to be saved: {exc}") from None
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_manifest(folder: Path) -> Manifest:
    """Read ``folder/path.json``; raise :class:`DataError` when it is missing or malformed."""
    if not folder.is_dir():
        raise DataError(
            f"artifact {folder} does not exist or is not a folder",
            hint="pass the folder that save_model wrote, or train the model again",
        )
    body = read_json(folder, MANIFEST)
    if not isinstance(body, dict) or not isinstance(body.get("path"), str) or not isinstance(body.get("params"), dict):
        raise corrupt(folder, f"{MANIFEST} lacks 'path' (str) and 'params' (object)")
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in body["params"].items()}
    return Manifest(body["path"], params, str(body.get("tailorml_version", "unknown")))


def read_json(folder: Path, name: str) -> Any:
    """Parse ``folder/name`` as JSON; missing or invalid files raise :func:`corrupt`."""
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise corrupt(folder, f"{name} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise corrupt(folder, f"{name} is not valid JSON ({exc})") from None


def write_json(folder: Path, name: str, value: Any) -> None:
    """Write ``value`` as JSON (ASCII-escaped, so any text round-trips)."""
    (folder / name).write_text(json.dumps(value), encoding="utf-8")


def save_array(folder: Path, name: str, array: np.ndarray) -> None:
    """Write one array as ``.npy``; object arrays are refused (they would need pickle)."""
    np.save(folder / name, np.asarray(array), allow_pickle=False)


def load_array(folder: Path, name: str) -> np.ndarray:
    """Read one ``.npy`` array written by :func:`save_array`, never unpickling."""
    try:
        return np.asarray(np.load(folder / name, allow_pickle=False))
    except FileNotFoundError:
        raise corrupt(folder, f"{name} is missing") from None
    except (OSError, ValueError, EOFError) as exc:
        raise corrupt(folder, f"{name} is not a readable .npy array ({exc})") from None


@contextmanager
def reading(folder: Path) -> Iterator[None]:
    """Turn any failure while rebuilding a model from ``folder`` into :func:`corrupt`."""
    try:
        yield
    except TailorError:  # already says what is wrong (a corrupt file, a missing package)
        raise
    except Exception as exc:
        raise corrupt(folder, f"{type(exc).__name__}: {exc}") from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
