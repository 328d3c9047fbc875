// What the page says for each error code of the API (chat_api/errors.py's table; a test checks
// that every code there has words here), and for the failures the page meets on its own.

/** @type {Record<string, {title: string, detail: string}>} */
export const ERROR_MESSAGES = {
  invalid_json: { title: 'The question could not be sent.', detail: 'The service did not accept it.' },
  invalid_request: { title: 'The question could not be sent.', detail: 'The service did not accept it.' },
  content_filter: {
    title: 'The content filter blocked this question or its answer.',
    detail: 'Try asking in other words.',
  },
  client_disconnected: {
    title: 'The question did not reach the service completely.',
    detail: 'Please try again.',
  },
  forbidden: {
    title: 'This page cannot reach the chat service directly.',
    detail: 'The site must send questions through its front end.',
  },
  too_large: { title: 'This conversation is too long to send.', detail: 'Start a new chat and ask again.' },
  unsupported_media_type: { title: 'The question could not be sent.', detail: 'The service did not accept it.' },
  rate_limited: {
    title: 'There are too many requests right now.',
    detail: 'Please wait a minute, then try again.',
  },
  internal_error: { title: 'Something went wrong in the chat service.', detail: 'Please try again in a moment.' },
  model_error: { title: 'The language model service did not answer properly.', detail: 'Please try again in a moment.' },
  stream_interrupted: {
    title: 'The connection to the language model broke.',
    detail: 'Please try again.',
  },
  model_unavailable: {
    title: 'The language model service is unavailable right now.',
    detail: 'Please try again in a moment.',
  },
  search_unavailable: {
    title: 'The document search is unavailable right now.',
    detail: 'Please try again in a moment.',
  },
  model_timeout: { title: 'The language model took too long to answer.', detail: 'Please try again in a moment.' },
  budget_exhausted: {
    title: 'This chat has used its budget for today.',
    detail: 'It starts again at midnight UTC.',
  },
  busy: { title: 'The chat service is answering too many questions.', detail: 'Please try again in a moment.' },
  timeout: { title: 'The answer took too long and was stopped.', detail: 'Please try again, perhaps with a shorter question.' },
  // The page's own: no answer from the API at all.
  network: { title: 'The chat service could not be reached.', detail: 'Check your connection, then try again.' },
  // The service answers, but not to this site: its origin is not in the service's ALLOWED_ORIGINS.
  origin_not_allowed: {
    title: 'This site is not allowed to use the chat service.',
    detail: "The site's owner can add its address to the service's ALLOWED_ORIGINS.",
  },
};

/** Words for an HTTP status when the answer carried no code the page knows. */
export function messageForStatus(status) {
  if (status === 429) return ERROR_MESSAGES.rate_limited;
  if (status === 413) return ERROR_MESSAGES.too_large;
  if (status === 400 || status === 415 || status === 422) return ERROR_MESSAGES.invalid_request;
  if (status === 504) return ERROR_MESSAGES.model_timeout;
  if (status === 503) return ERROR_MESSAGES.model_unavailable;
  if (status >= 500) return ERROR_MESSAGES.model_error;
  return null;
}
