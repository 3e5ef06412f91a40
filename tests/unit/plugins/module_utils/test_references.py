# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import json

import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.endpoints import (
    Endpoints, get_region, region_for_host, registry_url)
from ansible_collections.icr.registry.plugins.module_utils.references import (
    ImageReference, parse_reference, validate_namespace)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text,registry,repository,tag,digest", [
    ("us.icr.io/ns1x/app", "us.icr.io", "ns1x/app", "latest", None),
    ("us.icr.io/ns1x/app:1.0", "us.icr.io", "ns1x/app", "1.0", None),
    ("de.icr.io/ns1x/team/app@" + DIGEST, "de.icr.io", "ns1x/team/app", None, DIGEST),
    ("icr.io/ns1x/app:v2@" + DIGEST, "icr.io", "ns1x/app", "v2", DIGEST),
    ("127.0.0.1:5201/ns1x/app:t", "127.0.0.1:5201", "ns1x/app", "t", None),
    ("localhost/x/y", "localhost", "x/y", "latest", None),
    ("busybox", "docker.io", "library/busybox", "latest", None),
    ("quay.io/org/app:1", "quay.io", "org/app", "1", None),
    ("US.ICR.IO/ns1x/app", "us.icr.io", "ns1x/app", "latest", None),
])
def test_parse_valid(text, registry, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_round_trip_and_helpers():
    ref = parse_reference("us.icr.io/ns1x/app:1.0")
    assert str(ref) == "us.icr.io/ns1x/app:1.0"
    assert ref.namespace == "ns1x"
    assert str(ref.with_tag("2.0")) == "us.icr.io/ns1x/app:2.0"
    assert str(ref.with_digest(DIGEST)) == "us.icr.io/ns1x/app@" + DIGEST
    assert str(ref.with_registry("127.0.0.1:5201")) == "127.0.0.1:5201/ns1x/app:1.0"
    assert parse_reference("us.icr.io/ns1x/app", default_tag=None).tag is None
    assert isinstance(ref, ImageReference)


@pytest.mark.parametrize("text,rule", [
    ("", "required"),
    ("us.icr.io/ns1x/App", "lowercase"),
    ("us.icr.io/ns1x/app:-bad", "tag"),
    ("us.icr.io/ns1x/app@sha256:abc", "64 lowercase hex"),
    ("us.icr.io/ns1x/app@md5:" + "a" * 32, "digest"),
    ("us.icr.io/app", "<namespace>/<repository>"),
    ("us.icr.io/ab/app", "4 to 30"),
    ("us.icr.io/-abc/app", "lowercase"),
    ("us.icr.io/ns1x/ app", "whitespace"),
    ("bad_host.io/ns1x/app", "host[:port]"),
])
def test_parse_invalid_names_rule(text, rule):
    with pytest.raises(IcrError) as info:
        parse_reference(text)
    assert rule in str(info.value)


@pytest.mark.parametrize("name", ["abcd", "ns-1_x", "ce--6ef04-abc", "a" * 30, "0000"])
def test_namespace_valid(name):
    assert validate_namespace(name) == name


@pytest.mark.parametrize("name,rule", [
    ("abc", "4 to 30"), ("a" * 31, "4 to 30"), ("", "required"), (None, "required"),
    ("Abcd", "only lowercase"), ("ab.cd", "only lowercase"), ("ab cd", "only lowercase"),
    ("-abcd", "start and end"), ("abcd_", "start and end"),
])
def test_namespace_invalid(name, rule):
    with pytest.raises(IcrError) as info:
        validate_namespace(name)
    assert rule in str(info.value)


@pytest.mark.parametrize("name,current,domain", [
    ("us-south", "us-south", "us.icr.io"), ("uk-south", "eu-gb", "uk.icr.io"),
    ("eu-central", "eu-de", "de.icr.io"), ("ap-north", "jp-tok", "jp.icr.io"),
    ("ap-south", "au-syd", "au.icr.io"), ("global", "global", "icr.io"),
    ("ca-mon", "ca-mon", "ca2.icr.io"), ("EU-DE", "eu-de", "de.icr.io"),
])
def test_regions(name, current, domain):
    region = get_region(name)
    assert (region.name, region.domain) == (current, domain)


def test_unknown_region():
    with pytest.raises(IcrError, match="Unknown region 'mars-1'"):
        get_region("mars-1")


@pytest.mark.parametrize("host,region", [
    ("us.icr.io", "us-south"), ("private.de.icr.io", "eu-de"), ("registry.ng.bluemix.net", "us-south"),
    ("registry.bluemix.net", "global"), ("registry.eu-gb.bluemix.net", "eu-gb"), ("icr.io", "global"),
    ("https://jp2.icr.io", "jp-osa"), ("us.icr.io:443", "us-south"),
])
def test_region_for_host(host, region):
    assert region_for_host(host).name == region


def test_region_for_unknown_host():
    assert region_for_host("quay.io") is None


@pytest.mark.parametrize("host,url", [
    ("127.0.0.1:5201", "http://127.0.0.1:5201"), ("localhost:5000", "http://localhost:5000"),
    ("us.icr.io", "https://us.icr.io"), ("http://10.0.0.5:5000", "http://10.0.0.5:5000"),
    ("https://127.0.0.1:5201/", "https://127.0.0.1:5201"),
])
def test_registry_url_scheme_rule(host, url):
    assert registry_url(host) == url


def test_public_endpoints():
    endpoints = Endpoints.load(None)
    assert endpoints.registry_host("uk-south") == "uk.icr.io"
    assert endpoints.registry_url("eu-gb") == "https://uk.icr.io"
    assert endpoints.api_url("us-south") == "https://us.icr.io"
    assert endpoints.iam_url == "https://iam.cloud.ibm.com"


def test_endpoints_file(tmp_path):
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({
        "iam_url": "http://127.0.0.1:9000/", "api_key": "k",
        "regions": {"us-south": {"domain": "us.icr.io", "registry": "127.0.0.1:5201",
                                 "api_url": "http://127.0.0.1:6201"},
                    "eu-central": {"registry": "https://private.de.icr.io"}}}))
    endpoints = Endpoints.load(str(path))
    assert endpoints.iam_url == "http://127.0.0.1:9000"
    assert endpoints.registry_host("us-south") == "127.0.0.1:5201"
    assert endpoints.registry_url("us-south") == "http://127.0.0.1:5201"
    assert endpoints.api_url("us-south") == "http://127.0.0.1:6201"
    assert endpoints.registry_url("eu-de") == "https://private.de.icr.io"
    assert endpoints.api_url("eu-de") == "https://de.icr.io"
    assert endpoints.registry_host("jp-tok") == "jp.icr.io"
    assert endpoints.region_for_host("127.0.0.1:5201").name == "us-south"
    assert endpoints.region_for_host("us.icr.io").name == "us-south"
    assert endpoints.region_for_host("127.0.0.1:9999") is None
    assert endpoints.data["api_key"] == "k"
    assert set(endpoints.regions()) == {"us-south", "eu-de"}


