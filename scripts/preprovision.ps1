# azd preprovision hook (Windows): chooses the chat and embedding models the Azure OpenAI region
# offers this subscription and writes them into the azd environment
# (python -m scripts.choose_models; docs/deploy.md, "Which models azd up deploys").
# Runs in its own small environment, .venv-azd, installed from requirements-azd.txt.
$ErrorActionPreference = 'Stop'

$root = Split-Path -Parent $PSScriptRoot
$venv = Join-Path $root '.venv-azd'
$python = Join-Path $venv 'Scripts/python.exe'
$lock = Join-Path $root 'requirements-azd.txt'
$installed = Join-Path $venv 'requirements-azd.txt'

if (-not (Test-Path $python)) {
    $launcher = if (Get-Command py -ErrorAction SilentlyContinue) { 'py' } else { 'python' }
    & $launcher -m venv $venv
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}
# Install again only when the lock changed.
if (-not (Test-Path $installed) -or ((Get-FileHash $lock).Hash -ne (Get-FileHash $installed).Hash)) {
    & $python -m pip install --quiet --disable-pip-version-check -r $lock
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Copy-Item $lock $installed
}

Push-Location $root
try {
    & $python -m scripts.choose_models
    exit $LASTEXITCODE
}
finally {
    Pop-Location
}
