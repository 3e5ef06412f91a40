# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A fake ICR management API holding repositories of digests, for the image module tests."""
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError

LIST_TYPE = "Docker Manifest List V2, Schema 2"
IMAGE_TYPE = "Docker Image Manifest V2, Schema 2"


def dg(char):
    return "sha256:" + char * 64


class FakeApi:
    """``repos``: {"us.icr.io/ns/repo": {digest: {"tags": [...], "created": n, "type": str}}}."""

    def __init__(self):
        self.repos = {}
        self.namespaces = ["team"]
        self.manifests = {}
        self.quota = {"limit": {"storage_bytes": -1}, "usage": {"storage_bytes": 0}}
        self.writes = []
        self.reads = []

    def add(self, repository, digest, tags=(), created=1, manifest_type=IMAGE_TYPE):
        self.repos.setdefault(repository, {})[digest] = {"tags": list(tags), "created": created, "type": manifest_type}

    def list_image_digests(self, repositories=None, exclude_tagged=False):
        self.reads.append(("digests", tuple(repositories or ())))
        items = {}
        for repo, digests in self.repos.items():
            if repositories and repo not in repositories:
                continue
            for digest, item in digests.items():
                entry = items.setdefault(digest, {"id": digest, "created": item["created"], "size": 10,
                                                  "manifestType": item["type"], "repoTags": {}})
                entry["repoTags"][repo] = {tag: {} for tag in item["tags"]}
        return list(items.values())

    def get_quota(self):
        return self.quota

    def list_namespaces(self):
        return list(self.namespaces)

    def create_namespace(self, name, resource_group_id=None):
        self.writes.append(("create_namespace", name))
        self.namespaces.append(name)

    def _split(self, reference):
        if "@" in reference:
            repo, digest = reference.split("@")
            return repo, digest, None
        repo, tag = reference.rsplit(":", 1)
        for digest, item in self.repos.get(repo, {}).items():
            if tag in item["tags"]:
                return repo, digest, tag
        raise IcrError("not found", status=404)

    def tag_image(self, source, target):
        self.writes.append(("tag", source, target))
        repo, digest, _tag = self._split(source)
        target_repo, tag = target.rsplit(":", 1)
        for item in self.repos.get(target_repo, {}).values():
            if tag in item["tags"]:
                item["tags"].remove(tag)
        created = self.repos[repo][digest]["created"]
        self.repos.setdefault(target_repo, {}).setdefault(digest, {"tags": [], "created": created, "type": IMAGE_TYPE})
        self.repos[target_repo][digest]["tags"].append(tag)

    def untag_image(self, reference):
        self.writes.append(("untag", reference))
        repo, digest, tag = self._split(reference)
        self.repos[repo][digest]["tags"].remove(tag)

    def delete_image(self, reference):
        self.writes.append(("delete", reference))
        repo, digest, _tag = self._split(reference)
        del self.repos[repo][digest]

    def bulk_delete_images(self, references):
        self.writes.append(("bulk_delete", tuple(references)))
        for reference in references:
            repo, digest, _tag = self._split(reference)
            del self.repos[repo][digest]
        return {"success": list(references), "error": {}}

    def get_image_manifest(self, reference):
        self.reads.append(("manifest", reference))
        return self.manifests[reference], "application/vnd.docker.distribution.manifest.list.v2+json"
