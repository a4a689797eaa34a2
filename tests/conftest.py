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
from nuitka_archguard.scan import ScanReport

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
