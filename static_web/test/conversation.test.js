import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { applyStep, describeError, historyForRequest, loadTurns, saveTurns, STORAGE_KEY } from '../src/conversation.js';

function memoryStorage() {
  const data = new Map();
  return {
    getItem: (key) => (data.has(key) ? data.get(key) : null),
    setItem: (key, value) => data.set(key, String(value)),
    removeItem: (key) => data.delete(key),
    data,
  };
}

const user = (content) => ({ role: 'user', content });
const answer = (content, extra = {}) => ({ role: 'assistant', content, steps: [], citations: [], status: 'done', ...extra });

function assertAlternates(messages) {
  messages.forEach((m, i) => assert.equal(m.role, i % 2 === 0 ? 'user' : 'assistant'));
  assert.equal(messages.at(-1).role, 'user');
  for (const m of messages) assert.deepEqual(Object.keys(m).sort(), ['content', 'role']);
}

describe('historyForRequest', () => {
  it('sends answered turns and the question, role and content only', () => {
    const messages = historyForRequest([user('a'), answer('A', { citations: [{ id: '1' }] }), user('b'), answer('B')], 'c');
    assert.deepEqual(messages, [user('a'), { role: 'assistant', content: 'A' }, user('b'), { role: 'assistant', content: 'B' }, user('c')]);
    assertAlternates(messages);
  });

  it('leaves out turns whose answer failed empty, so the roles still alternate', () => {
    const turns = [user('a'), answer('', { status: 'error' }), user('b'), answer('B'), user('c'), answer('  ')];
    const messages = historyForRequest(turns, 'd');
    assert.deepEqual(messages.map((m) => m.content), ['b', 'B', 'd']);
    assertAlternates(messages);
  });

  it('keeps a partial answer that was stopped', () => {
    const messages = historyForRequest([user('a'), answer('half', { status: 'stopped' })], 'b');
    assert.deepEqual(messages.map((m) => m.content), ['a', 'half', 'b']);
  });

  it('keeps only the most recent turns', () => {
    const turns = [];
    for (let i = 0; i < 50; i += 1) turns.push(user(`q${i}`), answer(`a${i}`));
    const messages = historyForRequest(turns, 'last', 9);
    assert.equal(messages.length, 9);
    assert.equal(messages[0].content, 'q46');
    assertAlternates(messages);
  });

  it('copes with a conversation that ends on a question', () => {
    assertAlternates(historyForRequest([user('a'), answer('A'), user('b')], 'c'));
  });
});

describe('saved conversation', () => {
  it('round-trips through storage', () => {
    const storage = memoryStorage();
    const turns = [user('a'), answer('A')];
    assert.equal(saveTurns(storage, turns), true);
    assert.deepEqual(loadTurns(storage), turns);
  });

  it('removes the key when the conversation is cleared', () => {
    const storage = memoryStorage();
    saveTurns(storage, [user('a'), answer('A')]);
    saveTurns(storage, []);
    assert.equal(storage.data.has(STORAGE_KEY), false);
    assert.deepEqual(loadTurns(storage), []);
  });

  it('marks an answer that was still streaming as cut', () => {
    const storage = memoryStorage();
    saveTurns(storage, [user('a'), answer('hal', { status: 'streaming' })]);
    assert.equal(loadTurns(storage)[1].status, 'cut');
  });

  it('ignores unreadable or foreign data', () => {
    const storage = memoryStorage();
    storage.setItem(STORAGE_KEY, '{not json');
    assert.deepEqual(loadTurns(storage), []);
    storage.setItem(STORAGE_KEY, JSON.stringify({ version: 99, turns: [user('a')] }));
    assert.deepEqual(loadTurns(storage), []);
    storage.setItem(STORAGE_KEY, JSON.stringify({ version: 1, turns: [user('a'), { role: 'system', content: 'x' }, 5] }));
    assert.deepEqual(loadTurns(storage), [user('a')]);
    assert.deepEqual(loadTurns(null), []);
  });

  it('survives a full or disabled storage', () => {
    const storage = {
      setItem() {
        throw new Error('QuotaExceededError');
      },
      removeItem() {},
      getItem: () => null,
    };
    assert.equal(saveTurns(storage, [user('a')]), false);
  });
});

describe('describeError', () => {
  const now = Date.parse('2030-01-01T12:00:00Z');

  it('says when to retry after a 429', () => {
    const words = describeError({ status: 429, code: 'rate_limited', retryAfterSeconds: 20, at: now }, now);
    assert.match(words.title, /too many requests/);
    assert.match(words.detail, /Try again in 20 seconds/);
    assert.equal(words.retryAt, now + 20_000);
    assert.match(describeError({ status: 429, retryAfterSeconds: 20, at: now }, now + 30_000).detail, /try again now/);
    assert.match(describeError({ status: 429, retryAfterSeconds: 1, at: now }, now).detail, /in 1 second /);
    assert.match(describeError({ status: 429, retryAfterSeconds: null }, now).detail, /wait a minute/);
  });

  it('has plain words for the other failures', () => {
    assert.match(describeError({ code: 'network' }).title, /could not be reached/);
    assert.match(describeError({ code: 'upstream', partial: true, message: '' }).title, /interrupted/);
    assert.match(describeError({ status: 413 }).detail, /new chat/);
    assert.equal(describeError({ status: 400, message: 'messages must end with a user message' }).detail, 'messages must end with a user message');
    assert.match(describeError({ status: 502 }).title, /did not answer properly/);
    assert.match(describeError({ status: 504 }).title, /too long/);
    assert.match(describeError({}).title, /went wrong/);
  });

  it('words a failure by its code before its status', () => {
    assert.match(describeError({ status: 503, code: 'search_unavailable' }).title, /document search/);
    assert.match(describeError({ status: 503, code: 'model_unavailable' }).title, /unavailable/);
    assert.match(describeError({ status: 400, code: 'content_filter', message: 'blocked' }).title, /content filter/);
    assert.match(describeError({ code: 'model_timeout', partial: true }).detail, /too long/);
  });
});

describe('applyStep', () => {
  it('adds a step, and grows a thinking step with the lines that continue it', () => {
    const steps = [];
    assert.deepEqual(applyStep(steps, { title: 'Question received', detail: 'q' }), { index: 0, grown: false });
    assert.deepEqual(applyStep(steps, { title: 'Thinking', detail: 'Weighing', id: 'thinking-1' }), { index: 1, grown: false });
    assert.deepEqual(
      applyStep(steps, { title: 'Thinking', detail: ' the sources.', id: 'thinking-1', append: true }),
      { index: 1, grown: true },
    );
    applyStep(steps, { title: 'Thinking', detail: 'Drafting', id: 'thinking-2' });
    assert.deepEqual(steps, [
      { title: 'Question received', detail: 'q' },
      { title: 'Thinking', detail: 'Weighing the sources.', id: 'thinking-1' },
      { title: 'Thinking', detail: 'Drafting', id: 'thinking-2' },
    ]);
  });

  it('starts a new step when the one to grow is unknown', () => {
    const steps = [];
    applyStep(steps, { title: 'Thinking', detail: 'orphan', id: 'thinking-9', append: true });
    assert.deepEqual(steps, [{ title: 'Thinking', detail: 'orphan', id: 'thinking-9' }]);
  });
});
