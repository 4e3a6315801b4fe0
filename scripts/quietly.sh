#!/usr/bin/env bash
# Runs a command with its output held back in a log, shown only when the command fails.
#
#   scripts/quietly.sh LOG COMMAND [ARGUMENTS...]
#
# `npm start` builds through turbo, which prints a banner and a summary on every run ("Packages in
# scope", "Remote caching disabled", ">>> FULL TURBO") and has no option that leaves them out:
# --output-logs=errors-only hides only the tasks' own logs. So the build's output goes to LOG;
# when the command fails, LOG is printed on stderr and its exit status is this script's.
set -uo pipefail
log="$1"
shift
mkdir -p "$(dirname "$log")"
"$@" >"$log" 2>&1
status=$?
if [ "$status" -ne 0 ]; then
  cat "$log" >&2
  echo "quietly: '$*' failed with exit status $status; its output is above, and in $log" >&2
fi
exit "$status"
