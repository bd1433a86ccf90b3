"""`flask --app wsgi users create-admin`: the first admin of a fresh deployment."""

import os

import click
from flask import Flask
from flask.cli import AppGroup

from app.models.user import RegisterInput
from app.services import users
from app.utils.validation import ValidationFailed, validate

users_cli = AppGroup("users", help="Members of the site.")


@users_cli.command("create-admin")
def create_admin() -> None:
    """Create an admin from TDC_ADMIN_EMAIL/_USERNAME/_PASSWORD, or prompt for them.

    The password is never an argument (it would show in `ps` and shell history).
    Does nothing when an account with that email exists already.
    """
    email = os.environ.get("TDC_ADMIN_EMAIL") or click.prompt("Email")
    username = os.environ.get("TDC_ADMIN_USERNAME") or click.prompt("Username")
    existing = users.find_user_by_email(email.lower())
    if existing is not None:
        click.echo(f"an account for {existing['email']} exists already "
                   f"(role {existing['role']}); "
                   "nothing changed")
        return
    password = os.environ.get("TDC_ADMIN_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        data = validate(RegisterInput, {"email": email, "username": username,
                                        "password": password})
        user = users.create_user(data.email, data.username, data.password, role="admin")
    except ValidationFailed as exc:  # a refused field, or an email or name taken (409)
        problems = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in exc.errors.items())
        raise click.ClickException(f"cannot create the admin: {problems}") from None
    click.echo(f"created admin {user['username']} <{user['email']}>")


def register_users_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
