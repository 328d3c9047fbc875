// The Static Web Apps config shipped beside the built page: staticwebapp.config.json, made from
// staticwebapp.template.json with the API's origin (from public/config.json, written at deploy
// time) as the one other address the page may connect to. Without an API base the page talks to
// its own origin only.

/** The origin of an https:// API base, or '' when there is none to allow. */
export function apiOrigin(apiBaseUrl) {
  if (typeof apiBaseUrl !== 'string' || !apiBaseUrl.trim()) return '';
  const url = new URL(apiBaseUrl.trim());
  if (url.protocol !== 'https:') throw new Error(`apiBaseUrl must be https://, got ${apiBaseUrl}`);
  return url.origin;
}

/** The config with `connect-src 'self'` plus the API's origin, as the site will serve it. */
export function withApiOrigin(config, apiBaseUrl) {
  const origin = apiOrigin(apiBaseUrl);
  const headers = { ...config.globalHeaders };
  headers['Content-Security-Policy'] = headers['Content-Security-Policy']
    .split(';')
    .map((part) => {
      const directive = part.trim();
      if (!directive.startsWith('connect-src')) return directive;
      return origin ? `connect-src 'self' ${origin}` : "connect-src 'self'";
    })
    .join('; ');
  return { ...config, globalHeaders: headers };
}
