# Helpers shared by the scripts/*-deps.sh installers; source it after defining `log`.
#   is_installed PKG           the Debian package PKG is installed
#   apt_install PKG...         apt-get install, with one apt-get update per script run
#   npm_have PREFIX NAME       the version of npm package NAME under PREFIX/node_modules,
#                              or nothing (never touches the network)

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

apt_updated=0
apt_install() {
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

npm_have() {
  local file="$1/node_modules/$2/package.json"
  [[ -f "$file" ]] &&
    node -e 'process.stdout.write(require(require("path").resolve(process.argv[1])).version)' "$file"
  return 0
}
