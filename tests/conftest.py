"""Every JSON document the tests make is validated against the schema the package ships
(``nuitka_archguard/schema/report.schema.json``): scan reports, the plugin's report file and
``inspect --json`` all go through ``to_json``, which is wrapped here for the whole session."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest

from nuitka_archguard.binaries import BinaryInfo
from nuitka_archguard.check.scan import ScanReport

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "nuitka_archguard/schema/report.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
REPORT = jsonschema.Draft202012Validator(SCHEMA)
BINARY = jsonschema.Draft202012Validator({"$ref": "#/$defs/binary", "$defs": SCHEMA["$defs"]})


def validate_report(data: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` is a valid scan report."""
    REPORT.validate(data)


def validate_binary(data: Any) -> None:
    BINARY.validate(data)


def _checked(original: Callable[[Any], dict[str, Any]], check: Callable[[Any], None]) -> Any:
    @functools.wraps(original)
    def to_json(self: Any) -> dict[str, Any]:
        data = original(self)
        check(json.loads(json.dumps(data)))  # what a reader of the file would get
        return data

    return to_json


@pytest.fixture(autouse=True, scope="session")
def _every_json_is_valid() -> Iterator[None]:
    originals = (ScanReport.to_json, BinaryInfo.to_json)
    ScanReport.to_json = _checked(ScanReport.to_json, validate_report)  # type: ignore[method-assign]
    BinaryInfo.to_json = _checked(BinaryInfo.to_json, validate_binary)  # type: ignore[method-assign]
    yield
    ScanReport.to_json, BinaryInfo.to_json = originals  # type: ignore[method-assign]


# -- the slow part of the hermetic tier -----------------------------------------------------------

SLOW_FILES = ("test_fix", "test_resolve", "test_scan_resolve_hint")
"""Test files of ``fix`` and ``resolve``: hermetic (wheels from local folders), but nearly every
case runs pip, about a second of CPU a child."""
SLOW_CASES = {
    ("test_hostile_compression.py", "test_compression_bombs_cost_their_budget_whatever_the_method"),
    ("test_hostile_resources.py", "test_hostile_case_runs_in_300_mib_and_30_s"),
    ("test_properties.py", "test_mutations_of_valid_headers"),
    ("test_properties.py", "test_metadata_files_never_raise"),
    ("test_fat_validation.py", "test_mutated_thin_files_are_refused_whenever_llvm_lipo_refuses"),
    (
        "test_plan_lines_fit.py",
        "test_a_plan_of_six_tag_wheels_fits_100_columns_and_json_keeps_every_tag",
    ),
    ("test_plan_lines_fit.py", "test_fix_output_lines_fit_too"),
    ("test_wheel_opened_once.py", "test_fix_output_opens_each_wheel_once"),
    ("test_wheel_opened_once.py", "test_fix_output_fusing_opens_each_wheel_once"),
    ("test_wheel_opened_once.py", "test_fix_of_an_environment_opens_the_downloaded_wheel_once"),
}
"""Other hermetic cases that cost seconds each: decompression bombs inflated up to their
budget, property runs of hundreds of examples, 360 mutants each judged by an llvm-lipo child
(~10 s), and the cases outside the files above that run ``fix`` with pip (a pip child each)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the cases above ``slow``: ``-m "not nuitka and not realwheels and not slow"`` is
    the quick hermetic tier. A listed case that no longer exists in a collected file is an
    error, so the list cannot rot into marking nothing."""
    found: set[tuple[str, str]] = set()
    files: set[str] = set()
    for item in items:
        name = item.path.name
        files.add(name)
        function = getattr(item, "originalname", item.name)
        if name.startswith(SLOW_FILES) or (name, function) in SLOW_CASES:
            item.add_marker(pytest.mark.slow)
            found.add((name, function))
    missing = sorted(case for case in SLOW_CASES if case[0] in files and case not in found)
    if missing:
        raise pytest.UsageError(f"tests/conftest.py SLOW_CASES names missing tests: {missing}")
