"""Failure drills against a running stack, each bounded in time, each saying what it did
and what it saw. Brings up its own stack (compose/local/stack.py) in a throwaway
directory and stops it afterwards, or, with --dir, runs against the stack `make stack`
started (it is left as the drills leave it: web1 and worker1 killed, S3 stopped;
`make stack-down && make stack` to start afresh).

    .venv/bin/python bench/drills.py                         # all of them, own stack
    .venv/bin/python bench/drills.py web replica             # some of them
    .venv/bin/python bench/drills.py --dir var/stack         # against `make stack`
    .venv/bin/python bench/drills.py --broker rabbitmq broker worker   # a stack on RabbitMQ

Drills: web (SIGKILL one web process under load), replica (stop it: reads keep
working), worker (SIGKILL a worker mid-rendition: the job completes), broker (take the
broker away, upload 20 photos, bring it back: all ready, each rendered once, no 5xx),
ready (upload to all renditions ready for 12 MP JPEGs under the load mix: noise, the
worst case, or with --photographs real ones from mate-backgrounds), redis (restart
and flush it: nobody logged out), s3 (stop it: uploads refused clearly, browsing goes on).
With --broker rabbitmq the stack's broker is a throwaway virtual host on this machine's
RabbitMQ (127.0.0.1:5672), and "away" means the vhost refuses the site (permissions
withdrawn, connections closed): the shared node itself keeps running.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from compose.local import stack
from compose.local.services.net import free_port

PASSWORD = "drill password 1"


def say(text: str) -> None:
    print(text, flush=True)


class Load:
    """Background GETs of one URL from a few threads, with errors counted per moment."""

    def __init__(self, url: str, *, threads: int = 4, session: requests.Session | None = None) -> None:
        self.url, self.threads = url, threads
        self.session = session
        self.results: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _run(self) -> None:
        session = self.session or requests.Session()
        while not self._stop.is_set():
            try:
                ok = session.get(self.url, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            with self._lock:
                self.results.append((time.monotonic(), ok))

    def __enter__(self) -> Load:
        self._workers = [threading.Thread(target=self._run) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join()

    def errors_since(self, moment: float) -> tuple[int, int]:
        seen = [ok for at, ok in self.results if at >= moment]
        return len(seen), seen.count(False)

    def last_error_after(self, moment: float) -> float | None:
        failures = [at for at, ok in self.results if at >= moment and not ok]
        return failures[-1] - moment if failures else None


def _jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


PHOTOGRAPHS = Path("/usr/share/backgrounds/mate/nature")  # Debian's mate-backgrounds, as bench/renditions.py


def _photograph_jpegs(width: int, height: int, count: int) -> list[bytes]:
    """Real photographs resized to width x height and saved as a camera would (quality 92),
    each file different (a numbered comment) so no two uploads are the same file."""
    from PIL import Image

    sources = sorted(PHOTOGRAPHS.glob("*.jpg"))
    if not sources:
        raise SystemExit(f"no photographs in {PHOTOGRAPHS}: apt-get install mate-backgrounds")
    pictures = []
    for source in sources[:count]:
        with Image.open(source) as image:
            pictures.append(image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS))
    out = []
    for number in range(count):
        buffer = io.BytesIO()
        pictures[number % len(pictures)].save(buffer, "JPEG", quality=92, comment=f"drill {number}".encode())
        out.append(buffer.getvalue())
    return out


def _token(url: str, username: str) -> dict[str, str]:
    token = requests.post(f"{url}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}, timeout=10)
    return {"Authorization": f"Token {token.json()['token']}"}


def drill_web(record: dict[str, Any], url: str) -> dict[str, Any]:
    say("web: 4 threads load the home page through nginx; SIGKILL web1 (its whole process group) after 3 s")
    with Load(url + "/") as load:
        time.sleep(3)
        killed_at = time.monotonic()
        os.killpg(record["pids"]["web1"], signal.SIGKILL)
        time.sleep(7)
    total, failed = load.errors_since(killed_at)
    last = load.last_error_after(killed_at)
    recovery = f"{last:.2f} s" if last is not None else "none needed"
    say(f"  saw: {failed} errors in {total} requests after the kill; last error {recovery} after it")
    say("  (nginx retries a failed request on web2 and marks web1 down for 5 s; web1 stays down: no supervisor here)")
    return {"requests": total, "errors": failed, "last_error_s": last}


def drill_replica(record: dict[str, Any], url: str) -> dict[str, Any]:
    say("replica: stop the PostgreSQL replica (pg_ctl -m fast) while pages load; then start it again")
    postgres = record["postgres"]
    pg_ctl = [str(Path(postgres["bin"]) / "pg_ctl")]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # The seeded photos are rendered by the workers after the stack is up; until then the
    # page is a 404, which would count as errors of the stop.
    deadline = time.monotonic() + 60
    while requests.get(url + "/photos/1/", timeout=10).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    with Load(url + "/photos/1/") as load:
        time.sleep(2)
        stopped_at = time.monotonic()
        subprocess.run([*as_postgres, *pg_ctl, "stop", "-w", "-m", "fast", "-D", postgres["replica"]], check=True)
        time.sleep(6)
        readiness = requests.get(url + "/readyz", timeout=10).json()
    total, failed = load.errors_since(stopped_at)
    replica_state = readiness["checks"].get("replica:replica_0", {}).get("state")
    say(
        f"  saw: {failed} errors in {total} photo-page requests; /readyz says replica {replica_state}, "
        f"site {readiness['status']}"
    )
    log = Path(postgres["replica"]).parent / "replica.log"  # the postgres user's own file
    subprocess.run([*as_postgres, *pg_ctl, "start", "-w", "-D", postgres["replica"], "-l", str(log)], check=True)
    restarted_at = time.monotonic()
    # Each web process judges the replica for itself and nginx takes turns between them:
    # it is back once several answers in a row say so (/readyz reuses a result for 1 s).
    back, ups_in_a_row = None, 0
    while time.monotonic() - restarted_at < 30:
        checks = requests.get(url + "/readyz", timeout=10).json()["checks"]
        ups_in_a_row = ups_in_a_row + 1 if checks.get("replica:replica_0", {}).get("state") == "up" else 0
        if ups_in_a_row == 1:
            back = time.monotonic() - restarted_at
        if ups_in_a_row >= 6:
            break
        time.sleep(0.1)
    else:
        back = None
    say(
        f"  restarted it: every web process's /readyz saw the replica up again {back:.1f} s after the start"
        if back is not None
        else "  restarted it, but /readyz did not see it up within 30 s"
    )
    return {
        "requests": total,
        "errors": failed,
        "replica_state": replica_state,
        "site": readiness["status"],
        "back_after_s": back,
    }


def drill_worker(record: dict[str, Any], url: str) -> dict[str, Any]:
    say("worker: pause worker2 (SIGSTOP) so worker1 takes the job; upload a 24 MP photo; SIGKILL worker1")
    say("        mid-rendition; resume worker2; wait for the photo to be ready. Then the same upload again,")
    say("        nobody killed: the job's own time, so the rest is the handoff")
    headers = _token(url, "driller")
    picture = _jpeg(6000, 4000)
    os.killpg(record["pids"]["worker2"], signal.SIGSTOP)
    try:
        created = requests.post(
            f"{url}/api/v1/photos/", headers=headers, files={"file": ("big.jpg", picture)}, timeout=60
        ).json()
        time.sleep(1.5)  # worker1 has picked it up and is rendering (24 MP takes several seconds)
        os.killpg(record["pids"]["worker1"], signal.SIGKILL)
        killed_at = time.monotonic()
    finally:
        os.killpg(record["pids"]["worker2"], signal.SIGCONT)
    deadline = time.monotonic() + 180
    status = "processing"
    while time.monotonic() < deadline:
        status = requests.get(f"{url}/api/v1/photos/{created['id']}/", headers=headers, timeout=10).json()["status"]
        if status != "processing":
            break
        time.sleep(0.2)
    took = time.monotonic() - killed_at
    again = requests.post(
        f"{url}/api/v1/photos/", headers=headers, files={"file": ("again.jpg", picture)}, timeout=60
    ).json()
    started = time.monotonic()  # from the answer, as the killed one is timed from the kill
    while _photo_status(url, headers, again["id"]) == "processing" and time.monotonic() - started < 180:
        time.sleep(0.2)
    alone = time.monotonic() - started
    say(f"  saw: photo {created['id']} {status} {took:.1f} s after the kill; the same upload, nobody killed,")
    say(f"       ready {alone:.1f} s after its upload answered: the handoff took about {took - alone:.1f} s")
    return {
        "status": status,
        "seconds_after_kill": round(took, 1),
        "same_job_alone_s": round(alone, 1),
        "handoff_s": round(took - alone, 1),
    }


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "--quiet", *args], check=True, capture_output=True, timeout=60)


def _photo_status(url: str, headers: dict[str, str], photo_id: int) -> str:
    return str(requests.get(f"{url}/api/v1/photos/{photo_id}/", headers=headers, timeout=10).json()["status"])


def _renders(record: dict[str, Any]) -> dict[int, int]:
    """How many times each photo was rendered, from every worker's "renditions made" lines."""
    counts: dict[int, int] = {}
    for log in Path(record["logs"]).glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():  # a JSON line says it twice (log.original)
            match = re.search(r"renditions made for photo (\d+)", line)
            if match:
                counts[int(match[1])] = counts.get(int(match[1]), 0) + 1
    return counts


