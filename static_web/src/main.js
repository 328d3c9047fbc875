import './style.css';

import { ChatError, completeChat, fetchHealth, safeApiBase, streamChat } from './api.js';
import { applyStep, historyForRequest, loadTurns, saveTurns } from './conversation.js';
import { createRevealer } from './reveal.js';
import { assistantView, userView } from './view.js';

const storage = (() => {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
})();

const $ = (id) => document.getElementById(id);
const log = $('log');
const form = $('ask');
const input = $('chat-input');
const sendButton = $('send');
const stopButton = $('stop');
const toggle = $('streaming');
const newChatButton = $('new-chat');
const serviceStatus = $('service-status');
const emptyState = $('empty');

const state = {
  apiBase: '',
  turns: loadTurns(storage),
  /** @type {null | {controller: AbortController, revealer: ReturnType<typeof createRevealer> | null}} */
  busy: null,
  userToggled: false,
};

const configReady = loadConfig().then((config) => {
  state.apiBase = config.apiBaseUrl;
  return config;
});

/**
 * The runtime config written at deploy time; empty base = the API is on this origin. A base the
 * page refuses (http:// to another machine) is not used: the page stays on its own origin.
 */
async function loadConfig() {
  try {
    const response = await fetch(new URL('config.json', document.baseURI), { cache: 'no-cache' });
    if (!response.ok) return { apiBaseUrl: '', refused: false };
    const config = await response.json();
    const base = safeApiBase(config?.apiBaseUrl);
    return { apiBaseUrl: base ?? '', refused: base === null };
  } catch {
    return { apiBaseUrl: '', refused: false };
  }
}

function save() {
  saveTurns(storage, state.turns);
}

function renderConversation() {
  log.replaceChildren();
  for (let i = 0; i < state.turns.length; i += 1) {
    const turn = state.turns[i];
    if (turn.role === 'user') {
      log.append(userView(turn));
    } else {
      const view = assistantView(turn, { apiBase: state.apiBase, onRetry: retryFor(turn) });
      view.setOutcome();
      log.append(view.root);
    }
  }
  emptyState.hidden = state.turns.length > 0;
}

function retryFor(answer) {
  return () => {
    if (state.busy) return;
    const index = state.turns.indexOf(answer);
    const question = state.turns[index - 1];
    if (index < 1 || question?.role !== 'user') return;
    state.turns.splice(index - 1, 2);
    save();
    renderConversation();
    input.focus();
    ask(question.content);
  };
}

function setBusy(busy) {
  sendButton.hidden = busy;
  stopButton.hidden = !busy;
  form.setAttribute('aria-busy', busy ? 'true' : 'false');
}

function scrollToEnd() {
  const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 160;
  if (nearBottom) window.scrollTo({ top: document.body.scrollHeight });
}

