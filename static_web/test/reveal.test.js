import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createRevealer } from '../src/reveal.js';

/** A small deterministic PRNG, so every run sees the same "random" traffic. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs a revealer on simulated time: network pushes at given times, animation frames at given
 * times (only delivered when requested, as in a browser), timers when due.
 */
function simulate({ pushes, frameTimes, finishAt = null, until = 10_000, options = {} }) {
  let t = 0;
  let nextId = 1;
  const frameCallbacks = new Map();
  const timers = new Map();
  const reveals = [];
  const revealer = createRevealer({
    onReveal: (shown) => reveals.push({ t, shown }),
    now: () => t,
    requestFrame: (callback) => {
      const id = nextId++;
      frameCallbacks.set(id, callback);
      return id;
    },
    cancelFrame: (id) => frameCallbacks.delete(id),
    setTimer: (callback, ms) => {
      const id = nextId++;
      timers.set(id, { at: t + ms, callback });
      return id;
    },
    clearTimer: (id) => timers.delete(id),
    ...options,
  });
  const queue = [...pushes].sort((a, b) => a.at - b.at);
  const frames = [...frameTimes];
  const end = finishAt ?? (queue.length ? queue[queue.length - 1].at : 0);
  let finished = false;
  let finishPromise = null;
  for (;;) {
    const nextPush = queue.length ? queue[0].at : Infinity;
    while (frames.length && frames[0] < t) frames.shift();
    const nextFrame = frames.length ? frames[0] : Infinity;
    let nextTimer = Infinity;
    let timerId = null;
    for (const [id, timer] of timers) {
      if (timer.at < nextTimer) {
        nextTimer = timer.at;
        timerId = id;
      }
    }
    const nextFinish = finished ? Infinity : end;
    const next = Math.min(nextPush, nextFrame, nextTimer, nextFinish);
    if (next === Infinity || next > until) break;
    t = next;
    if (next === nextPush) {
      revealer.push(queue.shift().text);
    } else if (next === nextFinish) {
      finished = true;
      finishPromise = revealer.finish();
    } else if (next === nextTimer) {
      const { callback } = timers.get(timerId);
      timers.delete(timerId);
      callback();
    } else {
      frames.shift();
      const callbacks = [...frameCallbacks.values()];
      frameCallbacks.clear();
      for (const callback of callbacks) callback(t);
    }
    if (finished && !queue.length && revealer.shown === revealer.text && !timers.size && !frameCallbacks.size) break;
  }
  return { revealer, reveals, finishPromise };
}

function everyFrame(intervalMs, durationMs = 20_000) {
  const times = [];
  for (let at = intervalMs; at <= durationMs; at += intervalMs) times.push(at);
  return times;
}

function jitteryFrames(seed, minMs, maxMs, durationMs = 20_000) {
  const next = random(seed);
  const times = [];
  for (let at = 0; at <= durationMs; ) {
    at += minMs + next() * (maxMs - minMs);
    times.push(at);
  }
  return times;
}

function words(count, seed = 1) {
  const next = random(seed);
  const vocabulary = ['stream', 'answer', 'the', 'model', 'writes', 'words', 'as', 'tokens', 'NDJSON', 'lines'];
  return Array.from({ length: count }, () => vocabulary[Math.floor(next() * vocabulary.length)]);
}

/** One word per push, `gapMs` apart, like a model streaming token by token. */
function wordByWord(count, gapMs, seed = 1) {
  return words(count, seed).map((word, i) => ({ at: i * gapMs, text: i === 0 ? word : ` ${word}` }));
}

/** Bursts of many words at once, like a proxy that regroups chunks. */
function bursts(count, wordsPerBurst, gapMs, seed = 1) {
  const all = words(count * wordsPerBurst, seed);
  return Array.from({ length: count }, (_, i) => ({
    at: i * gapMs,
    text: (i ? ' ' : '') + all.slice(i * wordsPerBurst, (i + 1) * wordsPerBurst).join(' '),
  }));
}

/** Random chunk sizes (split anywhere, even inside words) at random gaps. */
function randomTraffic(seed, count) {
  const next = random(seed);
  const text = words(count * 6, seed).join(' ');
  const pushes = [];
  let at = 0;
  let from = 0;
  while (from < text.length) {
    const size = 1 + Math.floor(next() * 60);
    pushes.push({ at, text: text.slice(from, from + size) });
    from += size;
    at += next() < 0.2 ? next() * 400 : next() * 30;
  }
  return pushes;
}

const joined = (pushes) => pushes.map((p) => p.text).join('');

