"""The binary model every reader fills in and every later stage consumes.

Readers describe *what a file is*; they never judge it. Judging is the policy's job.
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from typing import Any, Optional


class BinaryReadError(Exception):
    """A file looks like (or should be) a binary but cannot be read: missing, unreadable,
    truncated or corrupt. ``reason`` is one line that names the problem; ``path`` the file,
    when known (:func:`~nuitka_archguard.binaries.inspect_file` sets it), and then
    ``str(error)`` is ``PATH: reason``, so a library user's message names the file."""

    def __init__(self, reason: str, path: Optional[str] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path is not None else self.reason


TOO_LARGE = "too large to inspect"
"""How every :class:`TooLarge` message starts; the scanner reports such a file as a note
("not checked: too large to inspect"), not as an unreadable binary."""


class TooLarge(BinaryReadError):
    """A file whose headers lie beyond what a scan reads (the header budget scaled with the
    file's size, up to its cap; the archive's decompression budget): not corrupt, just out of
    reach."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{TOO_LARGE}: {detail}")


def is_too_large(error: Optional[str]) -> bool:
    """Whether a reader's error text says :class:`TooLarge`."""
    return bool(error) and str(error).startswith(TOO_LARGE)


class BinaryFormat(str, enum.Enum):
    MACHO = "mach-o"
    ELF = "elf"
    PE = "pe"
    NOT_A_BINARY = "not-a-binary"


CLR_ANYCPU = "AnyCPU"
CLR_ANYCPU_32BIT_PREFERRED = "AnyCPU, 32-bit preferred"
_PORTABLE_CLR = frozenset({CLR_ANYCPU, CLR_ANYCPU_32BIT_PREFERRED})
"""IL-only .NET assemblies: any process with a .NET runtime loads them, whatever its arch."""


class _Value:
    """An immutable value with ``__slots__``: equal, hashed and shown by its fields.

    Written out rather than made with ``@dataclass(frozen=True)``, as ``packaging.tags.Tag``
    is, because importing :mod:`dataclasses` (it pulls in :mod:`inspect`, :mod:`ast`, ...) and
    generating the methods was a fifth of ``nuitka-archguard inspect``'s start-up. A
    subclass lists its fields in ``_fields``, in its constructor's order; their slots live in
    a plain twin class its ``__new__`` fills and then turns into the frozen value
    (:class:`_SliceFields`)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _compared: tuple[str, ...] = ()
    """The fields that take part in ``==`` and ``hash`` (default: all)."""

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in (self._compared or self._fields))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, _Value)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{self.__class__.__name__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.__class__.__name__} is frozen: cannot assign {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self.__class__.__name__} is frozen: cannot delete {name!r}")


_SLICE_FIELDS = (
    "arch",
    "file_type",
    "platform",
    "min_os",
    "sdk",
    "dependencies",
    "rpaths",
    "install_name",
    "libc",
    "clr",
)
"""A :class:`Slice`'s fields in its constructor's order: its slots and its ``_fields`` (the
constructor's parameters and the annotations, written out for type checkers, are checked
against it by ``tests/test_model.py``)."""


class _SliceFields:
    """A :class:`Slice`'s fields, assignable: :meth:`Slice.__new__` fills one in and then
    makes it a ``Slice`` (which refuses assignment) by setting its class. Plain attribute
    stores cost a fifth of what a frozen value's slot-descriptor calls cost, and every
    binary read builds a Slice."""

    __slots__ = _SLICE_FIELDS


class Slice(_SliceFields, _Value):
    """One architecture's code inside a binary: the only slice of an ELF or PE file, one of
    possibly several in a fat Mach-O file.

    ``arch`` uses the names of the platform's own tools: ``lipo -archs`` for Mach-O
    (``x86_64``, ``arm64``), ``uname -m`` / manylinux tags for ELF (``x86_64``, ``aarch64``,
    ``i686``), and Python's ``win_*`` tags for PE (``amd64``, ``x86``, ``arm64``).
    """

    _fields = _SLICE_FIELDS
    __slots__ = ()  # the fields are _SliceFields' slots

    arch: str
    file_type: str
    """``executable``, ``dylib``, ``bundle``, ``object``, ``static-archive`` (an ``ar``
    slice of a fat file) (Mach-O); ``executable``,
    ``shared-library``, ``object``, ``core`` (ELF); ``dll``, ``executable`` (PE)."""
    platform: Optional[str]
    """``macos``, ``ios``, ``maccatalyst``, ``ios-simulator``…, ``linux``, ``windows``;
    ``None`` when the file does not say (old Mach-O without a version load command)."""
    min_os: Optional[str]
    sdk: Optional[str]
    dependencies: tuple[str, ...]
    rpaths: tuple[str, ...]
    install_name: Optional[str]
    """Mach-O ``LC_ID_DYLIB`` or ELF ``DT_SONAME``."""
    libc: Optional[str]
    """ELF only: ``glibc`` or ``musl`` when the file tells, else ``None``."""
    clr: Optional[str]
    """PE only: what a .NET assembly's CLR header says (``AnyCPU``, ``x86-only (IL only,
    32-bit required)``, ``mixed-mode (native code inside)``...); ``None`` for native code."""

    def __new__(
        cls,
        arch: str,
        file_type: str,
        platform: Optional[str] = None,
        min_os: Optional[str] = None,
        sdk: Optional[str] = None,
        dependencies: tuple[str, ...] = (),
        rpaths: tuple[str, ...] = (),
        install_name: Optional[str] = None,
        libc: Optional[str] = None,
        clr: Optional[str] = None,
    ) -> Slice:
        self: Any = object.__new__(_SliceFields)
        self.arch = arch
        self.file_type = file_type
        self.platform = platform
        self.min_os = min_os
        self.sdk = sdk
        self.dependencies = dependencies
        self.rpaths = rpaths
        self.install_name = install_name
        self.libc = libc
        self.clr = clr
        self.__class__ = cls  # from now on frozen
        return self  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "file_type": self.file_type,
            "platform": self.platform,
            "min_os": self.min_os,
            "sdk": self.sdk,
            "install_name": self.install_name,
            "libc": self.libc,
            "clr": self.clr,
            "dependencies": list(self.dependencies),
            "rpaths": list(self.rpaths),
        }


_INFO_FIELDS = ("path", "format", "slices", "error", "notes")
"""A :class:`BinaryInfo`'s fields in its constructor's order (see :data:`_SLICE_FIELDS`)."""


class _InfoFields:
    """A :class:`BinaryInfo`'s fields, assignable (see :class:`_SliceFields`)."""

    __slots__ = _INFO_FIELDS


