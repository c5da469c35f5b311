"""Embedding throughput: the whole pipeline against a bare open_clip loop, side by side.

Arms, measured in one run on the same frames with the same model (ViT-B-32 architecture,
random weights: no download), interleaved scene by scene so that load from other
processes falls on all of them alike:
  pipeline  services.scene_embed per scene: PyAV decode (seek + scale) of 7 camera
            videos, JPEG thumbnails written, preprocess, encode in batches, vectors and
            frames upserted in Postgres; decoding overlapped with the model
  bare      the same frames already decoded in memory: open_clip preprocess +
            model.encode_image in batches of the same size, nothing else
  model     model.encode_image alone on the same frames already preprocessed (every
            third scene): the ceiling on an idle machine
  decode    sampling alone (the pipeline's decoder over the same videos), to report the
            share of the pipeline's time that decoding would take if it did not overlap

    .venv/bin/python bench/embed.py [--frames 2100] [--model ViT-B-32] [--quick]

About 9 minutes on an idle 2-core machine (--quick: 2). On a machine shared with other
busy processes, wall-time figures favour the arm with more threads (the pipeline gets a
larger share of the CPUs); the CPU-time column is the fairer comparison there.
"""

import argparse
import hashlib
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from common import ROOT, WORK_DIR, reset_tables, setup_django

CAMERAS = ["front_wide", "front_tele", "left", "right", "rear", "rear_left", "rear_right"]
DURATION_S = 20.0
WIDTH, HEIGHT, FPS, GOP = 1280, 720, 10, 10  # 720p, a keyframe every second
SCENE_TABLES = (
    "embeddings_frameembedding",
    "embeddings_sceneembedding",
    "embeddings_sceneembeddingstate",
    "embeddings_frame",
    "catalog_scene",
)


def make_videos() -> dict[str, str]:
    """One synthetic 720p video per camera, cached under .bench/ (every scene reuses them:
    decoding work per scene is the same whichever file it reads)."""
    from tests.embeddings.videos import write_video

    folder = WORK_DIR / "embed-videos"
    videos = {}
    for i, camera in enumerate(CAMERAS):
        path = folder / f"{camera}-{WIDTH}x{HEIGHT}-gop{GOP}.mp4"
        if not path.exists():
            print(f"rendering {path.name}", flush=True)
            write_video(
                path, seed=40 + i, duration_s=DURATION_S, fps=FPS, width=WIDTH, height=HEIGHT,
                gop=GOP, noise=3, crf=23,
            )  # fmt: skip
        videos[camera] = path.as_uri()
    return videos


def make_scenes(count: int, videos: dict[str, str]) -> list[int]:
    from catalog.models import Scene, Vehicle

    reset_tables(*SCENE_TABLES)
    vehicle, _ = Vehicle.objects.get_or_create(vehicle_id="bench-veh")
    start = datetime(2026, 11, 28, tzinfo=UTC)
    scenes = Scene.objects.bulk_create(
        Scene(
            scene_id=f"bench-embed-{i:05d}",
            vehicle=vehicle,
            start_time=start + timedelta(seconds=20 * i),
            end_time=start + timedelta(seconds=20 * i + DURATION_S),
            duration_s=DURATION_S,
            local_hour=9,
            cameras=videos,
            content_sha256=hashlib.sha256(f"bench-embed-{i}".encode()).hexdigest(),
        )
        for i in range(count)
    )
    return [scene.pk for scene in scenes]


def decoded_frames(videos: dict[str, str], encoder) -> list:
    """The frames the pipeline samples from one scene, decoded as it decodes them."""
    from django.conf import settings

    from embeddings import sampling
    from embeddings.pipeline import _model_image_size

    short_side = sampling.working_short_side(_model_image_size(encoder))
    times = sampling.sample_times(DURATION_S, settings.CATALOG_EMBED_HZ)
    images = []
    for uri in videos.values():
        with sampling.local_video(uri) as path:
            images += [im for _, im in sampling.iter_frames(path, times, min_short_side=short_side)]
    return images


def bare_loop(encoder, images: list, batch_size: int) -> None:
    """Plain open_clip: preprocess, stack, encode_image, normalise."""
    import torch

    model, preprocess = encoder._model, encoder._preprocess
    dtype = next(model.parameters()).dtype
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = torch.stack([preprocess(im) for im in images[start : start + batch_size]])
            features = model.encode_image(batch.to(encoder.device, dtype=dtype))
            (features / features.norm(dim=-1, keepdim=True)).float().cpu()


