#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_retention_policy
short_description: Set or switch off the retention policy of an IBM Cloud Container Registry namespace
version_added: 0.1.0
description:
  - Keeps the newest O(images_per_repo) images of every repository in a namespace; ICR moves older
    images to the trash (restorable for 30 days, see M(icr.registry.cr_image_restore)).
  - Age is judged by the image's build date, not its push date; a digest with several tags counts once.
    Manifest lists and images without a build date are never deleted.
  - ICR runs a policy straight away when it is set, then daily. Before setting a policy the module
    asks ICR which images it would delete (C(/retentions/analyze)) and returns that as RV(analysis);
    in check mode it returns the analysis and sets nothing.
  - A namespace has at most one policy. ICR has no call that deletes one; O(state=absent) sets
    O(images_per_repo) to V(all) (-1), which is how ICR switches a policy off.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  namespace:
    description:
      - The namespace the policy belongs to.
    type: str
    required: true
  images_per_repo:
    description:
      - How many images to keep in each repository, a whole number of at least 0.
      - V(all) (or V(-1)) keeps every image, which switches the policy off.
      - V(0) keeps no image - ICR would move every dated image of every repository in the namespace to the trash at
        once, then every new one daily. The module refuses it unless O(allow_delete_all=true) (IBM documents -1 to
        switch the policy off and N to keep the N newest, and the API takes any whole number from -1 up, 0 included).
      - If not set, the current value is kept (V(all) when the namespace has no policy).
    type: raw
  allow_delete_all:
    description:
      - Allow O(images_per_repo=0), a policy that trashes every image of the namespace. Without it, V(0) is refused
        before any request.
    type: bool
    default: false
    version_added: 0.1.0
  retain_untagged:
    description:
      - Whether untagged images are left out of the evaluation (kept whatever their age).
      - If not set, the current value is kept (V(false) when the namespace has no policy).
    type: bool
  state:
    description:
      - V(present) makes the policy match O(images_per_repo) and O(retain_untagged); at least one of them is required.
      - V(absent) switches the policy off (O(images_per_repo=all), O(retain_untagged=false)); a policy that already
        keeps all images counts as absent.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Reads the policy and, when it would change to one that deletes images, the analysis. No change is made.
  diff_mode:
    support: full
  idempotent:
    support: full
notes:
  - Needs the Writer service role on the namespace (Reader to only read the policy in check mode).
seealso:
  - module: icr.registry.cr_trash_info
  - module: icr.registry.cr_image_restore
"""

EXAMPLES = r"""
- name: Keep the 10 newest images of every repository in namespace team-a, untagged ones too
  icr.registry.cr_retention_policy:
    namespace: team-a
    images_per_repo: 10
    retain_untagged: true

- name: Preview what a 3-image policy would delete, without setting it
  icr.registry.cr_retention_policy:
    namespace: team-a
    images_per_repo: 3
  check_mode: true
  register: preview

- name: Show the images that would go to the trash
  ansible.builtin.debug:
    var: preview.analysis

- name: Empty every repository of namespace scratch now and every day (images go to the trash)
  icr.registry.cr_retention_policy:
    namespace: scratch
    images_per_repo: 0
    allow_delete_all: true

- name: Switch the policy off
  icr.registry.cr_retention_policy:
    namespace: team-a
    state: absent
"""

RETURN = r"""
policy:
  description:
    - The namespace's policy after the task (in check mode, the policy the task would set).
    - O(images_per_repo) is -1 when all images are kept.
  returned: always
  type: dict
  contains:
    namespace:
      description: The namespace.
      type: str
      sample: team-a
    images_per_repo:
      description: Images kept in each repository; -1 keeps all.
      type: int
      sample: 10
    retain_untagged:
      description: Whether untagged images are kept out of the evaluation.
      type: bool
      sample: true
    enabled:
      description: Whether the policy deletes anything (O(images_per_repo) is not -1).
      type: bool
      sample: true
  sample: {"namespace": "team-a", "images_per_repo": 10, "retain_untagged": true, "enabled": true}
analysis:
  description:
    - ICR's analysis of the new policy, made before it was set - for each repository, the images it deletes
      (moves to the trash). In check mode, the images it would delete.
    - Empty when the policy does not change or keeps all images.
  returned: always
  type: dict
  sample: {"us.icr.io/team-a/app": ["us.icr.io/team-a/app@sha256:4b1e4b0a8a3e0b8f3f6a0cf3a0ce4d1b7b2b9b0f7f55a0d0f7f0b3a0c2e1d0f9"]}