def drill_broker(record: dict[str, Any], url: str) -> dict[str, Any]:
    broker_url = record["env"]["BROKER_URL"]
    rabbitmq = broker_url.startswith("amqp")
    say(f"broker ({'RabbitMQ' if rabbitmq else 'Redis'}): take the broker away, upload 20 photos, bring it back;")
    say("        all 20 ready, each rendered once, no 5xx")
    headers = _token(url, "driller")
    state = Path(record["logs"]).parent
    if rabbitmq:
        vhost = broker_url.rsplit("/", 1)[1]
        _rabbitmqctl("clear_permissions", "-p", vhost, "guest")
        _rabbitmqctl("close_all_connections", "-p", vhost, "broker drill")
    else:  # the stack's one Redis: broker, cache and sessions go away together
        subprocess.run(["redis-cli", "-p", str(record["ports"]["redis"]), "SHUTDOWN"], capture_output=True)
    time.sleep(1)
    statuses, seconds, photo_ids = [], [], []
    for number in range(20):
        started = time.monotonic()
        answer = requests.post(
            f"{url}/api/v1/photos/",
            headers=headers,
            files={"file": (f"outage-{number}.jpg", _jpeg(640, 480))},
            timeout=60,
        )
        seconds.append(time.monotonic() - started)
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            photo_ids.append(answer.json()["id"])
    processing = sum(_photo_status(url, headers, photo_id) == "processing" for photo_id in photo_ids)
    say(f"  saw: statuses {sorted(set(statuses))}, slowest upload {max(seconds):.2f} s; {processing} processing")
    if rabbitmq:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    else:
        record["pids"]["redis"] = stack.redis_start(state, record["ports"]["redis"])
        (state / "stack.json").write_text(json.dumps(record, indent=2))
    back_at = time.monotonic()
    waiting = set(photo_ids)
    while waiting and time.monotonic() - back_at < 180:
        waiting = {photo_id for photo_id in waiting if _photo_status(url, headers, photo_id) != "ready"}
        time.sleep(0.5)
    all_ready_s = time.monotonic() - back_at
    renders = _renders(record)
    twice = [photo_id for photo_id in photo_ids if renders.get(photo_id, 0) > 1]
    say(
        f"  broker back: {len(photo_ids) - len(waiting)}/{len(photo_ids)} ready {all_ready_s:.1f} s later; "
        f"rendered more than once: {len(twice)}"
    )
    return {
        "uploads": len(statuses),
        "status_5xx": sum(status >= 500 for status in statuses),
        "slowest_upload_s": round(max(seconds), 2),
        "ready": len(photo_ids) - len(waiting),
        "all_ready_after_s": round(all_ready_s, 1),
        "rendered_twice": len(twice),
    }


