"""``nuitka-archguard fix``: correct an environment instead of only diagnosing it.

plan.py turns findings into one action per distribution (asking pip which wheels exist),
wheels.py downloads and installs wheels, fuse.py makes universal2 trees, journal.py moves
files in and out so that any failure, and ``--undo``, restores the exact previous state.
"""
