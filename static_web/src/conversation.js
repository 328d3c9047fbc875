// The conversation: what is sent to the API, what is kept across reloads, and how failures read.

import { ERROR_MESSAGES, messageForStatus } from './errors.js';

export const STORAGE_KEY = 'chat.conversation.v1';
const MAX_HISTORY_MESSAGES = 40;

// What the server accepts, with its default settings (chat_api/settings.py): messages per
// request, characters per message, bytes per body, and the estimated prompt it answers from.
export const SERVER_LIMITS = Object.freeze({
  maxMessages: 100,
  maxMessageChars: 32_000,
  maxBodyBytes: 256 * 1024,
  promptTokens: 12_000,
});

const encoder = new TextEncoder();

/** The server's token estimate (chat_api/prompt.py): a third of the UTF-8 bytes, plus 4. */
export function estimateTokens(text) {
  return Math.floor(encoder.encode(text).length / 3) + 4;
}

/** Characters as the server counts them: code points, not UTF-16 units. */
function characters(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * The messages for a new question: earlier turns that got an answer, as alternating
 * user/assistant pairs, then the question. Turns whose answer failed empty are left out, so
 * the list always alternates and ends with the user. Only the newest pairs that the server
 * accepts are sent, measured as it measures them: none over its characters per message, all
 * within its message count, body size and prompt estimate, so a long earlier answer never
 * makes every later question too large.
 * @param {Array<{role: string, content: string}>} turns
 * @param {string} question
 */
export function historyForRequest(turns, question, maxMessages = MAX_HISTORY_MESSAGES, limits = SERVER_LIMITS) {
  const pairs = [];
  for (let i = 0; i < turns.length - 1; i += 1) {
    const asked = turns[i];
    const answered = turns[i + 1];
    if (asked.role !== 'user' || answered.role !== 'assistant') continue;
    i += 1;
    if (!asked.content?.trim() || !answered.content?.trim()) continue;
    pairs.push([
      { role: 'user', content: asked.content },
      { role: 'assistant', content: answered.content },
    ]);
  }
  const keepPairs = Math.floor(Math.max(0, Math.min(maxMessages, limits.maxMessages) - 1) / 2);
  const last = { role: 'user', content: question };
  let tokens = estimateTokens(question);
  let bytes = encoder.encode(JSON.stringify(last)).length + 256; // room for the envelope
  const kept = [];
  for (let i = pairs.length - 1; i >= 0 && kept.length < keepPairs; i -= 1) {
    const pair = pairs[i];
    const pairTokens = pair.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    const pairBytes = pair.reduce((sum, m) => sum + encoder.encode(JSON.stringify(m)).length + 1, 0);
    const fits =
      pair.every((m) => characters(m.content) <= limits.maxMessageChars) &&
      tokens + pairTokens <= limits.promptTokens &&
      bytes + pairBytes <= limits.maxBodyBytes;
    if (!fits) break; // older turns mean little without the ones after them
    kept.unshift(pair);
    tokens += pairTokens;
    bytes += pairBytes;
  }
  return [...kept.flat(), last];
}

/**
 * Adds a progress step to an answer's steps, or grows the earlier step it continues (a line
 * with the same id and `append`: more of the model's thinking).
 * @param {Array<{title: string, detail: string, id?: string}>} steps changed in place
 * @param {{title: string, detail: string, id?: string, append?: boolean}} step
 * @returns {{index: number, grown: boolean}} where the step is, and whether it grew
 */
export function applyStep(steps, step) {
  if (step.append && step.id) {
    for (let i = steps.length - 1; i >= 0; i -= 1) {
      if (steps[i].id === step.id) {
        steps[i].detail += step.detail;
        return { index: i, grown: true };
      }
    }
  }
  const { append, ...kept } = step;
  steps.push(kept);
  return { index: steps.length - 1, grown: false };
}

/** Reads the saved conversation; an empty one when there is none or it cannot be read. */
export function loadTurns(storage, key = STORAGE_KEY) {
  try {
    const raw = storage?.getItem(key);
    if (!raw) return [];
    const saved = JSON.parse(raw);
    if (!saved || saved.version !== 1 || !Array.isArray(saved.turns)) return [];
    return saved.turns.filter(isTurn).map((turn) =>
      // An answer still being written when the page went away did not finish.
      turn.role === 'assistant' && turn.status === 'streaming' ? { ...turn, status: 'cut' } : turn,
    );
  } catch {
    return [];
  }
}

export function saveTurns(storage, turns, key = STORAGE_KEY) {
  try {
    if (!turns.length) storage?.removeItem(key);
    else storage?.setItem(key, JSON.stringify({ version: 1, turns }));
    return true;
  } catch {
    // Storage full or disabled: the conversation still works, it just is not kept.
    return false;
  }
}

function isTurn(turn) {
  return (
    turn &&
    typeof turn === 'object' &&
    (turn.role === 'user' || turn.role === 'assistant') &&
    typeof turn.content === 'string'
  );
}

/**
 * Words for a failure, for the person reading the page.
 * @param {{code?: string, status?: number, message?: string, retryAfterSeconds?: number|null,
 *          partial?: boolean, at?: number}} error
 * @returns {{title: string, detail: string, retryAt: number|null}}
 */
export function describeError(error, nowMs = Date.now()) {
  const status = error.status || 0;
  const code = String(error.code || '');
  const serverMessage = (error.message || '').trim();
  const at = error.at || nowMs;
  const known = Object.hasOwn(ERROR_MESSAGES, code) ? ERROR_MESSAGES[code] : null;

  if (code === 'rate_limited' || (!known && status === 429)) {
    return describeRateLimit(error.retryAfterSeconds, at, nowMs);
  }
  if (code === 'budget_exhausted') {
    // The wait is until midnight UTC: the retry time, not a countdown.
    const { retryAt } = describeRateLimit(error.retryAfterSeconds, at, nowMs);
    return { title: known.title, detail: known.detail, retryAt };
  }
  if (error.partial) {
    return {
      title: 'The answer was interrupted before it finished.',
      detail: known && code !== 'stream_interrupted' ? known.title : serverMessage || 'The service lost its connection to the language model. Please try again.',
      retryAt: null,
    };
  }
  const words = known || messageForStatus(status);
  if (!words) {
    return { title: 'Something went wrong.', detail: serverMessage || 'Please try again.', retryAt: null };
  }
  // A refused request is explained best by the service's own words (which field, which limit).
  const useServer = serverMessage && (status === 400 || status === 415 || status === 422) && code !== 'content_filter';
  return { title: words.title, detail: useServer ? serverMessage : words.detail, retryAt: null };
}

function describeRateLimit(seconds, at, nowMs) {
  const { title, detail } = ERROR_MESSAGES.rate_limited;
  if (seconds == null) return { title, detail, retryAt: null };
  const retryAt = at + seconds * 1000;
  const remaining = Math.ceil((retryAt - nowMs) / 1000);
  const clock = new Date(retryAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return {
    title,
    detail:
      remaining > 0
        ? `Try again in ${remaining} ${remaining === 1 ? 'second' : 'seconds'} (after ${clock}).`
        : 'You can try again now.',
    retryAt,
  };
}
