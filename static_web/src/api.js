// Talks to the chat API (Microsoft AI Chat Protocol): the streamed and the buffered route.

import { readNdjson } from './ndjson.js';

/** A failure the API reported, or one on the way to it. */
export class ChatError extends Error {
  /**
   * @param {string} code machine-readable code (the API's, or one of ours)
   * @param {string} message
   * @param {{status?: number, retryAfterSeconds?: number|null, partial?: boolean, ref?: string}} [info]
   *   `ref`: the server's reference for this request, which finds its trace and logs
   */
  constructor(code, message, { status = 0, retryAfterSeconds = null, partial = false, ref = '' } = {}) {
    super(message);
    this.name = 'ChatError';
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
    this.partial = partial;
    this.ref = ref;
  }
}

/** The request reference of an error body, if it is a plausible one (short, letters and digits). */
export function requestRef(error) {
  const ref = error?.ref;
  return typeof ref === 'string' && /^[0-9A-Za-z-]{1,64}$/.test(ref) ? ref : '';
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The API base from the runtime config: '' (this origin) when none is set, the base without a
 * trailing slash when it is https:// (or http:// on this machine), null when it must not be
 * used: questions and answers never travel in clear text to another machine.
 * @returns {string|null}
 */
export function safeApiBase(value) {
  const base = typeof value === 'string' ? value.trim().replace(/\/+$/, '') : '';
  if (!base) return '';
  let url;
  try {
    url = new URL(base);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  if (url.protocol === 'https:') return base;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return base;
  return null;
}

/** Joins the API base (empty: same origin) and a path under /api. */
export function apiUrl(base, path) {
  const trimmed = (base || '').trim().replace(/\/+$/, '');
  return `${trimmed}${path}`;
}

/**
 * Seconds to wait from a Retry-After header: delay-seconds or an HTTP date.
 * @returns {number|null}
 */
export function parseRetryAfter(value, nowMs = Date.now()) {
  if (value == null) return null;
  const text = String(value).trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text);
  const when = Date.parse(text);
  if (Number.isNaN(when)) return null;
  return Math.max(0, Math.ceil((when - nowMs) / 1000));
}

function requestBody(messages, overrides, page) {
  const context = { overrides: overrides || {} };
  if (page) context.page = page;
  return JSON.stringify({
    messages: messages.map(({ role, content }) => ({ role, content })),
    context,
    sessionState: null,
  });
}

async function post(url, body, signal, fetchImpl) {
  let response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/x-ndjson, application/json' },
      body,
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ChatError('network', 'The chat service could not be reached.');
  }
  if (!response.ok) throw await errorFromResponse(response);
  return response;
}

/** Builds a ChatError from a 4xx/5xx answer and its `{"error": {...}}` body, if any. */
export async function errorFromResponse(response) {
  let code = `http_${response.status}`;
  let message = '';
  let ref = '';
  try {
    const body = await response.json();
    if (body && typeof body.error === 'object' && body.error) {
      if (typeof body.error.code === 'string') code = body.error.code;
      if (typeof body.error.message === 'string') message = body.error.message;
      ref = requestRef(body.error);
    }
  } catch {
    // Not JSON: keep the status alone.
  }
  return new ChatError(code, message, {
    status: response.status,
    retryAfterSeconds: parseRetryAfter(response.headers.get('Retry-After')),
    ref,
  });
}

/** Error codes a stream's last line may carry, with the HTTP status each has as a response. */
const STATUS_OF_LINE_ERROR = {
  rate_limited: 429,
  budget_exhausted: 429,
  busy: 503,
  content_filter: 400,
  model_error: 502,
  stream_interrupted: 502,
  model_unavailable: 503,
  search_unavailable: 503,
  model_timeout: 504,
  timeout: 504,
};

/**
 * Sorts one protocol line into what it says, calling the matching handler.
 * @returns {'error'|'finish'|'other'}
 */
export function dispatchLine(line, handlers) {
  if (!line || typeof line !== 'object') return 'other';
  if (line.error && typeof line.error === 'object') {
    const { code, message, retry_after_seconds: wait } = line.error;
    const known = typeof code === 'string' ? code : 'stream_error';
    handlers.error?.(
      new ChatError(known, typeof message === 'string' ? message : '', {
        // The status the error would have had before the stream began: the same words either way.
        status: STATUS_OF_LINE_ERROR[known] ?? 0,
        retryAfterSeconds: typeof wait === 'number' && wait >= 0 ? wait : null,
        partial: Boolean(handlers.answered?.()),
        ref: requestRef(line.error),
      }),
    );
    return 'error';
  }
  const context = line.context && typeof line.context === 'object' ? line.context : null;
  if (context?.step && typeof context.step === 'object') handlers.step?.(normaliseStep(context.step));
  if (Array.isArray(context?.citations)) handlers.citations?.(context.citations.map(normaliseCitation));
  const content = line.delta?.content;
  if (typeof content === 'string' && content) handlers.content?.(content);
  if (context && typeof context.finish_reason === 'string') {
    handlers.finish?.({ finishReason: context.finish_reason, usage: context.usage ?? null, answerId: answerIdOf(context) });
    return 'finish';
  }
  return 'other';
}

