#!/usr/bin/env bash
# Installs whichever of the given Debian packages are missing.
# Runs `apt-get update` only if an install is needed and the package lists are missing or
# cannot find a package; stops with a clear message when packages are missing and this user
# cannot install them.
set -euo pipefail

missing=()
for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    sudo_cmd=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
else
    echo "setup: error: missing packages: ${missing[*]}" >&2
    echo "setup: this user is not root and has no password-less sudo; install them with:" >&2
    echo "    sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
install() { "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }
if ! install; then
    echo "setup: install failed with the current package lists; running apt-get update"
    "${sudo_cmd[@]}" apt-get update -q
    install
fi
