"""``nuitka-archguard resolve`` with pip's real resolver on a local ``--find-links`` folder
of synthesized wheels: releases that drop an architecture, a dependent that requires the
newer release, a universal2-only release, a thin-pair release, an sdist-only release, a
project without any wheel for the target; the constraints it writes install the set for
the target and scan clean; JSON validated against its schema."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from nuitka_archguard.check.scan import scan
from nuitka_archguard.cli.main import main
from nuitka_archguard.fix.resolve import (
    Resolution,
    finder_files,
    render_resolution,
    resolve,
    resolve_for_platforms,
)
from nuitka_archguard.fix.wheels import PipOptions, PythonSpec
from nuitka_archguard.target import parse_target
from tests import fixwheels
from tests.synth import macho

SCHEMAS = Path(__file__).resolve().parent.parent / "nuitka_archguard" / "schema"
X86 = parse_target("macos-x86_64", "10.9")
UNIVERSAL2 = parse_target("macos-universal2", "10.9")


def _validator() -> jsonschema.Draft202012Validator:
    report = json.loads((SCHEMAS / "report.schema.json").read_text())
    schema = json.loads((SCHEMAS / "resolve.schema.json").read_text())
    registry: Registry = Registry().with_resource(
        "https://github.com/nuitka-archguard/nuitka-archguard/schema/report.schema.json",
        Resource.from_contents(report),
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _universal2(folder: Path, name: str, version: str) -> None:
    slices = [
        macho.thin("x86_64", "bundle", build_version=("macos", "10.9", "14.0")),
        macho.thin("arm64", "bundle"),
    ]
    files = {
        f"{name}/__init__.py": b"",
        f"{name}/_speedups.cpython-311-darwin.so": macho.fat(slices),
    }
    fixwheels.make_wheel(folder, name, version, "cp311-cp311-macosx_10_9_universal2", files)


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("links")
    # alpha: 1.0 for both archs, 2.0 drops x86_64, 3.0 is an sdist only.
    fixwheels.ext_wheel(folder, "alpha", "1.0", "x86_64")
    fixwheels.ext_wheel(folder, "alpha", "1.0", "arm64")
    fixwheels.ext_wheel(folder, "alpha", "2.0", "arm64")
    (folder / "alpha-3.0.tar.gz").write_bytes(b"not really an sdist")
    # beta (pure): 1.0 requires the newer alpha, 0.9 any alpha.
    for version, requires in (("0.9", ("alpha",)), ("1.0", ("alpha>=2.0",))):
        files = {"beta/__init__.py": b""}
        fixwheels.make_wheel(folder, "beta", version, "py3-none-any", files, requires=requires)
    # gamma: 1.0 is a universal2 wheel only, 2.0 arm64 only.
    _universal2(folder, "gamma", "1.0")
    fixwheels.ext_wheel(folder, "gamma", "2.0", "arm64")
    # delta: 1.0 a thin pair (fix fuses it), 2.0 x86_64 only, 3.0 arm64 only.
    fixwheels.ext_wheel(folder, "delta", "1.0", "x86_64")
    fixwheels.ext_wheel(folder, "delta", "1.0", "arm64")
    fixwheels.ext_wheel(folder, "delta", "2.0", "x86_64")
    fixwheels.ext_wheel(folder, "delta", "3.0", "arm64")
    # omega: arm64 only, ever.
    fixwheels.ext_wheel(folder, "omega", "1.0", "arm64")
    fixwheels.pure_wheel(folder, "plain", "1.0")
    return folder


def _resolve(links: Path, *requirements: str, target=X86) -> Resolution:  # type: ignore[no-untyped-def]
    options = PipOptions(find_links=(str(links),), no_index=True)
    result = resolve(list(requirements), target, python=PythonSpec("3.11"), options=options)
    _validator().validate(result.to_json())
    return result


def _fit(result: Resolution, name: str):  # type: ignore[no-untyped-def]
    (fit,) = [d for d in result.distributions if d.name == name]
    return fit


def test_a_release_that_drops_the_arch_and_an_sdist_only_release(links: Path) -> None:
    result = _resolve(links, "alpha")
    alpha = _fit(result, "alpha")
    assert alpha.target_version == "1.0" and alpha.newest_fitting == "1.0"
    assert alpha.target_wheel == "alpha-1.0-cp311-cp311-macosx_10_9_x86_64.whl"
    assert alpha.min_os == "10.9"
    assert alpha.reasons == ["3.0: sdist only", "2.0: macosx_11_0_arm64 only"]
    assert alpha.host_version == "2.0" and alpha.changed  # the newest release with a wheel
    assert result.exit_code == 1 and result.pins == {"alpha": "1.0"}
    text = render_resolution(result)
    assert "alpha  newest release 2.0 -> target 1.0" in text
    assert "not for the target: 3.0: sdist only; 2.0: macosx_11_0_arm64 only" in text


def test_a_dependent_that_requires_the_newer_release_goes_back_too(links: Path) -> None:
    result = _resolve(links, "beta")
    beta = _fit(result, "beta")
    assert beta.target_version == "0.9" and beta.newest_fitting == "1.0"
    assert _fit(result, "alpha").target_version == "1.0"
    assert result.pins == {"alpha": "1.0", "beta": "0.9"}
    assert "newest with a wheel for the target: 1.0, held back" in render_resolution(result)


def test_universal2_only_release_fits_both_architectures(links: Path) -> None:
    result = _resolve(links, "gamma", target=UNIVERSAL2)
    gamma = _fit(result, "gamma")
    assert gamma.target_version == "1.0"
    assert gamma.target_wheel == "gamma-1.0-cp311-cp311-macosx_10_9_universal2.whl"
    assert gamma.reasons == ["2.0: macosx_11_0_arm64 only"]


def test_thin_pair_release_is_the_common_version_of_both_architectures(links: Path) -> None:
    """arm64 alone would take 3.0 and x86_64 alone 2.0: resolve re-resolves with the lower
    cap until both agree on 1.0, the newest release with a wheel for each."""
    result = _resolve(links, "delta", target=UNIVERSAL2)
    delta = _fit(result, "delta")
    assert delta.target_version == "1.0" and result.rounds >= 2
    assert delta.target_wheel is not None and "arm64" in delta.target_wheel
    assert "x86_64" in delta.target_wheel
    assert delta.reasons == ["3.0: macosx_11_0_arm64 only", "2.0: macosx_10_9_x86_64 only"]
    assert result.pins == {"delta": "1.0"}


def test_no_version_for_the_target_is_named(links: Path) -> None:
    result = _resolve(links, "omega", "plain")
    assert result.exit_code == 1 and result.pins == {}
    assert result.problems == ["omega has no version with a wheel for macos-x86_64"]
    assert _fit(result, "omega").reasons == ["1.0: macosx_11_0_arm64 only"]
    assert "error: omega has no version with a wheel for macos-x86_64" in render_resolution(result)


def test_requirements_that_install_as_they_are_exit_0(links: Path) -> None:
    result = _resolve(links, "plain")
    assert result.exit_code == 0 and not result.problems
    assert "The requirements install for the target as they are." in render_resolution(result)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_written_constraints_install_the_set_for_the_target_and_scan_clean(
    links: Path, tmp_path: Path
) -> None:
    reqs = tmp_path / "reqs.in"
    reqs.write_text("beta\n")
    constraints = tmp_path / "constraints.txt"
    code, out = run(
        "resolve", "-r", str(reqs), "--target", "macos-x86_64", "--min-os", "10.9",
        "--python-version", "3.11", "--no-index", "--find-links", str(links),
        "--write-constraints", str(constraints), "--format", "json",
    )  # fmt: skip
    assert code == 1, out
    _validator().validate(json.loads(out))
    assert "alpha==1.0" in constraints.read_text() and "beta==0.9" in constraints.read_text()
    site = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
            str(links), "--only-binary=:all:", "--platform", "macosx_10_9_x86_64",
            "--python-version", "3.11", "--implementation", "cp", "--target", str(site),
            "-r", str(reqs), "-c", str(constraints),
        ],
        check=True,
        env=env,
    )  # fmt: skip
    assert sorted(p.name for p in site.glob("*.dist-info")) == [
        "alpha-1.0.dist-info",
        "beta-0.9.dist-info",
    ]
    report = scan([str(site)], X86)
    assert report.binaries == 1 and not report.errors and not report.warnings


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("resolve", "--target", "macos-x86_64")[0] == 2
    assert "needs requirements" in capsys.readouterr().err
    assert run("resolve", "x")[0] == 2
    assert "needs --target" in capsys.readouterr().err
    assert run("resolve", "x", "--target", "macos-z80")[0] == 2
    assert run("resolve", "x", "--target", "linux-x86_64", "--python-version", "three")[0] == 2
    assert run("resolve", "-r", str(tmp_path / "missing.txt"), "--target", "linux-x86_64")[0] == 2


def test_pip_environment_cannot_change_the_question(
    links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PIP_* values for the options resolve decides (a platform, a constraint, a target
    folder) are replaced in pip's environment."""
    bad = links.parent / "pin-alpha-2.txt"
    bad.write_text("alpha==2.0\n")
    monkeypatch.setenv("PIP_CONSTRAINT", str(bad))
    monkeypatch.setenv("PIP_PLATFORM", "macosx_11_0_arm64")
    monkeypatch.setenv("PIP_ONLY_BINARY", ":none:")
    result = _resolve(links, "alpha")
    assert _fit(result, "alpha").target_version == "1.0" and not result.problems


