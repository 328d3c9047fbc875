# azd postdeploy hook (Windows): when the documentation site is built in this repository, re-index
# it after each deploy (see postdeploy.sh: SITE_DIR and SITE_BASE_URL, or SITE_SITEMAP_URL).
$ErrorActionPreference = 'Stop'

if (-not $env:SITE_DIR -and -not $env:SITE_SITEMAP_URL) {
    Write-Host 'Site re-indexing skipped (set SITE_DIR and SITE_BASE_URL, or SITE_SITEMAP_URL, with azd env set).'
    exit 0
}

if (-not $env:AZURE_SEARCH_ENDPOINT) {
    Write-Warning 'Site re-indexing needs Azure AI Search (azd env set USE_AZURE_SEARCH true).'
    exit 0
}

if (-not (Get-Command make -ErrorAction SilentlyContinue)) {
    Write-Error "Re-indexing needs 'make' (for example from Git for Windows or WSL); run 'make ingest' there."
    exit 1
}

Push-Location (Split-Path -Parent $PSScriptRoot)
try {
    if ($env:SITE_SITEMAP_URL) {
        Write-Host "Re-indexing the pages of $env:SITE_SITEMAP_URL into $env:AZURE_SEARCH_INDEX ..."
        make ingest INGEST_ARGS="--sitemap $env:SITE_SITEMAP_URL --prune --no-progress --wait-for-access 300"
    }
    else {
        Write-Host "Re-indexing the site in $env:SITE_DIR into $env:AZURE_SEARCH_INDEX ..."
        make ingest INGEST_ARGS="$env:SITE_DIR --base-url $env:SITE_BASE_URL --prune --no-progress --wait-for-access 300"
    }
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}
finally {
    Pop-Location
}