class BinaryInfo(_InfoFields, _Value):
    """What one file is. ``format`` is ``NOT_A_BINARY`` (with no slices) for anything that is
    not a Mach-O, ELF or PE file, including Java class files."""

    _fields = _INFO_FIELDS
    __slots__ = ()  # the fields are _InfoFields' slots
    _compared = ("path", "format", "slices", "error")

    path: str
    format: BinaryFormat
    slices: tuple[Slice, ...]
    error: Optional[str]
    """Set only by callers that turn a :class:`BinaryReadError` into a result (the CLI, the
    scanner); :func:`inspect_file` raises instead."""
    notes: tuple[str, ...]
    """What a reader noticed on the way (not compared)."""

    def __new__(
        cls,
        path: str,
        format: BinaryFormat,
        slices: tuple[Slice, ...] = (),
        error: Optional[str] = None,
        notes: tuple[str, ...] = (),
    ) -> BinaryInfo:
        self: Any = object.__new__(_InfoFields)
        self.path = path
        self.format = format
        self.slices = slices
        self.error = error
        self.notes = notes
        self.__class__ = cls  # from now on frozen
        return self  # type: ignore[no-any-return]

    @property
    def is_binary(self) -> bool:
        return self.format is not BinaryFormat.NOT_A_BINARY

    @property
    def debug_only(self) -> bool:
        """Mach-O ``MH_DSYM`` files (inside ``.dSYM`` bundles): debug data, never loaded."""
        return bool(self.slices) and all(s.file_type == "dsym" for s in self.slices)

    @property
    def any_cpu(self) -> bool:
        """An IL-only .NET assembly any process with a .NET runtime loads, whatever its arch."""
        return any(s.clr in _PORTABLE_CLR for s in self.slices)

    @property
    def archs(self) -> tuple[str, ...]:
        return tuple(s.arch for s in self.slices)

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Linked libraries of all slices, each once, in first-seen order."""
        return _unique(d for s in self.slices for d in s.dependencies)

    @property
    def rpaths(self) -> tuple[str, ...]:
        return _unique(r for s in self.slices for r in s.rpaths)

    @property
    def install_name(self) -> Optional[str]:
        return next((s.install_name for s in self.slices if s.install_name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format.value,
            "slices": [s.to_json() for s in self.slices],
            "install_name": self.install_name,
            "dependencies": list(self.dependencies),
            "rpaths": list(self.rpaths),
            "error": self.error,
        }


def _unique(items: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
