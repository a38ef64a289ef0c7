#!/bin/sh
# probe_tree.sh TOOL TREE OUT: probe a captured tree into OUT, then check the
# draft offline and against the machine description; each step must pass.
tool=$1; tree=$2; out=$3
rm -rf "$out"
"$tool" probe --root "$tree" -o "$out" || { echo "FAIL: probe exited $?"; exit 1; }
for f in machine.toml partitions.toml; do
  [ -s "$out/$f" ] || { echo "FAIL: probe wrote no $out/$f"; exit 1; }
done
"$tool" check "$out/partitions.toml" || { echo "FAIL: check of the draft"; exit 1; }
"$tool" check "$out/partitions.toml" --machine "$out/machine.toml" > "$out/check.txt" 2>&1
status=$?
cat "$out/check.txt"
[ $status -eq 0 ] || { echo "FAIL: check --machine exited $status"; exit 1; }
grep -q "^OK on $out/machine.toml\$" "$out/check.txt" || { echo "FAIL: no 'OK on' line"; exit 1; }
