"""The readers' values name each field once (issue 20, "knowledge in one place").

``Slice`` and ``BinaryInfo`` keep their fields in one tuple each (their slots and their
``_fields``); the constructor's parameters and the class annotations are written out for type
checkers, and are checked here against that tuple so that none of the copies can drift.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from nuitka_archguard.binaries.model import BinaryFormat, BinaryInfo, Slice


@pytest.mark.parametrize("value_class", [Slice, BinaryInfo])
def test_constructor_annotations_and_slots_name_the_same_fields(value_class: type) -> None:
    fields = value_class._fields  # type: ignore[attr-defined]
    parameters = list(inspect.signature(value_class.__new__).parameters)[1:]
    assert tuple(parameters) == fields
    assert tuple(name for name in value_class.__annotations__ if name in fields) == fields
    fields_class: Any = value_class.__mro__[1]  # _SliceFields, _InfoFields
    assert set(fields_class.__slots__) == set(fields)


def test_values_are_frozen_and_compared_by_their_fields() -> None:
    a = Slice("x86_64", "bundle", "macos", "11.0", dependencies=("libz.dylib",))
    assert a == Slice("x86_64", "bundle", "macos", "11.0", dependencies=("libz.dylib",))
    assert a != Slice("arm64", "bundle", "macos", "11.0", dependencies=("libz.dylib",))
    with pytest.raises(AttributeError, match="frozen"):
        a.arch = "arm64"
    info = BinaryInfo("m.so", BinaryFormat.MACHO, (a,), notes=("a note",))
    assert info == BinaryInfo("m.so", BinaryFormat.MACHO, (a,))  # notes are not compared
    assert repr(a).startswith("Slice(arch='x86_64', file_type='bundle', platform='macos'")
