"""Plausible 10 Hz driving signals for one drive, simulated phase by phase.

A drive is a sequence of manoeuvres (pull away, cruise, brake for a light, turn, lane
change, hard brake, ...). Each phase writes a speed profile and a steering profile; the
vehicle's heading and position are integrated from speed and steering with a bicycle
model, so the GNSS track, speed and steering always agree. Acceleration is the forward
difference of the final speed, so `accel_mps2` is exactly the derivative of `speed_mps`
(up to the rounding of the manifest).

GNSS outages (overpasses, tunnels) set `gnss_fix` to 0 and lat/lon to NaN, written as
JSON null: a receiver without a fix has no position, and a held "last position" would
be a fake one that downstream track and bounding-box code would have to know to skip.

Everything here is vectorised per phase: the manifest-only mode must produce thousands
of scenes per second.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

HZ = 10
DT = 1.0 / HZ
WHEELBASE_M = 2.8
STEER_RATIO = 15.0  # steering-wheel angle / road-wheel angle
METRES_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    district: str
    lat: float
    lon: float
    road: str  # "urban" or "highway"
    pedestrian_rate: float  # chance that an urban scene has people on the pavement
    tunnel_rate: float  # tunnels per 10 minutes of highway driving


ROUTES = (
    Route("heiwajima-depot-loop", "heiwajima", 35.5786, 139.7497, "urban", 0.35, 0.0),
    Route("odaiba-waterfront", "odaiba", 35.6268, 139.7750, "urban", 0.5, 0.0),
    Route("shibuya-crossing", "shibuya", 35.6595, 139.7005, "urban", 0.9, 0.0),
    Route("shinagawa-konan", "shinagawa", 35.6285, 139.7387, "urban", 0.6, 0.0),
    Route("ginza-chuo-dori", "ginza", 35.6717, 139.7650, "urban", 0.85, 0.0),
    Route("osaki-loop", "osaki", 35.6197, 139.7286, "urban", 0.5, 0.0),
    Route("shuto-wangan", "heiwajima", 35.5786, 139.7497, "highway", 0.0, 1.5),
    Route("shuto-c1-inner-loop", "ginza", 35.6717, 139.7650, "highway", 0.0, 2.5),
)
ROUTE_WEIGHTS = np.array([1.2, 1.0, 1.0, 1.0, 1.0, 1.2, 0.8, 0.8])
DISENGAGEMENT_KINDS = ("driver_override", "planner_timeout", "system_fault")


@dataclass(slots=True)
class DriveSignals:
    """Whole-drive channels (one row per 10 Hz sample) plus per-sample event flags."""

    speed: np.ndarray
    accel: np.ndarray
    steering: np.ndarray
    brake: np.ndarray
    throttle: np.ndarray
    lat: np.ndarray  # NaN without a fix
    lon: np.ndarray
    fix: np.ndarray  # int8, 1 = fix, 0 = outage
    tunnel: np.ndarray  # bool
    stop: np.ndarray  # bool, standing at a light or junction
    turn: np.ndarray  # bool, turning at a junction
    hard: np.ndarray  # bool, hard braking
    disengagements: list[tuple[int, str]]  # (sample index, kind)


@lru_cache(maxsize=4096)
def _window(k: int) -> np.ndarray:
    """A smooth, positive bump of k samples (jerk-limited acceleration shape)."""
    x = (np.arange(k) + 0.5) / k
    return 0.35 + np.sin(np.pi * x)


@lru_cache(maxsize=4096)
def _arch(k: int) -> np.ndarray:
    """sin over half a period: 0 -> 1 -> 0 in k samples."""
    return np.sin(np.pi * np.arange(1, k + 1) / k)


def _smooth_noise(n: int) -> np.ndarray:
    """Speed wobble while cruising (+-0.25 m/s over 6-14 s), the same in every process.
    Cruise phases read windows of it instead of computing their own."""
    t = np.arange(n) * DT
    rng = np.random.default_rng(20261128)
    return sum(
        0.12 * np.sin(2 * np.pi * t / rng.uniform(6, 14) + rng.uniform(0, 6)) for _ in range(3)
    )


_WOBBLE = _smooth_noise(20_000)


@lru_cache(maxsize=4096)
def _ramp(k: int) -> np.ndarray:
    """0 -> 1 over k samples, following the integral of `_window`."""
    w = np.cumsum(_window(k))
    return w / w[-1]


class _Sim:
    """Writes speed and steering phase by phase. The exact track is integrated once at
    the end; during the drive a cheap dead-reckoned position (Python floats) is enough
    to decide which way to turn."""

    def __init__(self, rng: np.random.Generator, route: Route, n: int):
        self.rng, self.route, self.n = rng, route, n
        cap = n + 120 * HZ  # the last phase may overrun; the tail is cut off
        self.speed = np.zeros(cap)
        self.steer = np.zeros(cap)
        self.stop = np.zeros(cap, bool)
        self.turn = np.zeros(cap, bool)
        self.hard = np.zeros(cap, bool)
        self.i = 0
        self.v = 0.0
        # Planar position (m east, m north of the district centre) and heading (rad, from
        # north, clockwise).
        angle = rng.uniform(0, 2 * np.pi)
        radius = rng.uniform(100, 900)
        self.x0, self.y0 = radius * math.sin(angle), radius * math.cos(angle)
        self.heading0 = rng.uniform(0, 2 * np.pi)
        self.x, self.y, self.heading = self.x0, self.y0, self.heading0

    def _emit(self, speed, steer=None, *, metres: float, turn_rad: float = 0.0) -> slice:
        k = len(speed) if isinstance(speed, np.ndarray) else round(metres)
        sl = slice(self.i, self.i + k)
        self.speed[sl] = speed
        if steer is not None:
            self.steer[sl] = steer
        mid = self.heading + turn_rad / 2
        self.x += metres * math.sin(mid)
        self.y += metres * math.cos(mid)
        self.heading += turn_rad
        self.i += k
        self.v = float(self.speed[self.i - 1])
        return sl

    # -- phases ---------------------------------------------------------------------
    def change_speed(self, target: float, mean_accel: float) -> slice:
        dv = target - self.v
        k = max(2, round(abs(dv) / mean_accel * HZ))
        metres = (self.v + target) / 2 * k * DT
        return self._emit(self.v + dv * _ramp(k), metres=metres)

    def cruise(self, seconds: float) -> slice:
        k = max(2, round(seconds * HZ))
        at = int(self.rng.integers(0, len(_WOBBLE) - k))
        wobble = _WOBBLE[at : at + k] - _WOBBLE[at]  # starts where the last phase ended
        speed = wobble * min(1.0, self.v / 5)
        speed += self.v
        np.maximum(speed, 0.0, out=speed)
        drift = _arch(k) * self.rng.normal(0, 1.5)  # lane keeping
        return self._emit(speed, drift, metres=self.v * k * DT)

    def stand(self, seconds: float) -> slice:
        k = max(2, round(seconds * HZ))
        sl = self._emit(np.zeros(k), metres=0.0)
        self.stop[sl] = True
        return sl

    def _steer_for(self, yaw_rate: np.ndarray, v: float) -> np.ndarray:
        return np.degrees(np.arctan(yaw_rate * (WHEELBASE_M / v))) * STEER_RATIO

    def turn_at_junction(self, direction: int) -> None:
        self.change_speed(self.rng.uniform(3.5, 6.0), self.rng.uniform(1.2, 2.2))
        radius = self.rng.uniform(9, 16)
        v = self.v
        k = max(4, round((math.pi / 2) * radius / v * HZ))
        w = _window(k)
        yaw_rate = w * (direction * (math.pi / 2) / (float(w.sum()) * DT))
        sl = self._emit(
            np.full(k, v), self._steer_for(yaw_rate, v), metres=v * k * DT,
            turn_rad=direction * math.pi / 2,
        )  # fmt: skip
        self.turn[sl] = True

    def lane_change(self, direction: int) -> None:
        k = round(self.rng.uniform(3, 5) * HZ)
        v = max(self.v, 1.0)
        yaw_rate = direction * 0.06 * np.sin(2 * np.pi * (np.arange(k) + 0.5) / k)
        self._emit(np.full(k, self.v), self._steer_for(yaw_rate, v), metres=self.v * k * DT)

    def bend(self) -> None:
        """A gentle motorway curve of 10-35 degrees."""
        k = round(self.rng.uniform(8, 20) * HZ)
        v = max(self.v, 1.0)
        angle = math.radians(self.rng.uniform(10, 35)) * (1 if self.rng.random() < 0.5 else -1)
        w = _window(k)
        yaw_rate = w * (angle / (float(w.sum()) * DT))
        self._emit(
            np.full(k, self.v), self._steer_for(yaw_rate, v), metres=self.v * k * DT,
            turn_rad=angle,
        )  # fmt: skip

    def hard_brake(self, to_speed: float) -> None:
        sl = self.change_speed(to_speed, self.rng.uniform(3.8, 5.8))
        self.hard[sl] = True

    def track(self) -> tuple[np.ndarray, np.ndarray]:
        """The exact planar track of the first n samples (bicycle model)."""
        speed, steer = self.speed[: self.n], self.steer[: self.n]
        yaw_rate = speed * np.tan(np.radians(steer) / STEER_RATIO) / WHEELBASE_M
        heading = self.heading0 + np.cumsum(yaw_rate) * DT
        step = speed * DT
        x = self.x0 + np.cumsum(step * np.sin(heading))
        y = self.y0 + np.cumsum(step * np.cos(heading))
        return x, y

    # -- policy -----------------------------------------------------------------------
    def _home_direction(self) -> int:
        """Turn towards the district centre once far from it, else at random."""
        dist = math.hypot(self.x, self.y)
        if dist < 1500:
            return 1 if self.rng.random() < 0.5 else -1
        to_home = math.atan2(-self.x, -self.y)
        diff = (to_home - self.heading + math.pi) % (2 * math.pi) - math.pi
        return 1 if diff > 0 else -1

    def urban_step(self) -> None:
        rng = self.rng
        if self.v < 0.5:
            self.change_speed(rng.uniform(8, 15), rng.uniform(1.0, 2.2))
            return
        r = rng.random()
        if r < 0.42:
            self.cruise(rng.uniform(4, 18))
        elif r < 0.57:  # red light: brake, wait, pull away
            self.change_speed(0.0, rng.uniform(1.2, 2.6))
            self.stand(rng.uniform(4, 30))
        elif r < 0.69:
            self.turn_at_junction(self._home_direction())
        elif r < 0.82:
            self.change_speed(rng.uniform(5, 16), rng.uniform(0.8, 1.8))
        elif r < 0.92:
            self.lane_change(1 if rng.random() < 0.5 else -1)
        elif r < 0.965:  # someone pulls out: hard stop or hard slow-down
            self.hard_brake(0.0 if rng.random() < 0.6 else self.v * rng.uniform(0.2, 0.5))
            if self.v < 0.5:
                self.stand(rng.uniform(1, 5))
        else:
            self.cruise(rng.uniform(2, 6))

    def highway_step(self) -> None:
        rng = self.rng
        if self.v < 12:
            self.change_speed(rng.uniform(20, 27), rng.uniform(1.0, 2.0))
            return
        r = rng.random()
        if r < 0.40:
            self.cruise(rng.uniform(8, 30))
        elif r < 0.58:
            self.lane_change(1 if rng.random() < 0.5 else -1)
        elif r < 0.75:
            self.bend()
        elif r < 0.92:  # traffic ahead slows down
            self.change_speed(rng.uniform(8, 18), rng.uniform(0.8, 2.0))
        else:
            self.hard_brake(self.v * rng.uniform(0.3, 0.6))

    def run(self) -> None:
        step = self.urban_step if self.route.road == "urban" else self.highway_step
        while self.i < self.n:
            step()


def _outages(rng: np.random.Generator, n: int, route: Route) -> tuple[np.ndarray, np.ndarray]:
    """Samples without a fix: short overpass gaps everywhere, long ones in tunnels."""
    fix = np.ones(n, np.int8)
    tunnel = np.zeros(n, bool)
    minutes = n / HZ / 60
    for _ in range(rng.poisson(minutes * (0.5 if route.road == "urban" else 0.8))):
        start = int(rng.integers(0, n))
        fix[start : start + round(rng.uniform(0.5, 3.0) * HZ)] = 0
    for _ in range(rng.poisson(minutes / 10 * route.tunnel_rate)):
        start = int(rng.integers(0, n))
        sl = slice(start, start + round(rng.uniform(25, 90) * HZ))
        fix[sl] = 0
        tunnel[sl] = True
    return fix, tunnel


def _disengagements(
    rng: np.random.Generator, sim: _Sim, n: int, tunnel: np.ndarray
) -> list[tuple[int, str]]:
    events: list[tuple[int, str]] = []
    hard = sim.hard[:n]
    starts = np.flatnonzero(hard & ~np.concatenate(([False], hard[:-1])))
    for start in starts:  # hard braking: the safety driver often takes over
        if rng.random() < 0.45:
            kind = str(rng.choice(DISENGAGEMENT_KINDS, p=(0.7, 0.2, 0.1)))
            events.append((min(n - 1, int(start + rng.integers(2, 12))), kind))
    for _ in range(rng.poisson(n / HZ / 20 * 0.03)):  # background rate per scene
        kind = str(rng.choice(DISENGAGEMENT_KINDS, p=(0.4, 0.3, 0.3)))
        events.append((int(rng.integers(0, n)), kind))
    tunnel_starts = np.flatnonzero(tunnel & ~np.concatenate(([False], tunnel[:-1])))
    for start in tunnel_starts:  # localisation degrades without GNSS
        if rng.random() < 0.25:
            events.append((min(n - 1, int(start + rng.integers(50, 200))), "localization_loss"))
    return sorted(events)


def simulate_drive(rng: np.random.Generator, route: Route, n: int) -> DriveSignals:
    """Simulate `n` samples of one drive on `route`."""
    sim = _Sim(rng, route, n)
    sim.run()
    speed = sim.speed[:n]
    accel = np.empty(n)
    accel[:-1] = np.diff(speed) * HZ
    accel[-1] = (sim.speed[n] - speed[-1]) * HZ
    steering = sim.steer[:n]
    brake = np.clip(-accel / 7.0, 0, 1)
    brake[accel > -0.4] = 0.0  # coasting
    brake[sim.stop[:n]] = 0.3  # holding the car at a light
    throttle = np.clip(0.08 + accel / 3.5 + speed * 0.012, 0, 1)
    throttle[(accel < -0.4) | (speed < 0.05)] = 0.0

    fix, tunnel = _outages(rng, n, route)
    noise = rng.normal(0, 0.4, (2, n))  # receiver noise, metres
    xs, ys = sim.track()
    lat = route.lat + (ys + noise[0]) / METRES_PER_DEG_LAT
    lon = route.lon + (xs + noise[1]) / (METRES_PER_DEG_LAT * math.cos(math.radians(route.lat)))
    lat[fix == 0] = np.nan
    lon[fix == 0] = np.nan
    return DriveSignals(
        speed=speed,
        accel=accel,
        steering=steering,
        brake=brake,
        throttle=throttle,
        lat=lat,
        lon=lon,
        fix=fix,
        tunnel=tunnel,
        stop=sim.stop[:n],
        turn=sim.turn[:n],
        hard=sim.hard[:n],
        disengagements=_disengagements(rng, sim, n, tunnel),
    )
