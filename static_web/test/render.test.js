import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { citationHref, isSafeHref, splitThought } from '../src/render.js';

describe('isSafeHref', () => {
  it('allows web and mail addresses and fragments', () => {
    for (const href of ['https://example.org/a?b=c', 'http://example.org', 'mailto:someone@example.org', '#cite-1', '/docs/page']) {
      assert.equal(isSafeHref(href, 'https://chat.example/'), true, href);
    }
  });

  it('refuses script and data addresses, however they are dressed', () => {
    for (const href of [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'java\nscript:alert(1)',
      '\u0001javascript:alert(1)',
      'vbscript:msgbox(1)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
      '',
      null,
    ]) {
      assert.equal(isSafeHref(href, 'https://chat.example/'), false, String(href));
    }
  });
});

describe('citationHref', () => {
  it('resolves a relative source address against the API base', () => {
    assert.equal(citationHref('/docs/ndjson.md', 'https://func.example.net'), 'https://func.example.net/docs/ndjson.md');
    assert.equal(citationHref('https://example.org/x', ''), 'https://example.org/x');
  });

  it('drops what is not a web address', () => {
    assert.equal(citationHref('javascript:alert(1)', 'https://a.example'), '');
    assert.equal(citationHref('', 'https://a.example'), '');
    assert.equal(citationHref(undefined, 'https://a.example'), '');
  });
});

describe('splitThought', () => {
  it('takes the bold heading off a thought', () => {
    assert.deepEqual(splitThought('**Reading the question**\n\nThe user asks.'), {
      heading: 'Reading the question',
      body: 'The user asks.',
    });
  });

  it('has no heading until the heading is closed, or when there is none', () => {
    assert.deepEqual(splitThought('**Reading the'), { heading: null, body: '**Reading the' });
    assert.deepEqual(splitThought('Plain thinking, **bold** later.'), { heading: null, body: 'Plain thinking, **bold** later.' });
  });
});
