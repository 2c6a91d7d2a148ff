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


@app.command("rules")
def list_rules(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/rules.md instead of a table.")] = False,
) -> None:
    """List the categories, in the order they are tried."""
    from .rule_docs import rules_markdown
    from .rules import RULES

    if markdown:
        typer.echo(rules_markdown(), nl=False)
        return
    width = max(len(rule_id) for rule_id in RULES)
    for rule in RULES.values():
        marker = "*" if rule.headline else " "
        typer.echo(f"{marker} {rule.id:<{width}}  {rule.title}")
    typer.echo("\n* headline category. `escapelint explain ID` prints one in full.")


@app.command()
def explain(rule_id: Annotated[str, typer.Argument(metavar="ID", help="A category id, e.g. returned-pointer.")]) -> None:
    """Print one category's documentation and fix hint."""
    from .rule_docs import rule_text
    from .rules import UnknownRuleError, get_rule

    try:
        rule = get_rule(rule_id)
    except UnknownRuleError as exc:
        raise _fail(str(exc)) from None
    typer.echo(rule_text(rule), nl=False)


@app.command()
def version() -> None:
    """Print escapelint's version."""
    typer.echo(__version__)


def main() -> None:
    app()