async function ask(question) {
  const text = question.trim();
  if (!text || state.busy) return;
  await configReady;
  if (state.busy) return;

  const messages = historyForRequest(state.turns, text);
  const userTurn = { role: 'user', content: text };
  const answer = { role: 'assistant', content: '', steps: [], citations: [], status: 'streaming' };
  state.turns.push(userTurn, answer);
  save();

  emptyState.hidden = true;
  const view = assistantView(answer, { apiBase: state.apiBase, onRetry: retryFor(answer) });
  log.append(userView(userTurn), view.root);
  view.setBusy(true);
  window.scrollTo({ top: document.body.scrollHeight });

  const controller = new AbortController();
  const streaming = toggle.checked;
  const revealer = streaming
    ? createRevealer({
        onReveal: (shown) => {
          view.setContent(shown);
          scrollToEnd();
        },
      })
    : null;
  state.busy = { controller, revealer };
  setBusy(true);

  const live = () => !controller.signal.aborted;
  const handlers = {
    step(step) {
      if (!live()) return;
      const { index, grown } = applyStep(answer.steps, step);
      if (grown) view.growStep(index, answer.steps[index].detail);
      else view.addStep(answer.steps[index]);
    },
    citations(list) {
      if (!live()) return;
      const byId = new Map(answer.citations.map((c) => [c.id, c]));
      for (const c of list) byId.set(c.id, c);
      answer.citations = [...byId.values()];
      view.setCitations(answer.citations);
    },
    content(piece) {
      if (!live()) return;
      if (!answer.content) view.collapseSteps(); // the answer has begun: the steps step aside
      answer.content += piece;
      if (revealer) revealer.push(piece);
      else view.setContent(answer.content);
    },
    finish({ finishReason }) {
      answer.finishReason = finishReason;
    },
    error(error) {
      answer.error = errorRecord(error);
    },
    malformed() {
      answer.malformedLines = (answer.malformedLines || 0) + 1;
    },
  };

  try {
    const call = streaming ? streamChat : completeChat;
    const outcome = await call({ base: state.apiBase, messages, signal: controller.signal, handlers });
    if (revealer) await revealer.finish();
    answer.status = outcome === 'finished' ? 'done' : outcome;
  } catch (error) {
    revealer?.flush();
    if (controller.signal.aborted) {
      answer.status = 'stopped';
    } else {
      answer.status = 'error';
      answer.error = errorRecord(error);
    }
  } finally {
    revealer?.dispose();
    if (revealer) {
      view.setStats(revealer.stats());
    }
    if (state.busy?.controller === controller) {
      state.busy = null;
      setBusy(false);
    }
    view.setContent(answer.content);
    view.setOutcome();
    if (state.turns.includes(answer)) save();
  }
}

function errorRecord(error) {
  if (error instanceof ChatError) {
    return {
      code: error.code,
      status: error.status,
      message: error.message,
      retryAfterSeconds: error.retryAfterSeconds,
      partial: error.partial,
      ref: error.ref,
      at: Date.now(),
    };
  }
  return { code: 'unexpected', status: 0, message: '', retryAfterSeconds: null, partial: false, at: Date.now() };
}

function stop() {
  const busy = state.busy;
  if (!busy) return;
  busy.controller.abort();
  // Freeze the answer now: everything received is shown, nothing more will be.
  busy.revealer?.flush();
}

function newChat() {
  stop();
  state.busy = null;
  setBusy(false);
  state.turns = [];
  save();
  renderConversation();
  input.focus();
}

function send() {
  const question = input.value;
  if (!question.trim() || state.busy) return;
  input.value = '';
  fitInput();
  ask(question);
}

function fitInput() {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
input.addEventListener('input', fitInput);
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.busy) {
    event.preventDefault();
    stop();
    input.focus();
  }
});
stopButton.addEventListener('click', () => {
  stop();
  input.focus();
});
newChatButton.addEventListener('click', newChat);
toggle.addEventListener('change', () => {
  state.userToggled = true;
});
// Keep the latest state when the page goes away mid-answer.
window.addEventListener('pagehide', save);

renderConversation();

configReady
  .then(async (config) => {
    // Sources with relative addresses belong to the API: show saved ones against its base.
    if (config.apiBaseUrl && state.turns.length && !state.busy) renderConversation();
    const health = await fetchHealth(config.apiBaseUrl);
    if (health && typeof health.streaming === 'boolean' && !state.userToggled) toggle.checked = health.streaming;
    describeService(health);
    if (config.refused) {
      serviceStatus.textContent =
        'The configured chat service address is not secure (it is not https://), so this page does not use it.';
    }
  })
  .finally(() => {
    document.documentElement.dataset.ready = 'true';
  });

function describeService(health) {
  if (!health) {
    serviceStatus.textContent = 'The chat service is not answering right now.';
    return;
  }
  const mode = typeof health.mode === 'string' ? health.mode : '';
  serviceStatus.textContent =
    mode === 'offline'
      ? 'Offline mode: no language model is configured, so answers quote the bundled documentation.'
      : '';
}
