// Model output to safe DOM: Markdown (marked), then DOMPurify, then citation markers as links.
//
// Model text is untrusted. Raw HTML in it is shown as text, never interpreted; the Markdown
// output is sanitised with an allow-list; links keep only web and mail addresses and open in a
// new tab without access to this page; images become plain links, so an answer cannot make
// the browser fetch an address by itself.

import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** True for an address a link in an answer may point to. */
export function isSafeHref(href, base = globalThis.location?.href ?? 'http://localhost/') {
  if (typeof href !== 'string') return false;
  const value = href.trim();
  if (!value) return false;
  if (value.startsWith('#')) return true;
  // Control characters and whitespace inside a scheme are how filters get tricked.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return false;
  try {
    return SAFE_PROTOCOLS.has(new URL(value, base).protocol);
  } catch {
    return false;
  }
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);
}

const markdown = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html(token) {
      return escapeHtml(token.text ?? token.raw ?? '');
    },
    image(token) {
      const label = escapeHtml(token.text || token.title || token.href || 'image');
      return isSafeHref(token.href) ? `<a href="${escapeHtml(token.href)}">${label}</a>` : label;
    },
  },
});

const ALLOWED_TAGS = [
  'a', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'li', 'ol',
  'p', 'pre', 'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul',
];
const ALLOWED_ATTR = ['href', 'title', 'start', 'class', 'align'];

let purifier = null;

function getPurifier() {
  if (purifier) return purifier;
  purifier = DOMPurify(window);
  purifier.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName === 'A') {
      const href = node.getAttribute('href');
      if (href === null || !isSafeHref(href)) {
        node.removeAttribute('href');
      } else if (!href.trim().startsWith('#')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    }
    if (node.hasAttribute?.('class')) {
      // Only the code-language class marked writes survives.
      const kept = [...node.classList].filter((name) => /^language-[\w-]+$/.test(name));
      if (kept.length) node.setAttribute('class', kept.join(' '));
      else node.removeAttribute('class');
    }
  });
  return purifier;
}

/**
 * Renders answer text into a sanitised fragment.
 * @param {string} text Markdown from the model
 * @param {{citationIds?: Iterable<string>, anchorFor?: (id: string) => string}} [options]
 * @returns {DocumentFragment}
 */
export function renderAnswer(text, { citationIds = [], anchorFor = (id) => `cite-${id}` } = {}) {
  const html = markdown.parse(text || '');
  const fragment = getPurifier().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  const ids = new Set([...citationIds].map(String));
  if (ids.size) linkCitations(fragment, ids, anchorFor);
  return fragment;
}

const MARKER = /\[(\w{1,8})\]/g;

/** Turns `[1]` in text (not in code or links) into a link to source 1 beside the answer. */
function linkCitations(root, ids, anchorFor) {
  const doc = root.ownerDocument;
  const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let p = node.parentNode; p && p !== root; p = p.parentNode) {
        if (p.nodeName === 'A' || p.nodeName === 'CODE' || p.nodeName === 'PRE') return NodeFilter.FILTER_REJECT;
      }
      return node.nodeValue.includes('[') ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
    },
  });
  const textNodes = [];
  while (walker.nextNode()) textNodes.push(walker.currentNode);
  for (const node of textNodes) {
    const value = node.nodeValue;
    let last = 0;
    let changed = false;
    const parts = doc.createDocumentFragment();
    for (const match of value.matchAll(MARKER)) {
      if (!ids.has(match[1])) continue;
      changed = true;
      parts.append(value.slice(last, match.index));
      const link = doc.createElement('a');
      link.className = 'cite-ref';
      link.href = `#${anchorFor(match[1])}`;
      link.textContent = `[${match[1]}]`;
      link.setAttribute('aria-label', `source ${match[1]}`);
      parts.append(link);
      last = match.index + match[0].length;
    }
    if (!changed) continue;
    parts.append(value.slice(last));
    node.replaceWith(parts);
  }
}

/** A citation's address, resolved against the API base, or '' when it is not a web address. */
export function citationHref(url, base) {
  if (typeof url !== 'string' || !url.trim()) return '';
  try {
    const resolved = new URL(url.trim(), base || globalThis.location?.href || 'http://localhost/');
    return resolved.protocol === 'http:' || resolved.protocol === 'https:' ? resolved.href : '';
  } catch {
    return '';
  }
}

/**
 * A thought of the model's, as its summary writes it: a bold heading (`**Planning**`), then
 * the text. The heading is null until its closing `**` has arrived.
 * @param {string} text
 * @returns {{heading: string|null, body: string}}
 */
export function splitThought(text) {
  const found = /^\s*\*\*([^*\n]+)\*\*[ \t]*\n*/.exec(text);
  return found ? { heading: found[1].trim(), body: text.slice(found[0].length) } : { heading: null, body: text };
}
