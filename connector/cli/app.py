"""The typer application every command module registers on."""

from __future__ import annotations

import typer

from connector import __version__

app = typer.Typer(
    name="connector",
    help="Lead-scoring sync for HubSpot and ActiveCampaign: pull, score, write back, invite.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"connector {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Lead-scoring sync for HubSpot and ActiveCampaign."""
