#!/usr/bin/python3
"""ctest qemu.linux-native: boots the Linux guest image natively on QEMU TCG
(-M pc, 1 CPU, 512 MiB, an e1000 on user networking) with
`natsume.run=info,net natsume.shell=0` and checks /init's markers: init started,
every module loaded, both commands' exit status 0 (net pings slirp's gateway),
the e1000 bound to its driver, and the power-off."""

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qemu"))
from natsume_emu import linux  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--timeout", type=float, default=240)
    args = ap.parse_args()
    build = Path(args.build)
    try:
        img = linux.LinuxImage.in_build(build)
    except linux.LinuxImageError as e:
        print(f"FAIL {e}")
        return 1
    work = build / "runs" / "qemu.linux-native"
    cmdline = f"natsume.run=info,net natsume.shell=0 {linux.QEMU_NET}"
    b = linux.run_qemu_native(img, work, cmdline, timeout=args.timeout)
    errors = linux.check_boot(b, want_statuses=2)
    lines = b.lines
    if not any(re.search(r"^00:03\.0 8086:100e .*driver=e1000$", l) for l in lines):
        errors.append("info did not show the e1000 (00:03.0 8086:100e) bound to driver e1000")
    if not any(re.search(r"\b3 packets transmitted, [1-3] packets received", l) for l in lines):
        errors.append("net: no ping reply from the peer")
    if not any(l.startswith("== processors: 1") for l in lines):
        errors.append("info did not report 1 processor")
    s = b.summary()
    print(f"{s['config']}: {s['outcome']} after {s['wall_s']} s wall; markers (wall s): {s['marks_wall_s']}; "
          f"/init at uptime {s['init_uptime_s']} s; {s['modules_loaded']} modules; "
          f"exit statuses {s['exit_statuses']}; kernel {s['kernel']} ({s['kernel_version']})")
    if errors:
        for e in errors:
            print(f"FAIL {e}")
        print(f"---- last 60 serial lines ({work / 'serial.log'}) ----")
        for l in lines[-60:]:
            print(f"  | {l}")
        return 1
    print("ok   booted, ran info and net, powered off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
