import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { matchesShortcut, parseShortcut } from '../src/shortcut.js';

const key = (k, mods = {}) => ({ key: k, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...mods });

describe('parseShortcut', () => {
  it('reads mod as Ctrl, or as Cmd on a Mac', () => {
    assert.deepEqual(parseShortcut('mod+k', false), { key: 'k', ctrl: true, alt: false, shift: false, meta: false });
    assert.deepEqual(parseShortcut('mod+k', true), { key: 'k', ctrl: false, alt: false, shift: false, meta: true });
  });

  it('turns the shortcut off with none or nothing', () => {
    assert.equal(parseShortcut('none'), null);
    assert.equal(parseShortcut(''), null);
  });

  it('refuses a modifier it does not know', () => {
    assert.equal(parseShortcut('hyper+k'), null);
  });
});

describe('matchesShortcut', () => {
  const ctrlK = parseShortcut('ctrl+k');

  it('matches the key with exactly its modifiers', () => {
    assert.equal(matchesShortcut(key('k', { ctrlKey: true }), ctrlK), true);
    assert.equal(matchesShortcut(key('K', { ctrlKey: true }), ctrlK), true);
    assert.equal(matchesShortcut(key('k'), ctrlK), false);
    assert.equal(matchesShortcut(key('k', { ctrlKey: true, shiftKey: true }), ctrlK), false);
    assert.equal(matchesShortcut(key('j', { ctrlKey: true }), ctrlK), false);
  });

  it('matches a shortcut with several modifiers', () => {
    assert.equal(matchesShortcut(key('/', { altKey: true, shiftKey: true }), parseShortcut('alt+shift+/')), true);
  });
});
