"""The ``tailor`` command. Commands are thin: parse, call the entry function, render."""

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from tailorml.cli._output import Output
from tailorml.errors import TailorError

__all__ = ["app", "main"]


_GLOBAL_FLAGS = {"--json", "--quiet", "-q", "--debug"}
_GLOBAL_WITH_VALUE = {"--spec", "-s"}


class _Group(TyperGroup):
    """Accepts global options anywhere on the line; turns a TailorError into its message and exit code."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        front: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                rest.extend(args[i:])
                break
            if arg in _GLOBAL_FLAGS or arg.startswith("--spec="):
                front.append(arg)
            elif arg in _GLOBAL_WITH_VALUE and i + 1 < len(args):
                front.extend(args[i : i + 2])
                i += 1
            else:
                rest.append(arg)
            i += 1
        return super().parse_args(ctx, front + rest)

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except TailorError as exc:
            state = ctx.find_object(State)
            output = state.output if state else Output()
            if output.debug:
                traceback.print_exc()
            output.error(exc)
            raise typer.Exit(exc.exit_code) from None


@dataclass
class State:
    """What the global options chose, shared with every command."""

    spec_path: Path
    output: Output = field(default_factory=Output)

    def spec(self) -> Any:
        from tailorml.spec import load_spec

        return load_spec(self.spec_path)

    def spec_if_present(self) -> Any:
        return self.spec() if self.spec_path.is_file() else None

    def project_folder(self) -> Path:
        return self.spec_path.resolve().parent


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="tailorml: state objectives in tailor.yaml, then take data to a monitored model.",
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    spec: Path = typer.Option(Path("tailor.yaml"), "--spec", "-s", help="The spec file.", show_default=True),
    json_: bool = typer.Option(False, "--json", help="Print the result as one JSON document."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of errors."),
) -> None:
    ctx.obj = State(spec_path=spec, output=Output(json=json_, quiet=quiet, debug=debug))


def _register() -> None:
    from tailorml.cli import data, label, model, monitoring, plan, project, serving

    project.register(app)
    model.register(app)
    serving.register(app)
    monitoring.register(app)
    plan.register(app)
    app.add_typer(data.app, name="data")
    app.add_typer(label.app, name="label")


_register()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="tailor")
