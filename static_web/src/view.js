// DOM for one turn of the conversation. Only text and sanitised fragments go into the page.

import { describeError } from './conversation.js';
import { citationHref, renderAnswer, splitThought } from './render.js';

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'className') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children);
  return node;
}

let viewCount = 0;

const THUMB = 'M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6V3a1.5 1.5 0 0 0-.4-1L13.2 1 6.6 7.6A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z';
const COPY = 'M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm0 16H8V7h11v14z';
const SVG = 'http://www.w3.org/2000/svg';

/** A small icon from one path; turned upside down for a thumb down. */
function icon(path, flipped = false) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  if (flipped) svg.setAttribute('transform', 'rotate(180)');
  const shape = document.createElementNS(SVG, 'path');
  shape.setAttribute('d', path);
  svg.append(shape);
  return svg;
}

export function userView(turn) {
  return el('article', { className: 'msg msg-user', 'data-testid': 'message-user' }, [
    el('h2', { className: 'visually-hidden', text: 'You asked' }),
    el('p', { className: 'msg-text', text: turn.content }),
  ]);
}

/**
 * The view of one answer. `update*` methods are cheap to call often.
 * @param {object} turn the assistant turn (content, steps, citations, status, error)
 * @param {{apiBase: string, onRetry?: () => void, onRate?: (rating: 'up'|'down') => Promise<void>}} options
 *   `onRate`: sends a rating of the answer (it has an id to rate it by)
 */
