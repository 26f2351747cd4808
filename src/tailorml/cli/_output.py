"""How the CLI talks: Rich tables for people, one JSON document for tools, errors on stderr."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from tailorml.errors import TailorError, error_body

OnStep = Callable[[str], None]


@dataclass
class Output:
    """The output mode chosen by the global options."""

    json: bool = False
    quiet: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        self.console = Console(highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False)

    def print(self, *items: Any, style: str | None = None) -> None:
        """Print for people (nothing in --json or --quiet mode). Strings are never read as markup:
        they often hold user text (paths, rows) where brackets are literal."""
        if not (self.json or self.quiet):
            self.console.print(*items, style=style, markup=False)

    def result(self, payload: Any) -> None:
        """Emit the command's result as one JSON document in --json mode."""
        if self.json:
            sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")

    @contextmanager
    def steps(self) -> Iterator[OnStep]:
        """A callback that shows each named step with a spinner and its elapsed time."""
        if self.json or self.quiet:
            yield lambda _name: None
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=False,
        )
        current: list[Any] = []

        def on_step(name: str) -> None:
            if current:
                progress.update(current[-1], total=1, completed=1)
            current.append(progress.add_task(escape(name), total=None))

        with progress:
            yield on_step
            if current:
                progress.update(current[-1], total=1, completed=1)

    def error(self, exc: TailorError) -> None:
        """Report a user-fixable error: JSON body in --json mode, otherwise a red message."""
        if self.json:
            sys.stdout.write(json.dumps(error_body(exc), indent=2) + "\n")
            return
        self.err.print(Text.assemble(("error: ", "bold red"), exc.message))
        if exc.hint:
            self.err.print(Text.assemble(("fix: ", "yellow"), exc.hint))


def parse_age(text: str, option: str) -> dt.timedelta:
    """An age such as 7d, 12h or 30m; TailorError naming ``option`` otherwise."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text[-1:] in units and text[:-1].isdigit():
        return dt.timedelta(**{units[text[-1]]: int(text[:-1])})
    raise TailorError(f"{option} {text!r} is not an age", hint="use e.g. 7d, 12h or 30m")