deleted_count:
  description: How many images RV(analysis) lists.
  returned: always
  type: int
  sample: 1
diff:
  description: The policy before and after, when run with C(--diff).
  returned: when diff mode is on
  type: dict
  sample: {"before": {"namespace": "team-a", "images_per_repo": -1, "retain_untagged": false},
           "after": {"namespace": "team-a", "images_per_repo": 10, "retain_untagged": true}}
"""

import re

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_context import whole_number
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.references import validate_namespace

KEEP_ALL = -1


def parse_images_per_repo(value):
    """The option as ICR's number: None stays None, V(all)/-1 -> -1, else a whole number >= 0 (int64)."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "all":
            return KEEP_ALL
        if re.match(r"^-?[0-9]+$", text):
            value = int(text)
    return whole_number("images_per_repo", value, also={KEEP_ALL: "'all': keep all images"})


def normalize_policy(namespace, raw):
    """ICR's RetentionPolicy (or None: no policy) as ``{namespace, images_per_repo, retain_untagged}``."""
    raw = raw or {}
    images = raw.get("images_per_repo")
    return {
        "namespace": namespace,
        "images_per_repo": KEEP_ALL if images is None else int(images),
        "retain_untagged": bool(raw.get("retain_untagged", False)),
    }


def is_enabled(policy):
    return policy["images_per_repo"] != KEEP_ALL


def desired_policy(current, state, images_per_repo=None, retain_untagged=None):
    """The policy the task asks for; options left out keep their current value."""
    if state == "absent":
        if not is_enabled(current):
            return current  # already keeps everything: retain_untagged is moot
        return dict(current, images_per_repo=KEEP_ALL, retain_untagged=False)
    return dict(
        current,
        images_per_repo=current["images_per_repo"] if images_per_repo is None else images_per_repo,
        retain_untagged=current["retain_untagged"] if retain_untagged is None else retain_untagged,
    )


def shape_analysis(raw):
    """``{repository: [image refs]}`` from ``/retentions/analyze``, sorted, empty lists dropped."""
    return {repository: sorted(refs) for repository, refs in sorted((raw or {}).items()) if refs}


def with_enabled(policy):
    return dict(policy, enabled=is_enabled(policy))


class RetentionPolicyWorker:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.namespace = validate_namespace(self.params["namespace"])
        self.images_per_repo = parse_images_per_repo(self.params["images_per_repo"])
        if self.images_per_repo == 0 and not self.params["allow_delete_all"]:
            raise IcrError("images_per_repo 0 keeps no image: it would move every image of namespace %s to the trash, "
                           "now and daily; set allow_delete_all: true if that is what you want" % self.namespace)
        chosen = self.images_per_repo is not None or self.params["retain_untagged"] is not None
        if self.params["state"] == "present" and not chosen:
            raise IcrError("state=present needs images_per_repo or retain_untagged")
        if self.params["state"] == "absent" and chosen:
            raise IcrError("images_per_repo and retain_untagged apply to state=present only")
        self.api = module.api()

    def current_policy(self, namespace):
        try:
            raw = self.api.get_retention_policy(namespace)
        except IcrError as err:
            # A namespace without a policy may answer 404 (the Terraform provider reads it so);
            # an unknown namespace then fails on the analysis or the set that follows.
            if err.status != 404:
                raise
            raw = None
        return normalize_policy(namespace, raw)

    def __call__(self):
        namespace, images_per_repo = self.namespace, self.images_per_repo
        state = self.params["state"]

        before = self.current_policy(namespace)
        after = desired_policy(before, state, images_per_repo, self.params["retain_untagged"])
        changed = after != before
        analysis = {}
        if changed and is_enabled(after):
            analysis = shape_analysis(self.api.analyze_retention_policy(
                namespace, after["images_per_repo"], after["retain_untagged"]))
        if changed and not self.module.check_mode:
            self.api.set_retention_policy(namespace, after["images_per_repo"], after["retain_untagged"])

        return self.module.result(changed, before=before, after=after, policy=with_enabled(after),
                                  analysis=analysis, deleted_count=sum(len(refs) for refs in analysis.values()))


def main():
    module = IcrModule(
        argument_spec=dict(
            namespace=dict(type="str", required=True),
            images_per_repo=dict(type="raw"),
            retain_untagged=dict(type="bool"),
            allow_delete_all=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    module.run(RetentionPolicyWorker)


if __name__ == "__main__":
    main()
