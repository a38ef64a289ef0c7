"""Emulator harness for Natsume: ISO building, Bochs / QEMU runners and
serial-log parsing. Python 3 standard library only."""

# Exit code ctest treats as "skipped" (SKIP_RETURN_CODE in tests/integration).
EXIT_SKIPPED = 77
