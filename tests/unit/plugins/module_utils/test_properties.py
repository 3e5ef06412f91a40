# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Property-based tests of the input parsers (hypothesis, derandomized for CI).

Every parser gets at least 500 generated cases: valid values round-trip, invalid values
raise IcrError whose message names the broken rule, and arbitrary text never raises
anything but IcrError. The option-combination test runs a real module's main() with
sockets blocked, so a rejected combination provably made no network call.
"""
import re
import socket
import string

import pytest
from ansible.module_utils.testing import patch_module_args
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.endpoints import (
    REGION_NAMES, REGIONS, get_region, region_for_host)
from ansible_collections.icr.registry.plugins.module_utils.references import parse_reference, validate_namespace
from ansible_collections.icr.registry.plugins.modules import cr_image
from module_runner import Exit, patch_exits

CASES = settings(max_examples=500, derandomize=True, database=None, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

NAMESPACE_RE = r"[a-z0-9][a-z0-9_-]{2,28}[a-z0-9]"
TAG_RE = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
COMPONENT_RE = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+){0,3}"

namespaces = st.from_regex(NAMESPACE_RE, fullmatch=True)
tags = st.from_regex(TAG_RE, fullmatch=True)
digests = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha256:" + h)
components = st.from_regex(COMPONENT_RE, fullmatch=True).filter(lambda c: len(c) <= 40)
icr_hosts = st.sampled_from(sorted({h for r in REGIONS for h in r.hosts()}))
other_hosts = st.sampled_from(["127.0.0.1:5201", "localhost:5000", "quay.io", "registry.example.com:443"])


def valid_namespace(text):
    return bool(re.fullmatch(NAMESPACE_RE, text))


# --------------------------------------------------------------------------- namespaces

@CASES
@given(namespaces)
def test_valid_namespace_round_trips(name):
    assert validate_namespace(name) == name


@CASES
@given(st.text(alphabet=string.ascii_letters + string.digits + "-_.!/ Ü", max_size=40))
def test_invalid_namespace_names_the_rule(name):
    assume(not valid_namespace(name))
    with pytest.raises(IcrError) as info:
        validate_namespace(name)
    msg = str(info.value)
    if not name:
        assert "required" in msg
    elif not 4 <= len(name) <= 30:
        assert "4 to 30 characters" in msg
    elif not re.fullmatch(r"[a-z0-9_-]+", name):
        assert "only lowercase letters, digits, '-' and '_'" in msg
    else:
        assert "must start and end with a lowercase letter or digit" in msg


# --------------------------------------------------------------------------- tags and digests

@CASES
@given(namespaces, components, tags)
def test_valid_tag_round_trips(namespace, repo, tag):
    ref = parse_reference("us.icr.io/%s/%s" % (namespace, repo)).with_tag(tag)
    assert ref.tag == tag and ref.digest is None
    assert parse_reference(str(ref)) == ref


@CASES
@given(st.text(max_size=140))
def test_invalid_tag_names_the_rule(tag):
    assume(not re.fullmatch(TAG_RE, tag))
    ref = parse_reference("us.icr.io/team/app")
    with pytest.raises(IcrError, match=r"tag .* must match \[A-Za-z0-9_\]"):
        ref.with_tag(tag)


@CASES
@given(digests)
def test_valid_digest_round_trips(digest):
    ref = parse_reference("us.icr.io/team/app@" + digest)
    assert ref.digest == digest and ref.tag is None
    assert str(ref) == "us.icr.io/team/app@" + digest


@CASES
@given(st.one_of(
    st.text(max_size=80),
    st.text("0123456789abcdefABCDEF", min_size=60, max_size=70).map(lambda h: "sha256:" + h),
    st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha512:" + h)))
def test_invalid_digest_names_the_rule(digest):
    assume(not re.fullmatch(r"sha256:[0-9a-f]{64}", digest))
    with pytest.raises(IcrError, match="must be sha256: followed by 64 lowercase hex digits"):
        parse_reference("us.icr.io/team/app").with_digest(digest)


# --------------------------------------------------------------------------- regions

@CASES
@given(st.sampled_from(REGION_NAMES), st.sampled_from([str.lower, str.upper, str.title]),
       st.sampled_from(["", " ", "\t"]))
def test_region_names_any_case_round_trip(name, case, pad):
    region = get_region(pad + case(name) + pad)
    assert get_region(region.name) is region
    assert name == region.name or name in region.former_names


@CASES
@given(st.text(max_size=20))
def test_unknown_region_names_the_rule(name):
    assume(name.strip().lower() not in REGION_NAMES)
    with pytest.raises(IcrError) as info:
        get_region(name)
    assert str(info.value).endswith(": expected one of " + ", ".join(REGION_NAMES))
    assert str(info.value).startswith("Unknown region ")


# --------------------------------------------------------------------------- references

@st.composite
def references(draw):
    host = draw(st.one_of(icr_hosts, other_hosts))
    # A namespace in a reference is also an OCI path component ("a_-b" is a valid namespace
    # name, but docker and the parser refuse it in a reference).
    namespace = draw(namespaces.filter(lambda n: re.fullmatch(COMPONENT_RE, n)))
    path = [namespace] + draw(st.lists(components, min_size=1, max_size=3))
    tag = draw(st.one_of(st.none(), tags))
    digest = draw(st.one_of(st.none(), digests))
    text = host + "/" + "/".join(path)
    text += (":" + tag if tag else "") + ("@" + digest if digest else "")
    return text, host, "/".join(path), tag, digest


@CASES
@given(references())
def test_valid_reference_round_trips(case):
    text, host, repository, tag, digest = case
    ref = parse_reference(text)
    expected_tag = tag if (tag or digest) else "latest"
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (host.lower(), repository, expected_tag, digest)
    assert parse_reference(str(ref)) == ref
    assert ref.namespace == repository.split("/")[0]


def _break(case, how, junk):
    """A reference made invalid in one named way, and the phrase its error must contain."""
    text, host, repository, tag, digest = case
    base = host + "/" + repository
    if how == "whitespace":
        cut = len(junk) % len(text)
        return text[:cut] + " " + text[cut:], "whitespace is not allowed"
    if how == "uppercase":
        return base.rsplit("/", 1)[0] + "/" + repository.rsplit("/", 1)[1].upper() + "X", "repository component"
    if how == "tag":
        return base + ":" + (junk or "-") + "!", "must match [A-Za-z0-9_]"
    if how == "digest":
        return base + "@sha256:" + "A" * 64, "must be sha256: followed by 64"
    if how == "namespace":
        icr = host if region_for_host(host) else "us.icr.io"
        short = repository[0] * 3  # a valid path component, too short for a namespace
        return icr + "/" + short + "/" + repository.split("/", 1)[1], "must be 4 to 30 characters"
    icr = host if region_for_host(host) else "de.icr.io"
    return icr + "/" + repository.split("/")[0], "needs <domain>/<namespace>/<repository>"


@CASES
@given(references(), st.sampled_from(["whitespace", "uppercase", "tag", "digest", "namespace", "no_repo"]),
       st.text(alphabet="abc.-", max_size=5))
def test_invalid_reference_names_the_rule(case, how, junk):
    text, phrase = _break(case, how, junk)
    with pytest.raises(IcrError) as info:
        parse_reference(text)
    assert phrase in str(info.value)
    assert "\n" not in str(info.value)


@CASES
@given(references(), st.integers(min_value=200, max_value=320))
def test_repository_names_are_at_most_255_characters_without_the_host(case, length):
    _text, host, repository, tag, _digest = case
    assume(length - len(repository) >= 2)
    path = repository + "/" + "a" * (length - len(repository) - 1)  # the grammar has no component limit
    if length <= 255:
        assert parse_reference(host + "/" + path).repository == path
    else:
        with pytest.raises(IcrError) as info:
            parse_reference(host + "/" + path + (":" + tag if tag else ""))
        assert "is %d characters long, at most 255 are allowed" % length in str(info.value)


@CASES
@given(st.text(max_size=100))
def test_any_text_parses_or_raises_icr_error(text):
    try:
        ref = parse_reference(text)
    except IcrError as err:
        assert str(err).startswith(("Invalid image reference", "Invalid namespace"))
        return
    assert parse_reference(str(ref)) == ref


# --------------------------------------------------------------------------- option combinations

def _no_network(*_args, **_kwargs):
    raise AssertionError("a rejected option combination tried to open a connection")


@st.composite
def cr_image_arguments(draw):
    args = {"retries": 0}
    for option, values in (
            ("name", st.sampled_from(["us.icr.io/team/app:1", "us.icr.io/a_b/app", "us.icr.io/team/app@sha256:" + "a" * 64])),
            ("names", st.just(["us.icr.io/team/app:2"])),
            ("state", st.sampled_from(["present", "absent", "gone"])),
            ("source", st.sampled_from(["build", "pull", "local", "ftp"])),
            ("path", st.just("/nonexistent/context")),
            ("source_image", st.just("busybox")),
            ("src_username", st.just("user")),
            ("src_password", st.just("pw")),
            ("region", st.sampled_from(["us-south", "eu-central", "mars-1"]))):
        if draw(st.booleans()):
            args[option] = draw(values)
    return args


def _violations(args):
    """Rule phrases a combination breaks, in the words Ansible or the module uses."""
    found = []
    if "name" in args and "names" in args:
        found.append("mutually exclusive")
    if "name" not in args and "names" not in args:
        found.append("one of the following is required")
    if args.get("state") == "gone" or args.get("source") == "ftp":
        found.append("value of")
    for source, needs in (("build", "path"), ("pull", "source_image"), ("local", "source_image")):
        if args.get("source") == source and needs not in args:
            found.append("missing: %s" % needs)
    if ("src_username" in args) != ("src_password" in args):
        found.append("required together")
    if args.get("region") == "mars-1":
        found.append("Unknown region")
    if found:
        return found
    if "a_b" in args.get("name", ""):
        found.append("Invalid namespace")
    elif args.get("state", "present") == "present":
        if "source" not in args:
            found.append("state=present needs source")
        elif "@sha256" in args.get("name", ""):
            found.append("pushes to tags")
    return found


@CASES
@given(cr_image_arguments())
def test_rejected_option_combinations_make_no_network_call(args):
    expected = _violations(args)
    assume(expected)
    with pytest.MonkeyPatch.context() as patcher:
        patch_exits(patcher)
        patcher.setattr(socket.socket, "connect", _no_network)
        patcher.setattr(socket, "create_connection", _no_network)
        patcher.setattr(socket, "getaddrinfo", _no_network)
        with patch_module_args(dict(args, api_key="k", _ansible_check_mode=False)):
            with pytest.raises(Exit) as info:
                cr_image.main()
    assert info.value.failed
    msg = info.value.result["msg"]
    assert any(phrase in msg for phrase in expected), (msg, expected)
