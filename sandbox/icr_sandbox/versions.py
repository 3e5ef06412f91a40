"""Package version orderings of the distributions Vulnerability Advisor scans (pure logic).

``debian_compare`` is dpkg's ``verrevcmp`` over ``[epoch:]upstream[-revision]`` (Debian Policy
5.6.12: letters sort before non-letters, ``~`` before everything, even the end of the string;
digit runs compare as numbers). ``apk_compare`` is apk-tools' ordering of
``N[.N]*[letter][_suffix[N]]*[~hash][-rN]``: pre-release suffixes (``_alpha`` ``_beta``
``_pre`` ``_rc``) sort before the bare version, the others (``_cvs`` ``_svn`` ``_git``
``_hg`` ``_p``) after it, and a longer version is newer than its prefix (``1.2.1`` > ``1.2``).
Both return a negative number, 0 or a positive number, like ``cmp``.
"""

import re

DIGITS = "0123456789"


# ---- Debian (dpkg) ----------------------------------------------------------------------

def _order(char):
    """dpkg's weight of one non-digit character: ~ first, then letters, then the rest."""
    if char == "~":
        return -1
    if char in DIGITS or not char:
        return 0
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256


def _verrevcmp(left, right):
    i = j = 0
    while i < len(left) or j < len(right):
        first_diff = 0
        while (i < len(left) and left[i] not in DIGITS) or (j < len(right) and right[j] not in DIGITS):
            a = _order(left[i]) if i < len(left) else 0
            b = _order(right[j]) if j < len(right) else 0
            if a != b:
                return a - b
            i += 1
            j += 1
        while i < len(left) and left[i] == "0":
            i += 1
        while j < len(right) and right[j] == "0":
            j += 1
        while i < len(left) and left[i] in DIGITS and j < len(right) and right[j] in DIGITS:
            if not first_diff:
                first_diff = ord(left[i]) - ord(right[j])
            i += 1
            j += 1
        if i < len(left) and left[i] in DIGITS:
            return 1
        if j < len(right) and right[j] in DIGITS:
            return -1
        if first_diff:
            return first_diff
    return 0


_DEBIAN = re.compile(r"^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$")


def debian_parts(version):
    """``(epoch, upstream, revision)`` of a Debian version; ValueError when it is not one."""
    match = _DEBIAN.match(version or "")
    if not match:
        raise ValueError(f"not a Debian version: {version!r}")
    epoch, upstream, revision = match.groups()
    return int(epoch or 0), upstream, revision or ""


def debian_compare(left, right):
    a, b = debian_parts(left), debian_parts(right)
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    return _verrevcmp(a[1], b[1]) or _verrevcmp(a[2], b[2])


# ---- Alpine (apk) -----------------------------------------------------------------------

PRE_RELEASE = ("alpha", "beta", "pre", "rc")
POST_RELEASE = ("cvs", "svn", "git", "hg", "p")
_SUFFIX_RANK = {name: rank for rank, name in enumerate(PRE_RELEASE + ("",) + POST_RELEASE)}
_END = _SUFFIX_RANK[""]          # "no more suffixes": after every pre-release, before the rest
_APK = re.compile(r"^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:%s)\d*)*)(?:~([0-9a-f]+))?(?:-r(\d+))?$"
                  % "|".join(PRE_RELEASE + POST_RELEASE))
_APK_SUFFIX = re.compile(r"_([a-z]+)(\d*)")


def apk_parts(version):
    """``(numbers, letter, suffixes, hash, revision)`` of an apk version; ValueError otherwise."""
    match = _APK.match(version or "")
    if not match:
        raise ValueError(f"not an apk version: {version!r}")
    numbers, letter, suffixes, commit, revision = match.groups()
    return ([int(n) for n in numbers.split(".")], letter,
            [(_SUFFIX_RANK[name], int(number or 0)) for name, number in _APK_SUFFIX.findall(suffixes)],
            commit or "", int(revision or 0))


def _cmp(a, b):
    return (a > b) - (a < b)


def apk_compare(left, right):
    a, b = apk_parts(left), apk_parts(right)
    for x, y in zip(a[0], b[0]):
        if x != y:
            return _cmp(x, y)
    if len(a[0]) != len(b[0]):
        return _cmp(len(a[0]), len(b[0]))       # 1.2.1 is newer than 1.2
    if a[1] != b[1]:
        return _cmp(a[1], b[1])                 # no letter sorts first
    length = max(len(a[2]), len(b[2]))
    padded = [s + [(_END, 0)] * (length - len(s)) for s in (a[2], b[2])]
    if padded[0] != padded[1]:
        return _cmp(padded[0], padded[1])
    return _cmp(a[3], b[3]) or _cmp(a[4], b[4])


# ---- by distribution --------------------------------------------------------------------

ORDERINGS = {"dpkg": debian_compare, "apk": apk_compare}


def compare(ordering, left, right):
    """``ordering`` is ``dpkg`` or ``apk`` (``scanner.package_format``)."""
    return ORDERINGS[ordering](left, right)


def check(ordering, version):
    """ValueError unless ``version`` is a valid version of that ordering."""
    (debian_parts if ordering == "dpkg" else apk_parts)(version)
