# azd preprovision hook (Windows): checks what would fail minutes into provisioning, and chooses
# the chat and embedding models the Azure OpenAI region offers this subscription and writes them
# into the azd environment (python -m scripts.choose_models; docs/deploy.md, "Which models azd up
# deploys"). Runs in its own small environment, .venv-azd, installed from requirements-azd.txt.
$ErrorActionPreference = 'Stop'

$root = Split-Path -Parent $PSScriptRoot
$venv = Join-Path $root '.venv-azd'
$python = Join-Path $venv 'Scripts/python.exe'
$lock = Join-Path $root 'requirements-azd.txt'
$installed = Join-Path $venv 'requirements-azd.txt'

if (-not (Test-Path $python)) {
    $launcher = if ($env:PYTHON) { $env:PYTHON } elseif (Get-Command py -ErrorAction SilentlyContinue) { 'py' } else { 'python' }
    if (-not (Get-Command $launcher -ErrorAction SilentlyContinue)) {
        Write-Error "The preprovision hook needs Python 3.11 or newer, and '$launcher' is not on the PATH. Install Python 3.11+ (or set PYTHON to one)."
        exit 1
    }
    & $launcher -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>$null
    if ($LASTEXITCODE -ne 0) {
        $found = & $launcher -c 'import platform; print(platform.python_version())' 2>$null
        Write-Error "The preprovision hook needs Python 3.11 or newer; '$launcher' is $found. Install Python 3.11+ (or set PYTHON to one)."
        exit 1
    }
    & $launcher -c 'import ensurepip, venv' 2>$null
    if ($LASTEXITCODE -ne 0) {
        Write-Error "The preprovision hook makes a virtual environment, and '$launcher' has no venv module with pip. Reinstall Python from python.org with pip."
        exit 1
    }
    & $launcher -m venv $venv
    if ($LASTEXITCODE -ne 0) {
        Remove-Item -Recurse -Force $venv -ErrorAction SilentlyContinue
        exit $LASTEXITCODE
    }
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
