# azd postprovision hook (Windows): points the chat page at the provisioned API and, when
# RUN_INGESTION is true and Azure AI Search was deployed, fills the search index (`make ingest`).
$ErrorActionPreference = 'Stop'

& (Join-Path $PSScriptRoot 'write-web-config.ps1')

if ($env:RUN_INGESTION -notin @('true', '1', 'yes')) {
    Write-Host 'Ingestion skipped (set it on with: azd env set RUN_INGESTION true).'
    exit 0
}

if (-not $env:AZURE_SEARCH_ENDPOINT) {
    Write-Warning 'RUN_INGESTION is true but Azure AI Search is not deployed (azd env set USE_AZURE_SEARCH true).'
    exit 0
}

if (-not (Get-Command make -ErrorAction SilentlyContinue)) {
    Write-Error "Ingestion needs 'make' (for example from Git for Windows or WSL); run 'make ingest' there."
    exit 1
}

Write-Host "Filling the search index $env:AZURE_SEARCH_INDEX on $env:AZURE_SEARCH_ENDPOINT ..."
Push-Location (Split-Path -Parent $PSScriptRoot)
try {
    # The roles this provisioning granted take minutes to apply: wait out 401/403 for up to 5 minutes.
    make ingest INGEST_ARGS="--wait-for-access 300"
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}
finally {
    Pop-Location
}
