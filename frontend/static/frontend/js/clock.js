// One master clock for the scene viewer. Videos, charts, map and scrubber all follow it;
// no video is the master, so a camera that buffers or ends early cannot drag the others.
// While the main camera is buffering the clock holds, so nothing runs ahead of the picture.

const HARD_SYNC_S = 0.25; // beyond this drift a video is seeked
const SOFT_SYNC_S = 0.04; // beyond this its playback rate is nudged

export class MasterClock extends EventTarget {
  constructor(duration, start = 0) {
    super();
    this.duration = duration;
    this.rate = 1;
    this.playing = false;
    this.t0 = Math.max(0, Math.min(duration, start)); // clock time at wall0
    this.wall0 = 0;
    this.holding = () => false;
    this._frame = null;
  }

  get t() {
    if (!this.playing) return this.t0;
    return Math.min(this.duration, this.t0 + ((performance.now() - this.wall0) / 1000) * this.rate);
  }

  _rebase(t) {
    this.t0 = Math.max(0, Math.min(this.duration, t));
    this.wall0 = performance.now();
  }

  _emit(type) {
    this.dispatchEvent(new CustomEvent(type, { detail: { t: this.t } }));
  }

  play() {
    if (this.playing) return;
    if (this.t0 >= this.duration - 1e-3) this._rebase(0);
    else this._rebase(this.t0);
    this.playing = true;
    this._emit("state");
    this._loop();
  }

  pause() {
    if (!this.playing) return;
    this._rebase(this.t);
    this.playing = false;
    cancelAnimationFrame(this._frame);
    this._emit("state");
    this._emit("tick");
    this._emit("settle");
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  seek(t) {
    this._rebase(t);
    this._emit("seek");
    this._emit("tick");
    if (!this.playing) this._emit("settle");
  }

  step(dt) {
    this.pause();
    this.seek(this.t0 + dt);
  }

  setRate(rate) {
    this._rebase(this.t);
    this.rate = rate;
    this._emit("state");
  }

  _loop() {
    this._frame = requestAnimationFrame(() => {
      if (!this.playing) return;
      if (this.holding()) this._rebase(this.t0);
      else this._rebase(this.t);
      this._emit("tick");
      if (this.t0 >= this.duration) {
        this.pause();
        return;
      }
      this._loop();
    });
  }
}

// Keep every <video> on the clock: paused and seeked when the clock is paused; playing,
// with drift corrected by rate nudges (small) or seeks (large), when it runs.
export function followClock(clock, videos, mainVideo) {
  clock.holding = () => {
    const main = mainVideo();
    return Boolean(main && main.readyState < 3 && !main.ended && main.currentTime < main.duration - 0.05);
  };

  const place = (video, t) => {
    if (video.readyState < 1) return; // loadedmetadata will place it
    const target = Math.min(t, (video.duration || t) - 0.001);
    if (Math.abs(video.currentTime - target) > 1e-3) video.currentTime = target;
  };

  for (const video of videos) {
    video.addEventListener("loadedmetadata", () => {
      // The page opens at the URL's moment: start every camera at `t`.
      video.currentTime = Math.min(clock.t, video.duration || clock.t);
      if (clock.playing) video.play().catch(() => {});
    });
  }

  clock.addEventListener("state", () => {
    for (const video of videos) {
      if (clock.playing) {
        video.playbackRate = clock.rate;
        if (video.readyState >= 1) video.play().catch(() => {});
      } else {
        video.pause();
        place(video, clock.t);
      }
    }
  });

  clock.addEventListener("seek", () => {
    for (const video of videos) place(video, clock.t);
  });

  clock.addEventListener("tick", () => {
    if (!clock.playing) return;
    const t = clock.t;
    for (const video of videos) {
      if (video.readyState < 2 || t >= (video.duration || Infinity)) continue;
      if (video.paused) video.play().catch(() => {});
      const drift = video.currentTime - t;
      if (Math.abs(drift) > HARD_SYNC_S) {
        video.currentTime = t;
        video.playbackRate = clock.rate;
      } else if (Math.abs(drift) > SOFT_SYNC_S) {
        video.playbackRate = clock.rate * Math.max(0.5, Math.min(1.5, 1 - drift * 2));
      } else if (video.playbackRate !== clock.rate) {
        video.playbackRate = clock.rate;
      }
    }
  });
}

// The main camera's frame duration, measured from consecutive decoded frames while it
// plays (requestVideoFrameCallback); frame-step uses it. 10 fps until measured. Frames
// presented by seeks are not consecutive, so only playback counts.
const MAX_FRAME_S = 0.5;
const measured = new WeakMap(); // one measurement per <video>, however often it is asked

export function frameDuration(video) {
  if (video && measured.has(video)) return measured.get(video);
  let best = null;
  let last = null;
  const get = () => best || 0.1;
  if (!video || !("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return get;
  video.addEventListener("seeking", () => (last = null));
  const onFrame = (_now, meta) => {
    if (video.paused || video.seeking) {
      last = null;
    } else {
      const dt = last === null ? 0 : meta.mediaTime - last;
      if (dt > 0.004 && dt < MAX_FRAME_S && (best === null || dt < best)) best = dt;
      last = meta.mediaTime;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  measured.set(video, get);
  return get;
}
