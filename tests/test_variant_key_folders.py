"""policy.variant_key works out each folder's words once (cached per folder) and the file
name on its own: the result must be that of substituting every path part separately, the
definition (a run of words never spans a "/")."""

from __future__ import annotations

import re
from typing import Optional

from hypothesis import given
from hypothesis import strategies as st

from nuitka_archguard import archs
from nuitka_archguard.check.policy import _WORD_RUN_RE, variant_key

# The definition, as regular expressions (policy takes them off by string methods, linear on
# hostile names; tests/test_payload_rule.py checks the two agree on random names).
_BINARY_SUFFIX_RE = re.compile(r"(?:\.(?:exe|dll|pyd|dylib|bin)|\.so(?:\.[0-9][0-9a-z.]*)?)\Z")
_NAME_VERSION_RE = re.compile(r"[-_.]?[0-9]+(?:\.[0-9]+)*\Z")


def per_part(path: str) -> Optional[tuple[str, tuple[str, ...]]]:
    parts = path.replace("\\", "/").lower().split("/")
    name = _BINARY_SUFFIX_RE.sub("", parts[-1])
    parts[-1] = name[3:] if name.startswith("lib") else name
    words: list[str] = []

    def collapse(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return "\0"

    parts = [_WORD_RUN_RE.sub(collapse, part) for part in parts]
    parts[-1] = _NAME_VERSION_RE.sub("", parts[-1])
    return ("/".join(parts), tuple(words)) if words else None


PIECES = st.sampled_from(
    [*sorted(archs.PATH_WORDS)[:40], "lib", "x", "1.2", ".so", ".dll", "-", "_", ".", "/", "\\"]
)
PATHS = st.lists(PIECES, max_size=14).map("".join)


@given(PATHS)
def test_variant_key_is_the_per_part_substitution(path: str) -> None:
    assert variant_key(path) == per_part(path)
    assert variant_key(path) == per_part(path)  # again, from the folder cache
