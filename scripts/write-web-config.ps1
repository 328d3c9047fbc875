# Writes the chat page's runtime config, static_web/public/config.json: the origin of the API the
# page calls, {"apiBaseUrl": "https://<function app host>"}. Vite copies public/ into dist/ on build;
# the file is also written into an existing dist/ so a page built before provisioning gets it too.
# azd runs this after provisioning and before deploying, with its environment values exported.
$ErrorActionPreference = 'Stop'

$root = Split-Path -Parent $PSScriptRoot

$apiBaseUrl = $env:API_BASE_URL
if (-not $apiBaseUrl -and (Get-Command azd -ErrorAction SilentlyContinue)) {
    $apiBaseUrl = (azd env get-value API_BASE_URL 2>$null)
}
if (-not $apiBaseUrl) {
    Write-Error "API_BASE_URL is not set: run 'azd provision' first."
    exit 1
}
if ($apiBaseUrl -notmatch '^https://[^\s"\\]+$') {
    Write-Error "API_BASE_URL must be an https:// URL, got: $apiBaseUrl"
    exit 1
}
$apiBaseUrl = $apiBaseUrl.TrimEnd('/')

$config = @{ apiBaseUrl = $apiBaseUrl } | ConvertTo-Json -Compress
$utf8 = New-Object System.Text.UTF8Encoding($false)

$public = Join-Path $root 'static_web/public'
New-Item -ItemType Directory -Force -Path $public | Out-Null
[System.IO.File]::WriteAllText((Join-Path $public 'config.json'), "$config`n", $utf8)
Write-Host "Wrote static_web/public/config.json: $config"

$dist = Join-Path $root 'static_web/dist'
if (Test-Path $dist) {
    [System.IO.File]::WriteAllText((Join-Path $dist 'config.json'), "$config`n", $utf8)
    Write-Host 'Wrote static_web/dist/config.json'
    # A page built before this ran lets it connect only to its own origin: add the API's.
    $swa = Join-Path $dist 'staticwebapp.config.json'
    if (Test-Path $swa) {
        $origin = ([Uri]$apiBaseUrl).GetLeftPart([UriPartial]::Authority)
        $text = [System.IO.File]::ReadAllText($swa) -replace "connect-src 'self'[^;`"]*", "connect-src 'self' $origin"
        [System.IO.File]::WriteAllText($swa, $text, $utf8)
        Write-Host "Allowed $origin in the page's Content-Security-Policy (connect-src)"
    }
}
