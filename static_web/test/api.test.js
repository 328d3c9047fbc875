import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  answersWithoutCors,
  sendFeedback,
  apiUrl,
  ChatError,
  completeChat,
  dispatchLine,
  parseRetryAfter,
  safeApiBase,
  streamChat,
} from '../src/api.js';

const encoder = new TextEncoder();

function ndjsonResponse(lines, { cutAfter = null } = {}) {
  const text = lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';
  let sent = false;
  const body = new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(encoder.encode(cutAfter == null ? text : text.slice(0, cutAfter)));
      } else if (cutAfter != null) {
        controller.error(new TypeError('network error'));
      } else {
        controller.close();
      }
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/x-ndjson' } });
}

function recorder() {
  const events = [];
  const handlers = {
    step: (s) => events.push(['step', s]),
    citations: (c) => events.push(['citations', c]),
    content: (c) => events.push(['content', c]),
    finish: (f) => events.push(['finish', f]),
    error: (e) => events.push(['error', e]),
    malformed: (line) => events.push(['malformed', line]),
  };
  return { events, handlers };
}

function fakeFetch(response, calls = []) {
  return async (url, init) => {
    calls.push({ url, init });
    return typeof response === 'function' ? response() : response;
  };
}

const STEP = { delta: { role: 'assistant' }, context: { step: { title: 'Searching', detail: 'ndjson' } } };
const CITES = {
  delta: { role: 'assistant' },
  context: { citations: [{ id: '1', title: 'NDJSON', url: 'https://example.org/ndjson', snippet: 'one per line' }] },
};
const END = { delta: { role: 'assistant' }, context: { finish_reason: 'stop', usage: {} } };
const text = (content) => ({ delta: { role: 'assistant', content } });

describe('apiUrl', () => {
  it('joins a base and a path, same origin when the base is empty', () => {
    assert.equal(apiUrl('', '/api/chat'), '/api/chat');
    assert.equal(apiUrl('https://func.example.net/', '/api/chat'), 'https://func.example.net/api/chat');
    assert.equal(apiUrl('  https://a.example ', '/api/health'), 'https://a.example/api/health');
  });
});

describe('safeApiBase', () => {
  it('takes https:// anywhere and http:// only on this machine', () => {
    assert.equal(safeApiBase(''), '');
    assert.equal(safeApiBase(undefined), '');
    assert.equal(safeApiBase(' https://func.example.net/ '), 'https://func.example.net');
    assert.equal(safeApiBase('http://localhost:7071'), 'http://localhost:7071');
    assert.equal(safeApiBase('http://127.0.0.1:7071/'), 'http://127.0.0.1:7071');
    assert.equal(safeApiBase('http://[::1]:7071'), 'http://[::1]:7071');
  });

  it('refuses clear text to another machine, other schemes and credentials', () => {
    assert.equal(safeApiBase('http://func.example.net'), null);
    assert.equal(safeApiBase('http://localhost.example.net'), null);
    assert.equal(safeApiBase('http://127.0.0.1.example.net'), null);
    assert.equal(safeApiBase('javascript:alert(1)'), null);
    assert.equal(safeApiBase('ftp://func.example.net'), null);
    assert.equal(safeApiBase('https://user:pw@func.example.net'), null);
    assert.equal(safeApiBase('not a url'), null);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('12'), 12);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter('soon'), null);
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now), 30);
    assert.equal(parseRetryAfter('Tue, 01 Jan 2029 00:00:30 GMT', now), 0);
  });
});

