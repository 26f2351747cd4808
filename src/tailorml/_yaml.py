"""Safe YAML reading for user files: a size limit, no aliases, and line numbers per key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tailorml.errors import SpecError

MAX_SPEC_BYTES = 256 * 1024


def read_yaml(path: Path, *, max_bytes: int = MAX_SPEC_BYTES) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse a YAML file safely; return its data and the line of every key path.

    Raises SpecError when the file is missing, too large, not UTF-8, not valid YAML, or uses
    anchors and aliases (which can expand a small file into a huge document).
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpecError(
            f"no spec at {path}",
            hint="run `tailor init` to write one, or pass --spec PATH",
        ) from None
    if size > max_bytes:
        raise SpecError(
            f"{path} is {size:,} bytes; a spec may be at most {max_bytes:,}",
            hint="a spec names data files, it does not hold data: move rows into a CSV",
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path} is not UTF-8 (bad byte at offset {exc.start})",
            hint="save the file as UTF-8",
        ) from None
    try:
        node = yaml.compose(text, Loader=_NoAliasLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(
            f"{path} is not valid YAML{where}: {exc.problem}",
            hint="check indentation and quoting on that line",
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path} is not valid YAML: {exc}", hint="fix the YAML syntax") from None
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return data, lines


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise SpecError(
                f"YAML aliases are not allowed in a spec (line {event.start_mark.line + 1})",
                hint="write the value out in full instead of using &anchor / *alias",
            )
        return super().compose_node(parent, index)


def _collect_lines(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            out[child] = key.start_mark.line + 1
            _collect_lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, (*path, str(i)), out)
