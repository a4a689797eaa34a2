"""Check trees, environments and wheels against a target: :func:`scan` and the incremental
:class:`Checker` the Nuitka plugin feeds one file at a time.

The scanner glues the parts together: discovery finds binaries, policy judges them,
ownership names the distribution and who needs it, advice writes the fix, and allow rules
mark what the user accepted. Every finding is kept; nothing stops at the first.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
import re
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Union

from packaging.utils import canonicalize_name
from packaging.version import Version

from .. import archs
from ..binaries import BinaryFormat, BinaryInfo, BinaryReadError, inspect_file
from ..binaries.model import is_too_large
from ..common import ExitCode
from ..target import Target, TargetError, host_target, parse_min_os, parse_target
from ..text import strict_json
from ..wheel import WheelFile, WheelMeta
from .advice import fix_for
from .config import Config
from .discovery import (
    Discovery,
    Found,
    PathError,
    Root,
    RootKind,
    module_name,
    open_root,
)
from .metadata import MetadataReader
from .ownership import Distribution, OwnershipIndex, owner_of_in_tree
from .policy import (
    Code,
    Finding,
    Role,
    Severity,
    Unloaded,
    allowed,
    built_for,
    check_binary,
    check_wheel_tags,
    display_path,
    distribution_for_other_os,
    foreign_extension,
    judge_unloaded,
    other_os,
    role_for,
    serves,
    skipped_by_name,
    variant_key,
)

__all__ = ["AllowRule", "Checker", "ScanError", "ScanReport", "scan"]

SCHEMA_VERSION = 1


class ScanError(Exception):
    """A scan that cannot run: a PATH that cannot be read (missing, permission denied, a
    corrupt wheel) or a bad target. The CLI prints it and exits with 2."""


# -- allow rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowRule:
    """``PATTERN[:REASON]``: a distribution name (compared canonicalized), a module name
    (that module or anything below it) or a path glob (full path, path inside the scanned
    tree, or file name)."""

    pattern: str
    reason: Optional[str] = None
    origin: Optional[str] = None
    """Where the rule was written (``[tool.archguard] allow in FILE``, ``--allow``), said
    beside every finding it allows; None: the caller's option."""

    @classmethod
    def parse(cls, text: str, origin: Optional[str] = None) -> AllowRule:
        text = text.strip()
        start = 2 if len(text) > 2 and text[1] == ":" and text[2] in "/\\" else 0  # C:\...
        pattern, sep, reason = text[start:].partition(":")
        pattern = text[:start] + pattern
        return cls(pattern.strip(), reason.strip() or None if sep else None, origin)


MAX_ALLOW_RULES = 1000
"""Allow rules a scan takes; more is a usage error (they are meant to be read by people)."""
MAX_ALLOW_LENGTH = 1000
"""Characters of one allow rule."""


def allow_rules(config: Config, extra: Iterable[str], option: str) -> tuple[AllowRule, ...]:
    """The project's rules (``[tool.archguard] allow``), then the command line's (given
    with ``option``), each knowing where it was written; a rule given twice counts once."""
    where = f"[tool.archguard] allow in {config.source}" if config.source else option
    rules = {text: AllowRule.parse(text, where) for text in config.allow}
    for text in extra:
        rules.setdefault(text, AllowRule.parse(text, option))
    return tuple(rules.values())


def _rules(allow: Iterable[Union[str, AllowRule]]) -> tuple[AllowRule, ...]:
    rules: list[AllowRule] = []
    for item in allow:
        if len(rules) >= MAX_ALLOW_RULES:
            raise ScanError(f"too many allow rules: at most {MAX_ALLOW_RULES:,} are accepted")
        rule = item if isinstance(item, AllowRule) else AllowRule.parse(item)
        if len(rule.pattern) > MAX_ALLOW_LENGTH:
            raise ScanError(f"an allow rule is longer than {MAX_ALLOW_LENGTH:,} characters")
        rules.append(rule)
    return tuple(rules)


