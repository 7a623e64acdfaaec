#!/usr/bin/env bash
# Packages the C ABI for shipping (a host's plugin folder, a farm's
# install): the stripped libmattebox.so (RUNPATH $ORIGIN, so libraries put
# beside it are found first), its debug info split off into
# debug/libmattebox.so.debug (linked by .gnu_debuglink, for gdb and crash
# reports), the headers, and with --with-ffmpeg the ffmpeg libraries it
# links, copied beside it.
#
#   bash ffi/dist.sh [--no-build] [--lib FILE] [--with-ffmpeg] [OUT]
#
# OUT defaults to target/dist/mattebox-<version>-linux-<arch>. Built on
# Debian 12 the library needs glibc 2.35 or newer (ffi/tests/dist.rs checks
# the symbol versions); docs/FARM.md has a recipe for older systems.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build=1 with_ffmpeg=0 lib="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --with-ffmpeg) with_ffmpeg=1 ;;
    --lib) lib="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "dist.sh: unknown option $1" >&2; exit 2 ;;
    *) out="$1" ;;
  esac
  shift
done
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
out="${out:-$root/target/dist/mattebox-$version-linux-$(uname -m)}"
if [ "$build" = 1 ]; then
  cargo build --release --locked -p mattebox-ffi --manifest-path "$root/Cargo.toml"
fi
lib="${lib:-$root/target/release/libmattebox.so}"
[ -f "$lib" ] || { echo "dist.sh: $lib does not exist; build it (drop --no-build)" >&2; exit 1; }

# Staged beside OUT and renamed into place: never half made.
stage="$out.partial.$$"
rm -rf "$stage"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib" "$stage/debug" "$stage/include"
objcopy --only-keep-debug "$lib" "$stage/debug/libmattebox.so.debug"
objcopy --strip-unneeded --remove-section=.comment \
  --add-gnu-debuglink="$stage/debug/libmattebox.so.debug" "$lib" "$stage/lib/libmattebox.so"
cp "$root/ffi/include/mattebox.h" "$root/ffi/include/mattebox.hpp" "$stage/include/"
if [ "$with_ffmpeg" = 1 ]; then
  # The ffmpeg libraries it links (not theirs: those come from the system),
  # as this machine's loader finds them.
  needed="$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(lib\(av\|sw\)[a-z]*\.so[.0-9]*\)\].*/\1/p')"
  for name in $needed; do
    cp -L "$(ldd "$lib" | awk -v n="$name" '$1 == n { print $3 }')" "$stage/lib/"
  done
fi
glibc="$(objdump -T "$stage/lib/libmattebox.so" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1)"
cat > "$stage/README" <<TEXT
Mattebox $version C ABI for Linux $(uname -m).
lib/libmattebox.so    link with -lmattebox; include/mattebox.h (C), mattebox.hpp (C++)
debug/                its debug info (gdb finds it through .gnu_debuglink)
Needs ${glibc/_/ } or newer; ffmpeg 5.1's libraries (libavcodec.so.59,
libavformat.so.59, libavutil.so.57, libswscale.so.6) beside it or on the
loader's path.
TEXT
rm -rf "$out"
mv "$stage" "$out"
trap - EXIT
echo "$out"
