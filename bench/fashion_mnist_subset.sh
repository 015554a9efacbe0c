#!/usr/bin/env bash
# bench/fashion_mnist_subset.sh — the Fashion-MNIST subset bench/gpu_check.sh trains on when the
# GPU machine has no dataset package: the first N training images and labels (valid IDX files whose
# headers say N) and the full test set, written to out/fashion-mnist (gitignored), about 6 MB for
# N = 4096, small enough to travel with build-gpu/prebuilt in the device tool's carry:
#
#   bash bench/fashion_mnist_subset.sh [N=4096] [SRC=/usr/share/datasets/fashion-mnist] [DST=out/fashion-mnist]
#   # then carry ["build-gpu/prebuilt", "out/fashion-mnist"]; gpu_check.sh finds it there (--limit 4096)
set -eu
N="${1:-4096}"
SRC="${2:-/usr/share/datasets/fashion-mnist}"
DST="${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/out/fashion-mnist}"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -f "$SRC/$f" ] || { echo "fashion_mnist_subset: $SRC/$f is missing" >&2; exit 1; }
done
[ "$N" -ge 1 ] && [ "$N" -le 60000 ] || { echo "fashion_mnist_subset: N must be in 1..60000, got $N" >&2; exit 1; }
mkdir -p "$DST"
hex=$(printf '%08x' "$N")
count() { printf "\\x${hex:0:2}\\x${hex:2:2}\\x${hex:4:2}\\x${hex:6:2}"; }  # N as a big-endian uint32
# IDX: magic (0x0803 images, 0x0801 labels), the count, then for images 28 x 28; the data follows.
{ printf '\x00\x00\x08\x03'; count; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'
  gzip -dc "$SRC/train-images-idx3-ubyte.gz" | { tail -c +17 | head -c $((N * 784)); } 2>/dev/null || true; } |
  gzip -n > "$DST/train-images-idx3-ubyte.gz"
{ printf '\x00\x00\x08\x01'; count
  gzip -dc "$SRC/train-labels-idx1-ubyte.gz" | { tail -c +9 | head -c "$N"; } 2>/dev/null || true; } |
  gzip -n > "$DST/train-labels-idx1-ubyte.gz"
cp "$SRC/t10k-images-idx3-ubyte.gz" "$SRC/t10k-labels-idx1-ubyte.gz" "$DST/"
[ "$(gzip -dc "$DST/train-images-idx3-ubyte.gz" | wc -c)" -eq $((16 + N * 784)) ] &&
  [ "$(gzip -dc "$DST/train-labels-idx1-ubyte.gz" | wc -c)" -eq $((8 + N)) ] ||
  { echo "fashion_mnist_subset: the written files have the wrong size" >&2; exit 1; }
echo "fashion_mnist_subset: $N training images and the full test set in $DST"
