"""The command faces: ``main`` (the ``nuitka-archguard`` command, ``inspect``, ``nuitka``,
``plugin-path``), ``scan``, ``fix`` and ``resolve``; ``options`` declares the options they
share, ``console`` prints and maps errors to exit codes, ``summary`` renders a JSON report
as a GitHub job summary. Each face parses, calls the library, prints and returns an exit code.
"""
