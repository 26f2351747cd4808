"""tailorml: from "we need a model that does X, this well, this fast, for this much" to a
monitored model in production, with the evidence for every decision kept.

Importing the package is cheap: names below load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Spec": "tailorml.spec",
    "load_spec": "tailorml.spec",
    "parse_spec": "tailorml.spec",
    "Project": "tailorml.project",
    "TailorError": "tailorml.errors",
    "SpecError": "tailorml.errors",
    "DataError": "tailorml.errors",
    "NotFoundError": "tailorml.errors",
    "DataStore": "tailorml.data.versions",
    "read_table": "tailorml.data.io",
    "analyze": "tailorml.data.checks",
    "synthesize": "tailorml.data.synth",
    "import_data": "tailorml.data.importer",
    "check_project": "tailorml.check",
}

__all__ = [
    "DataError",
    "DataStore",
    "NotFoundError",
    "Project",
    "Spec",
    "SpecError",
    "TailorError",
    "__version__",
    "analyze",
    "check_project",
    "import_data",
    "load_spec",
    "parse_spec",
    "read_table",
    "synthesize",
]

if TYPE_CHECKING:  # pragma: no cover
    from tailorml.check import check_project
    from tailorml.data.checks import analyze
    from tailorml.data.importer import import_data
    from tailorml.data.io import read_table
    from tailorml.data.synth import synthesize
    from tailorml.data.versions import DataStore
    from tailorml.errors import DataError, NotFoundError, SpecError, TailorError
    from tailorml.project import Project
    from tailorml.spec import Spec, load_spec, parse_spec


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tailorml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
