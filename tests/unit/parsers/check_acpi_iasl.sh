#!/bin/bash
# A Linux partition's ACPI tables, as acpi_build writes them, disassembled by
# iasl (Debian acpica-tools): every table must decode without an error, and
# the DSDT must hold the PCI root, its _PRT and _CRS, the interrupt link of
# an ISA line (edge, active high), COM1 and \_S5.
set -euo pipefail
test_bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
NATSUME_ACPI_DUMP_DIR=$dir "$test_bin" "acpi build: the hypervisor's parser reads back*" >/dev/null
cd "$dir"
for t in dsdt facp apic xsdt; do
  if ! iasl -d "$t.dat" >"$t.log" 2>&1 || grep -qi "error" "$t.log"; then
    echo "FAIL: iasl could not disassemble $t.dat:"; cat "$t.log"; exit 1
  fi
done
dsl=dsdt.dsl
for want in 'Device (PCI0)' 'EisaId ("PNP0A08")' 'Name (_PRT, Package (0x04)' 'Device (COM1)' \
            'EisaId ("PNP0501")' 'Name (\_S5, Package (0x04)' 'WordBusNumber' 'DWordMemory' 'QWordMemory' 'DWordIO' \
            'Device (LK03)' 'EisaId ("PNP0C0F")' 'Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )' \
            'Method (_SRS, 1, NotSerialized)' 'LK03, ' ; do
  grep -qF "$want" "$dsl" || { echo "FAIL: the DSDT has no '$want':"; cat "$dsl"; exit 1; }
done
grep -Eq "Hardware Reduced \(V5\) : 1" facp.dsl || { echo "FAIL: the FADT is not hardware-reduced"; cat facp.dsl; exit 1; }
grep -q "Local Apic ID : 03" apic.dsl || { echo "FAIL: the MADT lacks core 3"; cat apic.dsl; exit 1; }
echo "PASS: iasl disassembles the DSDT, FADT, MADT and XSDT; the DSDT has PCI0 (_PRT, _CRS), COM1 and _S5"
