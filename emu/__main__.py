"""``python -m emu`` and the ``emu`` command.

The CLI takes SIGINT and SIGTERM over once it runs (emu/cli.py, Signals); until then, while
Python imports the emulator, a signal ends the process with the same one line and exit code
instead of a KeyboardInterrupt traceback.
"""

import signal
import sys


def _early(signum, _frame):
    sys.stderr.write("emu: interrupted\n" if signum == signal.SIGINT else "emu: terminated\n")
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGINT, _early)
    signal.signal(signal.SIGTERM, _early)
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
