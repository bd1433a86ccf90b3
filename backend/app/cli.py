"""Operator commands: `flask --app wsgi db upgrade|status|seed` (run from backend/)."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.utils import migrate

db_cli = AppGroup("db", help="Database schema and data.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply pending SQL migrations in order."""
    try:
        applied = migrate.upgrade(current_app.config)
    except migrate.MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("database is up to date")


@db_cli.command("status")
def db_status() -> None:
    """List migrations and whether each is applied, pending or edited."""
    for row in migrate.status(current_app.config):
        click.echo(f"{row['state']:8} {row['name']}")


@db_cli.command("seed")
def db_seed() -> None:
    """Add the club's eight locations where missing; existing ones are left untouched."""
    from app.services.seed import LOCATIONS, seed_locations

    added = seed_locations()
    click.echo(f"locations: {added} added, {len(LOCATIONS) - added} already present")


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_cli)
