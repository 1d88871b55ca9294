"""The ``libnet`` command.

    libnet bench [-n N] [--systems ...] [--scaling ...] [--json] [--plot FILE.png]

Subcommands register from one list (``COMMANDS``): each gives a module with
``add_arguments(parser)`` and ``command(args) -> exit status``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

__all__ = ["main", "COMMANDS"]

# (name, module, help); modules are imported only when their command runs.
COMMANDS = [
    ("bench", "libnet.benchmark.density",
     "density benchmark: N containers with libnet, netavark, CNI, a naive script and "
     "the kernel's own cost"),
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="libnet", description="Container networking for Linux.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module, help_text in COMMANDS:
        sp = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(sp)
        sp.set_defaults(_module=mod)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._module.command(args))


if __name__ == "__main__":
    sys.exit(main())
