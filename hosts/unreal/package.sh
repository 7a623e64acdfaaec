#!/usr/bin/env bash
# Lays out the Mattebox plugin for an Unreal project's Plugins/ folder:
#
#   hosts/unreal/package.sh DEST [LIBRARY]
#
# DEST/Mattebox/ gets Mattebox.uplugin, README.md, Source/ (with the C ABI
# header in Source/ThirdParty/MatteboxLibrary/include/) and the library in
# Binaries/ThirdParty/Mattebox/Linux/libmattebox.so: LIBRARY, by default
# target/release/libmattebox.so (cargo build --release -p mattebox-ffi),
# without its debug sections. Whole or not at all: staged, then renamed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
dest="${1:?usage: hosts/unreal/package.sh DEST [LIBRARY]}"
library="${2:-$root/target/release/libmattebox.so}"
if [ ! -f "$library" ]; then
  echo "package.sh: $library is missing: build it with cargo build --release -p mattebox-ffi" >&2
  exit 1
fi
mkdir -p "$dest"
plugin="$dest/Mattebox"
staging="$dest/.Mattebox.tmp.$$"
rm -rf "$staging"
mkdir -p "$staging/Binaries/ThirdParty/Mattebox/Linux"
cp "$here/Mattebox.uplugin" "$here/README.md" "$staging/"
cp -r "$here/Source" "$staging/"
mkdir -p "$staging/Source/ThirdParty/MatteboxLibrary/include"
cp "$root/ffi/include/mattebox.h" "$staging/Source/ThirdParty/MatteboxLibrary/include/"
objcopy --strip-debug "$library" "$staging/Binaries/ThirdParty/Mattebox/Linux/libmattebox.so"
rm -rf "$plugin"
mv "$staging" "$plugin"
echo "$plugin"
