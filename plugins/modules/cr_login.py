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
  - Writes the credentials for a region's registry into a Docker client config file, so that the
    C(docker) CLI, the Docker SDK (and M(community.docker.docker_image)) and later tasks can push and pull.
  - The config file is written directly (as C(docker login) does without a credential helper), atomically and
    with mode 0600. The secret never appears on a command line or in the module output.
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
      - V(iamapikey) stores the API key itself (recommended for automation; it does not expire).
      - V(iambearer) stores a fresh IAM access token (expires after about an hour); the stored token is kept
        while it is valid for more than 10 minutes and belongs to the same identity.
    type: str
    choices: [iamapikey, iambearer]
    default: iamapikey
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
  - Credential helpers are not supported. If the config file sets C(credsStore), or C(credHelpers) for the
    registry host, Docker would ignore the written entry, so the module fails instead.
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
"""

import base64
import json
import os
import pwd
import tempfile
import time

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.iam import jwt_claims
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule

# A stored bearer token is kept while it has at least this long to live.
BEARER_MIN_LIFETIME = 600


def default_config_path():
    folder = os.environ.get("DOCKER_CONFIG")
    if not folder:
        home = os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
        folder = os.path.join(home, ".docker")
    return os.path.join(folder, "config.json")


def read_config(path):
    """The Docker config as a dict ({} when the file does not exist)."""
    try:
        with open(path, "r") as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return {}
        raise IcrError("Cannot read Docker config %s: %s" % (path, exc.strerror or exc))
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise IcrError("Docker config %s is not valid JSON: %s" % (path, exc))
    if not isinstance(config, dict):
        raise IcrError("Docker config %s must hold a JSON object" % path)
    return config


def write_config(path, config):
    """Replace ``path`` atomically with ``config``, readable by its owner only."""
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o700)
    handle, temp = tempfile.mkstemp(prefix=".config.json.", dir=folder)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as stream:
            json.dump(config, stream, indent="\t")
            stream.write("\n")
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def decode_auth(auth):
    """``(username, secret)`` from a Docker ``auth`` value; (None, None) if unreadable."""
    try:
        username, secret = base64.b64decode(auth).decode("utf-8").split(":", 1)
    except (TypeError, ValueError, UnicodeError):
        return None, None
    return username, secret


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
    """Adds or removes one registry's entry in a Docker config file."""

    def __init__(self, module, now=time.time):
        self.module = module
        self.path = module.params["config_path"] or default_config_path()
        self.username = module.params["username"]
        self.host = module.registry_host()
        self.now = now

    def __call__(self):
        config = read_config(self.path)
        entry = (config.get("auths") or {}).get(self.host)
        before_user = decode_auth(entry["auth"])[0] if entry and entry.get("auth") else None
        if self.module.params["state"] == "present":
            self._refuse_helpers(config)
            changed = self.login(config, entry)
            after_user = self.username
        else:
            changed = entry is not None
            if changed:
                del config["auths"][self.host]
            after_user = None
        if changed and not self.module.check_mode:
            write_config(self.path, config)
        return self.module.result(changed, before=self._state(before_user), after=self._state(after_user),
                                  registry=self.host, config_path=self.path, username=after_user or before_user)

    def _state(self, username):
        return {"registry": self.host, "logged_in": username is not None, "username": username}

    def _refuse_helpers(self, config):
        helper = (config.get("credHelpers") or {}).get(self.host) or config.get("credsStore")
        if helper:
            raise IcrError("Docker config %s sends credentials for %s to the credential helper %r: cr_login writes "
                           "the config file only; use another config_path" % (self.path, self.host, helper))

    def login(self, config, entry):
        """Put the wanted credentials into ``config``; True when that changes it."""
        token = self.module.iam_token()  # checks the API key with IAM before anything is written
        secret = self.module.api_key if self.username == "iamapikey" else token
        if entry and entry.get("auth"):
            self.module.no_log(entry["auth"])
            stored_user, stored_secret = decode_auth(entry["auth"])
            self.module.no_log(stored_secret)
            if stored_user == self.username == "iamapikey" and stored_secret == secret:
                return False
            if stored_user == self.username == "iambearer" and same_identity(stored_secret, token, self.now()):
                return False
        config.setdefault("auths", {})[self.host] = {"auth": self.module.docker_auth(self.username, secret)}
        return True


def main():
    module = IcrModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            username=dict(type="str", default="iamapikey", choices=["iamapikey", "iambearer"]),
            config_path=dict(type="path", aliases=["docker_config"]),
        ),
        supports_check_mode=True,
    )
    module.run(LoginWorker)


if __name__ == "__main__":
    main()
