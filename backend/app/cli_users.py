"""`flask --app wsgi users ...`: the first admin of a fresh deployment, cutting off the
access tokens of one member or of everyone (after a restore, a leaked key), and purging
spent link tokens."""

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.models.user import RegisterInput
from app.services import account_tokens, accounts, tokens, users
from app.utils.validation import ValidationFailed, validate

users_cli = AppGroup("users", help="Members of the site.")


@users_cli.command("create-admin")
def create_admin() -> None:
    """Create an admin from TDC_ADMIN_EMAIL/_USERNAME/_PASSWORD, or prompt for them.

    The password is never an argument (it would show in `ps` and shell history), and
    the rule of sign-up and reset applies to it: an admin's is the password most worth
    guessing. Does nothing when an account with that email exists already.
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
        accounts.check_password(data.password, data.email, data.username)
        user = users.create_user(data.email, data.username, data.password, role="admin")
    except ValidationFailed as exc:  # a refused field, or an email or name taken (409)
        problems = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in exc.errors.items())
        raise click.ClickException(f"cannot create the admin: {problems}") from None
    click.echo(f"created admin {user['username']} <{user['email']}>")


@users_cli.command("cut-off-tokens")
@click.option("--email", help="The member whose tokens stop working.")
@click.option("--all", "everyone", is_flag=True, help="Every member's tokens stop working.")
def cut_off_tokens(email: str | None, everyone: bool) -> None:
    """Refuse every access token issued until now; members log in again."""
    if bool(email) == everyone:
        raise click.UsageError("name one member with --email, or everyone with --all")
    if everyone:
        changed = tokens.cut_off_tokens()
        click.echo(f"tokens issued until now are refused for all {changed} members")
        return
    user = users.find_user_by_email(email.lower())
    if user is None:
        raise click.ClickException(f"no account for {email}")
    tokens.cut_off_tokens(user["id"])
    click.echo(f"tokens issued until now are refused for {user['email']}")


@users_cli.command("purge-tokens")
def purge_tokens() -> None:
    """Delete the link tokens spent or expired more than ACCOUNT_TOKEN_RETENTION_DAYS ago,
    as beat's daily task does."""
    purged = account_tokens.purge_old()
    days = current_app.config["ACCOUNT_TOKEN_RETENTION_DAYS"]
    click.echo(f"purged {purged} link tokens spent or expired more than {days} days ago")


def register_users_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
