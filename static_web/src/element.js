// <chat-assistant>: the chat UI in an open shadow root, as a floating launcher and panel or as
// the full page (mode="inline"). Attributes, methods and events: see docs/embedding.md.

import themeCss from './theme.css?inline';
import chatCss from './chat.css?inline';
import { createChat } from './chat.js';
import { resolveApi } from './config.js';
import { matchesShortcut, parseShortcut } from './shortcut.js';
import { chatMarkup } from './template.js';

const PAGE_KEY = 'chat.conversation.v1';
const TAB_KEY = 'chat-assistant.conversation.v1';
const OPEN_KEY = 'chat-assistant.open';
const DEFAULTS = {
  title: 'Ask the docs',
  placeholder: 'Ask a question…',
  welcome: 'Answers appear word by word as they are written, with the steps taken and the sources used.',
};

let sheet = null;

/** One constructed stylesheet for every element: no <style>, so a strict host CSP allows it. */
function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(`${themeCss}\n${chatCss}`);
  }
  return sheet;
}

function storageOf(name) {
  try {
    return window[name];
  } catch {
    return null;
  }
}

export function defineChatAssistant(scriptUrl) {
  if (customElements.get('chat-assistant')) return;

  class ChatAssistant extends HTMLElement {
    #chat = null;
    #ui = null;
    #inline = null;
    #returnFocus = null;
    #onKey = (event) => this.#key(event);
    #onClick = (event) => this.#attached(event);
    #dark = window.matchMedia('(prefers-color-scheme: dark)');
    #onScheme = () => this.#applyTheme();

    // Texts and theme follow their attributes; `mode` and `api` are read once, when the
    // element is first connected; `shortcut` and `attach` whenever they are used.
    static observedAttributes = ['theme', 'title', 'placeholder', 'welcome'];

    attributeChangedCallback() {
      if (!this.#ui) return;
      this.#applyTexts();
      this.#applyTheme();
    }

    connectedCallback() {
      if (!this.#ui) this.#build();
      document.addEventListener('keydown', this.#onKey);
      document.addEventListener('click', this.#onClick, true);
      this.#dark.addEventListener('change', this.#onScheme);
    }

    disconnectedCallback() {
      document.removeEventListener('keydown', this.#onKey);
      document.removeEventListener('click', this.#onClick, true);
      this.#dark.removeEventListener('change', this.#onScheme);
      this.#chat?.save();
    }

    /** The full-page form (`mode="inline"`), as it was when the element was built. */
    get inline() {
      return this.#inline ?? this.getAttribute('mode') === 'inline';
    }

    get isOpen() {
      return this.inline || !this.#ui.panel.hidden;
    }

    /** Opens the panel and puts the cursor in the question box. */
    open() {
      if (!this.#ui) return;
      if (!this.isOpen) {
        // Focus inside this element (the launcher) shows as the element itself here.
        const active = document.activeElement;
        this.#returnFocus ??= active && active !== document.body && active !== this ? active : null;
        this.#setOpen(true);
      }
      this.#ui.input.focus();
    }

    /** Closes the panel; focus goes back to where it was before it opened. */
    close() {
      if (!this.#ui || this.inline || !this.isOpen) return;
      this.#setOpen(false);
      const back = this.#returnFocus?.isConnected ? this.#returnFocus : this.#ui.launcher;
      this.#returnFocus = null;
      back.focus();
    }

    /** Opens the assistant and asks a question, as if typed. */
    ask(text) {
      this.open();
      return this.#chat.ask(String(text ?? ''));
    }

    #setOpen(open) {
      this.#ui.panel.hidden = !open;
      this.#ui.launcher.setAttribute('aria-expanded', String(open));
      storageOf('sessionStorage')?.setItem(OPEN_KEY, open ? '1' : '0');
      this.dispatchEvent(new CustomEvent(open ? 'chat-open' : 'chat-close', { bubbles: true, composed: true }));
    }

    #build() {
      this.#inline = this.getAttribute('mode') === 'inline';
      const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
      root.adoptedStyleSheets = [styles()];
      root.innerHTML = chatMarkup(this.inline);
      const $ = (id) => root.getElementById(id);
      const ui = {
        root: root.querySelector('.root'),
        panel: $('panel'),
        launcher: root.querySelector('.launcher'),
        log: $('log'),
        form: $('ask'),
        input: $('chat-input'),
        send: $('send'),
        stop: $('stop'),
        streaming: $('streaming'),
        newChat: $('new-chat'),
        status: $('service-status'),
        empty: $('empty'),
        conversation: $('conversation'),
      };
      this.#ui = ui;
      this.#applyTexts();
      this.#applyTheme();
      this.#chat = createChat({
        ui,
        config: resolveApi(this.getAttribute('api'), scriptUrl),
        storage: storageOf(this.inline ? 'localStorage' : 'sessionStorage'),
        storageKey: this.inline ? PAGE_KEY : TAB_KEY,
        scroll: (always) => this.#scroll(always),
        page: () => ({ url: location.href.split('#')[0], title: document.title }),
        onAnswer: (answerId) =>
          this.dispatchEvent(new CustomEvent('chat-answer', { bubbles: true, composed: true, detail: { answer_id: answerId } })),
      });
      $('skip')?.addEventListener('click', (event) => {
        event.preventDefault();
        ui.input.focus();
      });
      if (ui.launcher) ui.launcher.addEventListener('click', () => (this.isOpen ? this.close() : this.open()));
      $('close')?.addEventListener('click', () => this.close());
      window.addEventListener('pagehide', () => this.#chat.save());
      if (!this.inline && storageOf('sessionStorage')?.getItem(OPEN_KEY) === '1') this.#setOpen(true);
      this.#chat.describeService().finally(() => {
        this.dataset.ready = 'true';
        if (this.inline) document.documentElement.dataset.ready = 'true';
      });
    }

    #applyTexts() {
      const text = (name) => this.getAttribute(name) || DEFAULTS[name];
      const root = this.shadowRoot;
      root.getElementById('title').textContent = this.inline ? this.getAttribute('title') || 'Chat' : text('title');
      root.getElementById('welcome').textContent = text('welcome');
      this.#ui.input.placeholder = text('placeholder');
      const label = root.getElementById('launcher-label');
      if (label) label.textContent = text('title');
    }

    #applyTheme() {
      const theme = this.getAttribute('theme');
      const dark = theme === 'dark' || (theme !== 'light' && this.#dark.matches);
      this.#ui.root.classList.toggle('theme-dark', dark);
    }

    #scroll(always) {
      if (this.inline) {
        const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 160;
        if (always || nearBottom) window.scrollTo({ top: document.body.scrollHeight });
        return;
      }
      const box = this.#ui.conversation;
      if (always || box.scrollTop + box.clientHeight >= box.scrollHeight - 160) box.scrollTop = box.scrollHeight;
    }

    #key(event) {
      if (event.defaultPrevented) return;
      if (event.key === 'Escape') this.#escape(event);
      else this.#shortcut(event);
    }

    /** Escape stops an answer being written; with none, it closes the panel. */
    #escape(event) {
      if (!this.isOpen) return;
      if (this.#chat.stopIfBusy()) {
        event.preventDefault();
        this.#ui.input.focus();
      } else if (!this.inline && this.isOpen) {
        event.preventDefault();
        this.close();
      }
    }

    #shortcut(event) {
      const shortcut = parseShortcut(this.getAttribute('shortcut') ?? 'mod+k');
      if (this.inline || !shortcut || !matchesShortcut(event, shortcut)) return;
      event.preventDefault();
      this.open();
    }

    #attached(event) {
      const selector = this.getAttribute('attach');
      if (!selector || !(event.target instanceof Element)) return;
      let match = null;
      try {
        match = event.target.closest(selector);
      } catch {
        return; // not a selector: nothing to attach to
      }
      if (!match) return;
      event.preventDefault();
      this.#returnFocus = match;
      this.open();
    }
  }

  customElements.define('chat-assistant', ChatAssistant);
}
