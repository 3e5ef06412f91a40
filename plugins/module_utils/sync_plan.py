# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What a repository sync copies: tag filters, version ranges, the newest N tags, and the tags
that carry an image's signatures and referrers. Pure logic: no network here.

Version ranges (``semver``) are a small subset of npm/Cargo syntax, enough for registry tags:

- a version is ``[v]MAJOR[.MINOR[.PATCH]][-PRERELEASE]`` (missing parts are 0; ``v1.4`` is 1.4.0);
  prereleases order before their release as in SemVer 2.0 (numeric identifiers numerically);
- a range is comparators separated by spaces (all must hold), and sets separated by ``||``
  (any may hold): ``>=1.2.0 <2``, ``>1.2 <=1.4.3``, ``=1.2.3`` or ``1.2.3``;
- ``^1.2`` (>=1.2.0 <2.0.0; ``^0.3`` is <0.4.0, ``^0.0.3`` is <0.0.4), ``~1.4`` (>=1.4.0 <1.5.0;
  ``~1`` is <2.0.0), ``1.x`` / ``1.*`` / ``1`` (>=1.0.0 <2.0.0), ``1.4.x``, ``*``;
- a partial version in a comparator covers all it leaves open: ``<2`` is <2.0.0, ``<=1.4`` is
  <1.5.0, ``>1.4`` is >=1.5.0;
- a prerelease tag matches only a set that names a prerelease of the same MAJOR.MINOR.PATCH
  (``>=2.0.0-rc.1``); otherwise prereleases are left out, as npm does.

Hyphen ranges (``1.2 - 1.4``) and build metadata (``+build``, which a tag cannot hold) are not
supported; an unsupported range is refused with one line naming the part.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError

