"""macho reader (being written)."""

from __future__ import annotations

from .model import Slice
from .source import ByteSource


def is_macho(head: bytes) -> bool:
    return False


def read_slices(source: ByteSource) -> tuple[Slice, ...]:
    raise NotImplementedError
