// The chat UI's markup inside the element's shadow root: the same for both forms, with a
// launcher and a close button in the floating one and a skip link in the full page.

const CHAT_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';

/**
 * The markup of the UI; `inline` is the full-page form. No text from outside goes in here.
 * The empty `title` keeps a `title` attribute on the element from showing as a tooltip.
 */
export function chatMarkup(inline) {
  const [outer, bar, foot, heading] = inline ? ['main', 'header', 'footer', 'h1'] : ['div', 'div', 'div', 'h2'];
  return `
<div class="root ${inline ? 'mode-inline' : 'mode-floating'}" part="root" title="">
  ${inline ? '' : `<button type="button" class="launcher" part="launcher" data-testid="launcher" aria-expanded="false" aria-controls="panel">${CHAT_ICON}<span id="launcher-label"></span></button>`}
  <div class="panel" part="panel" id="panel" data-testid="panel" ${inline ? '' : 'role="dialog" aria-labelledby="title" hidden'}>
    <${bar} class="top" part="header">
      ${inline ? '<a class="skip-link" id="skip" href="#chat-input">Skip to the question box</a>' : ''}
      <div class="top-inner">
        <${heading} class="title" id="title"></${heading}>
        <div class="controls">
          <label class="switch">
            <input type="checkbox" role="switch" id="streaming" data-testid="streaming-toggle" checked />
            <span>Stream answers</span>
          </label>
          <button type="button" id="new-chat" class="button-quiet" data-testid="new-chat">New chat</button>
        </div>
        ${inline ? '' : '<button type="button" id="close" class="close" part="close" aria-label="Close">✕</button>'}
      </div>
      <p class="service-status" id="service-status" role="status"></p>
    </${bar}>
    <${outer} class="conversation" id="conversation">
      <div class="empty" id="empty">
        <h2 id="welcome-title">Ask a question</h2>
        <p id="welcome"></p>
      </div>
      <section class="log" id="log" role="log" aria-live="polite" aria-label="Conversation"></section>
    </${outer}>
    <${foot} class="composer" part="composer">
      <form id="ask" class="ask" aria-label="Ask a question">
        <label for="chat-input" class="visually-hidden">Your question</label>
        <textarea id="chat-input" data-testid="chat-input" part="input" rows="1" aria-describedby="ask-hint" autocomplete="off"></textarea>
        <button type="submit" id="send" class="button-primary" part="send" data-testid="send">Send</button>
        <button type="button" id="stop" class="button-stop" data-testid="stop" hidden>Stop</button>
      </form>
      <p id="ask-hint" class="hint">Enter sends, Shift+Enter adds a line, Escape ${inline ? 'stops the answer' : 'stops the answer or closes'}.</p>
    </${foot}>
  </div>
</div>`;
}
