"""Decoding of stored signals (SceneSignals.data) for plotting and exports."""

import numpy as np

from catalog.models import SceneSignals


def signals_as_columns(signals: SceneSignals) -> dict:
    """`{"hz", "samples", "t_s": [...], "channels": {name: [values or None]}}`."""
    matrix = np.frombuffer(bytes(signals.data), dtype="<f4").reshape(
        len(signals.channels), signals.samples
    )
    t = np.round(np.arange(signals.samples) / signals.hz, 3)
    channels = {}
    for name, row in zip(signals.channels, matrix, strict=True):
        values = np.round(row.astype(np.float64), 5)
        channels[name] = [None if np.isnan(v) else float(v) for v in values]
    return {
        "hz": signals.hz,
        "samples": signals.samples,
        "t_s": t.tolist(),
        "channels": channels,
    }
