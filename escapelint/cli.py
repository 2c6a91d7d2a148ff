"""Command line: a thin typer layer over escapelint.pipeline.

Exit codes: 0 success; 1 findings that fail a gate (later commands); 2 usage error or unreadable input,
or an output that exists without --force; 3 the Go build itself failed (later commands).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from . import __version__
from .pipeline import InputError, OutputExistsError, report_json

EXIT_OK = 0
EXIT_USAGE = 2

app = typer.Typer(
    name="escapelint",
    help="Turn the Go compiler's escape-analysis diagnostics (go build -gcflags=-m=2) into verdicts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ReportFormat(str, Enum):
    json = "json"


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"escapelint: error: {message}", err=True)
    return typer.Exit(code)


@app.command()
def report(
    input: Annotated[str, typer.Argument(help="File of `go build -gcflags=-m=2` output, or - for stdin.")],
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.json,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --output if it exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Parse compiler output into events and write a report.

    Every input line is accounted for: the summary on stderr and the report's "stats" give the count of
    lines per role; lines escapelint does not understand are listed under "unrecognized", never dropped.
    """
    try:
        stats = report_json(input, output, overwrite=force)
    except (InputError, OutputExistsError) as exc:
        raise _fail(str(exc)) from None
    if not quiet:
        events = ", ".join(f"{n} {k.value}" for k, n in sorted(stats.events.items())) or "no events"
        unrecognized = stats.roles.get("unrecognized", 0)
        typer.echo(
            f"escapelint: {stats.lines} lines, {stats.packages} packages: {events}; "
            f"{unrecognized} unrecognized lines",
            err=True,
        )


@app.command()
def version() -> None:
    """Print escapelint's version."""
    typer.echo(__version__)


def main() -> None:
    app()