describe('dispatchLine', () => {
  it('sorts the protocol lines', () => {
    const { events, handlers } = recorder();
    assert.equal(dispatchLine(STEP, handlers), 'other');
    assert.equal(dispatchLine(CITES, handlers), 'other');
    assert.equal(dispatchLine(text('Hi'), handlers), 'other');
    assert.equal(dispatchLine(END, handlers), 'finish');
    assert.equal(dispatchLine({ error: { code: 'upstream', message: 'lost' } }, handlers), 'error');
    assert.deepEqual(
      events.map(([kind]) => kind),
      ['step', 'citations', 'content', 'finish', 'error'],
    );
    assert.deepEqual(events[0][1], { title: 'Searching', detail: 'ndjson' });
    assert.equal(events[1][1][0].url, 'https://example.org/ndjson');
    assert.deepEqual(events[3][1], { finishReason: 'stop', usage: {}, answerId: '' });
    const error = events[4][1];
    assert.ok(error instanceof ChatError);
    assert.equal(error.code, 'upstream');
    assert.equal(error.partial, false); // nothing of the answer had come
  });

  it('gives an error line the status and wait the same failure has as a response', () => {
    const { events, handlers } = recorder();
    dispatchLine({ error: { code: 'rate_limited', message: 'busy', retry_after_seconds: 7 } }, handlers);
    const error = events[0][1];
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterSeconds, 7);
  });

  it('keeps the request reference of an error line, and only a plausible one', () => {
    const { events, handlers } = recorder();
    dispatchLine({ error: { code: 'stream_interrupted', message: 'cut', ref: '0af7651916cd' } }, handlers);
    dispatchLine({ error: { code: 'x', message: 'y', ref: '<img src=x>' } }, handlers);
    assert.equal(events[0][1].ref, '0af7651916cd');
    assert.equal(events[1][1].ref, '');
  });

  it('ignores what it does not know', () => {
    const { events, handlers } = recorder();
    for (const line of [null, 3, 'x', [], {}, { delta: {} }, { context: { step: 'nope' } }, { delta: { content: 5 } }]) {
      assert.equal(dispatchLine(line, handlers), 'other');
    }
    assert.deepEqual(events, []);
  });
});

