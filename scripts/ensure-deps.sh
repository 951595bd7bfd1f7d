#!/usr/bin/env bash
# Installs what Mirrorlane needs and is missing: Debian packages (as root, with apt-get) and npm packages
# (npm ci). Without root it prints the one apt-get line to run and stops.
#   scripts/ensure-deps.sh start   what `npm start` needs
#   scripts/ensure-deps.sh test    what `npm test` needs as well
#   scripts/ensure-deps.sh bench   what `npm run bench` needs: PostgreSQL and wrk as well
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-start}

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "mirrorlane: Node.js 20 or newer is needed, found $(node --version): install Node.js 20" >&2
  exit 1
fi

# package -> a file it installs
declare -A need=(
  [nginx]=/usr/sbin/nginx
  [libnginx-mod-http-js]=/usr/lib/nginx/modules/ngx_http_js_module.so
)
if [ "$what" = test ]; then
  need[postgresql]=/usr/lib/postgresql
  need[rsync]=/usr/bin/rsync
  need[vsftpd]=/usr/sbin/vsftpd
  need[mmdb-bin]=/usr/bin/mmdblookup
  need[njs]=/usr/bin/njs
  need[aria2]=/usr/bin/aria2c
  need[zsync]=/usr/bin/zsyncmake
  # systemd-analyze verify checks the units of `mirrorlane systemd` (present on any Debian with systemd).
  need[systemd]=/usr/bin/systemd-analyze
  # pages in a real headless browser (test/integration/pages.test.ts); a font for their text
  need[chromium]=/usr/bin/chromium
  need[fonts-liberation]=/usr/share/fonts/truetype/liberation
  # `import --from mirrorbits` reads a real Redis (test/integration/import-peers.test.ts)
  need[redis-server]=/usr/bin/redis-server
fi
if [ "$what" = bench ]; then
  need[postgresql]=/usr/lib/postgresql
  need[wrk]=/usr/bin/wrk
fi
missing=()
for pkg in "${!need[@]}"; do
  [ -e "${need[$pkg]}" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "mirrorlane: missing Debian packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "mirrorlane: installing ${missing[*]} with apt-get" >&2
  # Install without starting the packages' own system services (nginx on :80, vsftpd on :21, ...).
  policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "mirrorlane: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
