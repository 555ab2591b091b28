"""`picture-schedule serve`: the feed server (waitress) over a roster."""

from __future__ import annotations

import click

from picture_schedule.cli.options import db_option


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep 127.0.0.1 behind a TLS reverse proxy (nginx).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="Worker threads.")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log each request to standard error (feed tokens are always redacted).")
def command(db: str | None, host: str, port: int, threads: int, access_log: bool) -> None:
    """Serve every patient's calendar feed at /feed/<token>.ics (and /healthz).

    Feeds are rendered when the roster changes, never per request. Calendar apps need HTTPS: put
    this behind a reverse proxy that terminates TLS (see the README's nginx example).

    \b
    Example:
      picture-schedule serve --db roster.sqlite3 --host 127.0.0.1 --port 8080
    """
    import sys

    from picture_schedule.cli.options import open_roster
    from picture_schedule.roster.feed_app import Settings, configure_logging, serve

    configure_logging(sys.stderr)
    store = open_roster(db)
    try:
        refreshed = store.refresh()
        count = len(store.published())

        def ready(bound_host: str, bound_port: int) -> None:
            note = f" ({refreshed} re-rendered for this version)" if refreshed else ""
            click.echo(f"picture-schedule: serving {count} feed(s){note} on http://{bound_host}:{bound_port}",
                       err=True)

        serve(store, host=host, port=port, threads=threads, settings=Settings(access_log=access_log), ready=ready)
    finally:
        store.close()