@pytest.mark.parametrize("content,rule", [
    ("{not json", "not valid JSON"), ("[]", "JSON object"),
    ('{"regions": {"mars": {}}}', "Unknown region"), ('{"regions": []}', "'regions' must map"),
])
def test_bad_endpoints_file(tmp_path, content, rule):
    path = tmp_path / "e.json"
    path.write_text(content)
    with pytest.raises(IcrError, match=rule):
        Endpoints.load(str(path))


def test_missing_endpoints_file(tmp_path):
    with pytest.raises(IcrError, match="Cannot read endpoints file"):
        Endpoints.load(str(tmp_path / "nope.json"))


def test_repository_name_length_is_the_path_without_the_host():
    longest = "ns1x/" + "a" * (255 - len("ns1x/"))
    assert parse_reference("us.icr.io/" + longest).repository == longest
    assert parse_reference("127.0.0.1:5201/" + longest + ":t").repository == longest
    with pytest.raises(IcrError, match="repository name .* is 256 characters long, at most 255 are allowed"):
        parse_reference("us.icr.io/" + longest + "b")


def test_a_294_character_name_is_refused_in_one_line():
    with pytest.raises(IcrError) as info:
        parse_reference("us.icr.io/ns1x/" + "/".join(["abcdefghi"] * 29) + ":1.0")
    assert "is 294 characters long, at most 255" in str(info.value) and "\n" not in str(info.value)


def test_tag_length_limit_is_128():
    assert parse_reference("us.icr.io/ns1x/app:" + "t" * 128).tag == "t" * 128
    with pytest.raises(IcrError, match=r"tag '.*' is 129 characters long, at most 128 are allowed"):
        parse_reference("us.icr.io/ns1x/app:" + "t" * 129)
    with pytest.raises(IcrError, match="at most 128"):
        parse_reference("us.icr.io/ns1x/app").with_tag("t" * 200)
