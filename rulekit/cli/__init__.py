"""The `rulekit` command. Each command group lives in its own module exposing `register(sub)`,
which adds its subcommands with a `handler` default; this module only assembles them."""
from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from rulekit.cli import audit, authoring, batch, evaluate, staff, staff_tools
from rulekit.errors import PackError

COMMAND_MODULES = (evaluate, batch, staff, staff_tools, audit, authoring)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rulekit", description="Decide what a poverty-return "
                                "monitoring policy pack says about rural households, and why.")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE") and argv is None:
        # `rulekit ... | head` ends quietly, as command-line tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except PackError as e:
        print(str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
