#!/usr/bin/env bash
# Fresh machine, two commands: this is the shared first half of `npm start` and `npm test`.
#
#   scripts/bootstrap.sh [pnpm arguments...]
#
# 1. Installs the exact pnpm that `packageManager` in package.json pins, with npm alone (no
#    corepack: the registry here serves no signatures, which corepack trips over). A global
#    install is tried first; where that is not allowed, pnpm goes into ./.tools (gitignored).
# 2. Installs the workspace from the lockfile (`--frozen-lockfile`: a stale lockfile is an error).
# 3. Runs `pnpm <arguments>` when any are given.
set -euo pipefail
cd "$(dirname "$0")/.."

want="$(node -p "require('./package.json').packageManager.split('@')[1].split('+')[0]")"
have="$(pnpm --version 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
  if [ -x .tools/bin/pnpm ] && [ "$(.tools/bin/pnpm --version 2>/dev/null)" = "$want" ]; then
    :
  elif npm install --global --no-fund --no-audit --loglevel=error "pnpm@$want" >/dev/null 2>&1 \
      && [ "$(pnpm --version 2>/dev/null || true)" = "$want" ]; then
    :
  else
    echo "bootstrap: installing pnpm@$want into .tools (global install not possible)" >&2
    npm install --prefix .tools --global --no-fund --no-audit --loglevel=error "pnpm@$want" >/dev/null
  fi
fi
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  export PATH="$PWD/.tools/bin:$PATH"
fi

pnpm install --frozen-lockfile --reporter=silent
if [ "$#" -gt 0 ]; then
  exec pnpm "$@"
fi
