#!/bin/sh
# Writes the chat page's runtime config, static_web/public/config.json: the origin of the API the
# page calls, {"apiBaseUrl": "https://<function app host>"}. Vite copies public/ into dist/ on build;
# the file is also written into an existing dist/ so a page built before provisioning gets it too.
# azd runs this after provisioning and before deploying, with its environment values exported.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

api_base_url=${API_BASE_URL:-}
if [ -z "$api_base_url" ] && command -v azd >/dev/null 2>&1; then
    api_base_url=$(azd env get-value API_BASE_URL 2>/dev/null || true)
fi
if [ -z "$api_base_url" ]; then
    echo "API_BASE_URL is not set: run 'azd provision' first." >&2
    exit 1
fi

case "$api_base_url" in
    https://*) ;;
    *)
        echo "API_BASE_URL must be an https:// URL, got: $api_base_url" >&2
        exit 1
        ;;
esac
case "$api_base_url" in
    *'"'* | *\\* | *' '*)
        echo "API_BASE_URL has characters a URL origin cannot have: $api_base_url" >&2
        exit 1
        ;;
esac
api_base_url=${api_base_url%/}

config="{\"apiBaseUrl\": \"$api_base_url\"}"

mkdir -p "$root/static_web/public"
printf '%s\n' "$config" >"$root/static_web/public/config.json"
echo "Wrote static_web/public/config.json: $config"

if [ -d "$root/static_web/dist" ]; then
    printf '%s\n' "$config" >"$root/static_web/dist/config.json"
    echo "Wrote static_web/dist/config.json"
    # A page built before this ran lets it connect only to its own origin: add the API's.
    swa="$root/static_web/dist/staticwebapp.config.json"
    if [ -f "$swa" ]; then
        origin=$(printf '%s' "$api_base_url" | sed -E 's#^(https://[^/?#]+).*#\1#')
        sed -E "s#connect-src 'self'[^;\"]*#connect-src 'self' $origin#" "$swa" >"$swa.tmp"
        mv "$swa.tmp" "$swa"
        echo "Allowed $origin in the page's Content-Security-Policy (connect-src)"
    fi
fi