def _job_seconds(record: dict[str, Any]) -> dict[int, float]:
    """Each photo's rendition job's own duration, from the workers' "renditions job ... took" lines."""
    took: dict[int, float] = {}
    for log in Path(record["logs"]).glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            match = re.search(r"renditions job for photo (\d+) took ([\d.]+) s", line)
            if match:
                took[int(match[1])] = float(match[2])
    return took


def drill_ready(record: dict[str, Any], url: str) -> dict[str, Any]:
    from bench.load import mix

    say("ready: upload 12 MP JPEGs one after another, 5 on a quiet stack, then 20 while 3 people run the")
    say("       load mix (log in, upload, browse, like); time from the POST to every rendition ready,")
    say("       split into the upload (until the POST answered), the job (the worker's own log line)")
    say("       and the rest (the queue, and up to 0.1 s of this drill's polling)")
    images = record.get("ready_images", "noise")  # --photographs
    say(f"       ({images}{', the costliest case for every encoder' if images == 'noise' else ''})")
    headers = _token(url, "driller")
    if images == "photographs":
        photos = _photograph_jpegs(4000, 3000, 25)
    else:
        photos = [_jpeg(4000, 3000) for _ in range(25)]
    load_before = os.getloadavg()[0]  # the machine's, this drill's stack aside: others share it

    def upload_to_ready(number: int) -> tuple[float, float, int]:
        started = time.monotonic()
        upload = {"file": (f"twelve-{number}.jpg", photos[number])}
        created = requests.post(f"{url}/api/v1/photos/", headers=headers, files=upload, timeout=60).json()
        answered = time.monotonic() - started
        while _photo_status(url, headers, created["id"]) == "processing" and time.monotonic() - started < 120:
            time.sleep(0.1)
        return time.monotonic() - started, answered, int(created["id"])

    quiet_runs = [upload_to_ready(number) for number in range(5)]
    background = threading.Thread(target=mix, args=(url,), kwargs={"seconds": 150, "people": 3})
    background.start()
    time.sleep(5)  # the mix has logged in and is uploading and browsing
    load_runs = [upload_to_ready(number) for number in range(5, 25)]
    background.join()
    time.sleep(2)  # the workers' last log lines
    jobs = _job_seconds(record)

    def parts(runs: list[tuple[float, float, int]]) -> dict[str, float]:
        """Medians of each part; the rest is what the upload and the job leave of the total."""
        job = [jobs.get(photo_id, 0.0) for _, _, photo_id in runs]
        return {
            "upload_s": round(statistics.median(answered for _, answered, _ in runs), 2),
            "job_s": round(statistics.median(job), 2),
            "job_max_s": round(max(job), 2),
            "queue_and_poll_s": round(
                statistics.median(
                    total - answered - took for (total, answered, _), took in zip(runs, job, strict=True)
                ),
                2,
            ),
        }

    quiet = sorted(total for total, _, _ in quiet_runs)
    took = sorted(total for total, _, _ in load_runs)
    p95 = took[round(0.95 * len(took)) - 1]
    quiet_parts, load_parts = parts(quiet_runs), parts(load_runs)
    # The mix's 800 x 600 uploads: their rendering is a few hundredths of a second, so their
    # jobs' time is mostly storage and the database under the same load.
    ours = {photo_id for _, _, photo_id in quiet_runs + load_runs}
    small_jobs = [took for photo_id, took in jobs.items() if photo_id not in ours]
    say(f"  saw: quiet p50 {statistics.median(quiet):.2f} s; under the mix p50 {statistics.median(took):.2f} s,")
    say(f"       p95 {p95:.2f} s, max {took[-1]:.2f} s")
    say(f"       medians, quiet: {quiet_parts}")
    say(f"       medians, under the mix: {load_parts}")
    if small_jobs:
        say(f"       the mix's own small uploads: {len(small_jobs)} jobs, median {statistics.median(small_jobs):.2f} s")
    return {
        "images": images,
        "quiet_p50_s": round(statistics.median(quiet), 2),
        "p50_s": round(statistics.median(took), 2),
        "p95_s": round(p95, 2),
        "max_s": round(took[-1], 2),
        "quiet_parts": quiet_parts,
        "parts_under_the_mix": load_parts,
        "small_upload_jobs_median_s": round(statistics.median(small_jobs), 2) if small_jobs else None,
        "load_average_before_and_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def drill_redis(record: dict[str, Any], url: str) -> dict[str, Any]:
    say("redis: log in, then FLUSHALL and restart Redis; is the person still logged in, does the site serve?")
    session = requests.Session()
    login = session.get(url + "/accounts/login/", timeout=10)
    token = login.cookies.get("csrftoken") or session.cookies.get("csrftoken")
    session.post(
        url + "/accounts/login/",
        data={"username": "driller", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": url + "/accounts/login/"},
        timeout=10,
    )
    before = "driller" in session.get(url + "/", timeout=10).text
    port = record["ports"]["redis"]
    subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], check=True, capture_output=True)
    subprocess.run(["redis-cli", "-p", str(port), "SHUTDOWN", "NOSAVE"], capture_output=True)
    time.sleep(1)
    down_page = session.get(url + "/", timeout=10)
    state = Path(record["logs"]).parent
    record["pids"]["redis"] = stack.redis_start(state, port)
    (state / "stack.json").write_text(json.dumps(record, indent=2))
    after = session.get(url + "/", timeout=10)
    logged_in = "driller" in after.text
    say(
        f"  saw: logged in before {before}; while Redis was down the home page answered {down_page.status_code}; "
        f"after the flush and restart {after.status_code}, still logged in: {logged_in}"
    )
    return {
        "logged_in_before": before,
        "down_status": down_page.status_code,
        "after_status": after.status_code,
        "still_logged_in": logged_in,
    }


