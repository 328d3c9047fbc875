import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { readNdjson } from '../src/ndjson.js';

const encoder = new TextEncoder();

function streamOf(chunks) {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function collect(stream, options) {
  const values = [];
  for await (const value of readNdjson(stream, options)) values.push(value);
  return values;
}

describe('readNdjson', () => {
  it('yields one value per line', async () => {
    const values = await collect(streamOf(['{"a":1}\n{"b":2}\n']));
    assert.deepEqual(values, [{ a: 1 }, { b: 2 }]);
  });

  it('joins a line split across chunks', async () => {
    const values = await collect(streamOf(['{"delta":{"con', 'tent":"Hel', 'lo"}}\n{"x"', ':2}\n']));
    assert.deepEqual(values, [{ delta: { content: 'Hello' } }, { x: 2 }]);
  });

  it('keeps a multi-byte character split between chunks', async () => {
    const bytes = encoder.encode('{"t":"café ☕"}\n');
    const cut = bytes.indexOf(0xe2) + 1; // inside the three bytes of ☕
    const values = await collect(streamOf([bytes.slice(0, cut), bytes.slice(cut)]));
    assert.deepEqual(values, [{ t: 'café ☕' }]);
  });

  it('skips a malformed line and reads the lines after it', async () => {
    const bad = [];
    const values = await collect(streamOf(['{"a":1}\n{"broken": \n{"b":2}\nnot json\n{"c":3}\n']), {
      onMalformed: (line) => bad.push(line),
    });
    assert.deepEqual(values, [{ a: 1 }, { b: 2 }, { c: 3 }]);
    assert.deepEqual(bad, ['{"broken":', 'not json']);
  });

  it('reads a last line without a newline, and ignores blank lines and CRLF', async () => {
    const values = await collect(streamOf(['\n{"a":1}\r\n\r\n', '  \n{"b":2}']));
    assert.deepEqual(values, [{ a: 1 }, { b: 2 }]);
  });

  it('does not glue a malformed line to the next one', async () => {
    // A reader that accumulates unparsed text would turn `{"a":` + `1}` into one value.
    const values = await collect(streamOf(['{"a":\n1}\n{"ok":true}\n']), { onMalformed: () => {} });
    assert.deepEqual(values, [{ ok: true }]);
  });

  it('yields each line as soon as its chunk arrives', async () => {
    let push;
    const stream = new ReadableStream({
      start(controller) {
        push = controller;
      },
    });
    const iterator = readNdjson(stream);
    push.enqueue(encoder.encode('{"n":1}\n{"n":'));
    assert.deepEqual((await iterator.next()).value, { n: 1 });
    push.enqueue(encoder.encode('2}\n'));
    assert.deepEqual((await iterator.next()).value, { n: 2 });
    push.close();
    assert.equal((await iterator.next()).done, true);
  });

  it('cancels the stream when the reader stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode('{"n":1}\n{"n":2}\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const value of readNdjson(stream)) {
      assert.deepEqual(value, { n: 1 });
      break;
    }
    assert.equal(cancelled, true);
  });

  it('passes a stream error on', async () => {
    let pulls = 0;
    const stream = new ReadableStream({
      pull(controller) {
        pulls += 1;
        if (pulls === 1) controller.enqueue(encoder.encode('{"n":1}\n'));
        else controller.error(new TypeError('network'));
      },
    });
    const seen = [];
    await assert.rejects(async () => {
      for await (const value of readNdjson(stream)) seen.push(value);
    }, TypeError);
    assert.deepEqual(seen, [{ n: 1 }]);
  });
});