export function assistantView(turn, { apiBase, onRetry, onRate }) {
  viewCount += 1;
  const key = `a${viewCount}`;
  const anchorFor = (id) => `cite-${key}-${String(id).replace(/[^\w-]/g, '_')}`;

  const stepsList = el('ol', { className: 'steps-list' });
  const stepsSummary = el('summary', { text: 'Working on it…' });
  const steps = el('details', { className: 'steps', open: true, hidden: true }, [stepsSummary, stepsList]);
  const body = el('div', { className: 'msg-text markdown' });
  const citationsList = el('ol', { className: 'citations-list' });
  const citations = el('aside', { className: 'citations', hidden: true, 'aria-label': 'Sources' }, [
    el('h3', { className: 'citations-title', text: 'Sources' }),
    citationsList,
  ]);
  const footer = el('div', { className: 'msg-footer' });
  const root = el(
    'article',
    { className: 'msg msg-assistant', 'data-testid': 'message-assistant', 'aria-busy': 'false' },
    [el('h2', { className: 'visually-hidden', text: 'Answer' }), steps, el('div', { className: 'msg-main' }, [body, footer]), citations],
  );

  let citationIds = [];
  let lastShown = null;

  // A marker such as [1] goes to its source beside the answer. Inside a shadow root the
  // browser does not follow `#id` links, so this does.
  body.addEventListener('click', (event) => {
    const marker = event.target instanceof Element ? event.target.closest('a.cite-ref') : null;
    if (!marker) return;
    event.preventDefault();
    const source = root.querySelector(`[id="${marker.hash.slice(1)}"]`);
    source?.focus();
    source?.scrollIntoView({ block: 'nearest' });
  });

  function setContent(text) {
    if (text === lastShown) return;
    lastShown = text;
    body.replaceChildren(renderAnswer(text, { citationIds, anchorFor }));
  }

  const stepDetails = [];

  function addStep(step) {
    steps.hidden = false;
    const thinking = Boolean(step.id);
    const item = el('li', { className: thinking ? 'step step-thinking' : 'step', 'data-testid': 'step' }, [
      el('span', { className: 'step-title', text: step.title }),
    ]);
    const detail = el('span', { className: 'step-detail', text: step.detail });
    if (thinking) showThought(detail, step.detail);
    if (thinking || step.detail) item.append(' ', detail);
    stepDetails.push(detail);
    stepsList.append(item);
    if (steps.open) stepsSummary.textContent = thinking ? 'Thinking…' : 'Working on it…';
  }

  /** A thought's text so far: its bold heading, if it has one yet, then the rest as written. */
  function showThought(detail, text) {
    const { heading, body } = splitThought(text);
    if (heading === null) detail.textContent = text;
    else detail.replaceChildren(el('strong', { className: 'thought-heading', text: heading }), document.createTextNode(body));
  }

  /** A growing step's whole detail so far (the model's thinking, as it streams). */
  function growStep(index, text) {
    const detail = stepDetails[index];
    if (detail) showThought(detail, text);
  }

  function summariseSteps() {
    const count = turn.steps?.length || 0;
    stepsSummary.textContent = count === 1 ? '1 step' : `${count} steps`;
  }

  /** Folds the steps away once the answer starts; they stay one click away. */
  function collapseSteps() {
    steps.open = false;
    summariseSteps();
  }

  function setCitations(list) {
    citationIds = list.map((c) => c.id);
    citations.hidden = list.length === 0;
    citationsList.replaceChildren(
      ...list.map((c) => {
        const href = citationHref(c.url, apiBase);
        const label = c.title || c.url || `Source ${c.id}`;
        const item = el('li', { className: 'citation', id: anchorFor(c.id), tabindex: '-1', 'data-testid': 'citation' }, [
          el('span', { className: 'citation-number', text: `[${c.id}]` }),
          ' ',
          href
            ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: label })
            : el('span', { className: 'citation-title', text: label }),
        ]);
        if (c.snippet) item.append(el('p', { className: 'citation-snippet', text: c.snippet }));
        return item;
      }),
    );
    if (lastShown !== null) {
      const text = lastShown;
      lastShown = null;
      setContent(text);
    }
  }

  function setBusy(busy) {
    root.setAttribute('aria-busy', busy ? 'true' : 'false');
    root.classList.toggle('is-streaming', busy);
    if (busy) {
      footer.replaceChildren(el('p', { className: 'mark mark-waiting', text: 'Answering…' }));
    }
  }

  /** Shows how the answer ended: complete, stopped, cut or failed. */
  function setOutcome() {
    setBusy(false);
    collapseSteps();
    const marks = [];
    if (turn.status === 'stopped') {
      marks.push(el('p', { className: 'mark mark-stopped', text: 'Stopped. The answer above is incomplete.' }));
    } else if (turn.status === 'cut') {
      marks.push(
        errorBox({
          title: 'The answer was cut off before it finished.',
          detail: 'The connection ended early. Please try again.',
        }),
      );
    } else if (turn.status === 'error' && turn.error) {
      marks.push(errorBox({ ...describeError(turn.error), ref: turn.error.ref }));
    } else if (turn.finishReason === 'length') {
      marks.push(el('p', { className: 'mark mark-length', text: 'The answer was cut off: it reached its length limit.' }));
    } else if (turn.finishReason === 'content_filter') {
      marks.push(el('p', { className: 'mark', text: 'The rest of the answer was withheld by the content filter.' }));
    }
    if (turn.status === 'done' && turn.content) marks.push(actions());
    footer.replaceChildren(...marks);
  }

  /** Thumbs up and down (when the answer has an id to rate it by) and copy. */
  function actions() {
    const status = el('span', { className: 'action-status', role: 'status' });
    const bar = el('div', { className: 'msg-actions', part: 'actions' });
    const thumbs = [];
    if (turn.answerId && onRate) {
      for (const [rating, label, testid] of [
        ['up', 'Helpful', 'feedback-up'],
        ['down', 'Not helpful', 'feedback-down'],
      ]) {
        const button = el('button', {
          type: 'button',
          'data-testid': testid,
          'aria-label': label,
          title: label,
          'aria-pressed': turn.rating === rating ? 'true' : 'false',
        }, [icon(THUMB, rating === 'down')]);
        button.addEventListener('click', async () => {
          try {
            await onRate(rating);
            for (const other of thumbs) other.setAttribute('aria-pressed', String(other === button));
            status.textContent = 'Thanks for the feedback.';
          } catch {
            status.textContent = 'The feedback could not be sent.';
          }
        });
        thumbs.push(button);
      }
    }
    const copy = el('button', { type: 'button', 'data-testid': 'copy', 'aria-label': 'Copy the answer', title: 'Copy' }, [icon(COPY)]);
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(turn.content);
        status.textContent = 'Copied.';
      } catch {
        status.textContent = 'Copying is not allowed here.';
      }
    });
    bar.append(...thumbs, copy, status);
    return bar;
  }

  function errorBox({ title, detail, ref = '' }) {
    const box = el('div', { className: 'error', role: 'alert', 'data-testid': 'error' }, [
      el('p', { className: 'error-title', text: title }),
    ]);
    if (detail) box.append(el('p', { className: 'error-detail', text: detail }));
    // Quoted when reporting the problem: it finds this request's trace and log lines.
    if (ref) box.append(el('p', { className: 'error-ref', 'data-testid': 'error-ref', text: `Reference: ${ref}` }));
    if (onRetry) {
      const retry = el('button', { type: 'button', className: 'button-quiet', text: 'Try again' });
      retry.addEventListener('click', onRetry);
      box.append(retry);
    }
    return box;
  }

  function setStats(stats) {
    if (!stats) return;
    root.dataset.revealChunks = String(stats.chunks);
    root.dataset.revealFrames = String(stats.frames);
    root.dataset.revealMaxLagMs = stats.maxLagMs.toFixed(1);
    root.dataset.revealP95LagMs = stats.p95LagMs.toFixed(1);
  }

  // Fill from a saved turn.
  for (const step of turn.steps || []) addStep(step);
  if (turn.citations?.length) setCitations(turn.citations);
  setContent(turn.content || '');

  return { root, setContent, addStep, growStep, collapseSteps, setCitations, setBusy, setOutcome, setStats };
}
