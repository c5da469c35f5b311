"""The CLIP encoder: an open_clip model behind a lazy, lock-guarded `load()`.

Nothing heavy happens at import: a web process that never embeds never loads weights,
and a Celery prefork child loads its own copy after the fork (sharing a torch model
across fork is unsafe). The model's identity, `"<architecture>/<weights>"`, is stored
with every vector so several models can coexist.

`test-tiny` (embeddings/model_configs/test-tiny.json) is a tiny *untrained* model for
tests and offline demos. Its random weights are drawn from a fixed seed on the CPU, so
every process and machine gets the same vectors. Two choices keep random features able
to tell images apart (see tests/embeddings/test_encoder.py):
- average pooling over patch tokens (`"pool_type": "avg"`): with class-token pooling a
  random ViT maps every image to nearly the same vector;
- zero-mean patch filters: random filters respond mostly to overall brightness, so all
  dark scenes looked alike; filters summing to zero respond to colour and layout.
"""

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

logger = logging.getLogger(__name__)

MODEL_CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
UNTRAINED = "untrained"  # weights label of a model with random weights
UNTRAINED_SEED = 0
# After a failed load, callers get the same error without retrying for this long: a
# worker without weights fails its tasks quickly instead of retrying downloads per task.
LOAD_RETRY_AFTER_S = 300

_registry_lock = threading.Lock()
_configs_registered = False


class EncoderUnavailable(RuntimeError):
    """The model's weights cannot be loaded; the message says what to set."""


def register_model_configs() -> None:
    """Make the project's model configs (test-tiny) known to open_clip (cheap, once)."""
    global _configs_registered
    with _registry_lock:
        if not _configs_registered:
            import open_clip

            open_clip.add_model_config(MODEL_CONFIG_DIR)
            _configs_registered = True


def weights_label(pretrained: str, checkpoint: str | None) -> str:
    """What names the weights in the model's identity."""
    if pretrained:
        return pretrained
    if checkpoint:
        return Path(checkpoint).stem
    return UNTRAINED


