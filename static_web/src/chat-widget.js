// chat-widget.js: defines <chat-assistant>. Loaded alone on a page that has none, it adds one
// (a launcher at the bottom right that opens the assistant).

import { defineChatAssistant } from './element.js';

defineChatAssistant(import.meta.url);

// A module script runs once the document is parsed: any element the page has is there by now.
if (!document.querySelector('chat-assistant')) {
  document.body.append(document.createElement('chat-assistant'));
}
