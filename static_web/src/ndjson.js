// Reads a stream of newline-delimited JSON (NDJSON) and yields one value per line.
//
// A line that is not valid JSON is reported through `onMalformed` and skipped: one bad line
// must not lose the lines after it. Lines may be split across network chunks at any byte,
// including inside a multi-byte UTF-8 character; the decoder keeps the partial bytes.

/**
 * @param {ReadableStream<Uint8Array>} stream
 * @param {{ onMalformed?: (line: string, error: unknown) => void }} [options]
 * @returns {AsyncGenerator<unknown>}
 */
export async function* readNdjson(stream, { onMalformed } = {}) {
  const reader = stream.getReader();
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      pending += decoder.decode(value, { stream: true });
      let start = 0;
      let newline = pending.indexOf('\n', start);
      while (newline !== -1) {
        const parsed = parseLine(pending.slice(start, newline), onMalformed);
        if (parsed !== SKIP) yield parsed;
        start = newline + 1;
        newline = pending.indexOf('\n', start);
      }
      pending = pending.slice(start);
    }
    pending += decoder.decode();
    const parsed = parseLine(pending, onMalformed);
    if (parsed !== SKIP) yield parsed;
  } finally {
    // A consumer that stops early (break, an exception) closes the connection too.
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

const SKIP = Symbol('skip');

function parseLine(raw, onMalformed) {
  const line = raw.trim();
  if (!line) return SKIP;
  try {
    return JSON.parse(line);
  } catch (error) {
    onMalformed?.(line, error);
    return SKIP;
  }
}
