#!/bin/sh
# azd postdeploy hook (Linux, macOS): when the documentation site is built in this repository,
# re-index it after each deploy. Set once with `azd env set`:
#   SITE_DIR       the built site's folder (for example site/ after `mkdocs build`), and
#   SITE_BASE_URL  the address it is served at (pages without a canonical link are linked there);
# or SITE_SITEMAP_URL, the live site's sitemap. Unchanged pages are not embedded again; pages gone
# from the site are pruned. Needs Azure AI Search (USE_AZURE_SEARCH=true).
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname -- "$here")

if [ -z "${SITE_DIR:-}" ] && [ -z "${SITE_SITEMAP_URL:-}" ]; then
    echo "Site re-indexing skipped (set SITE_DIR and SITE_BASE_URL, or SITE_SITEMAP_URL, with azd env set)."
    exit 0
fi

if [ -z "${AZURE_SEARCH_ENDPOINT:-}" ]; then
    echo "Site re-indexing needs Azure AI Search (azd env set USE_AZURE_SEARCH true)." >&2
    exit 0
fi

cd "$root"
if [ -n "${SITE_SITEMAP_URL:-}" ]; then
    echo "Re-indexing the pages of $SITE_SITEMAP_URL into $AZURE_SEARCH_INDEX ..."
    make ingest INGEST_ARGS="--sitemap $SITE_SITEMAP_URL --prune --no-progress --wait-for-access 300"
else
    echo "Re-indexing the site in $SITE_DIR into $AZURE_SEARCH_INDEX ..."
    make ingest INGEST_ARGS="$SITE_DIR --base-url ${SITE_BASE_URL:-} --prune --no-progress --wait-for-access 300"
fi
