#!/bin/sh
# compile_dump.sh TOOL TOML BLOB: compile, then decode the blob, and require
# the decoded resource map to equal the one `check` prints from the source.
set -e
tool=$1; toml=$2; blob=$3
rm -f "$blob"
"$tool" compile "$toml" -o "$blob"
size=$(wc -c < "$blob")
[ "$size" -eq 1336 ] || { echo "FAIL: blob is $size bytes, expected 1336"; exit 1; }
"$tool" check "$toml" > "$blob.check"
"$tool" dump "$blob" > "$blob.dump"
tail -n +2 "$blob.dump" | diff "$blob.check" - || { echo "FAIL: dump differs from check"; exit 1; }
head -n 1 "$blob.dump" | grep -q "compiled partition file version 4, 1336 bytes, crc32 0x" || { echo "FAIL: dump header"; exit 1; }
# A corrupted blob must be refused.
printf 'X' | dd of="$blob" bs=1 seek=200 conv=notrunc 2>/dev/null
if "$tool" dump "$blob" > "$blob.bad" 2>&1; then echo "FAIL: corrupted blob accepted"; exit 1; fi
grep -q "the file is corrupt" "$blob.bad" || { cat "$blob.bad"; echo "FAIL: no corruption message"; exit 1; }
echo PASS
