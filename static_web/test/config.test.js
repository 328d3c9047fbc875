import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { baseOfApi, resolveApi } from '../src/config.js';

describe('the API address', () => {
  it('takes the api attribute, which names …/api', () => {
    assert.equal(baseOfApi('https://func.example.net/api'), 'https://func.example.net');
    assert.equal(baseOfApi(' https://func.example.net/api/ '), 'https://func.example.net');
  });

  it('uses the attribute before any config file', async () => {
    const resolved = await resolveApi('https://func.example.net/api', 'https://web.example/chat-widget.js');
    assert.deepEqual(resolved, { apiBaseUrl: 'https://func.example.net', refused: false });
  });

  it('refuses an attribute in clear text to another machine, and stays on the script origin', async () => {
    const resolved = await resolveApi('http://func.example.net/api', 'https://web.example/chat-widget.js');
    assert.deepEqual(resolved, { apiBaseUrl: 'https://web.example', refused: true });
  });
});
