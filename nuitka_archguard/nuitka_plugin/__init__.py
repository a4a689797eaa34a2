"""The Nuitka plugin (``archguard.py``, loaded by Nuitka from its path) and its Nuitka-free
logic (``support.py``)."""
