"""The project folder: everything a project produces lives under ``.tailor/``.

It sits beside the spec, or where ``TAILOR_HOME`` points (read when a project is opened,
never at import), so a project is a folder you can inspect, copy or delete.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Project"]

HOME_ENV = "TAILOR_HOME"


@dataclass(frozen=True)
class Project:
    """Paths of one project's state."""

    home: Path

    @classmethod
    def at(cls, folder: str | Path) -> Project:
        """The project whose spec lives in ``folder`` (``$TAILOR_HOME`` wins when set)."""
        override = os.environ.get(HOME_ENV)
        home = Path(override).expanduser() if override else Path(folder) / ".tailor"
        return cls(home=home.resolve())

    @property
    def data_dir(self) -> Path:
        """Content-addressed data versions."""
        return self.home / "data"
