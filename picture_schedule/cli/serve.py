"""`picture-schedule serve`: the feed server (waitress) over a roster."""

from __future__ import annotations

import click

from picture_schedule.cli.options import db_option
from picture_schedule.roster.feed_app import CHANNEL_TIMEOUT, CONNECTION_LIMIT, THREADS


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep 127.0.0.1 behind a TLS reverse proxy (nginx).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--threads", type=click.IntRange(1, 256), default=THREADS, show_default=True,
              help="Requests answered at the same time (worker threads).")
@click.option("--connection-limit", type=click.IntRange(1, 100_000), default=CONNECTION_LIMIT, show_default=True,
              help="Connections kept open at once; more wait to be accepted. Idle ones cost no thread.")
@click.option("--channel-timeout", type=click.IntRange(1, 3600), default=CHANNEL_TIMEOUT, show_default=True,
              help="Seconds before an idle connection is closed (checked every few seconds).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log each request to standard error (feed tokens are always redacted).")
def command(db: str | None, host: str, port: int, threads: int, connection_limit: int, channel_timeout: int,
            access_log: bool) -> None:
    """Serve every patient's calendar feed at /feed/<token>.ics (and /healthz).

    Feeds are rendered when the roster changes, never per request. Calendar apps need HTTPS: put
    this behind a reverse proxy that terminates TLS (an nginx example is in docs/feeds.md). Stops
    cleanly on SIGTERM or Ctrl-C.

    \b
    Example:
      picture-schedule serve --db roster.sqlite3 --host 127.0.0.1 --port 8080
    """
    import logging
    import sys

    from picture_schedule.cli.options import open_roster
    from picture_schedule.roster.feed_app import Settings, configure_logging, serve

    configure_logging(sys.stderr)
    store = open_roster(db)
    try:
        log = logging.getLogger("picture_schedule.serve")
        refreshed = store.refresh(on_error=lambda exc: log.error("%s; that feed keeps its last rendering", exc))
        count = store.feed_count()  # counted by SQLite: start-up memory does not grow with the roster

        def ready(bound_host: str, bound_port: int) -> None:
            note = f" ({refreshed} re-rendered for this version)" if refreshed else ""
            click.echo(f"picture-schedule: serving {count} feed(s){note} on http://{bound_host}:{bound_port}",
                       err=True)

        serve(store, host=host, port=port, threads=threads, connection_limit=connection_limit,
              channel_timeout=channel_timeout, settings=Settings(access_log=access_log), ready=ready)
    finally:
        store.close()
