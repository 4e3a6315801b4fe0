#!/usr/bin/env bash
# @tsmalloc/wasm compiles its C examples to wasm32-wasi with Debian's toolchain: clang, lld
# (wasm-ld), wasi-libc (the sysroot) and libclang-rt-14-dev-wasm32 (compiler-rt's builtins for
# wasm32). This installs them with apt-get when a trial compile fails and the machine lets us;
# otherwise it says how in one line, and leaves the decision to the tests (which fail with the
# same advice). Never fails itself.
#
#   scripts/ensure-wasm-toolchain.sh        (called by .ci/run and by `npm test`)
#
# On this project's 2-core machine the install took 9 s (11 packages; LLVM 14's libraries were
# there already, through Debian's `llvm`); finding the toolchain in place takes 0.1 s.
set -uo pipefail

packages=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
advice="ensure-wasm-toolchain: clang for wasm32-wasi is missing; install it with: sudo apt-get install ${packages[*]}"

# The toolchain works when it compiles and links a program that uses libc, as the examples do.
toolchain_works() {
  local clang="${TSMALLOC_CLANG:-clang}"
  command -v "$clang" >/dev/null 2>&1 || return 1
  local scratch
  scratch="$(mktemp -d)" || return 1
  printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >"$scratch/probe.c"
  "$clang" --target=wasm32-wasi -O1 -o "$scratch/probe.wasm" "$scratch/probe.c" >/dev/null 2>&1
  local status=$?
  rm -rf "$scratch"
  return "$status"
}

if toolchain_works; then exit 0; fi

. "$(dirname "$0")/apt-install.sh"
apt_install ensure-wasm-toolchain "for @tsmalloc/wasm's C examples" \
  "no wasm32-wasi clang and no apt-get here; install clang, lld and wasi-libc (or set TSMALLOC_CLANG) for @tsmalloc/wasm's C examples" \
  "${advice#ensure-wasm-toolchain: }" \
  "${packages[@]}" \
  && { toolchain_works || echo "$advice" >&2; }
exit 0
