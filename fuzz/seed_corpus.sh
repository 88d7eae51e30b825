#!/bin/sh
# Fills fuzzing corpora from Apache Arrow's gold files (never committed):
#   fuzz/seed_corpus.sh [gold dir] [corpus root]
# creates <corpus root>/stream/ and <corpus root>/file/ for fuzz_ipc_stream
# and fuzz_ipc_file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gold=${1:-$here/../../shared/arrow-testing/1.0.0-littleendian}
corpus=${2:-$here/../build-fuzz/corpus}
if [ ! -d "$gold" ]; then
  echo "no gold files at $gold" >&2
  exit 1
fi
mkdir -p "$corpus/stream" "$corpus/file"
for f in "$gold"/*.stream; do cp "$f" "$corpus/stream/"; done
for f in "$gold"/*.arrow_file; do cp "$f" "$corpus/file/"; done
echo "seeded $(ls "$corpus/stream" | wc -l) streams and $(ls "$corpus/file" | wc -l) files into $corpus"
