#!/usr/bin/env bash
# Builds Mattebox.ofx.bundle and lays it out as OFX hosts look for it:
# DEST/Mattebox.ofx.bundle/Contents/Linux-x86-64/Mattebox.ofx (the binary's
# name must be the bundle's, or hosts skip it without a word).
#
#   hosts/ofx/bundle.sh [DEST]         default DEST: target/ofx
#   sudo hosts/ofx/bundle.sh --install  into /usr/OFX/Plugins
#
# The bundle is built on its own, in target/ofx-bundle: built together with
# the rest of the workspace, cargo would unify mattebox-core's features and
# link ffmpeg into it (the command line needs ffmpeg; the bundle must not).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="${1:-target/ofx}"
if [ "$dest" = "--install" ]; then dest=/usr/OFX/Plugins; fi
cargo="${CARGO:-cargo}"
"$cargo" build --release --locked -p mattebox-ofx --target-dir target/ofx-bundle >&2
lib=target/ofx-bundle/release/libmattebox_ofx.so
mkdir -p "$dest"
bundle="$dest/Mattebox.ofx.bundle"
staging="$dest/.Mattebox.ofx.bundle.tmp.$$"
rm -rf "$staging"
mkdir -p "$staging/Contents/Linux-x86-64"
cp "$lib" "$staging/Contents/Linux-x86-64/Mattebox.ofx"
# Whole or not at all: the old bundle is replaced only once the new one is complete.
rm -rf "$bundle"
mv "$staging" "$bundle"
echo "$bundle"
