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

. "$(dirname "$0")/apt-install.sh"
apt_install ensure-chromium "for the visualizer's browser tests" \
  "no Chromium and no apt-get here; install Chromium and set CHROMIUM_PATH for the visualizer's browser tests" \
  "Chromium is missing; install it with: sudo apt-get install chromium" \
  chromium
exit 0
