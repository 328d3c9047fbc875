// Builds the page into a scratch folder and checks what would be shipped.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { build } from 'vite';

import { withApiOrigin } from '../swa-config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// The widget as a site's visitors download it, Markdown and sanitising included.
const WIDGET_BUDGET_BYTES = 60 * 1024;
// What the full page adds beside the widget (its own tiny entry and stylesheet).
const PAGE_EXTRA_BYTES = 2 * 1024;
const gzipped = (file) => gzipSync(readFileSync(file), { level: 9 }).length;

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

describe('production build', () => {
  let outDir;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'chat-page-build-'));
    await build({ root, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  });

  after(() => rmSync(outDir, { recursive: true, force: true }));

  it(`ships the widget in one module under ${WIDGET_BUDGET_BYTES / 1024} KB gzipped`, (t) => {
    const widget = join(outDir, 'chat-widget.js');
    const size = gzipped(widget);
    t.diagnostic(`chat-widget.js: ${(size / 1024).toFixed(1)} KB gzipped`);
    assert.ok(size <= WIDGET_BUDGET_BYTES, `${size} bytes gzipped`);
    // One file: a page elsewhere needs CORS on it and config.json, nothing else.
    assert.doesNotMatch(readFileSync(widget, 'utf8'), /(?:from|import)\s*\(?\s*["'`]\.{0,2}\//);
  });

  it(`adds under ${PAGE_EXTRA_BYTES / 1024} KB beside the widget for the full page`, () => {
    const others = filesUnder(outDir).filter((file) => /\.(m?js|css)$/.test(file) && !file.endsWith('chat-widget.js'));
    const size = others.reduce((sum, file) => sum + gzipped(file), 0);
    assert.ok(size < PAGE_EXTRA_BYTES, `${size} bytes gzipped`);
  });

  it('has no inline script or style, so the Content-Security-Policy can forbid them', () => {
    for (const page of ['index.html', '404.html']) {
      const html = readFileSync(join(outDir, page), 'utf8');
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\bsrc=/, `${page}: ${tag}`);
      assert.doesNotMatch(html, /<style\b/i, page);
      assert.doesNotMatch(html, /\sstyle=/i, page);
      assert.doesNotMatch(html, /\son[a-z]+=/i, page);
    }
  });

  it('ships the runtime config, the Static Web Apps config and the 404 page', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')), { apiBaseUrl: '' });
    const swa = JSON.parse(readFileSync(join(outDir, 'staticwebapp.config.json'), 'utf8'));
    assert.deepEqual(swa, JSON.parse(readFileSync(join(root, 'staticwebapp.template.json'), 'utf8')));
    assert.match(readFileSync(join(outDir, '404.html'), 'utf8'), /Page not found/);
  });

  it('names every asset by its content hash, so assets can be cached for good', () => {
    const assets = readdirSync(join(outDir, 'assets'));
    assert.ok(assets.length > 0);
    for (const name of assets) assert.match(name, /-[\w-]{8}\.(js|css)$/, name);
  });

  it('is the widget in its full-page form', () => {
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    assert.match(html, /<chat-assistant mode="inline"><\/chat-assistant>/);
  });

  it('keeps the test hooks of the page and the widget', () => {
    const widget = readFileSync(join(outDir, 'chat-widget.js'), 'utf8');
    for (const hook of ['chat-input', 'send', 'stop', 'streaming-toggle', 'launcher', 'panel', 'new-chat']) {
      assert.match(widget, new RegExp(`data-testid="${hook}"`), hook);
    }
    for (const hook of ['feedback-up', 'feedback-down', 'copy', 'message-assistant', 'citation']) {
      assert.ok(widget.includes(`'${hook}'`) || widget.includes(`"${hook}"`) || widget.includes(`\`${hook}\``), hook);
    }
  });
});

describe('staticwebapp.template.json', () => {
  const config = JSON.parse(readFileSync(join(root, 'staticwebapp.template.json'), 'utf8'));
  const headers = config.globalHeaders;
  const csp = Object.fromEntries(
    headers['Content-Security-Policy'].split(';').map((part) => {
      const [name, ...values] = part.trim().split(/\s+/);
      return [name, values];
    }),
  );

  it('sets the security headers', () => {
    assert.equal(headers['X-Content-Type-Options'], 'nosniff');
    assert.ok(headers['Referrer-Policy']);
    assert.deepEqual(csp['default-src'], ["'none'"]);
    assert.deepEqual(csp['script-src'], ["'self'"]);
    assert.deepEqual(csp['style-src'], ["'self'"]);
    assert.deepEqual(csp['frame-ancestors'], ["'none'"]);
    assert.deepEqual(csp['object-src'], ["'none'"]);
    assert.deepEqual(csp['connect-src'], ["'self'"]); // the API's origin is added at build time
    assert.match(headers['Strict-Transport-Security'], /max-age=\d{8,}/);
    for (const values of Object.values(csp)) {
      assert.ok(!values.includes("'unsafe-inline'") && !values.includes("'unsafe-eval'") && !values.includes('*'));
    }
  });

  it('caches hashed assets for good and the rest not at all', () => {
    const route = (path) => config.routes.find((r) => r.route === path);
    assert.match(route('/assets/*').headers['Cache-Control'], /max-age=31536000.*immutable/);
    assert.match(route('/config.json').headers['Cache-Control'], /no-cache/);
    assert.match(route('/chat-widget.js').headers['Cache-Control'], /no-cache/);
    assert.match(route('/index.html').headers['Cache-Control'], /no-cache/);
  });

  it('lets pages of any site load the widget and its config', () => {
    const route = (path) => config.routes.find((r) => r.route === path);
    for (const path of ['/chat-widget.js', '/config.json', '/assets/*']) {
      assert.equal(route(path).headers['Access-Control-Allow-Origin'], '*', path);
    }
  });

  it('answers unknown addresses with the 404 page', () => {
    assert.deepEqual(config.responseOverrides['404'], { rewrite: '/404.html', statusCode: 404 });
  });
});

describe('the shipped Static Web Apps config', () => {
  const config = JSON.parse(readFileSync(join(root, 'staticwebapp.template.json'), 'utf8'));
  const connectSrc = (c) =>
    c.globalHeaders['Content-Security-Policy']
      .split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith('connect-src'));

  it("lets the page connect to the deployed API's origin and nowhere else", () => {
    const shipped = withApiOrigin(config, 'https://func-chat.example.net/');
    assert.equal(connectSrc(shipped), "connect-src 'self' https://func-chat.example.net");
    assert.doesNotMatch(shipped.globalHeaders['Content-Security-Policy'], /\*/);
  });

  it('keeps the page on its own origin when no API base is set', () => {
    assert.equal(connectSrc(withApiOrigin(config, '')), "connect-src 'self'");
  });

  it('refuses an API base that is not https://', () => {
    assert.throws(() => withApiOrigin(config, 'http://func-chat.example.net'), /https/);
  });
});
