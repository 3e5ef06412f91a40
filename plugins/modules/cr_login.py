#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_login
short_description: Log in to (or out of) an IBM Cloud Container Registry region for Docker clients
version_added: 0.1.0
description:
  - Writes the credentials for a region's registry into a Docker client config file, or into the credential
    helper that file names, so that the C(docker) CLI, the Docker SDK (and M(community.docker.docker_image)) and
    later tasks can push and pull.
  - The config file is changed under a lock and replaced atomically with mode 0600; a symlinked config file is
    written through the link. The secret never appears on a command line or in the module output.
  - The API key is checked with IAM first, so a wrong key fails here with a clear message and writes nothing.
  - V(state=absent) removes the registry's entry (logout).
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  state:
    description:
      - V(present) logs in; V(absent) logs out.
    type: str
    choices: [present, absent]
    default: present
  username:
    description:
      - V(iamapikey) stores the API key itself (recommended for automation; it does not expire). Only when signing in
        with an API key of one's own (not a trusted profile).
      - V(iambearer) stores a fresh IAM access token (expires after about an hour, see RV(expires_at)); the stored
        token is kept while it is valid for more than 10 minutes and belongs to the same identity.
      - Default V(iamapikey) when signing in with O(api_key), else V(iambearer) (trusted profiles, compute-resource
        tokens, VPC instances, O(iam_token)).
    type: str
    choices: [iamapikey, iambearer]
  config_path:
    description:
      - Docker client config file to write.
      - Default C($DOCKER_CONFIG/config.json) when E(DOCKER_CONFIG) is set, else C(~/.docker/config.json).
    type: path
    aliases: [docker_config]
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Still checks the API key with IAM, but writes nothing.
  diff_mode:
    support: full
    details:
      - Shows whether the registry entry exists and its user name, never the secret.
  idempotent:
    support: full
    details:
      - With V(username=iambearer) the file is rewritten when the stored token is about to expire.
notes:
  - Credential helpers are used as C(docker login) uses them. If the config file sets C(credHelpers) for the
    registry host, or else C(credsStore) (the default of Docker Desktop), the credentials are stored, read and
    erased by the program C(docker-credential-<name>) on E(PATH) (its C(store), C(get) and C(erase) commands;
    the secret is passed on its stdin only), and the config file keeps an empty entry for the registry under
    C(auths). A helper that is not on E(PATH) fails the task, naming the program.
  - With a credential helper, idempotence is judged from what the helper's C(get) returns, that is the same
    user name and API key for V(username=iamapikey), and for V(username=iambearer) a stored token of the same
    identity that is valid for more than 10 more minutes.
  - Concurrent C(cr_login) tasks writing one config file (for example one per region in several forks) are
    serialised by an exclusive lock on the file C(<config>.lock) next to it (next to the target of a symlinked
    config); each reports C(changed) from what it read under that lock. Other programs writing the file (such as
    C(docker login)) do not take that lock.
  - The registry host comes from the shared endpoint options, for example C(us.icr.io) or a sandbox's
    C(127.0.0.1:5201).
seealso:
  - module: community.docker.docker_login
"""

EXAMPLES = r"""
- name: Log Docker in to the eu-de registry with the API key from IC_API_KEY
  icr.registry.cr_login:
    region: eu-de

- name: Log in for a CI job with its own Docker config
  icr.registry.cr_login:
    region: us-south
    config_path: /tmp/ci-docker/config.json

- name: Log out
  icr.registry.cr_login:
    region: eu-de
    state: absent
"""

RETURN = r"""
registry:
  description: The registry host whose entry was written or removed.
  returned: always
  type: str
  sample: de.icr.io
config_path:
  description: The Docker config file.
  returned: always
  type: str
  sample: /home/ci/.docker/config.json
username:
  description: The user name stored for the registry (the secret is never returned).
  returned: always
  type: str
  sample: iamapikey
credential_helper:
  description:
    - The Docker credential helper program that holds the registry's credentials, from C(credHelpers) or
      C(credsStore) of the config file; V(null) when the credentials are in the config file itself.
  returned: always
  type: str
  sample: docker-credential-desktop
