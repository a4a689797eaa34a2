"""``allow`` and ``accept-different`` in ``[tool.archguard]``: one string or a list of
strings; anything else is one clear ConfigError naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuitka_archguard.check.config import ConfigError, load_config


def _config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.archguard]\n{body}\n")
    return tmp_path


def test_one_string_or_a_list(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, 'allow = "cffi"\naccept-different = ["*.h", "x"]'))
    assert config.allow == ("cffi",)
    assert config.accept_different == ("*.h", "x")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("allow = 3", "allow must be a list of strings"),
        ('allow = ["a", 1]', "allow must be a list of strings"),
        ("accept-different = [1]", "accept-different must be a list of globs"),
        ("accept-different = {a = 1}", "accept-different must be a list of globs"),
    ],
)
def test_anything_else_is_refused_naming_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, body))
    assert str(caught.value).endswith(f"[tool.archguard]: {message}")