describe('streamChat', () => {
  const messages = [{ role: 'user', content: 'What is NDJSON?', extra: 'not sent' }];

  it('posts the protocol body and reports a finished stream', async () => {
    const calls = [];
    const { events, handlers } = recorder();
    const outcome = await streamChat({
      base: 'https://api.example',
      messages,
      handlers,
      fetchImpl: fakeFetch(ndjsonResponse([STEP, CITES, text('NDJSON is'), text(' lines.'), END]), calls),
    });
    assert.equal(outcome, 'finished');
    assert.equal(calls[0].url, 'https://api.example/api/chat/stream');
    assert.equal(calls[0].init.method, 'POST');
    assert.deepEqual(JSON.parse(calls[0].init.body), {
      messages: [{ role: 'user', content: 'What is NDJSON?' }],
      context: { overrides: {} },
      sessionState: null,
    });
    const content = events.filter(([kind]) => kind === 'content').map(([, c]) => c);
    assert.equal(content.join(''), 'NDJSON is lines.');
  });

  it('marks an error line partial only when part of the answer had come', async () => {
    const outcomes = [];
    for (const lines of [[STEP, { error: { code: 'model_timeout', message: 'slow' } }], [text('one'), { error: { code: 'stream_interrupted', message: 'cut' } }]]) {
      const { events, handlers } = recorder();
      outcomes.push(await streamChat({ base: '', messages, handlers, fetchImpl: fakeFetch(ndjsonResponse(lines)) }));
      const error = events.find(([kind]) => kind === 'error')[1];
      outcomes.push(error.partial);
    }
    assert.deepEqual(outcomes, ['error', false, 'error', true]);
  });

  it('calls a stream without an end line cut', async () => {
    const { handlers } = recorder();
    const outcome = await streamChat({ base: '', messages, handlers, fetchImpl: fakeFetch(ndjsonResponse([text('partial')])) });
    assert.equal(outcome, 'cut');
  });

  it('calls a stream whose connection breaks cut, keeping what arrived', async () => {
    const { events, handlers } = recorder();
    const line1 = JSON.stringify(text('one')).length + 1;
    const outcome = await streamChat({
      base: '',
      messages,
      handlers,
      fetchImpl: fakeFetch(ndjsonResponse([text('one'), text(' two'), END], { cutAfter: line1 + 5 })),
    });
    assert.equal(outcome, 'cut');
    assert.deepEqual(events, [['content', 'one']]);
  });

  it('reports an error line and stops reading', async () => {
    const { events, handlers } = recorder();
    const outcome = await streamChat({
      base: '',
      messages,
      handlers,
      fetchImpl: fakeFetch(ndjsonResponse([text('half'), { error: { code: 'upstream_error', message: 'The model stream was cut.' } }, text('after')])),
    });
    assert.equal(outcome, 'error');
    assert.deepEqual(
      events.map(([kind]) => kind),
      ['content', 'error'],
    );
  });

  it('survives a malformed line', async () => {
    const { events, handlers } = recorder();
    const outcome = await streamChat({
      base: '',
      messages,
      handlers,
      fetchImpl: fakeFetch(ndjsonResponse([text('a'), '{"delta": {', text('b'), END])),
    });
    assert.equal(outcome, 'finished');
    assert.deepEqual(events.map(([kind, value]) => (kind === 'content' ? value : kind)), ['a', 'malformed', 'b', 'finish']);
  });

  it('turns an error status into a ChatError with Retry-After', async () => {
    const response = new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'Too many requests.' } }), {
      status: 429,
      headers: { 'Content-Type': 'application/json', 'Retry-After': '7' },
    });
    const { handlers } = recorder();
    await assert.rejects(streamChat({ base: '', messages, handlers, fetchImpl: fakeFetch(response) }), (error) => {
      assert.ok(error instanceof ChatError);
      assert.equal(error.status, 429);
      assert.equal(error.code, 'rate_limited');
      assert.equal(error.retryAfterSeconds, 7);
      return true;
    });
  });

  it('copes with an error status whose body is not JSON', async () => {
    const { handlers } = recorder();
    const response = new Response('<html>Bad gateway</html>', { status: 502 });
    await assert.rejects(streamChat({ base: '', messages, handlers, fetchImpl: fakeFetch(response) }), (error) => {
      assert.equal(error.status, 502);
      assert.equal(error.code, 'http_502');
      return true;
    });
  });

  it('reports an unreachable service as a network error', async () => {
    const { handlers } = recorder();
    const fetchImpl = async () => {
      throw new TypeError('Failed to fetch');
    };
    await assert.rejects(streamChat({ base: '', messages, handlers, fetchImpl }), (error) => error.code === 'network');
  });

  it('passes an abort on as an abort', async () => {
    const controller = new AbortController();
    const { events, handlers } = recorder();
    let push;
    const body = new ReadableStream({
      start(c) {
        push = c;
      },
    });
    const fetchImpl = async (url, init) => {
      init.signal.addEventListener('abort', () => push.error(new DOMException('aborted', 'AbortError')));
      return new Response(body, { status: 200 });
    };
    const running = streamChat({ base: '', messages, handlers, signal: controller.signal, fetchImpl });
    push.enqueue(encoder.encode(`${JSON.stringify(text('so far'))}\n`));
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await assert.rejects(running, (error) => error.name === 'AbortError');
    assert.deepEqual(events, [['content', 'so far']]);
  });
});

describe('growing steps', () => {
  it('keeps the id and append flag of a thinking line, and nothing else', async () => {
    const { events, handlers } = recorder();
    dispatchLine(
      { delta: { role: 'assistant' }, context: { step: { title: 'Thinking', detail: ' more', id: 'thinking-1', append: true, x: 1 } } },
      handlers,
    );
    dispatchLine({ delta: { role: 'assistant' }, context: { step: { title: 'Found', detail: 'a', id: 7, append: 'yes' } } }, handlers);
    assert.deepEqual(events, [
      ['step', { title: 'Thinking', detail: ' more', id: 'thinking-1', append: true }],
      ['step', { title: 'Found', detail: 'a' }],
    ]);
  });
});

