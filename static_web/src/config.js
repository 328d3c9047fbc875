// Where the chat API is: the element's `api` attribute, else `apiBaseUrl` from the config.json
// deployed beside this script, else the script's own origin.

import { safeApiBase } from './api.js';

let fromFile = null;

/** The config.json beside the script, read once per page however many elements there are. */
function configBeside(scriptUrl) {
  fromFile ??= (async () => {
    try {
      const response = await fetch(new URL('config.json', scriptUrl), { cache: 'no-cache' });
      if (!response.ok) return '';
      const config = await response.json();
      return config?.apiBaseUrl;
    } catch {
      return '';
    }
  })();
  return fromFile;
}

/** An `api` attribute names …/api; the client's base is the address before it. */
export function baseOfApi(api) {
  return api.trim().replace(/\/+$/, '').replace(/\/api$/, '');
}

/**
 * The API base to use. A base the page refuses (http:// to another machine) is not used: the
 * script's own origin is, and `refused` says so.
 * @param {string|null} apiAttribute
 * @param {string} scriptUrl
 * @returns {Promise<{apiBaseUrl: string, refused: boolean}>}
 */
export async function resolveApi(apiAttribute, scriptUrl) {
  const wanted = apiAttribute ? baseOfApi(apiAttribute) : await configBeside(scriptUrl);
  const base = safeApiBase(wanted);
  const own = new URL(scriptUrl).origin;
  return { apiBaseUrl: base || own, refused: base === null };
}
