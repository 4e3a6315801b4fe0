# shellcheck shell=bash
# Sourced by the scripts/ensure-*.sh scripts: installing Debian packages when the machine lets us.
#
#   apt_install TAG PURPOSE NO_APT NO_ROOT PACKAGE...
#
# Installs the PACKAGEs with apt-get, as root or through `sudo -n`, refreshing the package lists
# once when the first try fails (they may be missing or stale on a fresh machine). Where there is
# no apt-get, or no way to become root, it prints `TAG: NO_APT` or `TAG: NO_ROOT` (one line that
# says how) instead, and returns 1; after an attempt to install, whatever came of it, it returns 0.
# It never stops the caller: the tests that need the packages say so themselves.
apt_install() {
  local tag="$1" purpose="$2" no_apt="$3" no_root="$4"
  shift 4
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$tag: $no_apt" >&2
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "$tag: $no_root" >&2
    return 1
  fi
  echo "$tag: installing Debian's $* $purpose" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -qq >/dev/null 2>&1
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
      || echo "$tag: apt-get could not install $*" >&2
  fi
  return 0
}
