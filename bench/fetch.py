"""Benchmark fetching 1,000 feeds from a loopback HTTP server: a first run and an all-304 run.

    .venv/bin/python bench/fetch.py [--members 1000] [--runs 3] [--concurrency 16 64] [--no-write]

The feeds are bench/community.py's synthetic community (light dedicated calendars and about one
in twenty heavy primary calendars of hundreds of KB). They are served by a threaded HTTP server
in a separate process (so it does not share the benchmark's interpreter lock) that answers like
a calendar host: gzip when asked, an ETag per feed, 304 to a matching If-None-Match.

Each run is :func:`calroulette.feeds.fetch_feeds` for the whole community:

- first run: an empty cache directory, so every feed is downloaded, sniffed and stored;
- second run: the same cache, nothing changed, so every feed is a conditional GET answered 304.

The wall time is the median of ``--runs`` runs. Results go into the Fetching section of
docs/benchmarks.md (machine and date included).

``--serve DIR [--latency-ms N] [--port P]`` only serves DIR's feeds (bench/e2e.py uses it, and
serves a changed copy on the same port for its "next week"); with a latency, each answer waits
N ms first, as a calendar host across the internet does, to measure what loopback cannot show
(docs/benchmarks.md, "End to end": reading while fetching).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from calroulette.config import load_community  # noqa: E402
from calroulette.feeds import Feed, FeedStatus, fetch_feeds  # noqa: E402
from calroulette.timeutil import UTC  # noqa: E402
from community import generate  # noqa: E402 - bench/ is not a package
from report import DOC, machine, write_section  # noqa: E402

BEGIN = "<!-- bench/fetch.py: begin -->"
END = "<!-- bench/fetch.py: end -->"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def serve(directory: Path, latency: float = 0.0, port: int = 0) -> None:
    """Serve ``directory/feeds`` on loopback ``port`` (0: a free one); print the port, then
    serve forever.
    ``latency``: seconds each answer waits first, as a calendar host across the internet does
    (the waiting costs no CPU: each request has its own thread)."""
    files: dict[str, tuple[bytes, bytes, str]] = {}
    for path in (directory / "feeds").glob("*.ics"):
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        files[f"/feeds/{path.name}"] = (body, gzip.compress(body, 6), etag)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, like a real server

        def do_GET(self) -> None:
            if latency:
                time.sleep(latency)
            found = files.get(self.path)
            if found is None:
                self.send_error(404)
                return
            body, zipped, etag = found
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            use_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
            data = zipped if use_gzip else body
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            self.send_header("ETag", etag)
            if use_gzip:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512  # the listen backlog; the default 5 drops concurrent SYNs

        def handle_error(self, request: object, client_address: object) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up
                super().handle_error(request, client_address)  # type: ignore[arg-type]

    server = Server(("127.0.0.1", port), Handler)
    print(server.server_port, flush=True)
    server.serve_forever()


def run_once(config: Path, concurrency: int, *, fresh: bool) -> tuple[float, dict[str, int]]:
    community = load_community(config)
    community = replace(community, fetch_concurrency=concurrency)
    if fresh:
        shutil.rmtree(community.cache_dir, ignore_errors=True)
    started = time.perf_counter()
    results = fetch_feeds(community, now=NOW, progress=False)
    elapsed = time.perf_counter() - started
    counts: dict[str, int] = {}
    for result in results.values():
        key = str(result.status) if isinstance(result, Feed) else f"error {result.kind}"
        counts[key] = counts.get(key, 0) + 1
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--latency-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency_ms / 1000, args.port)
        return

    with tempfile.TemporaryDirectory(prefix="calroulette-bench-fetch-") as tmp:
        out = Path(tmp)
        generate(args.members, out, base_url="http://placeholder", history_weeks=1)
        bodies = [p.read_bytes() for p in (out / "feeds").glob("*.ics")]
        total_bytes = sum(len(b) for b in bodies)
        gzip_bytes = sum(len(gzip.compress(b, 6)) for b in bodies)
        load_before = os.getloadavg()[0]
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(out)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            config = out / "members.toml"
            text = config.read_text(encoding="utf-8")
            config.write_text(
                text.replace("http://placeholder", f"http://127.0.0.1:{port}"), encoding="utf-8"
            )
            rows = []
            for concurrency in args.concurrency:
                firsts, seconds = [], []
                first_counts: dict[str, int] = {}
                second_counts: dict[str, int] = {}
                for _ in range(args.runs):
                    elapsed, first_counts = run_once(config, concurrency, fresh=True)
                    firsts.append(elapsed)
                    elapsed, second_counts = run_once(config, concurrency, fresh=False)
                    seconds.append(elapsed)
                assert first_counts == {str(FeedStatus.FRESH): args.members}, first_counts
                assert second_counts == {str(FeedStatus.NOT_MODIFIED): args.members}, second_counts
                row = (
                    f"| {args.members:,} | {concurrency} | {statistics.median(firsts):.2f} s "
                    f"| {statistics.median(seconds):.2f} s |"
                )
                print(row, flush=True)
                rows.append(row)
        finally:
            server.terminate()
            server.wait(timeout=10)

    body = "\n".join(
        [
            f"`.venv/bin/python bench/fetch.py --members {args.members} --runs {args.runs}` on "
            f"{dt.date.today().isoformat()}, {machine()}; "  # noqa: DTZ011 - the machine's date
            f"load average {load_before:.1f} when it started (the machine is shared).",
            "",
            f"{args.members:,} synthetic feeds ({total_bytes / 1e6:.1f} MB, "
            f"{gzip_bytes / 1e6:.1f} MB gzipped) served with an ETag by a threaded HTTP server "
            "on loopback in another process. First run: empty cache, every feed downloaded "
            "(gzip), sniffed and stored. Second run: nothing changed, every feed a conditional "
            "GET answered 304 with no body. Median of "
            f"{args.runs} runs.",
            "",
            "On loopback, bandwidth is free, so both runs cost about the same: the time is "
            "per-request CPU in client and server (two Python processes sharing the cores). "
            "What the 304 run saves is the transfer (all of the gzipped bytes above) and the "
            "calendar hosts' work, which is what matters across the internet; more "
            "concurrency than cores buys nothing here, but hides latency on real networks.",
            "",
            "| feeds | fetch_concurrency | first run | second run (all 304) |",
            "|---:|---:|---:|---:|",
            *rows,
        ]
    )
    print(body)
    if not args.no_write:
        write_section(BEGIN, END, "Fetching", body)
        print(f"written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
