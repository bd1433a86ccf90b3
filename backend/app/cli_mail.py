"""`flask --app wsgi mail test --to ADDRESS`: one mail through the worker and the relay."""

import click
from celery.exceptions import TimeoutError as ResultTimeout
from flask import Flask, current_app
from flask.cli import AppGroup

mail_cli = AppGroup("mail", help="Outgoing mail.")


@mail_cli.command("test")
@click.option("--to", "to", required=True, help="Where the test mail goes.")
@click.option("--timeout", default=60.0, show_default=True,
              help="Seconds to wait for the worker's answer.")
def mail_test(to: str, timeout: float) -> None:
    """Queue a test mail as a registration queues its welcome mail, and wait for the
    worker's outcome: the worker's sandbox, the relay's TLS and AUTH, all of it."""
    from app.services.mail import failed_count
    from app.tasks.email import send_test_email

    config = current_app.config
    click.echo(f"relay {config['SMTP_HOST']}:{config['SMTP_PORT']} ({config['SMTP_SECURITY']}), "
               f"from {config['MAIL_FROM']}")
    result = send_test_email.apply_async((to,), retry=False)
    try:
        outcome = result.get(timeout=timeout, propagate=False)
    except ResultTimeout:
        raise click.ClickException(f"no worker answered within {timeout:g} s: is "
                                   "tdc-celery-worker running?") from None
    finally:
        result.forget()
    click.echo(f"{outcome} (task {result.id})")
    click.echo(f"mails failed so far: {failed_count()}")
    if outcome != "sent":
        raise click.ClickException("the test mail was not sent: journalctl -u "
                                   "tdc-celery-worker --grep mail_ names the cause")


def register_mail_cli(app: Flask) -> None:
    app.cli.add_command(mail_cli)
