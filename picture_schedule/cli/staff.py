"""`picture-schedule staff`: the web page's accounts (add, list, disable, password)."""

from __future__ import annotations

import sys

import click

from picture_schedule.cli.options import LANGUAGES, db_option

ROLES = ("viewer", "nurse", "coordinator")  # roster.staff.ROLES, written out: --help imports no library


def _password(password_stdin: bool, confirm: bool = True) -> str:
    """The password from standard input's first line, or asked for twice (never echoed)."""
    if password_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm))


@click.group("staff", invoke_without_command=True)
@click.pass_context
def command(ctx: click.Context) -> None:
    """The web page's staff accounts: add, list, disable, change a password.

    A viewer reads; a nurse also enrols, records changes, prints and makes new links; a coordinator
    also books chairs. Passwords are kept as Argon2 hashes; 10 to 200 characters.

    \b
    Example:
      picture-schedule staff add li.na --role nurse --db roster.sqlite3
      picture-schedule staff list --db roster.sqlite3
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@command.command("add")
@db_option
@click.argument("user")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="The language of the account's pages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def add(db: str | None, user: str, role: str, language: str, password_stdin: bool) -> None:
    """Add an account (the password is asked for twice, or read with --password-stdin).

    \b
    Example:
      picture-schedule staff add li.na --role nurse --db roster.sqlite3
    """
    from picture_schedule.cli.options import open_roster
    from picture_schedule.roster.staff import add_staff, check_role, check_username

    check_username(user)
    check_role(role)
    password = _password(password_stdin)
    with open_roster(db, create=True) as roster:
        member = add_staff(roster, user, role, password, language=language)
    click.echo(f"Added {member.username} ({member.role}).")


@command.command("list")
@db_option
def list_(db: str | None) -> None:
    """The accounts: name, role, language, since when, disabled or not.

    \b
    Example:
      picture-schedule staff list --db roster.sqlite3
    """
    from picture_schedule.cli.options import open_roster
    from picture_schedule.roster.staff import members

    with open_roster(db) as roster:
        found = members(roster)
    if not found:
        click.echo("No account yet: add one with 'picture-schedule staff add USER --role nurse'.")
        return
    rows = [("user", "role", "language", "created (UTC)", "state")]
    rows += [(m.username, m.role, m.language, m.created_at[:16].replace("T", " "),
              f"disabled {m.disabled_at[:10]}" if m.disabled_at else "active") for m in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@command.command("disable")
@db_option
@click.argument("user")
def disable(db: str | None, user: str) -> None:
    """Stop an account from logging in; its open sessions end at once ('staff password' enables it again).

    \b
    Example:
      picture-schedule staff disable li.na --db roster.sqlite3
    """
    from picture_schedule.cli.options import open_roster
    from picture_schedule.roster.staff import disable as disable_member

    with open_roster(db) as roster:
        disable_member(roster, user)
    click.echo(f"Disabled {user}: it can no longer log in.")


@command.command("password")
@db_option
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def password(db: str | None, user: str, password_stdin: bool) -> None:
    """Set a new password (and enable the account again); its open sessions end.

    \b
    Example:
      picture-schedule staff password li.na --db roster.sqlite3
    """
    from picture_schedule.cli.options import open_roster
    from picture_schedule.roster.staff import member, set_password

    with open_roster(db) as roster:
        member(roster, user)
        set_password(roster, user, _password(password_stdin))
    click.echo(f"New password set for {user}.")
