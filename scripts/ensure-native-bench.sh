#!/usr/bin/env bash
# `tsmalloc bench`'s native columns build a C replayer (apps/cli/c/tsmalloc-replay.c) with the
# system's C compiler: against zlib, to read gzip traces (Debian's zlib1g-dev), and a second time
# against mimalloc (libmimalloc-dev) for the `mimalloc` column. This installs the two with apt-get
# when their headers are missing and the machine lets us; otherwise it says how in one line, and
# `tsmalloc bench` shows the columns it can (it says in one line which it cannot, and why). Never
# fails itself. The compiler itself is scripts/ensure-cc.sh's.
#
#   scripts/ensure-native-bench.sh        (called by .ci/run and by `npm test`, after ensure-cc.sh)
set -uo pipefail

if [ "$(uname -s)" != "Linux" ]; then exit 0; fi

# the headers the replayer includes, where the compiler looks for them
has_header() {
  local cc="${CC:-cc}"
  command -v "${cc%% *}" >/dev/null 2>&1 || return 1
  printf '#include <%s>\n' "$1" | $cc -E -x c - >/dev/null 2>&1
}

missing=()
has_header zlib.h || missing+=(zlib1g-dev)
has_header mimalloc.h || missing+=(libmimalloc-dev)
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi

. "$(dirname "$0")/apt-install.sh"
apt_install ensure-native-bench "for tsmalloc bench's native columns" \
  "no apt-get here; install zlib's and mimalloc's development files for tsmalloc bench's glibc and mimalloc columns" \
  "${missing[*]} missing; install with: sudo apt-get install ${missing[*]}" \
  "${missing[@]}"
exit 0
