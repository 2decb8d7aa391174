# Sourced by the project's scripts: installs what fngate needs from Debian's
# packages when it is missing. Needs root (or sudo) the first time only.

_fngate_apt_updated=
fngate_apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "fngate: installing ${missing[*]} from Debian's packages" >&2
  if [ -z "$_fngate_apt_updated" ]; then
    $sudo apt-get update -qq >&2 || return 1
    _fngate_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# fngate_need CMD PKG: make sure CMD exists, installing PKG if not.
fngate_need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  fngate_apt_install "$2" || { echo "fngate: could not install $2 (for $1)" >&2; return 1; }
  command -v "$1" >/dev/null 2>&1 || { echo "fngate: $1 still missing after installing $2" >&2; return 1; }
}

# fngate_need_node: Node.js 18 or newer.
fngate_need_node() {
  if command -v node >/dev/null 2>&1; then
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    [ "$major" -ge 18 ] && return 0
    echo "fngate: node $(node --version) is older than 18" >&2
  fi
  fngate_apt_install nodejs || return 1
  command -v node >/dev/null 2>&1
}
