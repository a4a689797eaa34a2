"""The walk's suffix test is ``os.path.splitext(name)[1].lower()`` for every name: which
files are skipped unopened (``.py``, ``.txt``...) or read as wheels must not change."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from nuitka_archguard.check.discovery import _suffix

NAMES = st.text(alphabet=st.sampled_from("aZ.é_-0 "), max_size=12)


@given(NAMES)
def test_suffix_is_splitexts(name: str) -> None:
    assert _suffix(name) == os.path.splitext(name)[1].lower()


def test_suffix_of_names_with_leading_dots() -> None:
    for name in (".bashrc", "..foo", ".x.so", "...", "..", ".", "a..so", ".A.PY"):
        assert _suffix(name) == os.path.splitext(name)[1].lower(), name
