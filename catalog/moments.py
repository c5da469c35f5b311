"""What the car did at a moment of a scene: its state at time `t_s`, from the 10 Hz signals.

Samples are interpolated linearly between their neighbours (a frame sampled at 0.5 Hz
rarely falls on a sample); missing samples (NaN) are skipped, and a channel the scene
lacks gives None. Acceleration without an `accel_mps2` channel is the speed's slope.
`disengagement_dt_s` is the distance in seconds to the nearest disengagement of the
scene (None when it has none).
"""

from collections.abc import Sequence

import numpy as np

from catalog.models import Disengagement, SceneSignals

MOMENT_FIELDS = (
    "speed_mps",
    "accel_mps2",
    "brake",
    "throttle",
    "steering_angle_deg",
    "disengagement_dt_s",
)
_CHANNELS = ("speed_mps", "accel_mps2", "brake", "throttle", "steering_angle_deg")


def states_at(
    *,
    hz: float | None,
    channels: Sequence[str],
    matrix: np.ndarray | None,
    disengagement_times: Sequence[float],
    times: Sequence[float],
) -> list[dict[str, float | None]]:
    """The state at each of `times` (seconds from the scene start), as dicts of
    MOMENT_FIELDS. `matrix` is channels x samples (NaN = missing), `hz` its rate."""
    t = np.asarray(times, dtype=np.float64)
    columns: dict[str, np.ndarray | None] = dict.fromkeys(MOMENT_FIELDS)
    if matrix is not None and hz and matrix.shape[1]:
        sample_t = np.arange(matrix.shape[1], dtype=np.float64) / hz
        rows = {name: matrix[i].astype(np.float64) for i, name in enumerate(channels)}
        if "accel_mps2" not in rows and "speed_mps" in rows and matrix.shape[1] > 1:
            rows["accel_mps2"] = np.gradient(rows["speed_mps"], 1.0 / hz)
        for name in _CHANNELS:
            if name in rows:
                columns[name] = _interpolate(sample_t, rows[name], t)
    if len(disengagement_times):
        d = np.asarray(disengagement_times, dtype=np.float64)
        columns["disengagement_dt_s"] = np.abs(t[:, None] - d[None, :]).min(axis=1)
    return [{name: _value(values, i) for name, values in columns.items()} for i in range(len(t))]


def _interpolate(sample_t: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    finite = np.isfinite(values)
    if not finite.any():
        return None
    return np.interp(t, sample_t[finite], values[finite])


def _value(values: np.ndarray | None, i: int) -> float | None:
    return None if values is None else round(float(values[i]), 4)


def scene_states_at(*, scene_pk: int, times: Sequence[float]) -> list[dict[str, float | None]]:
    """The state at each of `times` for a stored scene (its signals and disengagements)."""
    signals = SceneSignals.objects.filter(scene_id=scene_pk).first()
    disengagements = list(
        Disengagement.objects.filter(scene_id=scene_pk).values_list("t_s", flat=True)
    )
    matrix = None
    if signals is not None:
        matrix = np.frombuffer(bytes(signals.data), dtype="<f4").reshape(
            len(signals.channels), signals.samples
        )
    return states_at(
        hz=signals.hz if signals else None,
        channels=signals.channels if signals else (),
        matrix=matrix,
        disengagement_times=disengagements,
        times=times,
    )
