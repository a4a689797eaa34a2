"""``OwnershipIndex.needed_by`` keeps its answers by name (a scan asks it for the
distribution of every finding), and they follow the environments the index knows: one
made known after an answer, by ``add_path`` or by a lookup that finds it, is counted."""

from __future__ import annotations

from pathlib import Path

from nuitka_archguard.check.ownership import OwnershipIndex
from tests.envbuild import ARM, install


def _two_sites(tmp_path: Path) -> tuple[Path, Path]:
    first = tmp_path / "one" / "site-packages"
    install(first, "cffi", "1.17.1", {"_cffi_backend.so": ARM})
    install(first, "cryptography", "43.0.3", {"cryptography/_r.so": ARM}, requires=["cffi"])
    second = tmp_path / "two" / "site-packages"
    install(second, "bcrypt", "4.2.0", {"bcrypt/_b.so": ARM}, requires=["CFFI>=1.1"])
    return first, second


def test_an_environment_added_after_an_answer_is_counted(tmp_path: Path) -> None:
    first, second = _two_sites(tmp_path)
    index = OwnershipIndex.for_paths([first])
    assert index.needed_by("cffi") == ("cryptography",)
    assert index.needed_by("CFFI") == ("cryptography",)  # asked again: the same answer
    index.add_path(second)
    assert index.needed_by("cffi") == ("bcrypt", "cryptography")


def test_an_environment_found_by_a_lookup_after_an_answer_is_counted(tmp_path: Path) -> None:
    first, second = _two_sites(tmp_path)
    index = OwnershipIndex.for_paths([first])
    assert index.needed_by("cffi") == ("cryptography",)
    owner = index.owner_of(second / "bcrypt" / "_b.so")  # its site-packages, found from it
    assert owner is not None and owner.name == "bcrypt"
    assert index.needed_by("cffi") == ("bcrypt", "cryptography")