class AllowRules:
    """All allow rules, compiled once: distribution names and modules in dicts, every glob
    in one regular expression, so matching a finding costs the same with 1 rule or 1,000.
    The first rule (in order given) that matches wins."""

    def __init__(self, rules: Sequence[AllowRule]) -> None:
        self._names: dict[str, int] = {}
        self._modules: dict[str, int] = {}
        globs: list[str] = []
        for index, rule in enumerate(rules):
            if not rule.pattern:
                continue
            self._names.setdefault(canonicalize_name(rule.pattern), index)
            self._modules.setdefault(rule.pattern, index)
            glob = fnmatch.translate(rule.pattern.replace("\\", "/"))
            globs.append(f"(?P<r{index}>{glob})")
        self._rules = tuple(rules)
        self._globs = re.compile("|".join(globs)) if globs else None

    def match(self, finding: Finding, rel: Optional[str] = None) -> Optional[AllowRule]:
        if not self._rules:  # most scans have none: no name to canonicalize, no path to try
            return None
        hits: list[int] = []
        dist = finding.distribution
        if dist is not None:
            index = self._names.get(canonicalize_name(dist.name))
            if index is not None:
                hits.append(index)
        if finding.module:
            parts = finding.module.split(".")
            for end in range(1, len(parts) + 1):
                index = self._modules.get(".".join(parts[:end]))
                if index is not None:
                    hits.append(index)
        if self._globs is not None:
            path = finding.path.replace("\\", "/")
            candidates = [path, os.path.basename(path)]
            if rel:
                candidates.append(rel.replace("\\", "/"))
            for candidate in candidates:
                found = self._globs.match(candidate)
                if found is not None and found.lastgroup:
                    hits.append(int(found.lastgroup[1:]))
        return self._rules[min(hits)] if hits else None


# -- the report ---------------------------------------------------------------------------


