"""`picture-schedule web`: the unit's web page (and the feeds) over a roster, served by waitress."""

from __future__ import annotations

import click

from picture_schedule.cli.options import db_option
from picture_schedule.roster.feed_app import CHANNEL_TIMEOUT, CONNECTION_LIMIT, THREADS


@click.command("web")
@db_option
@click.option("--site", type=click.Path(dir_okay=False), default=None,
              help="The unit's site file: the enrolment form names it, the chair plan uses its day unit.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep 127.0.0.1 behind a TLS reverse proxy (nginx).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--trusted-proxy", type=click.IntRange(0, 5), default=0, show_default=True,
              help="How many reverse proxies in front set X-Forwarded-For/-Proto/-Host (0: none; trust no header).")
@click.option("--session-minutes", type=click.IntRange(1, 24 * 60), default=30, show_default=True,
              help="Minutes without a request after which a staff member must log in again.")
@click.option("--base-url", default=None,
              help="Where patients reach this server (https://…), for their links. [default: the site's [feed] base_url]")
@click.option("--threads", type=click.IntRange(1, 256), default=THREADS, show_default=True,
              help="Requests answered at the same time (worker threads).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log each request to standard error (tokens are always redacted).")
def command(db: str | None, site: str | None, host: str, port: int, trusted_proxy: int, session_minutes: int,
            base_url: str | None, threads: int, access_log: bool) -> None:
    """Serve the unit's web page: staff pages, each patient's own page and calendar feeds.

    Nurses enrol patients, record changes and print diaries; coordinators book chairs; patients
    open their page and subscribe to their calendar. Staff accounts come from 'picture-schedule
    staff add'. Put it behind an HTTPS reverse proxy (docs/web.md has an nginx example).

    \b
    Example:
      picture-schedule web --db roster.sqlite3 --site examples/site-nanjing.toml --port 8080
    """
    import logging
    import sys
    from pathlib import Path

    from picture_schedule.cli.options import open_roster
    from picture_schedule.errors import InputError
    from picture_schedule.roster.feed_app import configure_logging, serve
    from picture_schedule.roster.staff import members
    from picture_schedule.web.app import WebSettings, create_app

    if site is not None:
        from picture_schedule.loading.site import load_site

        load_site(site)  # a bad site file is one error line now, not a broken form later
        site = str(Path(site).resolve())
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        raise InputError(f"{base_url!r} is not an http(s) address", source="--base-url")
    from picture_schedule.roster.store import default_db_path

    if not Path(db or default_db_path()).exists():
        raise InputError("no such roster: start one by adding a staff account "
                         f"(picture-schedule staff add USER --role nurse{f' --db {db}' if db else ''})",
                         source=db or str(default_db_path()))
    configure_logging(sys.stderr)
    roster = open_roster(db)
    try:
        log = logging.getLogger("picture_schedule.web")
        refreshed = roster.refresh(on_error=lambda exc: log.error("%s; that feed keeps its last rendering", exc))
        if not members(roster):
            click.echo("picture-schedule: no staff account yet: add one with "
                       "'picture-schedule staff add USER --role nurse'", err=True)
        app = create_app(roster, WebSettings(site=site, trusted_proxy=trusted_proxy, session_minutes=session_minutes,
                                             base_url=base_url, access_log=access_log))

        def ready(bound_host: str, bound_port: int) -> None:
            note = f" ({refreshed} feed(s) re-rendered for this version)" if refreshed else ""
            click.echo(f"picture-schedule: web page on http://{bound_host}:{bound_port}/{note}", err=True)

        serve(roster, host=host, port=port, threads=threads, connection_limit=CONNECTION_LIMIT,
              channel_timeout=CHANNEL_TIMEOUT, ready=ready, app=app, proxy_headers=trusted_proxy > 0)
    finally:
        roster.close()
