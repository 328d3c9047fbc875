#!/bin/sh
# azd postprovision hook (Linux, macOS): points the chat page at the provisioned API and, when
# RUN_INGESTION is true and Azure AI Search was deployed, fills the search index (`make ingest`).
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname -- "$here")

sh "$here/write-web-config.sh"

case "${RUN_INGESTION:-false}" in
    true | True | TRUE | 1 | yes) ;;
    *)
        echo "Ingestion skipped (set it on with: azd env set RUN_INGESTION true)."
        exit 0
        ;;
esac

if [ -z "${AZURE_SEARCH_ENDPOINT:-}" ]; then
    echo "RUN_INGESTION is true but Azure AI Search is not deployed (azd env set USE_AZURE_SEARCH true)." >&2
    exit 0
fi

echo "Filling the search index $AZURE_SEARCH_INDEX on $AZURE_SEARCH_ENDPOINT ..."
cd "$root"
# The roles this provisioning granted take minutes to apply: wait out 401/403 for up to 5 minutes.
make ingest INGEST_ARGS="--wait-for-access 300"