describe('completeChat', () => {
  it('posts to /api/chat and hands the completion over as events', async () => {
    const calls = [];
    const { events, handlers } = recorder();
    const completion = {
      message: { role: 'assistant', content: 'NDJSON is one JSON value per line [1].' },
      context: {
        steps: [{ title: 'Searching', detail: 'ndjson' }],
        citations: CITES.context.citations,
        finish_reason: 'stop',
      },
      sessionState: null,
    };
    const response = new Response(JSON.stringify(completion), { headers: { 'Content-Type': 'application/json' } });
    const outcome = await completeChat({ base: '', messages: [{ role: 'user', content: 'q' }], handlers, fetchImpl: fakeFetch(response, calls) });
    assert.equal(outcome, 'finished');
    assert.equal(calls[0].url, '/api/chat');
    assert.deepEqual(
      events.map(([kind]) => kind),
      ['step', 'citations', 'content', 'finish'],
    );
  });
});

describe('the answer id', () => {
  it('comes from the end line, for feedback to refer to', () => {
    const { events, handlers } = recorder();
    dispatchLine({ ...END, context: { ...END.context, answer_id: 'a1b2-c3' } }, handlers);
    assert.equal(events[0][1].answerId, 'a1b2-c3');
  });

  it('is left out when it is not a plausible id', () => {
    const { events, handlers } = recorder();
    dispatchLine({ ...END, context: { ...END.context, answer_id: '<img src=x>' } }, handlers);
    dispatchLine({ ...END, context: { ...END.context, answer_id: 42 } }, handlers);
    assert.deepEqual(events.map(([, f]) => f.answerId), ['', '']);
  });
});

describe('the page the question is asked on', () => {
  it('goes along as context.page', async () => {
    const calls = [];
    const page = { url: 'https://docs.example/guide/', title: 'Guide' };
    await streamChat({ base: '', messages: [{ role: 'user', content: 'q' }], page, handlers: recorder().handlers, fetchImpl: fakeFetch(ndjsonResponse([END]), calls) });
    assert.deepEqual(JSON.parse(calls[0].init.body).context, { overrides: {}, page });
  });

  it('is not sent when there is none', async () => {
    const calls = [];
    await streamChat({ base: '', messages: [{ role: 'user', content: 'q' }], handlers: recorder().handlers, fetchImpl: fakeFetch(ndjsonResponse([END]), calls) });
    assert.deepEqual(JSON.parse(calls[0].init.body).context, { overrides: {} });
  });
});

describe('sendFeedback', () => {
  it('posts the rating of an answer to /api/feedback', async () => {
    const calls = [];
    await sendFeedback({ base: 'https://api.example', answerId: 'abc', rating: 'down', fetchImpl: fakeFetch(new Response(null, { status: 204 }), calls) });
    assert.equal(calls[0].url, 'https://api.example/api/feedback');
    assert.equal(calls[0].init.method, 'POST');
    assert.deepEqual(JSON.parse(calls[0].init.body), { answer_id: 'abc', rating: 'down' });
  });

  it('fails with the service\'s error when the rating is refused', async () => {
    const refused = new Response(JSON.stringify({ error: { code: 'invalid_request', message: 'unknown answer' } }), { status: 400 });
    await assert.rejects(
      sendFeedback({ base: '', answerId: 'abc', rating: 'up', fetchImpl: fakeFetch(refused) }),
      (error) => error instanceof ChatError && error.status === 400 && error.code === 'invalid_request',
    );
  });
});

describe('answersWithoutCors', () => {
  it('is true when the service answers a no-cors request', async () => {
    const calls = [];
    assert.equal(await answersWithoutCors('https://api.example', { fetchImpl: fakeFetch(new Response(null), calls) }), true);
    assert.equal(calls[0].init.mode, 'no-cors');
  });

  it('is false when nothing answers', async () => {
    const fetchImpl = async () => {
      throw new TypeError('Failed to fetch');
    };
    assert.equal(await answersWithoutCors('https://api.example', { fetchImpl }), false);
  });
});
