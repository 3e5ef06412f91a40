"""The image_digest lookup: options as the modules take them, one HEAD per term, default, masking."""
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from ansible_collections.icr.registry.plugins.module_utils import icr_context
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_context import ICR_COMMON_ARGS, env_names


DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
KEY = "k3y-0123456789abcdef"


class FakeRegistry:
    """HEAD answers from ``manifests`` ({(repository, tag or digest): digest or ""}); records calls."""

    def __init__(self, manifests):
        self.manifests = manifests
        self.calls = []
        self.url = None

    def head_manifest(self, repository, reference):
        self.calls.append(("HEAD", repository, reference))
        if (repository, reference) not in self.manifests:
            return None
        return self.manifests[(repository, reference)], "application/vnd.oci.image.manifest.v1+json"

    def get_manifest(self, repository, reference):
        self.calls.append(("GET", repository, reference))
        return SimpleNamespace(digest=DIGEST_B)


@pytest.fixture
def registry(monkeypatch):
    fake = FakeRegistry({("team/app", "1.0"): DIGEST_A, ("team/app", DIGEST_A): DIGEST_A, ("team/bare", "1"): ""})

    def client(url, **kwargs):
        fake.url, fake.kwargs = url, kwargs
        return fake
    monkeypatch.setattr(icr_context, "RegistryClient", client)
    for option in ICR_COMMON_ARGS:
        for variable in env_names(ICR_COMMON_ARGS[option]):
            monkeypatch.delenv(variable, raising=False)
    return fake


def lookup(*terms, **options):
    return lookup_loader.get("icr.registry.image_digest").run(list(terms), variables={}, **options)


def test_every_shared_option_is_a_lookup_option_with_the_modules_env_variables_and_defaults(monkeypatch):
    plugin = lookup_loader.get("icr.registry.image_digest")
    for option, spec in ICR_COMMON_ARGS.items():
        for variable in env_names(spec):
            monkeypatch.delenv(variable, raising=False)
    plugin.set_options(var_options={}, direct={})
    for option, spec in ICR_COMMON_ARGS.items():
        assert plugin.get_option(option) == spec.get("default"), option
    for option, spec in ICR_COMMON_ARGS.items():
        variables = env_names(spec)
        values = [value_of(spec, variable) for variable in variables]
        for variable, value in zip(variables, values):
            monkeypatch.setenv(variable, value)
        plugin.set_options(var_options={}, direct={})
        if not variables:
            continue
        expected = {"int": 7, "bool": True}.get(spec["type"], values[0])
        # the first variable set wins, as with a module's env_fallback
        assert plugin.get_option(option) == expected, option
        for variable in variables:
            monkeypatch.delenv(variable)


def value_of(spec, variable):
    """A distinct valid value per variable, as the environment gives it."""
    if spec["type"] == "int":
        return "7"
    if spec["type"] == "bool":
        return "true"
    if spec.get("choices"):
        return spec["choices"][len(variable) % len(spec["choices"])]
    return ("/tmp/" if spec["type"] == "path" else "") + variable


def test_a_tag_a_digest_and_a_list_each_cost_one_head_of_the_region_registry(registry):
    assert lookup("us.icr.io/team/app:1.0", api_key=KEY) == [DIGEST_A]
    assert lookup("us.icr.io/team/app@" + DIGEST_A, "us.icr.io/team/app:1.0", api_key=KEY) == [DIGEST_A, DIGEST_A]
    assert registry.calls == [("HEAD", "team/app", "1.0"), ("HEAD", "team/app", DIGEST_A), ("HEAD", "team/app", "1.0")]
    assert registry.url == "https://us.icr.io"
    assert registry.kwargs["username"] == "iamapikey" and registry.kwargs["password"] == KEY


def test_without_the_digest_header_the_digest_of_the_manifest_bytes_is_returned(registry):
    assert lookup("us.icr.io/team/bare:1", api_key=KEY) == [DIGEST_B]
    assert registry.calls == [("HEAD", "team/bare", "1"), ("GET", "team/bare", "1")]


def test_a_missing_image_fails_in_one_line_unless_default_is_given(registry):
    with pytest.raises(AnsibleLookupError, match=r"^us.icr.io/team/app:2.0 does not exist \(give default"):
        lookup("us.icr.io/team/app:1.0", "us.icr.io/team/app:2.0", api_key=KEY)
    assert lookup("us.icr.io/team/app:2.0", "us.icr.io/team/app:1.0", api_key=KEY, default="") == ["", DIGEST_A]
    assert lookup("us.icr.io/team/app:2.0", api_key=KEY, default=None) == [None]


def test_options_are_checked_before_any_request_and_errors_never_show_the_key(registry, monkeypatch):
    with pytest.raises(AnsibleLookupError, match="timeout must be a whole number"):
        lookup("us.icr.io/team/app:1.0", api_key=KEY, timeout=0)
    with pytest.raises(AnsibleLookupError, match="not an ICR image"):
        lookup("docker.io/library/busybox:1", api_key=KEY)
    # A misspelt option would otherwise be ignored, and the key of the environment used instead.
    with pytest.raises(AnsibleLookupError, match=r"^unknown option api_kye of icr.registry.image_digest \(known: account_id, api_key, "):
        lookup("us.icr.io/team/app:1.0", api_kye=KEY)
    assert registry.calls == []

    def refuse(self, repository, reference):
        raise IcrError("the token service refused the credentials iamapikey:%s" % KEY, status=401)
    monkeypatch.setattr(FakeRegistry, "head_manifest", refuse)
    with pytest.raises(AnsibleLookupError) as failure:
        lookup("us.icr.io/team/app:1.0", api_key=KEY)
    assert "refused the credentials" in str(failure.value) and KEY not in str(failure.value)


def test_a_refusal_is_a_missing_image_only_when_the_api_does_not_list_the_namespace(registry, monkeypatch):
    def refuse(self, repository, reference):
        raise IcrError("reading manifest %s:%s: Unauthorized" % (repository, reference), status=401)
    monkeypatch.setattr(FakeRegistry, "head_manifest", refuse)
    listed = []

    def api(self, region=None):
        listed.append(region.name)
        return SimpleNamespace(list_namespaces=lambda: ["team"])
    monkeypatch.setattr(icr_context.IcrContext, "api", api)
    assert lookup("de.icr.io/ghost/app:1", api_key=KEY, default="-") == ["-"]
    with pytest.raises(AnsibleLookupError, match="^de.icr.io/ghost/app:1 does not exist: namespace ghost does not exist in eu-de [(]give default"):
        lookup("de.icr.io/ghost/app:1", api_key=KEY)
    with pytest.raises(AnsibleLookupError, match="^reading manifest team/app:1: Unauthorized"):
        lookup("de.icr.io/team/app:1", api_key=KEY, default="-")
    assert listed == ["eu-de"] * 3

    def no_api(self, region=None):
        raise IcrError("IAM refused the API key", status=400)
    monkeypatch.setattr(icr_context.IcrContext, "api", no_api)
    with pytest.raises(AnsibleLookupError, match="^reading manifest ghost/app:1: Unauthorized"):
        lookup("de.icr.io/ghost/app:1", api_key=KEY, default="-")