class Clock:
    """Wall and CPU seconds (all threads of this process) of a block. On a shared machine
    wall time depends on other processes' load; CPU time per frame does not, and when the
    model keeps every core busy the wall-time ratio of two arms is their CPU-time ratio."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def model_only(encoder, tensors: list, batch_size: int) -> None:
    import torch

    model = encoder._model
    dtype = next(model.parameters()).dtype
    with torch.inference_mode():
        for start in range(0, len(tensors), batch_size):
            batch = torch.stack(tensors[start : start + batch_size])
            model.encode_image(batch.to(encoder.device, dtype=dtype)).float().cpu()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=2100, help="frames per arm (>= 2,000)")
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture")
    parser.add_argument("--quick", action="store_true", help="280 frames")
    args = parser.parse_args()
    if args.quick:
        args.frames = 280

    os.environ["CATALOG_CLIP_MODEL"] = args.model
    os.environ["CATALOG_CLIP_PRETRAINED"] = ""  # random weights: speed does not need training
    os.environ["CATALOG_MEDIA_URI"] = (WORK_DIR / "embed-media").as_uri()
    setup_django("bench_embed")

    import torch
    from django.conf import settings

    from embeddings import services
    from embeddings.encoder import get_encoder

    videos = make_videos()
    per_scene = len(CAMERAS) * int(DURATION_S * settings.CATALOG_EMBED_HZ)
    scenes = max(1, -(-args.frames // per_scene))
    batch = settings.CATALOG_EMBED_BATCH_SIZE
    pks = make_scenes(scenes, videos)
    encoder = get_encoder()
    services.embedding_model_ensure(encoder)
    encoder.load()
    images = decoded_frames(videos, encoder)
    tensors = [encoder.preprocess(image) for image in images]
    bare_loop(encoder, images[:batch], batch)  # warm-up, not timed

    arms = ("pipeline", "bare", "model", "decode")
    wall = dict.fromkeys(arms, 0.0)
    cpu = dict.fromkeys(arms, 0.0)
    frames = dict.fromkeys(arms, 0)
    for i, pk in enumerate(pks):
        with Clock() as c:
            frames["pipeline"] += services.scene_embed(scene_pk=pk).frames
        wall["pipeline"] += c.wall
        cpu["pipeline"] += c.cpu
        with Clock() as c:
            bare_loop(encoder, images, batch)
        wall["bare"] += c.wall
        cpu["bare"] += c.cpu
        frames["bare"] += len(images)
        if i % 3 == 0:  # the ceiling needs fewer samples; keeps the run under 10 min
            with Clock() as c:
                model_only(encoder, tensors, batch)
            wall["model"] += c.wall
            cpu["model"] += c.cpu
            frames["model"] += len(tensors)
        with Clock() as c:
            frames["decode"] += len(decoded_frames(videos, encoder))
        wall["decode"] += c.wall
        cpu["decode"] += c.cpu
        print(f"scene {i + 1}/{scenes}: {sum(wall.values()):.0f} s so far", flush=True)

    rate = {arm: frames[arm] / wall[arm] for arm in arms}
    cpu_ms = {arm: 1000 * cpu[arm] / frames[arm] for arm in arms}
    print()
    print(
        f"model {encoder.model_name} on {encoder.device} ({torch.get_num_threads()} threads), "
        f"batch {batch}; {scenes} scenes x {len(CAMERAS)} cameras x {DURATION_S:g} s "
        f"{WIDTH}x{HEIGHT} {FPS} fps H.264 (keyframe every {GOP / FPS:g} s), "
        f"sampled at {settings.CATALOG_EMBED_HZ:g} Hz"
    )
    print(f"load average during the run: {os.getloadavg()[1]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'arm':<10}{'frames':>8}{'wall s':>9}{'frames/s':>10}{'CPU ms/frame':>14}")
    for arm in arms:
        print(f"{arm:<10}{frames[arm]:>8}{wall[arm]:>9.1f}{rate[arm]:>10.1f}{cpu_ms[arm]:>14.1f}")
    for other in ("bare", "model"):
        print(
            f"pipeline / {other}: {rate['pipeline'] / rate[other]:.2f}x by wall time, "
            f"{cpu_ms[other] / cpu_ms['pipeline']:.2f}x by CPU time per frame"
            + (" (goal >= 0.9x)" if other == "bare" else "")
        )
    print(
        f"decoding: {cpu_ms['decode'] / cpu_ms['pipeline']:.0%} of the pipeline's CPU time, "
        f"{wall['decode'] / wall['pipeline']:.0%} of its wall time if it did not overlap "
        f"({1000 * wall['decode'] / frames['decode']:.1f} ms per frame)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
