"""The diagnosis: which binaries a build or an environment holds, who owns them, and whether
they fit the target.

``discovery`` finds binaries (folders, environments, wheels) and reads their headers through
``binaries``; ``metadata`` and ``ownership`` say which distribution each belongs to;
``policy`` judges them against the target (findings); ``advice`` words the fix; ``fixable``
is the one answer to "can ``fix`` reinstall this?"; ``config`` reads ``[tool.archguard]``;
``scan`` conducts all of it; ``report`` renders its result. Nothing here imports ``fix/``.
"""
