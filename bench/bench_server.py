"""Load test of the feed server, next to a plain static-file server serving the published feeds.

    python bench/bench_server.py            (or: make bench)

Loopback only (127.0.0.1), bounded: each scenario runs BENCH_CLIENTS client processes (default 8)
for BENCH_SECONDS seconds (default 3), each client stopping early after 20,000 requests. A client
opens a new connection per request, as a calendar app does when it polls. Scenarios, all on the same
feed (the sample course, ~120 kB):

- `serve` 200: `picture-schedule serve` (waitress, 8 threads), full body;
- `serve` 304: the same with If-None-Match (what subscribed apps mostly send);
- `http.server` 200/304: `python -m http.server` serving the folder `picture-schedule publish` wrote
  (304 through If-Modified-Since: it has no ETags);
- `nginx` 200/304, when nginx is installed, with the configuration from docs/feeds.md.

Prints requests/s, p50/p99 latency and the error count (any status other than the expected one, or
a connection error). Clients and servers share this machine's cores, so the figures compare the
servers with each other rather than measure a deployment.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # loopback only: this script never sends a request anywhere else
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
MAX_REQUESTS_PER_CLIENT = 20_000
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on {HOST}:{port}")


def client(port: int, path: str, headers: dict[str, str], expect: int, until: float, results) -> None:
    latencies: list[float] = []
    errors = 0
    while time.monotonic() < until and len(latencies) + errors < MAX_REQUESTS_PER_CLIENT:
        t0 = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            ok = response.status == expect
        except OSError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - t0)
        else:
            errors += 1
    results.put((latencies, errors))


def load(port: int, path: str, headers: dict[str, str], expect: int) -> tuple[float, float, float, int]:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = time.monotonic()
    until = start + SECONDS
    workers = [context.Process(target=client, args=(port, path, headers, expect, until, results))
               for _ in range(CLIENTS)]
    for w in workers:
        w.start()
    latencies: list[float] = []
    errors = 0
    for _ in workers:
        got, bad = results.get(timeout=SECONDS + 60)
        latencies += got
        errors += bad
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    latencies.sort()
    if not latencies:
        return 0.0, float("nan"), float("nan"), errors
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, p50 * 1000, p99 * 1000, errors


def report(label: str, figures: tuple[float, float, float, int]) -> None:
    rate, p50, p99, errors = figures
    print(f"  {label:<28} {rate:9,.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   errors {errors}")


NGINX_CONF = """
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    server {{
        listen {host}:{port};
        location ~ "^/feed/([A-Za-z0-9_-]{{32}})\\.ics$" {{
            alias {out}/$1.ics;
            types {{ }}
            default_type "text/calendar; charset=utf-8";
            add_header Cache-Control "private, max-age=43200" always;
            log_not_found off;
        }}
        location / {{ return 404; }}
    }}
}}
"""


def main() -> None:
    from picture_schedule.roster.publish import publish
    from picture_schedule.roster.store import Roster

    tmp = Path(tempfile.mkdtemp(prefix="bench-server-"))
    tmp.chmod(0o755)  # nginx's workers run as another user and must reach the published folder
    procs: list[subprocess.Popen] = []
    try:
        for name in ("course-example.toml", "site-nanjing.toml"):
            shutil.copy(ROOT / "examples" / name, tmp)
        db, out = tmp / "roster.sqlite3", tmp / "public"
        with Roster(db) as store:
            enrolment = store.add(tmp / "course-example.toml")
            publish(store, out)
            feed = store.feed(enrolment.token)
        assert feed is not None
        token, name = enrolment.token, enrolment.static_name
        print(f"{CLIENTS} clients x {SECONDS:g} s per scenario, new connection per request, "
              f"feed of {len(feed.body):,} bytes, {os.cpu_count()} CPUs shared by clients and server")

        serve_port = free_port()
        log = (tmp / "serve.log").open("wb")
        procs.append(subprocess.Popen([str(BIN / "picture-schedule"), "serve", "--db", str(db), "--host", HOST,
                                       "--port", str(serve_port)], stdout=log, stderr=log))
        wait_for(serve_port, "/healthz")
        path = f"/feed/{token}.ics"
        report("serve 200", load(serve_port, path, {}, 200))
        report("serve 304 (If-None-Match)", load(serve_port, path, {"If-None-Match": feed.etag}, 304))

        static_port = free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "http.server", str(static_port), "--bind", HOST,
                                       "--directory", str(out.parent)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        static_path = f"/public/{name}.ics"
        wait_for(static_port, static_path)
        since = {"If-Modified-Since": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))}
        report("http.server 200", load(static_port, static_path, {}, 200))
        report("http.server 304", load(static_port, static_path, since, 304))

        nginx = shutil.which("nginx")
        if nginx:
            nginx_port = free_port()
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (tmp / sub).mkdir()
            conf = tmp / "nginx.conf"
            conf.write_text(NGINX_CONF.format(tmp=tmp, host=HOST, port=nginx_port, out=out))
            procs.append(subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for(nginx_port, f"/feed/{name}.ics")
            check = http.client.HTTPConnection(HOST, nginx_port)
            check.request("GET", f"/feed/{name}.ics")
            got = check.getresponse()
            assert got.getheader("Content-Type") == "text/calendar; charset=utf-8" and got.read() == feed.body
            etag = got.getheader("ETag") or ""
            report("nginx 200", load(nginx_port, f"/feed/{name}.ics", {}, 200))
            report("nginx 304 (If-None-Match)", load(nginx_port, f"/feed/{name}.ics", {"If-None-Match": etag}, 304))
        else:
            print("  nginx                        not installed: skipped")
        served = (tmp / "serve.log").read_text(errors="replace")
        assert token not in served and re.search(r"<redacted [0-9a-f]{8}>", served)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
