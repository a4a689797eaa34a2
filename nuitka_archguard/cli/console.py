"""What the commands (``scan``, ``fix``) share on the way out: one-line errors and notes on
stderr, and the guard that turns every failure into such a line and an exit code.

One place, so that every command words its errors alike and none ever shows a traceback.
"""

from __future__ import annotations

import contextlib
import sys

from ..common import ExitCode
from ..text import OutputError, shown, write

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    import argparse
    from typing import Callable

__all__ = ["error", "guarded", "note"]

INTERRUPTED = 130
"""What a shell reports for a command stopped by Ctrl-C (128 + SIGINT)."""


def error(message: str) -> None:
    """``nuitka-archguard: error: MESSAGE`` on stderr, printable."""
    _stderr(f"nuitka-archguard: error: {shown(message)}\n")


def note(message: str) -> None:
    """``nuitka-archguard: note: MESSAGE`` on stderr, printable. Every line starts with our
    name: no name from a file can begin a line (GitHub reads "::command::" lines on stderr
    too)."""
    _stderr(f"nuitka-archguard: note: {shown(message)}\n")


def _stderr(text: str) -> None:
    """Best effort: a closed stderr must not fail the command."""
    with contextlib.suppress(OutputError):
        write(sys.stderr, text)


def guarded(
    run: Callable[[argparse.Namespace], int],
    args: argparse.Namespace,
    *,
    said: tuple[type[Exception], ...] = (),
    passed_on: tuple[type[Exception], ...] = (),
) -> int:
    """``run(args)``; any failure becomes one line on stderr and exit 2.

    ``said``: the command's own failures, whose text is the whole message. ``passed_on``:
    left to the caller (``cli.main`` says a failed stdout in one line). Anything else is a
    bug: it is named so that it can be reported, never shown as a traceback.
    """
    try:
        return run(args)
    except KeyboardInterrupt:
        return INTERRUPTED
    except passed_on:
        raise
    except said as failure:
        error(str(failure))
    except RecursionError:
        error("input nested too deeply")
    except Exception as failure:
        error(f"internal error ({type(failure).__name__}: {failure}); please report this")
    return ExitCode.USAGE