describe('createRevealer', () => {
  it('shows a large chunk over several frames, word by word, then completely', () => {
    const text = words(60).join(' ');
    const { reveals, revealer } = simulate({ pushes: [{ at: 0, text }], frameTimes: everyFrame(1000 / 60) });
    assert.ok(reveals.length >= 5, `only ${reveals.length} reveals`);
    for (const { shown } of reveals.slice(0, -1)) {
      assert.ok(text.startsWith(shown));
      const atBoundary = /\s/.test(text[shown.length]) || /\s$/.test(shown);
      assert.ok(atBoundary, `cut inside a word: "${shown.slice(-10)}|${text.slice(shown.length, shown.length + 5)}"`);
    }
    assert.equal(reveals.at(-1).shown, text);
    assert.equal(revealer.shown, text);
    assert.ok(reveals.at(-1).t <= 250);
  });

  it('grows monotonically and ends with exactly the text received', () => {
    const pushes = randomTraffic(7, 40);
    const { reveals, revealer } = simulate({ pushes, frameTimes: everyFrame(1000 / 60) });
    for (let i = 1; i < reveals.length; i += 1) {
      assert.ok(reveals[i].shown.length > reveals[i - 1].shown.length);
      assert.ok(reveals[i].shown.startsWith(reveals[i - 1].shown));
    }
    assert.equal(revealer.shown, joined(pushes));
  });

  const cases = [
    ['word by word, 20 ms apart', wordByWord(200, 20)],
    ['bursts of 40 words every 300 ms', bursts(12, 40, 300)],
    ['one burst of 800 words', bursts(1, 800, 0)],
    ['random sizes and gaps (seed 3)', randomTraffic(3, 60)],
    ['random sizes and gaps (seed 11)', randomTraffic(11, 60)],
  ];
  const frameKinds = [
    ['60 Hz frames', () => everyFrame(1000 / 60)],
    ['30 Hz frames', () => everyFrame(1000 / 30)],
    ['jittery frames (5 to 120 ms)', () => jitteryFrames(5, 5, 120)],
    ['no frames at all (hidden tab)', () => []],
  ];
  for (const [trafficName, pushes] of cases) {
    for (const [frameName, frames] of frameKinds) {
      it(`never falls more than 250 ms behind: ${trafficName}, ${frameName}`, () => {
        const { revealer } = simulate({ pushes, frameTimes: frames() });
        const stats = revealer.stats();
        assert.equal(revealer.shown, joined(pushes));
        assert.equal(stats.chunks, pushes.length);
        assert.ok(stats.maxLagMs <= 250, `max lag ${stats.maxLagMs} ms`);
      });
    }
  }

  it('keeps close to a word-by-word stream', () => {
    const { revealer } = simulate({ pushes: wordByWord(100, 20), frameTimes: everyFrame(1000 / 60) });
    const stats = revealer.stats();
    assert.ok(stats.p95LagMs <= 60, `p95 lag ${stats.p95LagMs} ms`);
  });

  it('reveals a burst faster the larger it is', () => {
    const small = simulate({ pushes: bursts(1, 20, 0), frameTimes: everyFrame(1000 / 60) }).reveals;
    const large = simulate({ pushes: bursts(1, 400, 0), frameTimes: everyFrame(1000 / 60) }).reveals;
    assert.ok(large.at(-1).t <= 250 && small.at(-1).t <= 250);
    const perFrame = (reveals) => reveals.at(-1).shown.length / reveals.length;
    assert.ok(perFrame(large) > perFrame(small) * 5);
  });

  it('holds back a word that may still be growing', () => {
    const pushes = [
      { at: 0, text: 'Hello wor' },
      { at: 60, text: 'ld, and more' },
    ];
    const { reveals } = simulate({ pushes, frameTimes: everyFrame(1000 / 60) });
    assert.ok(!reveals.some((r) => r.shown.endsWith('wor')), JSON.stringify(reveals));
    assert.equal(reveals.at(-1).shown, 'Hello world, and more');
  });

  it('shows a partial word once the bound requires it', () => {
    const { reveals } = simulate({
      pushes: [{ at: 0, text: 'Hello wor' }],
      frameTimes: everyFrame(1000 / 60),
      finishAt: 5000,
    });
    const full = reveals.find((r) => r.shown === 'Hello wor');
    assert.ok(full && full.t <= 250, JSON.stringify(reveals));
  });

  it('resolves finish() once everything is shown', async () => {
    const pushes = bursts(1, 100, 0);
    const { finishPromise, revealer } = simulate({ pushes, frameTimes: everyFrame(16), finishAt: 1 });
    await finishPromise;
    assert.equal(revealer.shown, joined(pushes));
  });

  it('flush() shows everything at once and ignores later text', () => {
    const shown = [];
    const frames = [];
    const revealer = createRevealer({
      onReveal: (text) => shown.push(text),
      now: () => 0,
      requestFrame: (callback) => frames.push(callback),
      cancelFrame: () => {},
      setTimer: () => 1,
      clearTimer: () => {},
    });
    revealer.push('one two three four five six seven');
    revealer.flush();
    assert.equal(shown.at(-1), 'one two three four five six seven');
    revealer.push(' eight');
    assert.equal(revealer.shown, 'one two three four five six seven');
    assert.equal(revealer.text, 'one two three four five six seven');
  });

  it('reports lag statistics', () => {
    const { revealer } = simulate({ pushes: wordByWord(50, 20), frameTimes: everyFrame(1000 / 60) });
    const stats = revealer.stats();
    assert.equal(stats.chunks, 50);
    assert.equal(stats.boundMs, 250);
    assert.ok(stats.frames > 10);
    assert.ok(stats.meanLagMs <= stats.maxLagMs && stats.p50LagMs <= stats.p95LagMs);
  });
});