/** The end line's answer id (what feedback refers to), or '' when there is none. */
function answerIdOf(context) {
  const id = context.answer_id;
  return typeof id === 'string' && /^[\w-]{1,128}$/.test(id) ? id : '';
}

function normaliseStep(step) {
  const out = {
    title: typeof step.title === 'string' ? step.title : '',
    detail: typeof step.detail === 'string' ? step.detail : step.detail == null ? '' : JSON.stringify(step.detail),
  };
  // A step that grows (the model's thinking): later lines with its id add to its detail.
  if (typeof step.id === 'string' && step.id) {
    out.id = step.id;
    if (step.append === true) out.append = true;
  }
  return out;
}

function normaliseCitation(citation, index) {
  const c = citation && typeof citation === 'object' ? citation : {};
  return {
    id: c.id == null ? String(index + 1) : String(c.id),
    title: typeof c.title === 'string' ? c.title : '',
    url: typeof c.url === 'string' ? c.url : '',
    snippet: typeof c.snippet === 'string' ? c.snippet : '',
  };
}

/**
 * POST {base}/api/chat/stream and hand each line to `handlers` as it arrives.
 * Resolves with how the stream ended: 'finished' (end line seen), 'error' (error line) or
 * 'cut' (the stream closed without either). Rejects with a ChatError before any output, or
 * with the abort reason when `signal` aborts.
 */
export async function streamChat({ base, messages, overrides, page, signal, handlers, fetchImpl = fetch }) {
  const response = await post(apiUrl(base, '/api/chat/stream'), requestBody(messages, overrides, page), signal, fetchImpl);
  if (!response.body) throw new ChatError('no_body', 'The answer arrived empty.');
  let outcome = 'cut';
  let answered = false;
  const tracked = {
    ...handlers,
    content: (text) => {
      answered = true;
      handlers.content?.(text);
    },
    answered: () => answered,
  };
  try {
    for await (const line of readNdjson(response.body, { onMalformed: handlers.malformed })) {
      const kind = dispatchLine(line, tracked);
      if (kind === 'error') {
        outcome = 'error';
        break;
      }
      if (kind === 'finish') outcome = 'finished';
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    // The connection broke mid-answer: what arrived stays, the answer is marked as cut.
    return 'cut';
  }
  return outcome;
}

/** POST {base}/api/chat: the whole answer in one completion, handed over as the same events. */
export async function completeChat({ base, messages, overrides, page, signal, handlers, fetchImpl = fetch }) {
  const response = await post(apiUrl(base, '/api/chat'), requestBody(messages, overrides, page), signal, fetchImpl);
  let body;
  try {
    body = await response.json();
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ChatError('bad_response', 'The answer could not be read.');
  }
  if (body?.error) {
    dispatchLine({ error: body.error }, handlers);
    return 'error';
  }
  const context = body?.context && typeof body.context === 'object' ? body.context : {};
  for (const step of Array.isArray(context.steps) ? context.steps : []) dispatchLine({ context: { step } }, handlers);
  if (Array.isArray(context.citations)) dispatchLine({ context: { citations: context.citations } }, handlers);
  const content = body?.message?.content;
  if (typeof content === 'string' && content) handlers.content?.(content);
  const finishReason = typeof context.finish_reason === 'string' ? context.finish_reason : 'stop';
  handlers.finish?.({ finishReason, usage: context.usage ?? null, answerId: answerIdOf(context) });
  return 'finished';
}

/** GET {base}/api/health; null when it cannot be had. */
export async function fetchHealth(base, { fetchImpl = fetch, signal } = {}) {
  try {
    const response = await fetchImpl(apiUrl(base, '/api/health'), { signal, headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    const body = await response.json();
    return body && typeof body === 'object' ? body : null;
  } catch {
    return null;
  }
}

/**
 * POST {base}/api/feedback: a rating of one answer. Resolves when the service recorded it
 * (204); rejects with a ChatError otherwise.
 * @param {{base: string, answerId: string, rating: 'up'|'down', comment?: string}} feedback
 */
export async function sendFeedback({ base, answerId, rating, comment, fetchImpl = fetch }) {
  const body = { answer_id: answerId, rating };
  if (comment) body.comment = comment;
  await post(apiUrl(base, '/api/feedback'), JSON.stringify(body), undefined, fetchImpl);
}

/**
 * Whether a service that could not be read answers at all. A browser hides why a cross-origin
 * request failed; a request in `no-cors` mode gets through (unreadable) when the service is up,
 * so a failure with the service up means it did not grant this page's origin (CORS).
 */
export async function answersWithoutCors(base, { fetchImpl = fetch } = {}) {
  try {
    await fetchImpl(apiUrl(base, '/api/health'), { mode: 'no-cors', cache: 'no-store' });
    return true;
  } catch {
    return false;
  }
}
