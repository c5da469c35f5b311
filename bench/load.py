"""Web latency under ingest: p50/p95 of three requests with 8 concurrent clients against a
real gunicorn on 127.0.0.1, idle and while a 10^5-scene manifest is ingested, side by
side in one run:

  search text     POST search/ {"text": ...} (text vector cached after a warm-up)
  search filters  POST search/ {"filters": {...}} (filters only, newest first)
  scene list      GET scenes/?<filters>

Catalog: `--base` scenes (ingested, with synthetic frame vectors for the configured
model), then `--ingest` more scenes from another manifest while the clients run
(`manage.py ingest --no-embed` in its own process and session, as a worker runs),
then idle again: the ingest grows the catalog, so "idle after" (at the final size)
separates what the ingest's CPU costs from what larger lists cost. Goal: p95 during
ingest within 1.5x of idle, 0 errors.

    .venv/bin/python bench/load.py [--base 20000] [--ingest 100000] [--clients 8]
                                   [--seconds 30] [--quick]

--quick: 2,000 base scenes and a 10^4-scene ingest. Runs in its own database `bench_load`
on the embedded server (emptied first); manifests are kept under .bench/.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import ROOT, WORK_DIR, percentile, reset_tables, setup_django

DATABASE = "bench_load"
TEXTS = ("pedestrians crossing at night", "highway in the rain", "truck merging from the right",
         "cyclist overtaking on the left")  # fmt: skip
FILTERS = {"has_disengagement": True, "max_speed_gte": 5.0}
SCENE_QUERY = "/api/v1/scenes/?max_speed_gte=5&hour_gte=6&hour_lte=20"
FRAMES_PER_SCENE = 4


def manifest(scenes: int, seed: int, name: str) -> Path:
    out = WORK_DIR / f"load-{name}-{scenes}-s{seed}"
    path = out / "manifest.jsonl"
    if not path.exists():
        print(f"generating a {scenes:,}-scene manifest (no videos) in {out}", flush=True)
        subprocess.run(
            [sys.executable, "manage.py", "demo_fleet", "--scenes", str(scenes), "--out",
             str(out), "--no-video", "--seed", str(seed), "--no-progress"],
            check=True, cwd=ROOT,
        )  # fmt: skip
    return path


def load_base(path: Path) -> int:
    """Ingest the base manifest and give each scene synthetic frame vectors."""
    from catalog import hooks
    from catalog.models import Scene
    from catalog.services import manifest_ingest
    from embeddings.encoder import get_encoder
    from embeddings.models import Frame, FrameEmbedding, SceneEmbedding, SceneEmbeddingState
    from embeddings.services import embedding_model_ensure

    reset_tables("catalog_scene", "catalog_job", "embeddings_embeddingmodel")
    with hooks.scenes_changed_paused():
        report = manifest_ingest(manifest_uri=str(path))
    model = embedding_model_ensure(get_encoder())
    rng = np.random.default_rng(3)
    scenes = list(Scene.objects.values_list("pk", "content_sha256", "cameras"))
    for start in range(0, len(scenes), 2000):
        chunk = scenes[start : start + 2000]
        frames, vectors = [], []
        for pk, _, cameras in chunk:
            camera = sorted(cameras)[0] if cameras else "front_wide"
            for i in range(FRAMES_PER_SCENE):
                frames.append(Frame(scene_id=pk, camera=camera, t_s=5.0 * i))
                vector = rng.normal(size=model.dim)
                vectors.append((vector / np.linalg.norm(vector)).astype(np.float32))
        Frame.objects.bulk_create(frames)
        FrameEmbedding.objects.bulk_create(
            FrameEmbedding(frame=f, model=model, scene_id=f.scene_id, camera=f.camera, embedding=v)
            for f, v in zip(frames, vectors, strict=True)
        )
        per_scene = np.array(vectors).reshape(len(chunk), FRAMES_PER_SCENE, -1).mean(axis=1)
        SceneEmbedding.objects.bulk_create(
            SceneEmbedding(scene_id=pk, model=model, embedding=v / np.linalg.norm(v))
            for (pk, _, _), v in zip(chunk, per_scene, strict=True)
        )
        SceneEmbeddingState.objects.bulk_create(
            SceneEmbeddingState(
                scene_id=pk, model=model, state="done", content_sha256=sha, attempts=1
            )
            for pk, sha, _ in chunk
        )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return report.inserted


def api_token() -> str:
    from api.services import api_token_create

    return api_token_create(username="bench-load")[0].key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env() -> dict[str, str]:
    return {
        **os.environ,
        "CATALOG_EMBEDDED_DB": DATABASE,
        "CATALOG_THROTTLE_SEARCH": "off",
        "CATALOG_CELERY_EAGER": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(WORK_DIR / "load-metrics"),
    }


def start_web(port: int) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent
    web = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-c", "python:config.gunicorn", "config.wsgi",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
         "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=child_env(), start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/health/")
            if connection.getresponse().status == 200:
                return web
        except OSError:
            pass
        time.sleep(0.5)
    web.kill()
    raise SystemExit("gunicorn did not become healthy")


class Client(threading.Thread):
    """One client: the three requests in turn, on one keep-alive connection (`fresh`: a new
    connection each time, so that requests spread over every gunicorn worker)."""

    def __init__(self, port, token, index, stop: threading.Event, out: dict, fresh: bool):
        super().__init__(daemon=True)
        self.port, self.token, self.index, self.stop, self.out = port, token, index, stop, out
        self.fresh = fresh

    def requests(self):
        n = self.index
        while True:
            yield "search text", "POST", "/api/v1/search/", {"text": TEXTS[n % len(TEXTS)]}
            yield "search filters", "POST", "/api/v1/search/", {"filters": FILTERS, "limit": 50}
            yield "scene list", "GET", SCENE_QUERY, None
            n += 1

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        for kind, method, path, body in self.requests():
            if self.stop.is_set():
                return
            if self.fresh:
                connection.close()
            started = time.perf_counter()
            try:
                connection.request(method, path, json.dumps(body) if body else None, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                ok = False
            self.out[kind].append((time.perf_counter() - started, ok))


def measure(port: int, token: str, clients: int, until, fresh: bool = False) -> dict:
    out: dict = defaultdict(list)
    stop = threading.Event()
    threads = [Client(port, token, i, stop, out, fresh) for i in range(clients)]
    for thread in threads:
        thread.start()
    until()
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return out


def stats(samples: list[tuple[float, bool]]) -> tuple[float, float, int, int]:
    ms = [s * 1000 for s, _ in samples] or [0.0]
    return percentile(ms, 50), percentile(ms, 95), len(samples), sum(not ok for _, ok in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=20_000)
    parser.add_argument("--ingest", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0, help="idle measurement")
    parser.add_argument("--quick", action="store_true", help="2,000 base, 10^4 ingested")
    args = parser.parse_args()
    if args.quick:
        args.base, args.ingest, args.seconds = 2_000, 10_000, 15.0
    setup_django(DATABASE)
    base_manifest = manifest(args.base, 7, "base")
    ingest_manifest = manifest(args.ingest, 11, "ingest")
    print(f"loading {args.base:,} base scenes with synthetic vectors", flush=True)
    print(f"  {load_base(base_manifest):,} scenes", flush=True)
    token = api_token()
    port = free_port()
    web = start_web(port)
    try:
        # Warm-up: every web worker loads the model and caches the text vectors.
        warm = measure(port, token, args.clients, lambda: time.sleep(20), fresh=True)
        print(f"warm-up: {sum(map(len, warm.values()))} requests", flush=True)
        print(f"idle: {args.clients} clients for {args.seconds:.0f} s", flush=True)
        idle = measure(port, token, args.clients, lambda: time.sleep(args.seconds))
        print(f"during ingest of {args.ingest:,} scenes", flush=True)
        # In a session of its own, as `make run`'s supervisor starts the worker.
        ingest = subprocess.Popen(
            [sys.executable, "manage.py", "ingest", str(ingest_manifest), "--no-embed",
             "--no-progress"],
            cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        started = time.monotonic()
        busy = measure(port, token, args.clients, ingest.wait)
        ingest_s = time.monotonic() - started
        report = ingest.stdout.read()
        # The ingest grows the catalog (--base to --base + --ingest scenes): idle again at
        # the final size tells what the ingest's CPU costs from what the larger lists do.
        print(f"idle after the ingest: {args.seconds:.0f} s", flush=True)
        after = measure(port, token, args.clients, lambda: time.sleep(args.seconds))
    finally:
        web.terminate()
        web.wait(timeout=30)
    inserted = next((line.split()[-1] for line in report.splitlines() if "inserted" in line), "?")
    print(f"\ningest: {inserted} inserted in {ingest_s:.0f} s (exit {ingest.returncode})")
    print(f"{'request':<16} {'idle p95':>9} {'ingest p50':>11} {'ingest p95':>11} "
          f"{'after p95':>10} {'x idle':>7} {'x after':>8} "
          f"{'requests':>9} {'errors':>7}")  # fmt: skip
    figures = {"bench": "load", "base": args.base, "ingest": args.ingest, "ingest_s": ingest_s}
    for kind in ("search text", "search filters", "scene list"):
        _, i95, n_idle, e_idle = stats(idle[kind])
        b50, b95, n_busy, e_busy = stats(busy[kind])
        _, a95, n_after, e_after = stats(after[kind])
        ratio, ratio_after = b95 / max(i95, 1e-9), b95 / max(a95, 1e-9)
        errors = e_idle + e_busy + e_after
        print(
            f"{kind:<16} {i95:>7.1f}ms {b50:>9.1f}ms {b95:>9.1f}ms {a95:>8.1f}ms "
            f"{ratio:>6.2f}x {ratio_after:>7.2f}x {n_idle + n_busy + n_after:>9} {errors:>7}"
        )
        figures[kind] = {
            "idle_p95_ms": round(i95, 1), "ingest_p95_ms": round(b95, 1),
            "after_p95_ms": round(a95, 1), "x_idle": round(ratio, 2),
            "x_after": round(ratio_after, 2), "errors": errors,
        }  # fmt: skip
    print("x idle: p95 during the ingest over p95 idle before it (the catalog at --base);")
    print("x after: over p95 idle after it (the catalog at its final size).")
    print(json.dumps(figures))  # the last line: for scripts comparing runs


if __name__ == "__main__":
    main()