class ClipEncoder:
    """An open_clip model for images and text; L2-normalised float32 vectors out."""

    def __init__(
        self,
        architecture: str,
        pretrained: str = "",
        *,
        checkpoint: str | None = None,
        device: str | None = None,
    ) -> None:
        self.architecture = architecture
        self.pretrained = pretrained or ""
        self.checkpoint = checkpoint or None
        self.model_name = f"{architecture}/{weights_label(self.pretrained, self.checkpoint)}"
        self._device = device
        self._lock = threading.Lock()
        self._model = None
        self._preprocess = None
        self._tokenizer = None
        self._failure: tuple[float, EncoderUnavailable] | None = None
        self._dim: int | None = None

    def __repr__(self) -> str:
        return f"ClipEncoder({self.model_name!r})"

    @property
    def untrained(self) -> bool:
        return not (self.pretrained or self.checkpoint)

    @property
    def dim(self) -> int:
        """The vector width, from the model config (no weights needed)."""
        if self._dim is None:
            import open_clip

            register_model_configs()
            config = open_clip.get_model_config(self.architecture)
            if config is None:
                raise EncoderUnavailable(
                    f"unknown CLIP architecture {self.architecture!r}: set CATALOG_CLIP_MODEL "
                    "to an open_clip model name (e.g. ViT-B-32) or test-tiny"
                )
            self._dim = int(config["embed_dim"])
        return self._dim

    @property
    def device(self) -> str:
        if self._device is None:
            import torch

            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the weights once per process; concurrent callers wait for the first."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            if self._failure and time.monotonic() - self._failure[0] < LOAD_RETRY_AFTER_S:
                raise self._failure[1]
            try:
                self._load()
            except EncoderUnavailable as exc:
                self._failure = (time.monotonic(), exc)
                raise

    def _load(self) -> None:
        import open_clip
        import torch

        register_model_configs()
        dim = self.dim  # raises for an unknown architecture
        if self.device == "cpu":
            _set_cpu_threads()
        if self.checkpoint and not os.path.isfile(self.checkpoint):
            raise EncoderUnavailable(
                f"CATALOG_CLIP_CHECKPOINT={self.checkpoint!r} is not a readable file: set it "
                "to a local open_clip weights file for "
                f"{self.architecture}, or CATALOG_CLIP_MODEL=test-tiny for an untrained model"
            )
        started = time.monotonic()
        try:
            # Random init on the CPU from a fixed seed, without disturbing the caller's
            # RNG: an untrained model then has identical weights in every process.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(UNTRAINED_SEED)
                model, _, preprocess = open_clip.create_model_and_transforms(
                    self.architecture, pretrained=self.checkpoint or self.pretrained or None
                )
        except Exception as exc:  # open_clip raises RuntimeError/OSError/HF errors alike
            raise EncoderUnavailable(
                f"cannot load CLIP weights {self.model_name!r} ({_short(exc)}). Weights cannot be "
                "downloaded here: set CATALOG_CLIP_CHECKPOINT to a local weights file "
                "(with CATALOG_CLIP_MODEL/CATALOG_CLIP_PRETRAINED naming them), or "
                "CATALOG_CLIP_MODEL=test-tiny for an untrained test model; then run "
                "`manage.py embed` to resume"
            ) from exc
        if self.untrained:
            _zero_mean_patch_filters(model)
        model.eval()
        if self.device != "cpu":
            model = model.to(device=self.device, dtype=torch.float16)
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(self.architecture)
        self._model = model
        logger.info(
            "loaded CLIP %s (dim %d) on %s in %.1fs",
            self.model_name,
            dim,
            self.device,
            time.monotonic() - started,
        )

    def preprocess(self, image: Image.Image):
        """The model's input tensor for one image (thread-safe; used by prefetchers)."""
        self.load()
        return self._preprocess(image)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), np.float32)
        import torch

        self.load()
        batch = torch.stack([self._preprocess(image) for image in images])
        return self.encode_tensors(batch)

    def encode_tensors(self, batch) -> np.ndarray:
        """Vectors for an already preprocessed batch (n, 3, H, W)."""
        import torch

        self.load()
        with torch.inference_mode():
            batch = batch.to(self.device, dtype=next(self._model.parameters()).dtype)
            return _normalised(self._model.encode_image(batch))

    def encode_text(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        import torch

        self.load()
        with torch.inference_mode():
            tokens = self._tokenizer(texts).to(self.device)
            return _normalised(self._model.encode_text(tokens))


def _normalised(features) -> np.ndarray:
    vectors = features.float().cpu().numpy()
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _zero_mean_patch_filters(model) -> None:
    import torch

    conv = getattr(getattr(model, "visual", None), "conv1", None)
    if conv is not None:
        with torch.no_grad():
            conv.weight -= conv.weight.mean(dim=(1, 2, 3), keepdim=True)


_cpu_sharers = 1  # processes of this host's worker that run models side by side


def share_cpus_with(processes: int) -> None:
    """Declare that `processes` worker processes (a Celery prefork pool) each run a model
    on this host: each then takes its share of the CPUs instead of all of them, which
    would oversubscribe the cores. Call it before the pool forks."""
    global _cpu_sharers
    _cpu_sharers = max(1, int(processes))


def _set_cpu_threads() -> None:
    """This process's share of the CPUs it may use (taskset/cgroup affinity, which
    torch's default, the physical core count, ignores) as intra-op threads."""
    import torch

    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    torch.set_num_threads(max(1, available // _cpu_sharers))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


_encoders: dict[tuple[str, str, str | None], ClipEncoder] = {}
_encoders_lock = threading.Lock()


def get_encoder() -> ClipEncoder:
    """The process-wide encoder for the configured model (weights load on first use)."""
    return encoder_for(
        settings.CATALOG_CLIP_MODEL,
        settings.CATALOG_CLIP_PRETRAINED,
        checkpoint=settings.CATALOG_CLIP_CHECKPOINT,
    )


def encoder_for(architecture: str, pretrained: str = "", *, checkpoint: str | None = None):
    key = (architecture, pretrained or "", checkpoint or None)
    with _encoders_lock:
        if key not in _encoders:
            _encoders[key] = ClipEncoder(architecture, pretrained, checkpoint=checkpoint)
        return _encoders[key]


def encoder_for_model_name(model_name: str) -> ClipEncoder:
    """The encoder for a stored model identity, e.g. a task's `model_name`.

    The configured model (with its checkpoint) when the name matches; otherwise the
    architecture with the named weights tag (random weights for `untrained`).
    """
    configured = get_encoder()
    if model_name == configured.model_name:
        return configured
    architecture, _, label = model_name.partition("/")
    if label == UNTRAINED:
        return encoder_for(architecture, "")
    return encoder_for(architecture, label)


def configured_model_name() -> str:
    """The configured model's identity, without loading anything."""
    return get_encoder().model_name
