#!/usr/bin/env bash
# Debian packages the test suite needs: PostgreSQL for the catalog tests, Chromium for the pages
# that need a browser, LibreOffice (Writer, Calc; no GUI) for DOC/WPS/RTF/XLS reports and the
# Noto CJK fonts it renders the template's Chinese with, Redis for the many-machine tests (the broker). Installs only what is missing; as a non-root
# user it says what to install instead of failing.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/lib/libreoffice/program/libswlo.so ] || missing+=(libreoffice-writer-nogui)
[ -e /usr/lib/libreoffice/program/libsclo.so ] || missing+=(libreoffice-calc-nogui)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "nianbao: please install: sudo apt-get install ${missing[*]} (tests that need them are skipped)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
