#!/usr/bin/env bash
# Install the Debian bookworm packages spid-sp needs to build, run and test.
# Only missing packages are installed; safe to run again. Also installs the
# npm packages of the browser test (tests/browser) from their lock file.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  liblasso3-dev libxml2-dev libxmlsec1-dev libssl-dev libcurl4-openssl-dev
  libmicrohttpd-dev libgnutls28-dev libinih-dev libjansson-dev libsqlite3-dev libcmocka-dev
  xmlsec1 libxml2-utils sqlite3 opensaml-schemas xmltooling-schemas
  python3-pytest python3-requests python3-lxml python3-aiosmtpd python3-cryptography wrk openssl nginx
  chromium fonts-dejavu-core
)
# The browser test (tests/browser) runs on Node.js: Debian's, unless one is
# already installed (a newer one from elsewhere, npm included, is fine).
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# playwright-core for the browser test, exactly as package-lock.json says;
# skipped when node_modules already came from this lock file.
browser="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
stamp="$browser/node_modules/.spid-sp-lock.sha256"
want=$(sha256sum "$browser/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$browser/node_modules/playwright-core" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing the browser test's npm packages (npm ci in tests/browser)"
  (cd "$browser" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
