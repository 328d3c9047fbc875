// Reveals streamed text word by word on animation frames, without falling behind the network.
//
// Browsers paint at most once per frame and network chunks arrive in bursts, so writing each
// chunk straight into the page shows text in lumps. The revealer keeps what has arrived and
// shows it a few words per frame instead, at a pace that keeps every chunk on course to be
// shown within `targetLagMs` of its arrival. A hard bound backs this up: a chunk that would
// otherwise be shown later than `maxLagMs` after it arrived is shown now, and a timer covers
// the case where frames stop coming (a hidden tab).

const SPACE = /\s/;

/**
 * @param {object} options
 * @param {(shown: string) => void} options.onReveal called with the whole text shown so far
 * @param {number} [options.maxLagMs] hard bound between a chunk's arrival and its display
 * @param {number} [options.targetLagMs] the pace aims to show each chunk this soon
 * @param {() => number} [options.now]
 * @param {(callback: (time: number) => void) => unknown} [options.requestFrame]
 * @param {(id: unknown) => void} [options.cancelFrame]
 * @param {(callback: () => void, ms: number) => unknown} [options.setTimer]
 * @param {(id: unknown) => void} [options.clearTimer]
 */
export function createRevealer({
  onReveal,
  maxLagMs = 250,
  targetLagMs = 120,
  now = () => performance.now(),
  requestFrame = (callback) => requestAnimationFrame(callback),
  cancelFrame = (id) => cancelAnimationFrame(id),
  setTimer = (callback, ms) => setTimeout(callback, ms),
  clearTimer = (id) => clearTimeout(id),
}) {
  const holdMs = targetLagMs / 2;
  let text = '';
  let shown = 0;
  let ended = false;
  /** Chunks not yet fully shown: where each ends in `text` and when it arrived. */
  const pending = [];
  let frameId = null;
  let timerId = null;
  let lastFrameAt = null;
  let frameInterval = 1000 / 60;
  let waiters = [];
  const lags = [];
  let frames = 0;

  function push(piece) {
    if (!piece || ended) return;
    text += piece;
    pending.push({ end: text.length, at: now() });
    schedule();
  }

  /** No more text will come: show the rest (still paced), resolve when all is shown. */
  function finish() {
    ended = true;
    if (shown >= text.length) return Promise.resolve();
    schedule();
    return new Promise((resolve) => waiters.push(resolve));
  }

  /** Show everything received at once (the reader stopped) and stop scheduling. */
  function flush() {
    ended = true;
    if (shown < text.length) reveal(text.length, now());
    stop();
    settle();
  }

  function dispose() {
    ended = true;
    stop();
    settle();
  }

  function stop() {
    if (frameId !== null) cancelFrame(frameId);
    if (timerId !== null) clearTimer(timerId);
    frameId = null;
    timerId = null;
  }

  function settle() {
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  }

  function schedule() {
    if (shown >= text.length) return;
    if (frameId === null) frameId = requestFrame(onFrame);
    if (timerId === null) {
      const deadline = pending[0].at + maxLagMs;
      timerId = setTimer(onTimer, Math.max(0, deadline - now() - 4));
    }
  }

  function onFrame(frameTime) {
    frameId = null;
    const t = now();
    if (lastFrameAt !== null) {
      const interval = Math.min(100, Math.max(4, (frameTime ?? t) - lastFrameAt));
      frameInterval = 0.8 * frameInterval + 0.2 * interval;
    }
    lastFrameAt = frameTime ?? t;
    tick(t, frameInterval * 1.5);
  }

  function onTimer() {
    timerId = null;
    tick(now(), 5);
  }

  /** Reveal what is due at time `t`, looking `horizon` ms ahead for the hard bound. */
  function tick(t, horizon) {
    if (shown < text.length) {
      let hard = shown;
      for (const chunk of pending) {
        if (chunk.at + maxLagMs > t + horizon) break;
        hard = chunk.end;
      }
      // Pace: the rate that shows every pending chunk by its target time.
      let rate = 0;
      for (const chunk of pending) {
        const left = Math.max(chunk.at + targetLagMs - t, frameInterval);
        rate = Math.max(rate, (chunk.end - shown) / left);
      }
      let soft = Math.max(shown + Math.ceil(rate * frameInterval), nextWordEnd(shown));
      soft = wordEndAtOrAfter(soft);
      // Briefly hold back a last word that may still be growing (the next chunk may continue it).
      const last = pending[pending.length - 1];
      if (!ended && last && t - last.at < holdMs) soft = Math.min(soft, trailingWordStart());
      const target = Math.min(text.length, Math.max(hard, soft));
      if (target > shown) reveal(target, t);
    }
    if (shown >= text.length) {
      if (timerId !== null) clearTimer(timerId);
      timerId = null;
      if (ended) settle();
      return;
    }
    if (timerId !== null) clearTimer(timerId);
    timerId = null;
    schedule();
  }

  function reveal(target, t) {
    shown = target;
    frames += 1;
    while (pending.length && pending[0].end <= shown) {
      lags.push(t - pending.shift().at);
    }
    onReveal(text.slice(0, shown));
  }

  function nextWordEnd(from) {
    let i = from;
    while (i < text.length && SPACE.test(text[i])) i += 1;
    while (i < text.length && !SPACE.test(text[i])) i += 1;
    return i;
  }

  function wordEndAtOrAfter(index) {
    let i = Math.min(index, text.length);
    while (i > 0 && i < text.length && !SPACE.test(text[i - 1]) && !SPACE.test(text[i])) i += 1;
    return i;
  }

  function trailingWordStart() {
    let i = text.length;
    while (i > shown && !SPACE.test(text[i - 1])) i -= 1;
    return i;
  }

  function stats() {
    const sorted = [...lags].sort((a, b) => a - b);
    const pick = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
    return {
      chunks: lags.length,
      frames,
      maxLagMs: sorted.length ? sorted[sorted.length - 1] : 0,
      p50LagMs: pick(0.5),
      p95LagMs: pick(0.95),
      meanLagMs: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0,
      boundMs: maxLagMs,
    };
  }

  return {
    push,
    finish,
    flush,
    dispose,
    stats,
    get text() {
      return text;
    },
    get shown() {
      return text.slice(0, shown);
    },
  };
}
