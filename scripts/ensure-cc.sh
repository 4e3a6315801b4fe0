#!/usr/bin/env bash
# `tsmalloc record` builds its LD_PRELOAD recorder (apps/cli/c/tsmalloc-record.c) with the system's
# C compiler, and its tests compile small C programs: Debian's gcc and libc6-dev. This installs them
# with apt-get when a trial build of a shared object fails and the machine lets us; otherwise it
# says how in one line, and leaves the decision to the tests (which fail with `tsmalloc record`'s
# own one-line error). Never fails itself.
#
#   scripts/ensure-cc.sh        (called by .ci/run and by `npm test`)
set -uo pipefail

advice="ensure-cc: no C compiler that builds a shared object; install one with: sudo apt-get install gcc libc6-dev"

compiler_works() {
  local cc="${CC:-cc}"
  command -v "${cc%% *}" >/dev/null 2>&1 || return 1
  local scratch
  scratch="$(mktemp -d)" || return 1
  printf '#include <dlfcn.h>\n#include <stdlib.h>\nvoid *probe(size_t n) { return dlsym(RTLD_NEXT, "malloc") ? malloc(n) : NULL; }\n' >"$scratch/probe.c"
  $cc -O2 -fPIC -shared -o "$scratch/probe.so" "$scratch/probe.c" -ldl -pthread >/dev/null 2>&1
  local status=$?
  rm -rf "$scratch"
  return "$status"
}

if [ "$(uname -s)" != "Linux" ]; then exit 0; fi
if compiler_works; then exit 0; fi

. "$(dirname "$0")/apt-install.sh"
apt_install ensure-cc "for tsmalloc record's recorder" \
  "no C compiler and no apt-get here; install a C compiler (or set CC) for tsmalloc record" \
  "${advice#ensure-cc: }" \
  gcc libc6-dev \
  && { compiler_works || echo "$advice" >&2; }
exit 0
