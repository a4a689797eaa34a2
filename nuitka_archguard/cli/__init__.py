"""The command faces: ``main`` (the ``nuitka-archguard`` command, ``inspect``, ``nuitka``,
``plugin-path``), ``scan``, ``fix`` and ``resolve``; ``options`` declares the options they
share, ``console`` prints and maps errors to exit codes, ``summary`` renders a JSON report
as a GitHub job summary. Each face parses, calls the library, prints and returns an exit code.
"""

# One line per subcommand, shown by the top-level ``--help`` (which loads no subcommand's
# module, so that ``inspect`` starts fast) and by the subcommand's own parser.
SCAN_HELP = "check environments, folders and wheels against a target"
FIX_HELP = "replace or fuse the distributions whose binaries do not fit the target"
RESOLVE_HELP = "which versions of the requirements have wheels for the target (nothing installed)"
