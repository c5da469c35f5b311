"""Decode, thumbnail and encode one scene's frames, overlapping decoding with the model.

Decoder threads (one per camera video, up to `decode_threads`) sample frames, queue
thumbnail writes on an I/O pool and preprocess each frame into the model's input
tensor; the calling thread only stacks batches and runs the model. PyAV, Pillow and
torch release the GIL in their heavy parts, so decoding runs while the model computes
and the pipeline approaches the speed of the model alone (bench/embed.py).
"""

import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from embeddings import sampling
from embeddings.encoder import ClipEncoder

THUMBNAIL_WRITERS = 8  # concurrent thumbnail PUTs: S3 latency, not CPU, bounds them
_END = object()


@dataclass(frozen=True)
class EmbeddedFrame:
    camera: str
    t_s: float
    thumbnail_uri: str
    vector: np.ndarray


def default_decode_threads(cameras: int) -> int:
    """One decoder per camera, leaving the model half the CPUs (GPU hosts decode many
    cameras at once; a 2-core CPU host decodes one while the model uses both)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cameras, (cpus or 1) // 2))


def embed_scene_frames(
    *,
    scene_id: str,
    videos: dict[str, str],
    times: list[float],
    encoder: ClipEncoder,
    batch_size: int,
    existing_thumbnails: dict[tuple[str, float], str] | None = None,
    decode_threads: int | None = None,
) -> list[EmbeddedFrame]:
    """Vectors for each camera video (`camera -> URI`) sampled at `times`.

    Thumbnails are written for every sampled frame except those in
    `existing_thumbnails` ((camera, t) -> URI, reused as they are). Raises the first
    VideoError/StorageError of any camera; no vectors are returned then.
    """
    import torch

    encoder.load()  # fail before decoding anything when weights are missing
    existing = existing_thumbnails or {}
    image_size = _model_image_size(encoder)
    short_side = sampling.working_short_side(image_size)
    threads = decode_threads or default_decode_threads(len(videos))
    items: queue.Queue = queue.Queue(maxsize=max(2 * batch_size, 8))
    stop = threading.Event()
    writes: list[Future] = []
    writes_lock = threading.Lock()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decode_camera(camera: str, uri: str, writer: ThreadPoolExecutor) -> None:
        try:
            with sampling.local_video(uri) as path:
                for t_s, image in sampling.iter_frames(
                    path, times, min_short_side=short_side, uri=uri
                ):
                    thumb = existing.get((camera, t_s))
                    if thumb is None:
                        thumb = sampling.thumbnail_uri(scene_id, camera, t_s)
                        with writes_lock:
                            writes.append(writer.submit(sampling.write_thumbnail, thumb, image))
                    if not put((camera, t_s, thumb, encoder.preprocess(image))):
                        return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)
        finally:
            put(_END)

    frames: list[EmbeddedFrame] = []
    batch: list[tuple[str, float, str, object]] = []

    def flush() -> None:
        vectors = encoder.encode_tensors(torch.stack([item[3] for item in batch]))
        frames.extend(
            EmbeddedFrame(camera, t_s, thumb, vector)
            for (camera, t_s, thumb, _), vector in zip(batch, vectors, strict=True)
        )
        batch.clear()

    with (
        ThreadPoolExecutor(THUMBNAIL_WRITERS, thread_name_prefix="thumb") as writer,
        ThreadPoolExecutor(threads, thread_name_prefix="decode") as decoders,
    ):
        try:
            for camera, uri in videos.items():
                decoders.submit(decode_camera, camera, uri, writer)
            remaining = len(videos)
            while remaining:
                # Greedy batches: whenever the model would otherwise wait, it encodes what
                # is ready. The first batch starts after one decoded frame instead of a
                # full batch, and a decoder slower than the model (GPU hosts) never
                # leaves the model idle waiting for a batch to fill.
                try:
                    item = items.get(block=not batch)
                except queue.Empty:
                    flush()
                    continue
                if item is _END:
                    remaining -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    batch.append(item)
                    if len(batch) >= batch_size:
                        flush()
            if batch:
                flush()
        finally:
            stop.set()
        for write in writes:
            write.result()  # a failed thumbnail write fails the scene
    frames.sort(key=lambda f: (f.camera, f.t_s))
    return frames


def _model_image_size(encoder: ClipEncoder) -> int:
    import open_clip

    config = open_clip.get_model_config(encoder.architecture) or {}
    size = config.get("vision_cfg", {}).get("image_size", 224)
    return max(size) if isinstance(size, (list, tuple)) else int(size)
