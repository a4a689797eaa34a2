"""Text that came from outside (file names, paths, package metadata), made safe to print.

Everything archguard prints is pasted somewhere: into a terminal, a CI log, a shell, a JSON
consumer. This module is the one place that decides how outside text is shown:

* :func:`shown`: one line of printable text, for reports, notes and ``inspect``. Every
  character that is not printable by ``str.isprintable`` (C0, DEL, C1, format characters
  such as the bidi overrides, isolates and marks, zero-width and tag characters, line and
  paragraph separators, spaces other than U+0020, unassigned code points) is escaped as
  Python's ``repr`` does (``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\u200f``, ``\\U000e0041``),
  and a byte that is not UTF-8 (a file name Python decoded with ``surrogateescape``)
  appears as ``\\xNN``. Backslashes are kept as they are (Windows paths).
* :func:`strict_json`: the same for every string of a JSON document, so it is valid, strict
  UTF-8: an undecodable byte is the four characters ``\\xNN``, never a lone surrogate.
* :func:`shell_quote` / :func:`powershell_quote`: an argument for a pasted command. A value
  that :func:`shown` would change (control characters, undecodable bytes) cannot be typed
  literally; each such character becomes ``?`` inside the quotes, so the command stays one
  line and runs nothing extra.
* :func:`github_data` / :func:`github_property`: GitHub workflow-command escaping.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, TextIO

__all__ = [
    "OutputClosed",
    "OutputError",
    "github_data",
    "github_property",
    "is_printable",
    "json_text",
    "powershell_quote",
    "shell_quote",
    "shown",
    "strict_json",
    "write",
]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    """One character that is not printable, escaped as Python's ``repr`` writes it; a
    ``surrogateescape`` surrogate (a raw byte of a non-UTF-8 name) as that byte, ``\\xNN``."""
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _replace_unprintable(text: str, replace: Callable[[str], str]) -> str:
    # str.isprintable is the rule repr uses: every character of the Unicode categories
    # Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs but the ASCII space is escaped. So the C0/C1
    # controls, the bidi overrides, isolates and marks (U+202A-U+202E, U+2066-U+2069,
    # U+200E/U+200F, U+061C), zero-width and tag characters all are, with no list to forget.
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else replace(char) for char in text)


def shown(text: str) -> str:
    """``text`` as one line of printable text (see the module docstring)."""
    return _replace_unprintable(text, _escape_char)


def is_printable(text: str) -> bool:
    """True when :func:`shown` leaves ``text`` as it is."""
    return text.isprintable()


def strict_json(value: Any) -> Any:
    """``value`` (dicts, lists, strings, numbers) with every string, keys included, made
    valid UTF-8: lone surrogates become ``\\xNN`` / ``\\udXXX`` text. Other characters,
    control characters included, are left to the JSON encoder, which escapes them."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return re.sub("[\ud800-\udfff]", lambda match: _escape_char(match.group()), value)
    if isinstance(value, dict):
        return {strict_json(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def json_text(value: Any, indent: Optional[int] = 2) -> str:
    """``value`` as a JSON document that is strict UTF-8 (:func:`strict_json`), ASCII (so an
    ``ascii`` or ``latin-1`` stdout writes it unchanged) and safe to show: every character
    outside printable ASCII, C1 controls (``\\x9b`` is a terminal's CSI), bidi overrides
    and marks included, is a ``\\uXXXX`` escape, and so is DEL, which the encoder leaves
    raw. A decoder reads the same strings back; a terminal shows nothing raw."""
    import json

    return json.dumps(strict_json(value), indent=indent).replace("\x7f", "\\u007f")


def _typable(text: str) -> str:
    return _replace_unprintable(text, lambda char: "?")


def shell_quote(text: str) -> str:
    """One POSIX shell word that stands for ``text`` (``shlex.quote``); characters that
    cannot be typed become ``?``."""
    import shlex  # here: `inspect` quotes nothing and starts without it

    return shlex.quote(_typable(text))


_POWERSHELL_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")


def powershell_quote(text: str) -> str:
    """One PowerShell word for ``text``: single quotes, with every single quote (PowerShell
    also treats the typographic ones as quotes) doubled."""
    return "'" + _POWERSHELL_QUOTES.sub(lambda m: m.group() * 2, _typable(text)) + "'"


def github_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A workflow command's property value (``file=``, ``title=``)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


class OutputError(Exception):
    """The report cannot be written (stdout closed, disk full...); one line."""


class OutputClosed(OutputError):
    """The reader went away (``| head``): stop quietly, as cat and grep do."""


def write(stream: Optional[TextIO], text: str) -> None:
    """Write ``text`` and flush, whatever the stream's encoding (characters it cannot show
    are written ``\\xNN``/``\\uNNNN``-escaped). Raises :class:`OutputClosed` for a closed
    pipe and :class:`OutputError` for any other failure, so callers print one line."""
    if stream is None:  # Python sets sys.stdout to None when descriptor 1 is closed
        raise OutputError("the output stream is closed")
    try:
        try:
            stream.write(text)
            stream.flush()
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "ascii"
            data = text.encode(encoding, "backslashreplace")
            buffer = getattr(stream, "buffer", None)
            if buffer is None:
                raise OutputError(f"the output cannot show this text in {encoding}") from None
            buffer.write(data)
            buffer.flush()
    except BrokenPipeError:
        raise OutputClosed("the reader closed the pipe") from None
    except (OSError, ValueError) as error:  # ENOSPC, EBADF; ValueError: a closed file
        text = getattr(error, "strerror", None) or str(error)
        raise OutputError(f"cannot write the output: {text}") from None