def test_finder_log_lines_are_read() -> None:
    log = (
        "Skipping link: none of the wheel's tags (cp311-cp311-macosx_11_0_arm64) are compatible "
        "(run pip debug --verbose to show compatible tags): "
        "https://files/x/alpha-2.0-cp311-cp311-macosx_11_0_arm64.whl (from https://i/simple/alpha/)\n"
        "Skipping link: No sources permitted for alpha: file:///l/alpha-3.0.tar.gz\n"
        "Found link file:///l/alpha-1.0-cp311-cp311-macosx_10_9_x86_64.whl, version: 1.0\n"
        "Skipping link: wrong project name (not alpha): file:///l/beta-1.0-py3-none-any.whl\n"
    )
    files = finder_files(log)
    assert sorted(files) == ["alpha"]
    seen = {(r.version, r.fits, r.platforms) for r in files["alpha"]}
    assert seen == {
        ("2.0", False, ("macosx_11_0_arm64",)),
        ("3.0", False, ()),
        ("1.0", True, ("macosx_10_9_x86_64",)),
    }


def test_the_resolver_fix_asks_for_one_set_of_platforms(links: Path) -> None:
    options = PipOptions(find_links=(str(links),), no_index=True)
    python = PythonSpec("3.11")
    picked, why = resolve_for_platforms(["beta"], ["macosx_10_9_x86_64"], python, options)
    assert (picked, why) == ({"alpha": ("alpha", "1.0"), "beta": ("beta", "0.9")}, "")
    picked, why = resolve_for_platforms(["omega"], ["macosx_10_9_x86_64"], python, options)
    assert picked == {} and why == "omega has no version with a wheel for macosx_10_9_x86_64"