@dataclass
class ScanReport:
    """Everything a scan found. ``findings`` are sorted by distribution, then path."""

    target: Target
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    binaries: int = 0
    """Binaries checked (``MH_DSYM`` debug files and files for other OSes not included)."""
    skipped_other_os: int = 0
    """Binaries whose name says another OS (``.dll`` for Linux): never loaded, not checked."""
    notes: list[str] = field(default_factory=list)
    """Files the scan could not look at (FIFOs, unreadable non-binaries, listing errors)."""
    variants_for_target: int = 0
    too_large: int = 0
    """Binaries not checked because their headers lie beyond the scan's budgets (each one
    also a note): big honest libraries, or files that claim to be."""
    """Binaries nothing loads that are for another platform, with a copy for the target
    beside them (``selenium-manager`` under ``linux-arm64/`` beside ``linux-x86_64/``):
    the package picks its copy at run time, so these are no finding."""

    @property
    def errors(self) -> list[Finding]:
        """Error findings that count (not allowed)."""
        return [f for f in self.findings if f.severity is Severity.ERROR and not f.allowed]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING and not f.allowed]

    @property
    def allowed(self) -> list[Finding]:
        return [f for f in self.findings if f.allowed]

    @property
    def exit_code(self) -> int:
        """0: no error findings (warnings are fine); 1: at least one."""
        return int(ExitCode.FINDINGS if self.errors else ExitCode.OK)

    def by_distribution(self) -> list[tuple[Optional[Distribution], list[Finding]]]:
        """Findings grouped by the distribution that installed them, in report order."""
        groups: dict[Any, tuple[Optional[Distribution], list[Finding]]] = {}
        for finding in self.findings:
            key = _dist_key(finding.distribution)
            groups.setdefault(key, (finding.distribution, []))[1].append(finding)
        return list(groups.values())

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document (schema_version 1) plus ``exit_code``; strict
        UTF-8 whatever the names (:func:`.text.strict_json`)."""
        target = self.target.to_json()
        document: dict[str, Any] = strict_json(
            {
                "schema_version": SCHEMA_VERSION,
                "target": target,
                "findings": [f.to_json() for f in self.findings],
                "summary": {
                    "files_scanned": self.files_scanned,
                    "binaries": self.binaries,
                    "skipped_other_os": self.skipped_other_os,
                    "variants_for_target": self.variants_for_target,
                    "too_large": self.too_large,
                    "errors": len(self.errors),
                    "warnings": len(self.warnings),
                },
                "exit_code": self.exit_code,
            }
        )
        return document


def _dist_key(dist: Optional[Distribution]) -> tuple[str, str, tuple[str, ...]]:
    """One installed copy of a distribution: two wheels of one release (arm64 and x86_64,
    scanned side by side) are two copies, with their own tags and findings."""
    if dist is None:
        return ("\U0010ffff", "", ())  # unowned files last
    return (_canonical(dist.name), str(dist.version or ""), dist.wheel_tags)


@functools.lru_cache(maxsize=1024)
def _canonical(name: str) -> str:
    """``canonicalize_name``, once per name: a scan keys every finding and binary by it."""
    return str(canonicalize_name(name))


def _sort_key(finding: Finding) -> tuple[tuple[str, str, tuple[str, ...]], str, int, str]:
    severity = 0 if finding.severity is Severity.ERROR else 1
    return (_dist_key(finding.distribution), finding.path, severity, finding.code.value)


# -- the checker ----------------------------------------------------------------------------


def _as_target(target: Union[Target, str, None], min_os: Optional[str] = None) -> Target:
    try:
        if target is None:
            resolved = host_target()
        elif isinstance(target, str):
            return parse_target(target, min_os)
        else:
            resolved = target
        if min_os is not None:
            if resolved.platform != archs.Platform.MACOS:
                raise TargetError(
                    f"--min-os applies to macOS targets only, not to {resolved.name!r}"
                )
            resolved = replace(resolved, min_os=parse_min_os(min_os), name="")
        return resolved
    except TargetError as error:
        raise ScanError(str(error)) from None


class Checker:
    """Judges files one at a time and keeps the findings; :meth:`report` sums them up.

    Used by the Nuitka plugin for the files of a build and by :func:`scan` for the files
    discovery finds. Never raises for a bad file: an unreadable binary is a finding.
    ``search_paths``: where installed distributions' metadata lives (default ``sys.path``).
    ``min_os_option``: the option the advice names for raising the minimum macOS (the
    plugin's is ``--archguard-min-os``).
    """

    def __init__(
        self,
        target: Union[Target, str, None] = None,
        *,
        strict_min_os: bool = False,
        allow: Iterable[Union[str, AllowRule]] = (),
        search_paths: Optional[Sequence[str]] = None,
        metadata: Optional[MetadataReader] = None,
        min_os_option: str = "--min-os",
    ) -> None:
        self.target = _as_target(target)
        self.min_os_option = min_os_option
        self.strict_min_os = strict_min_os
        self.rules = _rules(allow)
        self._allow = AllowRules(self.rules)
        self.findings: list[Finding] = []
        self.files_scanned = 0
        self.binaries = 0
        self.notes: list[str] = []
        self._search_paths = list(search_paths) if search_paths is not None else None
        self._host: Optional[Target] = None
        self._host_known = False
        self._index: Optional[OwnershipIndex] = None
        self.metadata = metadata if metadata is not None else MetadataReader()
        self._wheels: dict[tuple[str, str, tuple[str, ...]], Distribution] = {}
        self._requires: dict[str, set[str]] = {}
        self._loaded: dict[
            tuple[str, str, tuple[str, ...]],
            tuple[Distribution, list[tuple[BinaryInfo, Role]]],
        ] = {}
        self.skipped_other_os = 0
        self.too_large = 0
        self._other_os: dict[tuple[str, str, tuple[str, ...]], _OtherOs] = {}
        # The rule for binaries nothing loads is applied in report(), when every file is
        # known: whether something links a library, and which copies lie beside a binary.
        self._unloaded: list[_Unloaded] = []
        self._seen: list[BinaryInfo] = []
        self._indexed = 0
        self._linked: set[str] = set()
        self._variants: dict[str, list[tuple[tuple[str, ...], BinaryInfo]]] = {}
        self._served: dict[str, tuple[dict[tuple[str, ...], set[str]], dict[str, int]]] = {}
        """Per template: the target archs each set of words serves, and how many sets serve
        each arch (filled in report(), dropped when a file is added)."""

    # -- ownership --------------------------------------------------------------------

    @property
    def index(self) -> OwnershipIndex:
        if self._index is None:
            paths = self._search_paths if self._search_paths is not None else list(sys.path)
            self._index = OwnershipIndex.for_paths([p for p in paths if p], self.metadata)
        return self._index

    def owner_of(self, path: str) -> Optional[Distribution]:
        try:
            return self.index.owner_of(path)
        except Exception:  # ownership is best effort: a broken RECORD must not stop a scan
            return None

    def needed_by(self, dist: Optional[Distribution]) -> tuple[str, ...]:
        if dist is None:
            return ()
        names: list[str] = []
        with contextlib.suppress(Exception):  # best effort, like owner_of
            names.extend(self.index.needed_by(dist.name))
        own = _canonical(dist.name)
        names.extend(sorted(self._requires.get(own, ())))
        return tuple(n for n in dict.fromkeys(names) if _canonical(n) != own)

    def add_wheel(self, meta: WheelMeta) -> Distribution:
        """Register a ``.whl`` being scanned: its own distribution, and whom it requires."""
        key = (str(canonicalize_name(meta.name)), meta.version, meta.tags)
        dist = self._wheels.get(key)
        if dist is None:
            dist = Distribution(
                name=meta.name,
                version=meta.version,
                kind="pip",
                installer=None,
                wheel_tags=meta.tags,
                built_from_source=False,
                channel=None,
                subdir=None,
                requires=meta.requires,
                metadata_ok=meta.metadata_ok,
            )
            self._wheels[key] = dist
            for name in meta.requires:
                self._requires.setdefault(name, set()).add(meta.name)
        return dist

    # -- checking ---------------------------------------------------------------------

    def check_file(
        self,
        path: Union[str, os.PathLike[str]],
        role: Optional[Role] = None,
        *,
        module_name: Optional[str] = None,
        needed_by: Optional[Sequence[str]] = None,
        loaded: bool = False,
    ) -> list[Finding]:
        """Read, judge and annotate one file; returns (and keeps) its findings.
        ``loaded``: the file is known to be loaded (a DLL Nuitka includes as a dependency)."""
        text = os.fspath(path)
        self.files_scanned += 1
        try:
            info = inspect_file(text)
        except BinaryReadError as error:  # the finding names the path: the reason is enough
            info = BinaryInfo(path=text, format=BinaryFormat.NOT_A_BINARY, error=error.reason)
        except Exception as error:  # a reader bug must not crash the build it guards
            info = BinaryInfo(path=text, format=BinaryFormat.NOT_A_BINARY, error=str(error))
        return self.check_info(
            info, role, module_name=module_name, needed_by=needed_by, loaded=loaded
        )

    def check_info(
        self,
        info: BinaryInfo,
        role: Optional[Role] = None,
        *,
        module_name: Optional[str] = None,
        needed_by: Optional[Sequence[str]] = None,
        distribution: Optional[Distribution] = None,
        lookup_owner: bool = True,
        rel: Optional[str] = None,
        tree_root: Optional[str] = None,
        loaded: bool = False,
    ) -> list[Finding]:
        """Judge an already read file (discovery reads it on its own descriptor).

        ``distribution`` given (or ``lookup_owner`` false): no ownership lookup.
        ``tree_root``: a folder without package metadata (``.dist``, ``.app``): owners are
        looked up only for files with findings, falling back to the top-level directory.
        ``loaded``: known to be loaded; else a shared library that is no extension module
        is loaded only if an included binary links it (:func:`policy.judge_unloaded`).
        Findings of binaries nothing may load are decided in :meth:`report`, and returned
        only from there.
        """
        if (not info.is_binary and info.error is None) or info.debug_only:
            return []
        if is_too_large(info.error):  # a big honest file beyond the budgets: say so, no finding
            self.too_large += 1
            self.notes.append(f"{display_path(info.path)}: not checked: {info.error}")
            return []
        by_name = skipped_by_name(info.path, self.target)
        if role is None:
            role = role_for(info.path, info)
        unloaded = role is Role.EXECUTABLE or (role is Role.SHARED_LIBRARY and not loaded)
        self._remember(info)
        findings = check_binary(info, self.target, role, strict_min_os=self.strict_min_os)
        pending = unloaded and info.error is None and (by_name or bool(findings))
        if by_name and not pending:
            self.skipped_other_os += 1
        elif not by_name:
            self.binaries += 1
        dist = distribution
        wanted = findings or pending or (by_name and role in _LOADED) or tree_root is None
        if dist is None and lookup_owner and wanted:
            dist = self.owner_of(info.path)
            if dist is None and tree_root is not None:
                with contextlib.suppress(OSError, ValueError):
                    dist = owner_of_in_tree(info.path, tree_root)
        if dist is not None and dist.wheel_tags and not info.error:
            key = _dist_key(dist)
            self._loaded.setdefault(key, (dist, []))[1].append((info, role))
        if dist is not None and role in _LOADED and not info.any_cpu and info.error is None:
            seen = self._other_os.setdefault(_dist_key(dist), _OtherOs(dist, info.path))
            foreign = other_os(info, self.target)
            is_foreign = by_name or foreign is not None
            seen.entries.append(
                (info, is_foreign, foreign or built_for(info) or "another OS", unloaded)
            )
        if not findings and not pending:
            return findings
        # Only now: "who needs it" reads every distribution's METADATA on first use.
        needers = tuple(needed_by) if needed_by is not None else self.needed_by(dist)
        known: dict[str, Any] = {"distribution": dist, "needed_by": needers, "module": module_name}
        if pending:
            waiting = tuple(replace(f, **known) for f in findings)
            self._unloaded.append(_Unloaded(info, role, waiting, by_name, rel))
            return []
        findings = [self._finish(f, rel, **known) for f in findings]
        self.findings.extend(findings)
        return findings

    def _remember(self, info: BinaryInfo) -> None:
        """Keep every binary for the rule for binaries nothing loads; what it needs (the
        libraries each links, its place among copies for other platforms) is worked out in
        :meth:`_index_binaries`, only when some binary awaits the rule: the scan's hot path
        pays one list append."""
        self._seen.append(info)

    def _index_binaries(self) -> None:
        """Index the binaries seen since the last call (incremental: the plugin asks for a
        report at each stage)."""
        for info in self._seen[self._indexed :]:
            for item in info.slices:
                for dependency in item.dependencies:
                    self._linked.add(_base(dependency))
            key = variant_key(info.path)
            if key is not None:
                self._variants.setdefault(key[0], []).append((key[1], info))
                self._served.pop(key[0], None)
        self._indexed = len(self._seen)

    def _is_linked(self, info: BinaryInfo) -> bool:
        self._index_binaries()
        names = {_base(info.path), *(_base(s.install_name) for s in info.slices if s.install_name)}
        return not names.isdisjoint(self._linked)

    def _has_variant(self, info: BinaryInfo) -> bool:
        """Whether copies beside it, differing only in platform words, serve every target
        arch (between them: ``macos/arm64/`` and ``macos/x86_64/`` for universal2)."""
        key = variant_key(info.path)
        if key is None:
            return False
        self._index_binaries()
        template, own = key
        group = self._served.get(template)
        if group is None:  # once per folder of copies: linear, however many there are
            by_words: dict[tuple[str, ...], set[str]] = {}
            for words, other in self._variants.get(template, ()):
                by_words.setdefault(words, set()).update(serves(other, self.target))
            counts: dict[str, int] = {}
            for archs_served in by_words.values():
                for arch in archs_served:
                    counts[arch] = counts.get(arch, 0) + 1
            group = self._served[template] = (by_words, counts)
        by_words, counts = group
        mine = by_words.get(own, set())
        return all(counts.get(arch, 0) - (arch in mine) > 0 for arch in self.target.archs)

    def add_foreign_extension(
        self,
        module_name: str,
        path: Union[str, os.PathLike[str]],
        *,
        needed_by: Optional[Sequence[str]] = None,
    ) -> Finding:
        """An extension module Nuitka leaves out because no file of it fits the target."""
        text = os.fspath(path)
        try:
            info = inspect_file(text)
        except Exception:
            info = BinaryInfo(path=text, format=BinaryFormat.NOT_A_BINARY)
        dist = self.owner_of(text)
        needers = tuple(needed_by) if needed_by is not None else self.needed_by(dist)
        finding = foreign_extension(module_name, info, self.target, needers)
        finding = self._finish(finding, None, distribution=dist)
        self.findings.append(finding)
        return finding

    @property
    def host(self) -> Optional[Target]:
        """The building machine, worked out once (advice depends on it)."""
        if not self._host_known:
            self._host_known = True
            try:
                self._host = host_target()
            except TargetError:
                self._host = None
        return self._host

    def _finish(self, finding: Finding, rel: Optional[str], **known: Any) -> Finding:
        """The finding with what the scan learnt of it (``known``: its distribution, who needs
        it, its module), its fix, and allowed if a rule matches: one ``replace`` for all of it,
        as a scan finishes every finding and each copy sets all of a Finding's fields."""
        dist = known.get("distribution", finding.distribution)
        try:
            fix = fix_for(
                finding.code,
                dist,
                self.target,
                path=finding.path,
                archs=finding.archs,
                host=self.host,
                min_os=finding.needs_min_os,
                reason=finding.message,
                min_os_option=self.min_os_option,
            )
        except Exception:  # advice is a courtesy; never lose the finding over it
            fix = finding.fix
        finding = replace(finding, fix=fix, **known)
        rule = self._allow.match(finding, rel)
        return allowed(finding, rule.reason, rule.origin) if rule is not None else finding

    def report(self) -> ScanReport:
        """All findings so far, the rule for binaries nothing loads applied, plus the
        per-distribution wheel-tag checks, sorted."""
        checked, skipped, variants = self.binaries, self.skipped_other_os, 0
        findings = list(self.findings)
        other_platforms: set[int] = (
            set()
        )  # ids of the copies a variant for the target stands in for
        for item in self._unloaded:
            outcome, kept = judge_unloaded(
                item.info,
                item.role,
                item.findings,
                self.target,
                linked=self._is_linked(item.info),
                variant=self._has_variant(item.info),
            )
            if outcome is Unloaded.VARIANT:
                variants += 1
                other_platforms.add(id(item.info))
            elif outcome is Unloaded.OTHER_OS or item.by_name:  # by name: linked, yet skipped
                skipped += 1
            if not item.by_name and outcome in (Unloaded.VARIANT, Unloaded.OTHER_OS):
                checked -= 1
            findings.extend(self._finish(f, item.rel) for f in kept)
        findings = self._per_distribution_os(findings)
        for dist, entries in self._loaded.values():
            # A copy for another platform beside the target's is no broken promise of the
            # tag (attach_x86.dll beside attach_amd64.dll in a win_amd64 wheel); a library
            # nothing links still is (llvmlite's libllvmlite.dylib, loaded through ctypes).
            binaries = [(info, role) for info, role in entries if id(info) not in other_platforms]
            finding = check_wheel_tags(dist, binaries)
            if finding is not None:
                findings.append(self._finish(finding, None, needed_by=self.needed_by(dist)))
        findings.sort(key=_sort_key)
        return ScanReport(
            target=self.target,
            findings=findings,
            files_scanned=self.files_scanned,
            binaries=checked,
            skipped_other_os=skipped,
            notes=list(self.notes),
            variants_for_target=variants,
            too_large=self.too_large,
        )

    def _per_distribution_os(self, findings: list[Finding]) -> list[Finding]:
        """A distribution whose wheel tag, or every loaded binary, is for another OS gets one
        ``platform-mismatch`` instead of one per file (or none at all, for files skipped by
        name: a win_amd64 wheel in a Linux build must not pass as "ok")."""
        replaced: set[tuple[str, str, tuple[str, ...]]] = set()
        whole: list[Finding] = []
        for key, seen in self._other_os.items():
            loaded = [
                (foreign, platform, info)
                for info, foreign, platform, unloaded in seen.entries
                if not unloaded or self._is_linked(info)
            ]
            seen.loaded = len(loaded)
            seen.foreign = sum(1 for foreign, _, _ in loaded if foreign)
            seen.platforms = [platform for foreign, platform, _ in loaded if foreign]
            seen.archs = {a for foreign, _, info in loaded if foreign for a in info.archs}
            tag_os = {
                found[0].value
                for found in (archs.wheel_archs(t) for t in seen.dist.wheel_tags)
                if found is not None
            }
            tag_foreign = bool(tag_os) and self.target.platform not in tag_os
            if not seen.loaded or not (tag_foreign or seen.foreign == seen.loaded):
                continue
            replaced.add(key)
            platforms = seen.platforms or sorted(tag_os)
            finding = distribution_for_other_os(
                seen.dist, self.target, platforms, seen.loaded, sorted(seen.archs), seen.path
            )
            whole.append(self._finish(finding, None, needed_by=self.needed_by(seen.dist)))
        # The per-file platform-mismatch findings of those distributions give way to the one
        # finding each (one pass over the findings, not one per distribution).
        kept = [
            f
            for f in findings
            if not (f.code is Code.PLATFORM_MISMATCH and _dist_key(f.distribution) in replaced)
        ]
        return kept + whole


@dataclass
class _OtherOs:
    """Per distribution: its loaded binaries, and those for another OS."""

    dist: Distribution
    path: str
    loaded: int = 0
    foreign: int = 0
    platforms: list[str] = field(default_factory=list)
    archs: set[str] = field(default_factory=set)
    entries: list[tuple[BinaryInfo, bool, str, bool]] = field(default_factory=list)
    """(binary, for another OS?, which OS, a library loaded only if something links it)"""


@dataclass(frozen=True)
class _Unloaded:
    """A binary nothing may load whose findings wait for :meth:`Checker.report`."""

    info: BinaryInfo
    role: Role
    findings: tuple[Finding, ...]
    by_name: bool
    rel: Optional[str]


def _base(path: str) -> str:
    return os.path.basename(path.replace("\\", "/")).lower()


_LOADED = frozenset({Role.EXTENSION_MODULE, Role.SHARED_LIBRARY})


# -- scan ---------------------------------------------------------------------------------


def default_paths() -> list[str]:
    """The running interpreter's site-packages (purelib and platlib, each once)."""
    paths: list[str] = []
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path and os.path.isdir(path) and path not in paths:
            paths.append(path)
    return paths


def scan(
    paths: Optional[Iterable[Union[str, os.PathLike[str], WheelFile]]] = None,
    target: Union[Target, str, None] = None,
    *,
    min_os: Optional[Union[str, Version]] = None,
    strict_min_os: bool = False,
    allow: Iterable[Union[str, AllowRule]] = (),
) -> ScanReport:
    """Check every binary under ``paths`` (default: the running interpreter's site-packages)
    against ``target`` (default: the running interpreter's platform).

    ``allow``: ``PATTERN[:REASON]`` strings; matching findings stay in the report with
    ``allowed=True`` and do not count. Raises :class:`ScanError` when a PATH cannot be read
    or the target is invalid; a bad *file* inside a PATH is a finding or a note instead.
    A path may be a :class:`~..wheel.WheelFile` its caller holds open (and closes): the
    scan reads it without opening the file again.
    """
    given = list(paths) if paths is not None else default_paths()
    resolved_target = _as_target(target, str(min_os) if min_os is not None else None)
    roots: list[Root] = []
    problems = []
    reader = MetadataReader()
    discovery = Discovery(reader=reader)
    # Each wheel is opened once and read whole (metadata, then members) while it is open,
    # one at a time; its binaries are checked below, once every wheel's requirements are
    # known ("needed by" is complete whatever the order).
    wheels: dict[int, tuple[WheelMeta, list[Found]]] = {}
    for item in given:
        owned = not isinstance(item, WheelFile)
        wheel: Optional[WheelFile]
        if isinstance(item, WheelFile):
            root, wheel = Root(item.path, RootKind.WHEEL, (item.path,)), item
        else:
            try:
                root, wheel = open_root(os.fspath(item))
            except PathError as error:
                problems.append(str(error))
                continue
        if wheel is not None:
            try:
                if not problems:
                    meta = reader.wheel_meta(wheel)
                    wheels[len(roots)] = (meta, list(discovery.binaries(root, wheel)))
            finally:
                if owned:
                    wheel.close()
        roots.append(root)
    if problems:
        raise ScanError("cannot read " + "; ".join(problems))
    _refuse_half_fixed(roots)
    search = [r.path for r in roots if r.kind not in (RootKind.WHEEL, RootKind.FILE)]
    search += [d for r in roots if r.kind is not RootKind.WHEEL for d in r.walk]
    checker = Checker(
        resolved_target,
        strict_min_os=strict_min_os,
        allow=allow,
        search_paths=list(dict.fromkeys(search)),
        metadata=reader,
    )
    for meta, _ in wheels.values():
        checker.add_wheel(meta)
    try:
        for index, root in enumerate(roots):
            read = wheels.get(index)
            # A root is walked to its end before its binaries are checked, as a wheel is:
            # its system calls then no longer break into the checks, which made the scan of
            # a tree ~10 % faster than checking each binary as it was found (all binaries'
            # headers are kept for report() anyway).
            found = read[1] if read is not None else list(discovery.binaries(root))
            for binary in found:
                _check_found(checker, binary, root)
    except PathError as error:
        raise ScanError(str(error)) from None
    checker.files_scanned = discovery.files_seen
    checker.notes.extend(discovery.notes)
    checker.notes.extend(discovery.repeated_notes())
    checker.notes.extend(reader.notes)
    return checker.report()


_TREE_ROOTS = frozenset({RootKind.DIST, RootKind.APP, RootKind.DIRECTORY})


def _refuse_half_fixed(roots: Sequence[Root]) -> None:
    """A fix interrupted midway leaves an environment that is neither the old nor the new
    one: scanning it would judge a mix. Say so, and how to recover (the scan never writes)."""
    from ..state import half_fixed_near

    error = half_fixed_near(
        path
        for root in roots
        if root.kind not in (RootKind.WHEEL, RootKind.FILE)
        for path in (root.path, *root.walk)
    )
    if error is not None:
        raise ScanError(error)


def _check_found(checker: Checker, found: Found, root: Root) -> None:
    role = role_for(found.rel, found.info)
    module = module_name(found.rel) if role is Role.EXTENSION_MODULE else None
    dist = checker.add_wheel(found.wheel_meta) if found.wheel_meta is not None else None
    checker.check_info(
        found.info,
        role,
        module_name=module,
        distribution=dist,
        lookup_owner=dist is None,
        rel=found.rel,
        # No metadata expected (a .dist folder, an .app bundle, a plain directory): look
        # owners up only for files with findings, else name the top-level package.
        tree_root=root.path if root.kind in _TREE_ROOTS else None,
    )
