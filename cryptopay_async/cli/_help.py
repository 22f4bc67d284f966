"""The CLI's help pages: flags without a value placeholder, ``--version``, and ``emulator
serve --help`` in the same layout as every other command.

typer (0.29) shows a type for every option, so a flag reads ``--json <bool>`` as if it
took a value, and it has no setting to turn that off for flags: ``TyperOption`` is
patched here to show no type for a flag (the CLI's own commands are the only ones
this process renders). ``emulator serve`` hands its arguments to the argparse parser it
shares with ``python -m cryptopay_async.testing serve``; its help is drawn by typer
from a command generated from that parser, so the flags stay defined once.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
import typer.core
import typer.main

_display_type_rich = typer.core.TyperOption.display_type_rich


def _no_type_for_flags(self: typer.core.TyperOption, ctx: Any) -> str | None:
    return None if self.is_flag else _display_type_rich(self, ctx)


typer.core.TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]


def package_version() -> str:
    try:
        return version("cryptopay-async")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from cryptopay_async._version import __version__

        return __version__


def print_version(asked: bool) -> None:
    """The ``--version`` callback: ``cryptopay-async 0.1.0``, then exit."""
    if asked:
        typer.echo(f"cryptopay-async {package_version()}")
        raise typer.Exit()


def show_parser_help(parser: argparse.ArgumentParser, prog: str) -> None:
    """Print ``parser``'s options as typer prints a command's (panels per argument group)."""
    annotations: dict[str, Any] = {}
    parameters = []
    for group in parser._action_groups:  # argparse keeps its groups only there
        panel = None if group.title in ("options", "optional arguments") else group.title
        for action in group._group_actions:
            if "--help" in action.option_strings or not action.option_strings:
                continue
            flag = action.nargs == 0
            kind: Any = bool if flag else (action.type if isinstance(action.type, type) else str)
            option = typer.Option(
                *action.option_strings,
                help=action.help or "",
                rich_help_panel=panel.capitalize() if panel else None,
                show_default=not flag and action.default is not None,
            )
            annotations[action.dest] = Annotated[kind if flag else kind | None, option]
            parameters.append(
                inspect.Parameter(
                    action.dest,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=action.default,
                    annotation=annotations[action.dest],
                )
            )

    def command(**_: Any) -> None:
        """Never run: it only carries the parameters to draw."""

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = annotations
    command.__doc__ = parser.description
    app = typer.Typer(add_completion=False)
    app.command()(command)
    with contextlib.suppress(SystemExit):
        typer.main.get_command(app).main(["--help"], prog_name=prog)
