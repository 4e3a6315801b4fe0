#!/usr/bin/env bash
# The visualizer's browser tests drive Debian's Chromium (playwright-core downloads no browser).
# This installs it with apt-get when it is missing and the machine lets us; otherwise it says how,
# and leaves the decision to the tests (which fail with the same advice). Never fails itself.
#
#   scripts/ensure-chromium.sh        (called by .ci/run and by `npm test`)
set -uo pipefail

if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$candidate" ]; then exit 0; fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no Chromium and no apt-get here; install Chromium and set CHROMIUM_PATH for the visualizer's browser tests" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "ensure-chromium: Chromium is missing; install it with: sudo apt-get install chromium" >&2
  exit 0
fi

echo "ensure-chromium: installing Debian's chromium package for the visualizer's browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
  # the package lists may be missing or stale on a fresh machine
  "${sudo[@]}" apt-get update -qq >/dev/null 2>&1
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
    || echo "ensure-chromium: apt-get could not install chromium" >&2
fi
exit 0
