"""Run real Nuitka as if on an arm64 (or x86_64) Mac: the harness's entry point.

Started by :func:`tests.macos_emulated.build` as ``python launcher.py -m nuitka ARGS...``.
Nuitka re-executes itself (``python -X frozen_modules=off -S .../nuitka/__main__.py ARGS``);
the wrapped ``callExecProcess`` starts this file again instead, as
``python ... -S launcher.py .../nuitka/__main__.py ARGS``, so both processes are emulated.

Standard library only: in the re-executed process (``-S``) nothing else is importable
before Nuitka restores ``sys.path`` itself.

What is changed, and nothing else (read from ``ARCHGUARD_EMUL_*`` environment variables):

* ``os.uname()``: sysname ``Darwin``, machine ``ARCHGUARD_EMUL_ARCH`` (Nuitka's ``getOS``,
  ``isMacOS``, ``getArchitecture``); ``platform.uname()``/``machine()``/``mac_ver()`` follow.
* ``sys.platform = "darwin"`` (what the archguard plugin reads), after the host's
  ``sysconfig`` data, which is named after the platform, has been loaded with the real one.
* ``sysconfig``'s ``MACOSX_DEPLOYMENT_TARGET`` (a Linux build has none): the Python's
  deployment target, ``ARCHGUARD_EMUL_DEPLOYMENT_TARGET``.
* ``importlib.machinery.EXTENSION_SUFFIXES``: ``.cpython-3XY-darwin.so`` first, as on macOS;
  the host's own suffix is kept last so the host's stdlib extension modules are still found.

The ``file`` and ``otool`` that Nuitka runs are stand-ins on ``PATH`` (see ``tools.py``).
"""

import os
import sys

ENV_ARCH = "ARCHGUARD_EMUL_ARCH"
ENV_DEPLOYMENT_TARGET = "ARCHGUARD_EMUL_DEPLOYMENT_TARGET"
DARWIN_RELEASE = "23.6.0"
"""The kernel release ``os.uname()`` reports: macOS 14 (Darwin 23)."""
MACOS_RELEASE = "14.6"


def _load_host_platform_data() -> None:
    """Import what the host stdlib derives from ``sys.platform`` while it is still real:
    ``sysconfig``'s variables come from ``_sysconfigdata_<abiflags>_<platform>_...``, a
    module that exists only for the real platform; ``urllib.request`` imports ``_scproxy``
    on macOS, a module only macOS builds have."""
    import importlib.machinery  # noqa: F401
    import platform  # noqa: F401
    import sysconfig
    import urllib.request  # noqa: F401

    sysconfig.get_config_vars()


def _emulate(arch: str, deployment_target: str) -> None:
    import importlib.machinery
    import platform
    import sysconfig

    real = os.uname()
    fake = os.uname_result(  # type: ignore[attr-defined,unused-ignore]
        (
            "Darwin",
            real.nodename,
            DARWIN_RELEASE,
            f"Darwin Kernel Version {DARWIN_RELEASE} (emulated by nuitka-archguard's tests)",
            arch,
        )
    )
    os.uname = lambda: fake
    platform._uname_cache = None  # type: ignore[attr-defined]
    platform.machine = lambda: arch
    platform.mac_ver = lambda release="", versioninfo=("", "", ""), machine="": (
        MACOS_RELEASE,
        ("", "", ""),
        arch,
    )
    sysconfig.get_config_vars()["MACOSX_DEPLOYMENT_TARGET"] = deployment_target
    darwin_suffix = ".cpython-{}{}-darwin.so".format(*sys.version_info[:2])
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    host_specific = [s for s in suffixes if s not in (".abi3.so", ".so")]
    suffixes[:] = [darwin_suffix] + [s for s in suffixes if s not in host_specific]
    suffixes.extend(host_specific)
    sys.platform = "darwin"


def _wrap_reexecution() -> None:
    """Make Nuitka's re-execution start this launcher again (its ``-S`` child would
    otherwise run unpatched): the launcher goes right before ``.../nuitka/__main__.py``."""
    from nuitka.utils import ReExecute  # type: ignore[import-untyped,import-not-found,unused-ignore]

    original = ReExecute.callExecProcess

    def call_exec_process(args, *more, **options):  # type: ignore[no-untyped-def]
        # 4.x: (args, shell, logger); 2.x: (args, uac=False). Only args is touched.
        args = list(args)
        for index, arg in enumerate(args):
            if index >= 2 and arg.endswith("__main__.py"):
                args.insert(index, os.path.abspath(__file__))
                break
        else:  # a Nuitka that re-executes differently: the harness must be updated
            sys.exit(f"macos_emulated launcher: cannot find nuitka's __main__.py in {args!r}")
        return original(args, *more, **options)

    ReExecute.callExecProcess = call_exec_process


def main() -> None:
    arch = os.environ.get(ENV_ARCH, "arm64")
    deployment_target = os.environ.get(ENV_DEPLOYMENT_TARGET, "11.0")
    _load_host_platform_data()
    args = sys.argv[1:]
    if args[:2] == ["-m", "nuitka"]:
        import runpy

        _emulate(arch, deployment_target)
        _wrap_reexecution()
        sys.argv = ["nuitka", *args[2:]]
        runpy.run_module("nuitka", run_name="__main__", alter_sys=True)
    elif args and args[0].endswith("__main__.py"):
        # The re-executed child: Nuitka's __main__ restores sys.path from its environment.
        import runpy

        _emulate(arch, deployment_target)
        sys.argv = args
        sys.path[0] = os.path.dirname(args[0])
        runpy.run_path(args[0], run_name="__main__")
    else:
        sys.exit("usage: launcher.py -m nuitka ARGS... (started by tests.macos_emulated.build)")


if __name__ == "__main__":
    main()