# cosign's tags next to an image (``sha256-<hex>.sig``, ``.att``, ``.sbom``) and the OCI 1.1
# referrers tag schema (``sha256-<hex>``, an index of the image's referrers).
REFERRER_SUFFIXES = (".sig", ".att", ".sbom")
_REFERRER_TAG = re.compile(r"^sha256-([0-9a-f]{64})(\.sig|\.att|\.sbom)?$")
_VERSION = re.compile(r"^[vV]?(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?"
                      r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")
_PARTIAL = re.compile(r"^[vV]?(0|[1-9][0-9]*|[xX*])(?:\.(0|[1-9][0-9]*|[xX*]))?(?:\.(0|[1-9][0-9]*|[xX*]))?"
                      r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")
_COMPARATOR = re.compile(r"^(>=|<=|>|<|=|\^|~)?(.+)$")


# --------------------------------------------------------------------------- referrer tags

def referrer_tag(tag):
    """``(digest, suffix)`` when ``tag`` names what refers to an image (``sha256-<hex>.sig``:
    ``("sha256:<hex>", ".sig")``; the referrers tag schema ``sha256-<hex>``: suffix ``""``), else None."""
    match = _REFERRER_TAG.match(tag)
    if not match:
        return None
    return "sha256:" + match.group(1), match.group(2) or ""


def referrer_tags_of(digest, tags):
    """The tags among ``tags`` that carry ``digest``'s signatures, attestations, SBOMs and
    referrers index, in a stable order (the index last: it may list the others)."""
    stem = "sha256-" + digest.split(":", 1)[1]
    wanted = [stem + suffix for suffix in REFERRER_SUFFIXES] + [stem]
    present = set(tags)
    return [tag for tag in wanted if tag in present]


def fallback_tag(digest):
    """The referrers tag schema's tag for ``digest``: ``sha256-<hex>``."""
    return "sha256-" + digest.split(":", 1)[1]


# --------------------------------------------------------------------------- versions

class Version:
    """A tag read as a version: ``release`` (3 ints) and ``prerelease`` (a tuple, empty for a release)."""

    def __init__(self, release, prerelease=()):
        self.release = tuple(release)
        self.prerelease = tuple(prerelease)

    @classmethod
    def parse(cls, text):
        """The Version a tag names, or None when it is not one."""
        match = _VERSION.match(text or "")
        if not match:
            return None
        release = tuple(int(part or 0) for part in match.group(1, 2, 3))
        return cls(release, _prerelease(match.group(4)))

    def key(self):
        """A sort key: releases after their prereleases; numeric identifiers before alphanumeric ones."""
        if not self.prerelease:
            return self.release, 1, ()
        return self.release, 0, tuple((0, part, "") if isinstance(part, int) else (1, 0, part)
                                      for part in self.prerelease)

    def __eq__(self, other):
        return isinstance(other, Version) and self.key() == other.key()

    def __lt__(self, other):
        return self.key() < other.key()

    def __le__(self, other):
        return self.key() <= other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        text = ".".join(str(part) for part in self.release)
        if self.prerelease:
            text += "-" + ".".join(str(part) for part in self.prerelease)
        return "Version(%s)" % text


def _prerelease(text):
    if not text:
        return ()
    return tuple(int(part) if part.isdigit() and (part == "0" or not part.startswith("0")) else part
                 for part in text.split("."))


class VersionRange:
    """A parsed ``semver`` option: ``matches(Version)``. See the module docstring for the syntax."""

    def __init__(self, text):
        self.text = text
        if not isinstance(text, str) or not text.strip():
            raise IcrError("semver: a version range is required, for example '>=1.2.0 <2'")
        self.sets = [self._parse_set(part) for part in text.split("||")]

    def _parse_set(self, text):
        words = text.split()
        if not words:
            raise IcrError("semver %r: an empty alternative around '||'" % self.text)
        if "-" in words:
            raise IcrError("semver %r: hyphen ranges are not supported; write '>=A <=B'" % self.text)
        comparators = []
        for word in words:
            comparators.extend(self._parse_comparator(word))
        return comparators

    def _parse_comparator(self, word):
        operator, rest = _COMPARATOR.match(word).groups()
        operator = operator or ""
        match = _PARTIAL.match(rest)
        if not match or (operator and rest[:1] in "<>=^~"):
            raise IcrError("semver %r: %r is not a version or comparator (supported: >=, >, <=, <, =, ^, ~, "
                           "1.x, *; see the module documentation)" % (self.text, word))
        parts = [None if part is None or part in "xX*" else int(part) for part in match.group(1, 2, 3)]
        # A wildcard makes everything after it a wildcard: 1.x.3 is 1.x.
        for index, part in enumerate(parts):
            if part is None:
                parts[index + 1:] = [None] * (2 - index)
                break
        pre = _prerelease(match.group(4))
        if pre and None in parts:
            raise IcrError("semver %r: %r has a prerelease but not a full version" % (self.text, word))
        known = len([part for part in parts if part is not None])
        low = Version([part or 0 for part in parts], pre)
        if operator in ("", "="):
            if known == 3:
                return [("=", low)]
            if known == 0:
                return []
            return [(">=", low), ("<", _bump(parts, known - 1))]
        if operator == "^":
            if known == 0:
                return []
            # The first non-zero part (or the last one given) may not change.
            fixed = next((i for i, part in enumerate(parts[:known]) if part), known - 1)
            return [(">=", low), ("<", _bump(parts, fixed))]
        if operator == "~":
            if known == 0:
                return []
            return [(">=", low), ("<", _bump(parts, min(known - 1, 1)))]
        if known == 0:
            if operator in (">=", "<="):
                return []
            return [("<", Version((0, 0, 0), (0,)))]  # >* and <* match nothing
        if operator == ">=":
            return [(">=", low)]
        if operator == "<":
            return [("<", low)]
        if operator == ">":
            return [(">", low)] if known == 3 else [(">=", _bump(parts, known - 1))]
        # "<="
        return [("<=", low)] if known == 3 else [("<", _bump(parts, known - 1))]

    def matches(self, version):
        return any(self._set_matches(comparators, version) for comparators in self.sets)

    @staticmethod
    def _set_matches(comparators, version):
        if version.prerelease and not any(bound.prerelease and bound.release == version.release
                                          for _op, bound in comparators):
            return False
        for operator, bound in comparators:
            if not _OPERATORS[operator](version, bound):
                return False
        return True


_OPERATORS = {
    "=": lambda v, b: v == b,
    ">=": lambda v, b: b <= v,
    ">": lambda v, b: b < v,
    "<": lambda v, b: v < b,
    "<=": lambda v, b: v <= b,
}


def _bump(parts, index):
    """The lowest version above every version whose first ``index + 1`` parts are ``parts``'s:
    ``_bump([1, 4, None], 1)`` is 1.5.0 (1.5.0-rc.1 is below it, but a prerelease only matches a set that
    names one of its own release)."""
    release = [part or 0 for part in parts[:index + 1]]
    release[index] += 1
    release += [0] * (3 - len(release))
    return Version(release)


# --------------------------------------------------------------------------- tag selection

def compile_patterns(option, patterns):
    """The regexes of ``option`` compiled; an invalid one is one line naming it."""
    compiled = []
    for pattern in patterns or []:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise IcrError("%s: %r is not a valid regular expression (%s)" % (option, pattern, exc))
    return compiled


class TagSelection:
    """Which tags of a repository are synced: every tag that ``include`` matches (any; all tags when
    empty) and no ``exclude`` pattern matches (``re.search``: anchor with ``^...$``), in ``version_range``
    when given (then tags that are not versions are left out), and of those the ``latest`` newest
    (by version with a range, else by creation time). Signature and referrer tags are never selected
    here: they follow their image."""

    def __init__(self, include=None, exclude=None, version_range=None, latest=None):
        self.include = compile_patterns("tags", include)
        self.exclude = compile_patterns("exclude_tags", exclude)
        self.version_range = VersionRange(version_range) if version_range is not None else None
        if latest is not None and (isinstance(latest, bool) or not isinstance(latest, int) or latest < 1):
            raise IcrError("latest must be a whole number of at least 1 (got %r)" % (latest,))
        self.latest = latest

    @property
    def needs_created(self):
        """Whether choosing needs each tag's creation time (``latest`` without ``semver``)."""
        return self.latest is not None and self.version_range is None

    def matches(self, tag):
        if referrer_tag(tag) is not None:
            return False
        if self.include and not any(pattern.search(tag) for pattern in self.include):
            return False
        if any(pattern.search(tag) for pattern in self.exclude):
            return False
        if self.version_range is not None:
            version = Version.parse(tag)
            return version is not None and self.version_range.matches(version)
        return True

    def select(self, tags, created=None):
        """The selected tags of ``tags``, sorted by name. ``created``: ``{tag: epoch seconds}``,
        needed when ``needs_created``."""
        chosen = [tag for tag in tags if self.matches(tag)]
        if self.latest is not None and len(chosen) > self.latest:
            if self.version_range is not None:
                chosen.sort(key=lambda tag: (Version.parse(tag).key(), tag), reverse=True)
            else:
                created = created or {}
                chosen.sort(key=lambda tag: (created.get(tag) or 0, tag), reverse=True)
            chosen = chosen[:self.latest]
        return sorted(chosen)


def dest_repository(src_repository, dest_namespace, whole_namespace):
    """Where a source repository lands below ``dest_namespace``: the path below the source's
    namespace (``team-a/tools/app`` → ``<dest>/tools/app``) for an ICR namespace sync, else the path
    below its first component (``library/busybox`` → ``<dest>/busybox``; ``app`` → ``<dest>/app``)."""
    parts = src_repository.split("/")
    below = parts[1:] if (whole_namespace or len(parts) > 1) else parts
    return "/".join([dest_namespace] + below)