expires_at:
  description:
    - When the stored IAM access token expires (UTC, ISO 8601) for V(username=iambearer); later Docker pushes and
      pulls fail until C(cr_login) runs again. A warning says so too.
    - V(null) for V(username=iamapikey) and V(state=absent).
  returned: always
  type: str
  sample: "2026-12-01T15:35:30Z"
"""

import time

from ansible_collections.icr.registry.plugins.module_utils.docker_config import DockerConfig, default_config_path
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.iam import jwt_claims, token_expiry
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule

# A stored bearer token is kept while it has at least this long to live.
BEARER_MIN_LIFETIME = 600


def same_identity(stored_token, fresh_token, now):
    """True when a stored bearer token is still good for a while and is for the same identity."""
    try:
        old, new = jwt_claims(stored_token), jwt_claims(fresh_token)
    except IcrError:
        return False
    return (old.get("exp", 0) - now >= BEARER_MIN_LIFETIME
            and old.get("iam_id") == new.get("iam_id")
            and old.get("account") == new.get("account"))


class LoginWorker:
    """Adds or removes one registry's credentials in a Docker config (or its credential helper)."""

    def __init__(self, module, now=time.time):
        self.module = module
        self.path = module.params["config_path"] or default_config_path()
        self.present = module.params["state"] == "present"
        self.username = module.params["username"]
        if self.present:
            uses_key = module.sign_in.uses_api_key
            if self.username == "iamapikey" and not uses_key:
                raise IcrError("username iamapikey stores an API key, but the run signs in as %s: use username "
                               "iambearer (the default for it)" % module.sign_in.describe())
            self.username = self.username or ("iamapikey" if uses_key else "iambearer")
        self.host = module.registry_host()
        self.now = now

    def __call__(self):
        secret = token = None
        if self.present:  # IAM checks the API key before the config is locked or touched
            token = self.module.iam_token()
            secret = self.module.sign_in.api_key if self.username == "iamapikey" else token
            self.module.docker_auth(self.username, secret)  # masks the auth value too
        docker = DockerConfig(self.path, check_mode=self.module.check_mode, timeout=self.module.params["timeout"])
        with docker.locked():
            stored = docker.get(self.host)
            if stored:
                self.module.no_log(stored.secret, self.module.docker_auth(*stored))
            helper = docker.helper(self.host)
            if self.present:
                changed = docker.store(self.host, self.username, secret, current=self._current(stored, secret, token))
            else:
                changed = docker.erase(self.host)
        expires_at = None
        if self.present and self.username == "iambearer":
            stored_token = stored.secret if changed is False and stored else token
            expires_at = self._expiry(stored_token)
        before_user = stored.username if stored else None
        after_user = self.username if self.present else None
        return self.module.result(changed, before=self._state(before_user), after=self._state(after_user),
                                  registry=self.host, config_path=self.path, username=after_user or before_user,
                                  credential_helper=helper.program if helper else None, expires_at=expires_at)

    def _expiry(self, token):
        """The stored token's expiry as text, with a warning that Docker clients lose access then."""
        exp = token_expiry(token)
        if exp is None:
            return None
        text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
        self.module.warn("The IAM access token stored for %s expires at %s (in %d minutes): Docker pushes and pulls "
                         "fail after that until cr_login runs again" % (self.host, text, max(0, exp - self.now()) // 60))
        return text

    def _state(self, username):
        return {"registry": self.host, "logged_in": username is not None, "username": username}

    def _current(self, stored, secret, token):
        """True when the stored credentials can stay: the same API key, or a bearer token of the
        same identity that is still valid for a while."""
        if not stored or stored.username != self.username:
            return False
        if self.username == "iamapikey":
            return stored.secret == secret
        return same_identity(stored.secret, token, self.now())


def main():
    module = IcrModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            username=dict(type="str", choices=["iamapikey", "iambearer"]),
            config_path=dict(type="path", aliases=["docker_config"]),
        ),
        supports_check_mode=True,
    )
    module.run(LoginWorker)


if __name__ == "__main__":
    main()
