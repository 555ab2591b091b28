"""`picture-schedule publish`: every active feed as a static file, for any web server or CDN."""

from __future__ import annotations

import click

from picture_schedule.cli.options import db_option


@click.command("publish")
@db_option
@click.option("--out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder to write <static name>.ics files into (created if missing).")
def command(db: str | None, out: str) -> None:
    """Write every active feed to DIR as <static name>.ics; delete removed and rotated ones.

    Patients of a site that publishes get their links with 'roster add --static' (the file name is
    derived from their token; the token itself never appears on the static site).

    \b
    Example:
      picture-schedule publish --db roster.sqlite3 --out /srv/picture-feeds
    """
    from picture_schedule.cli.options import open_roster
    from picture_schedule.roster.publish import publish

    store = open_roster(db)
    try:
        report = publish(store, out)
    finally:
        store.close()
    click.echo(f"{out}: {report.written} written, {report.unchanged} unchanged, {report.deleted} deleted")
