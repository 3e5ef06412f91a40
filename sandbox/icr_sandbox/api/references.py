"""Image references in requests: ``<domain>/<namespace>/<repo>[:tag|@digest]`` in this region."""

import re
from dataclasses import dataclass

from ..state import Refused

DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)+$")


@dataclass
class ImageRef:
    """A reference resolved to a region's repository."""

    domain: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def namespace(self):
        return self.repository.split("/", 1)[0]

    def __str__(self):
        suffix = f"@{self.digest}" if self.digest else (f":{self.tag}" if self.tag else "")
        return f"{self.domain}/{self.repository}{suffix}"


def in_this_region(request, text):
    region = request.config.region_for_domain((text or "").partition("/")[0])
    return region is not None and region.name == request.region.name


def parse(request, text):
    """The reference ``text`` names, in a namespace of the calling account (400 or 404 otherwise)."""
    if not in_this_region(request, text):
        raise Refused(400, "CRI9010E", f"The image '{text}' is not in this region's registry "
                                       f"({request.region.domain}). Use a reference that starts with {request.region.domain}/.")
    ref = ImageRef(domain=request.region.domain, repository=text.partition("/")[2])
    rest = ref.repository
    if "@" in rest:
        ref.repository, _, ref.digest = rest.partition("@")
        if not DIGEST.match(ref.digest):
            raise Refused(400, "CRI9011E", f"The digest in '{text}' is not valid.")
    else:
        head, slash, last = rest.rpartition("/")
        if ":" in last:
            name, _, ref.tag = last.partition(":")
            ref.repository = f"{head}{slash}{name}"
            if not TAG.match(ref.tag):
                raise Refused(400, "CRI9011E", f"The tag in '{text}' is not valid.")
    if not REPOSITORY.match(ref.repository):
        raise Refused(400, "CRI9011E", f"'{text}' is not a valid image reference: use <domain>/<namespace>/<repository>[:<tag>|@<digest>].")
    request.check_owner(ref.namespace)
    return ref


def resolve(request, ref):
    """The digest a tag or digest reference stands for; 404 when there is none."""
    storage = request.admin.storage
    if ref.digest:
        digest = ref.digest if ref.digest in storage.manifest_digests(ref.repository) else None
    else:
        digest = storage.tags(ref.repository).get(ref.tag or "latest")
    if not digest:
        raise Refused(404, "CRI9404E", f"The image '{ref}' was not found.")
    return digest
