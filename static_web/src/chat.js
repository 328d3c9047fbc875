// One conversation in one chat UI: asking, streaming the answer in, stopping, rating, keeping
// it. The UI's elements are handed in, so the full page and the floating panel share it all.

import { ChatError, answersWithoutCors, completeChat, fetchHealth, sendFeedback, streamChat } from './api.js';
import { applyStep, historyForRequest, loadTurns, saveTurns } from './conversation.js';
import { createRevealer } from './reveal.js';
import { assistantView, userView } from './view.js';

/**
 * @param {object} options
 * @param {Record<string, HTMLElement>} options.ui the elements: log, form, input, send, stop,
 *   streaming, newChat, status, empty
 * @param {Promise<{apiBaseUrl: string, refused: boolean}>} options.config where the API is
 * @param {Storage|null} options.storage where the conversation is kept, under `storageKey`
 * @param {string} options.storageKey
 * @param {(toEnd: boolean) => void} options.scroll shows the end of the conversation (always,
 *   or only when the reader is already near it)
 * @param {() => ({url: string, title: string})} options.page the page the visitor is reading
 * @param {(answerId: string) => void} options.onAnswer called when an answer finished
 */
export function createChat({ ui, config, storage, storageKey, scroll, page, onAnswer }) {
  const state = {
    apiBase: '',
    turns: loadTurns(storage, storageKey),
    /** @type {null | {controller: AbortController, revealer: ReturnType<typeof createRevealer> | null}} */
    busy: null,
    userToggled: false,
    refusedOrigin: false,
  };

  const ready = config.then((loaded) => {
    state.apiBase = loaded.apiBaseUrl;
    return loaded;
  });

  const save = () => saveTurns(storage, state.turns, storageKey);

  function viewOf(answer) {
    return assistantView(answer, { apiBase: state.apiBase, onRetry: retryFor(answer), onRate: rateFor(answer) });
  }

  function renderConversation() {
    ui.log.replaceChildren();
    for (const turn of state.turns) {
      if (turn.role === 'user') {
        ui.log.append(userView(turn));
      } else {
        const view = viewOf(turn);
        view.setOutcome();
        ui.log.append(view.root);
      }
    }
    ui.empty.hidden = state.turns.length > 0;
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
      ui.input.focus();
      ask(question.content);
    };
  }

  function rateFor(answer) {
    return async (rating) => {
      await sendFeedback({ base: state.apiBase, answerId: answer.answerId, rating });
      answer.rating = rating;
      save();
    };
  }

  function setBusy(busy) {
    ui.send.hidden = busy;
    ui.stop.hidden = !busy;
    ui.form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function handlersFor(answer, view, revealer, live) {
    return {
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
      finish({ finishReason, answerId }) {
        answer.finishReason = finishReason;
        if (answerId) answer.answerId = answerId;
      },
      error(error) {
        answer.error = errorRecord(error);
      },
      malformed() {
        answer.malformedLines = (answer.malformedLines || 0) + 1;
      },
    };
  }

  async function ask(question) {
    const text = question.trim();
    if (!text || state.busy) return;
    await ready;
    if (state.busy) return;

    const messages = historyForRequest(state.turns, text);
    const userTurn = { role: 'user', content: text };
    const answer = { role: 'assistant', content: '', steps: [], citations: [], status: 'streaming' };
    state.turns.push(userTurn, answer);
    save();

    ui.empty.hidden = true;
    const view = viewOf(answer);
    ui.log.append(userView(userTurn), view.root);
    view.setBusy(true);
    scroll(true);

    const controller = new AbortController();
    const streaming = ui.streaming.checked;
    const revealer = streaming
      ? createRevealer({
          onReveal: (shown) => {
            view.setContent(shown);
            scroll(false);
          },
        })
      : null;
    state.busy = { controller, revealer };
    setBusy(true);

    const handlers = handlersFor(answer, view, revealer, () => !controller.signal.aborted);
    try {
      const call = streaming ? streamChat : completeChat;
      const outcome = await call({ base: state.apiBase, messages, page: page(), signal: controller.signal, handlers });
      if (revealer) await revealer.finish();
      answer.status = outcome === 'finished' ? 'done' : outcome;
    } catch (error) {
      revealer?.flush();
      if (controller.signal.aborted) {
        answer.status = 'stopped';
      } else {
        answer.status = 'error';
        answer.error = await refusedOrNot(errorRecord(error));
      }
    } finally {
      revealer?.dispose();
      if (revealer) view.setStats(revealer.stats());
      if (state.busy?.controller === controller) {
        state.busy = null;
        setBusy(false);
      }
      view.setContent(answer.content);
      view.setOutcome();
      if (state.turns.includes(answer)) save();
    }
    if (answer.status === 'done') onAnswer(answer.answerId || '');
  }

  /** A network failure from a service that is up is its refusal of this site's origin. */
  async function refusedOrNot(record) {
    if (record.code !== 'network' || !(await refusesThisOrigin())) return record;
    reportRefusal();
    return { ...record, code: 'origin_not_allowed' };
  }

  /** CORS applies to another origin only; there a failure with the service up is a refusal. */
  async function refusesThisOrigin() {
    const apiOrigin = new URL(state.apiBase || location.href, location.href).origin;
    return apiOrigin !== location.origin && (await answersWithoutCors(state.apiBase));
  }

  function reportRefusal() {
    state.refusedOrigin = true;
    ui.status.textContent = `This site (${location.origin}) is not allowed to use the chat service. Its owner can add it to the service's ALLOWED_ORIGINS.`;
    console.error(
      `chat-assistant: the chat service at ${state.apiBase} refused ${location.origin} (CORS). ` +
        `Add ${location.origin} to its ALLOWED_ORIGINS.`,
    );
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
    ui.input.focus();
  }

  function send() {
    const question = ui.input.value;
    if (!question.trim() || state.busy) return;
    ui.input.value = '';
    fitInput();
    ask(question);
  }

  function fitInput() {
    ui.input.style.height = 'auto';
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  ui.input.addEventListener('input', fitInput);
  ui.stop.addEventListener('click', () => {
    stop();
    ui.input.focus();
  });
  ui.newChat.addEventListener('click', newChat);
  ui.streaming.addEventListener('change', () => {
    state.userToggled = true;
  });

  renderConversation();

  /** Asks the service how it runs; says what the visitor should know. */
  async function describeService() {
    const loaded = await ready;
    // Sources with relative addresses belong to the API: show saved ones against its base.
    if (state.turns.length && !state.busy) renderConversation();
    const health = await fetchHealth(loaded.apiBaseUrl);
    if (health && typeof health.streaming === 'boolean' && !state.userToggled) ui.streaming.checked = health.streaming;
    if (!health && (await refusesThisOrigin())) reportRefusal();
    else ui.status.textContent = serviceWords(health);
    if (loaded.refused) {
      ui.status.textContent =
        'The configured chat service address is not secure (it is not https://), so this page does not use it.';
    }
  }

  return {
    ask,
    stop,
    save,
    describeService,
    isBusy: () => Boolean(state.busy),
    /** Stops an answer being written, if one is: true when it did. */
    stopIfBusy() {
      if (!state.busy) return false;
      stop();
      return true;
    },
  };
}

function serviceWords(health) {
  if (!health) return 'The chat service is not answering right now.';
  const mode = typeof health.mode === 'string' ? health.mode : '';
  return mode === 'offline' ? 'Offline mode: no language model is configured, so answers quote the bundled documentation.' : '';
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
