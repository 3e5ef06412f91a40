# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""How the run signs in: auth_type inferred or explicit, ambiguity refused in one line (no network)."""
import base64
import json
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.iam import (
    DEFAULT_CR_TOKEN_FILES, IamSession, check_not_expired, sign_in_method)
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from module_runner import Exit, patch_exits


def jwt(**claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return "%s.%s.sig" % (part({"alg": "RS256"}), part(claims))


FRESH = jwt(exp=int(time.time()) + 3600, account={"bss": "acc1"}, iam_id="iam-Profile-1")
STALE = jwt(exp=int(time.time()) - 600, account={"bss": "acc1"})


def method(exists=lambda path: False, **params):
    return sign_in_method(params, exists=exists)


@pytest.mark.parametrize("params, auth_type", [
    ({"api_key": "k"}, "api_key"),
    ({"iam_token": FRESH}, "iam_token"),
    ({"iam_token": "Bearer " + FRESH}, "iam_token"),
    ({"api_key": "k", "trusted_profile_id": "Profile-1"}, "trusted_profile"),
    ({"api_key": "k", "trusted_profile_crn": "crn:v1:x"}, "trusted_profile"),
    ({"api_key": "k", "trusted_profile_name": "p", "account_id": "a"}, "trusted_profile"),
    ({"cr_token_file": "/f", "trusted_profile_name": "p"}, "cr_token"),
    ({"vpc_metadata_url": "http://127.0.0.1:1"}, "vpc"),
    ({"vpc_metadata_url": "http://127.0.0.1:1", "trusted_profile_crn": "crn:v1:x"}, "vpc"),
])
def test_the_way_is_inferred_from_what_is_given(params, auth_type):
    assert method(**params).auth_type == auth_type


def test_a_bearer_prefix_is_dropped():
    assert method(iam_token="Bearer " + FRESH).iam_token == FRESH


def test_a_profile_alone_uses_a_default_cr_token_file_when_one_exists():
    way = method(exists=lambda path: path == DEFAULT_CR_TOKEN_FILES[1], trusted_profile_id="Profile-1")
    assert way.auth_type == "cr_token" and way.cr_token_file is None  # the SDK tries its defaults


@pytest.mark.parametrize("params, message", [
    ({"api_key": "k", "iam_token": FRESH}, r"^Sign-in is ambiguous: iam_token \(IC_IAM_TOKEN / IBMCLOUD_IAM_TOKEN\) "
                                           r"and api_key \(IC_API_KEY / IBMCLOUD_API_KEY\) are all set; set auth_type"),
    ({"api_key": "k", "cr_token_file": "/f", "trusted_profile_id": "P"}, r"^Sign-in is ambiguous: cr_token_file .* and "
                                                                         r"api_key"),
    ({"vpc_metadata_url": "http://x", "iam_token": FRESH}, r"^Sign-in is ambiguous: iam_token .* and vpc_metadata_url"),
    ({"api_key": "k", "trusted_profile_id": "P", "trusted_profile_name": "n"},
     r"^Sign-in is ambiguous: trusted_profile_id .* and trusted_profile_name .* each name a trusted profile"),
    ({"iam_token": FRESH, "trusted_profile_id": "P"}, r"^Sign-in is ambiguous: trusted_profile_id .* cannot be used with "
                                                      r"iam_token"),
    ({"trusted_profile_id": "P"}, r"^trusted_profile_id .* needs a way to sign in as it"),
    ({}, r"^No credentials: set api_key \(IC_API_KEY"),
    ({"auth_type": "cr_token", "trusted_profile_crn": "crn:v1:x"}, r"not trusted_profile_crn"),
    ({"auth_type": "trusted_profile", "api_key": "k"}, r"^auth_type trusted_profile needs a trusted profile"),
    ({"auth_type": "iam_token", "api_key": "k"}, r"^auth_type iam_token needs iam_token"),
    ({"api_key": "k", "trusted_profile_name": "p"}, r"^trusted_profile_name needs account_id"),
    ({"iam_token": STALE}, r"^iam_token expired (\d+ seconds|\d+ minutes) ago \(at .* UTC\): get a new one"),
    ({"iam_token": "not-a-jwt"}, r"^The IAM access token is not a readable JWT$"),
])
def test_ambiguous_or_incomplete_sign_in_fails_in_one_line(params, message):
    with pytest.raises(IcrError, match=message) as info:
        method(**params)
    assert "\n" not in str(info.value)


def test_explicit_auth_type_ignores_the_inputs_of_other_ways():
    way = method(auth_type="cr_token", api_key="from-env", cr_token_file="/f", trusted_profile_id="P")
    wanted = ("cr_token", None, "/f", ("trusted_profile_id", "P"))
    assert (way.auth_type, way.api_key, way.cr_token_file, way.profile) == wanted
    assert method(auth_type="api_key", api_key="k", iam_token=FRESH).iam_token is None


def test_expiry_is_read_from_the_exp_claim():
    check_not_expired(FRESH)
    with pytest.raises(IcrError, match="expired 10 minutes ago"):
        check_not_expired(jwt(exp=1000), now=1600)


@pytest.mark.parametrize("params, authenticator", [
    ({"api_key": "k"}, "IAMAuthenticator"),
    ({"api_key": "k", "trusted_profile_id": "P"}, "IAMAssumeAuthenticator"),
    ({"cr_token_file": "/f", "trusted_profile_name": "p"}, "ContainerAuthenticator"),
    ({"vpc_metadata_url": "http://127.0.0.1:1/"}, "VPCInstanceAuthenticator"),
    ({"iam_token": FRESH}, "BearerTokenAuthenticator"),
])
def test_one_place_builds_the_sdk_authenticator(params, authenticator):
    session = IamSession(None, "http://iam", timeout=7, sign_in=method(**params))
    assert type(session.authenticator).__name__ == authenticator
    if params.get("iam_token"):
        assert session.token() == FRESH  # used as is, never sent to IAM
    else:
        assert session.authenticator.token_manager.http_config["timeout"] == 7


def make(args):
    with patch_module_args(args):
        return IcrModule(supports_check_mode=True)


def test_the_module_fails_on_ambiguity_before_any_request(monkeypatch):
    patch_exits(monkeypatch)
    monkeypatch.setattr(IcrModule, "session", property(lambda self: pytest.fail("no IAM request expected")))
    with pytest.raises(Exit) as info:
        make({"api_key": "k", "iam_token": FRESH})
    assert info.value.failed and info.value.result["msg"].startswith("Sign-in is ambiguous")


def test_env_fallbacks_of_the_sign_in_options(monkeypatch):
    monkeypatch.setenv("IBMCLOUD_IAM_PROFILE_ID", "Profile-9")
    monkeypatch.setenv("IC_CR_TOKEN_FILENAME", "/tok")
    monkeypatch.setenv("ICR_PRIVATE_ENDPOINTS", "true")
    module = make({})
    assert (module.sign_in.auth_type, module.sign_in.profile, module.sign_in.cr_token_file) == (
        "cr_token", ("trusted_profile_id", "Profile-9"), "/tok")
    assert module.params["private_endpoints"] is True


def test_registry_credentials_follow_the_way_of_signing_in(monkeypatch):
    assert make({"api_key": "the-key"}).registry_credentials() == ("iamapikey", "the-key")
    module = make({"iam_token": FRESH})
    username, password = module.registry_credentials()
    assert username == "iambearer" and password() == FRESH  # asked again for each registry token
    assert FRESH in module.ansible_module.no_log_values
    assert base64.b64decode(module.docker_auth()).decode() == "iambearer:" + FRESH


def test_a_token_given_with_a_bearer_prefix_is_masked_without_it_too():
    assert FRESH in make({"iam_token": "Bearer " + FRESH}).ansible_module.no_log_values
