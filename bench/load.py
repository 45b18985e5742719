"""Signed-in pages under a bounded load: gunicorn with production settings, on the loaded county.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanpin_bench .venv/bin/python -m bench.load

Starts gunicorn (``--workers``, production settings behind a TLS-terminating proxy, as
deployed) on a loopback port, signs in virtual users (a county approver and village cadres)
through the real sign-in page, and has ``--users`` of them (10, then 50) walk the pages a
county uses every day (home, the registry, the case and clue lists, a household and a case)
as fast as they are answered, for ``--seconds`` each. Reports requests per second, p50, p95
and p99 latency and errors (any status other than 200, or a failed connection). Exits 1 when
p95 at 10 users is above ``--target-ms`` (250 ms) or any request failed.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

PASSWORD = "bench-" + secrets.token_hex(8)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def prepare_users(cadres: int) -> dict[str, list[str]]:
    """A county approver and village cadres on the loaded county (password set for this run),
    and the pages they visit: ids of households and cases inside their areas."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Area, AreaLevel, Role, User
    from households.models import Household
    from monitoring.models import MonitoringCase

    county = Area.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    if county is None or not Household.objects.exists():
        sys.exit("no county loaded: run `python -m bench.generate --households 300000` first")
    password = make_password(PASSWORD)
    names = []
    approver, _ = User.objects.get_or_create(
        username="bench-approver", defaults={"role": Role.COUNTY_APPROVER, "full_name": "基准测试"}
    )
    approver.areas.add(county)
    names.append(approver.username)
    villages = list(
        Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=county.prefix).order_by("code")[:cadres]
    )
    for i, village in enumerate(villages):
        cadre, _ = User.objects.get_or_create(
            username=f"bench-cadre-{i}", defaults={"role": Role.VILLAGE_CADRE, "full_name": f"村干部{i}"}
        )
        cadre.areas.set([village])
        names.append(cadre.username)
    User.objects.filter(username__in=names).update(password=password, is_active=True)
    households = list(
        Household.objects.filter(village__in=villages).order_by("id").values_list("id", flat=True)[:40]
    )
    case_ids = list(
        MonitoringCase.objects.filter(area_code__startswith=county.prefix)
        .order_by("-id")
        .values_list("id", flat=True)[:40]
    )
    pages = ["/", "/households/", "/households/?page=3", "/cases/?queue=all", "/clues/", "/reports/"]
    pages += [f"/households/{pk}/" for pk in households]
    pages += [f"/cases/{pk}/" for pk in case_ids]
    return {name: _pages_of(name, pages) for name in names}


def _pages_of(username: str, candidates: list[str]) -> list[str]:
    """The candidate pages this person may open (each one tried once, in-process)."""
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    quiet = logging.getLogger("django.request")
    level, quiet.level = quiet.level, logging.ERROR  # a page outside the person's area is a 404
    try:
        return [url for url in candidates if client.get(url).status_code == 200]
    finally:
        quiet.setLevel(level)


class Browser:
    """One signed-in person on one keep-alive connection (cookies kept by hand: they are
    ``Secure``, sent over the loopback as the proxy would)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def _headers(self, extra: dict | None = None) -> dict:
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**headers, **(extra or {})}

    def request(self, method: str, path: str, body: str | None = None, extra: dict | None = None):
        try:
            self.conn.request(method, path, body=body, headers=self._headers(extra))
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def sign_in(self, username: str) -> None:
        status, page = self.request("GET", "/accounts/login/")
        token = CSRF.search(page.decode()).group(1)
        body = urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://127.0.0.1:{self.port}"},
        )
        if status != 302:
            raise SystemExit(f"signing in {username} answered {status}")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def walk(browser: Browser, pages: list[str], offset: int, until: float, tally: Tally) -> None:
    i = offset
    while time.monotonic() < until:
        path = pages[i % len(pages)]
        i += 1
        started = time.monotonic()
        try:
            status, _ = browser.request("GET", path)
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.errors.append(f"{path}: {type(exc).__name__}")
            continue
        elapsed = time.monotonic() - started
        with tally.lock:
            tally.latencies.append(elapsed)
            if status != 200:
                tally.errors.append(f"{path}: {status}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def workers_cpu(master: subprocess.Popen) -> float:
    """CPU seconds (user + system) the gunicorn workers have used so far: what the requests
    cost the application, whatever else the machine is doing."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    except OSError:
        return 0.0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def run_level(port: int, people: dict[str, list[str]], users: int, seconds: float, server=None) -> dict:
    browsers = []
    names = list(people)
    for n in range(users):
        browser = Browser(port)
        browser.sign_in(names[n % len(names)])
        browsers.append((browser, people[names[n % len(names)]]))
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=walk, args=(b, pages, n * 7, until, tally), daemon=True)
        for n, (b, pages) in enumerate(browsers)
    ]
    cpu_before = workers_cpu(server) if server else 0.0
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    wall = time.monotonic() - started
    cpu = (workers_cpu(server) - cpu_before) if server else 0.0
    lat = tally.latencies or [0.0]
    return {
        "users": users,
        "requests": len(tally.latencies),
        "rps": len(tally.latencies) / wall,
        "p50": percentile(lat, 50) * 1000,
        "p95": percentile(lat, 95) * 1000,
        "p99": percentile(lat, 99) * 1000,
        "mean": statistics.fmean(lat) * 1000,
        "cpu_ms": cpu * 1000 / max(1, len(tally.latencies)),
        "errors": len(tally.errors),
        "error_sample": tally.errors[:5],
    }


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # the load is the subject: the sign-in lockout stays out of it
        "AXES_FAILURE_LIMIT": "1000",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "/dev/null",
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
    ]
    # production serves hashed static file names: collect them as a deploy does
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, check=True)
    process = subprocess.Popen(command, env=env)
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="10,50", help="concurrent users, one run each (comma-separated)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--target-ms", type=float, default=250, help="p95 at the first level must stay under")
    args = parser.parse_args(argv)
    _setup()
    people = prepare_users(cadres=9)
    from django.db import connections

    connections.close_all()
    server = start_gunicorn(args.port, args.workers)
    results = []
    try:
        for users in [int(u) for u in args.users.split(",")]:
            result = run_level(args.port, people, users, args.seconds, server)
            results.append(result)
            print(
                f"{users:>3} users, {args.seconds:.0f} s, {args.workers} workers: {result['requests']:,} requests, "
                f"{result['rps']:.1f} req/s, p50 {result['p50']:.0f} ms, p95 {result['p95']:.0f} ms, "
                f"p99 {result['p99']:.0f} ms, app CPU {result['cpu_ms']:.1f} ms/request, errors {result['errors']}"
                f" (load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
                + (f" (e.g. {result['error_sample']})" if result["errors"] else ""),
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    failed = any(r["errors"] for r in results) or (results and results[0]["p95"] > args.target_ms)
    if failed:
        print(
            f"target missed: p95 at {results[0]['users']} users must be under {args.target_ms:.0f} ms, no errors"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
