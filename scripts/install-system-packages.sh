#!/usr/bin/env bash
# Debian packages the test suite needs: PostgreSQL for the catalog tests, Chromium for the pages
# that need a browser. Installs only what is missing; as a non-root user it says what to install
# instead of failing.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "nianbao: please install: sudo apt-get install ${missing[*]} (tests that need them are skipped)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