def drill_s3(record: dict[str, Any], url: str) -> dict[str, Any]:
    say("s3: stop SeaweedFS; try an upload, browse the home page and a photo page")
    headers = _token(url, "driller")
    os.killpg(record["pids"]["seaweedfs"], signal.SIGKILL)
    time.sleep(1)
    upload = requests.post(
        f"{url}/api/v1/photos/", headers=headers, files={"file": ("s.jpg", _jpeg(400, 300))}, timeout=30
    )
    home = requests.get(url + "/", timeout=10)
    photo = requests.get(url + "/photos/1/", timeout=10)
    message = upload.json().get("error", {}).get("message", upload.text[:100])
    say(f"  saw: upload {upload.status_code} “{message}”; home {home.status_code}; photo page {photo.status_code}")
    return {
        "upload_status": upload.status_code,
        "message": message,
        "home": home.status_code,
        "photo": photo.status_code,
    }


DRILLS: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "web": drill_web,
    "replica": drill_replica,
    "worker": drill_worker,
    "broker": drill_broker,
    "ready": drill_ready,
    "redis": drill_redis,
    "s3": drill_s3,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("drills", nargs="*", help=f"any of: {', '.join(DRILLS)} (default: all)")
    parser.add_argument("--dir", type=Path, help="a running stack's directory (make stack: var/stack)")
    parser.add_argument("--broker", choices=["redis", "rabbitmq"], default="redis", help="the own stack's broker")
    parser.add_argument(
        "--photographs",
        action="store_true",
        help="ready: upload photographs (mate-backgrounds) instead of noise, the worst case and the default",
    )
    args = parser.parse_args()
    unknown = set(args.drills) - set(DRILLS)
    if unknown:
        parser.error(f"unknown drill(s): {', '.join(sorted(unknown))}; choose from {', '.join(DRILLS)}")
    args.drills = args.drills or list(DRILLS)
    own = args.dir is None
    state = Path(tempfile.mkdtemp(prefix="photosite-drills-")) if own else args.dir.resolve()
    if own:
        state.chmod(0o755)
    elif not (state / "stack.json").exists():
        parser.error(f"no running stack recorded in {state}; run `make stack` first")
    for name in ("DATABASE_URL", "REDIS_URL", "BROKER_URL", "S3_BUCKET"):
        os.environ.pop(name, None)
    results = {}
    vhost = f"photosite-drills-{os.getpid()}" if own and args.broker == "rabbitmq" else ""
    try:
        broker_url = ""
        if vhost:
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
            broker_url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
        record = (
            stack.up(state, port=free_port(), seed=True, api_rate="1000r/s", broker_url=broker_url)
            if own
            else json.loads((state / "stack.json").read_text())
        )
        url = record["url"]
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from apps.accounts.models import User\n"
                f"u, _ = User.objects.get_or_create(username='driller'); u.set_password('{PASSWORD}'); u.save()\n"
                "for i in range(3):\n"  # the people of bench/load.py's mix
                "    u, _ = User.objects.get_or_create(username=f'load{i}')\n"
                "    u.set_password('load password 1'); u.save()",
            ],
            cwd=stack.ROOT,
            env={**os.environ, **record["env"]},
            check=True,
        )
        record["ready_images"] = "photographs" if args.photographs else "noise"
        say(f"stack up at {url}; logs in {record['logs']}\n")
        for name in args.drills:
            started = time.monotonic()
            results[name] = DRILLS[name](record, url)
            say(f"  ({time.monotonic() - started:.0f} s)\n")
    finally:
        if own:
            stack.down(state)
            shutil.rmtree(state, ignore_errors=True)
        if vhost:
            _rabbitmqctl("delete_vhost", vhost)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
