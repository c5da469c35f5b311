"""The car's state at a moment, interpolated from 10 Hz signals: known answers."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.moments import MOMENT_FIELDS, states_at


def at(times, *, hz=10.0, disengagements=(), **channels):
    names = list(channels)
    matrix = np.array([channels[n] for n in names], dtype=np.float32) if names else None
    return states_at(
        hz=hz, channels=names, matrix=matrix, disengagement_times=disengagements, times=times
    )


def test_speed_between_samples_is_interpolated():
    speed = np.arange(0, 201, dtype=float) * 0.1  # 0 .. 20 m/s over 20 s, at 10 Hz
    (state,) = at([12.34], speed_mps=speed)
    assert state["speed_mps"] == pytest.approx(12.34, abs=1e-3)


def test_acceleration_is_the_speed_slope_without_an_accel_channel():
    speed = 3.0 * np.arange(201) / 10.0  # constant 3 m/s^2
    (state,) = at([7.0], speed_mps=speed)
    assert state["accel_mps2"] == pytest.approx(3.0, abs=1e-3)


def test_an_accel_channel_wins_over_the_slope():
    speed = 3.0 * np.arange(201) / 10.0
    (state,) = at([7.0], speed_mps=speed, accel_mps2=np.full(201, -6.0))
    assert state["accel_mps2"] == pytest.approx(-6.0)


def test_missing_samples_are_skipped_and_missing_channels_are_none():
    brake = np.full(201, np.nan)
    brake[100], brake[110] = 0.2, 0.8
    (state,) = at([10.5], brake=brake)
    assert state["brake"] == pytest.approx(0.5, abs=1e-4)
    assert state["speed_mps"] is None and state["throttle"] is None


def test_disengagement_distance_is_to_the_nearest_one_either_side():
    states = at([0.0, 12.0, 19.0], disengagements=[5.0, 13.5], speed_mps=np.zeros(201))
    assert [s["disengagement_dt_s"] for s in states] == [5.0, 1.5, 5.5]


def test_no_disengagements_no_distance_and_no_signals_all_none():
    (state,) = states_at(hz=None, channels=[], matrix=None, disengagement_times=[], times=[3])
    assert state == dict.fromkeys(MOMENT_FIELDS)


@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=300),
    st.floats(0, 40),
)
def test_interpolated_speed_stays_within_its_neighbours(samples, t):
    speed = np.array(samples)
    (state,) = at([t], speed_mps=speed)
    i = min(int(t * 10), len(samples) - 1)
    j = min(i + 1, len(samples) - 1)
    low, high = sorted((float(np.float32(samples[i])), float(np.float32(samples[j]))))
    assert low - 1e-3 <= state["speed_mps"] <= high + 1e-3
