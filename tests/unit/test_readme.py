"""README.md is the collection's front page: its examples must be valid, its links must resolve
inside the built collection, and its claims must match the modules."""
import fnmatch
import json
import re
from pathlib import Path

import yaml

from ansible_collections.icr.registry.plugins.module_utils.endpoints import Endpoints

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("cr_*.py"))


def _blocks(language):
    return re.findall(r"^```%s\n(.*?)^```" % language, README, re.S | re.M)


def _documentation(module):
    source = (ROOT / "plugins" / "modules" / (module + ".py")).read_text()
    return yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1))


def test_json_examples_are_json_and_the_endpoints_file_loads():
    blocks = [json.loads(block) for block in _blocks("json")]
    assert blocks, "no JSON example"
    endpoints = Endpoints(next(block for block in blocks if "regions" in block))
    assert endpoints.registry_host("us-south") == "private.us.icr.io"
    assert endpoints.api_url("US-SOUTH") == "https://private.us.icr.io"
    assert endpoints.iam_url == "https://private.iam.cloud.ibm.com"


def test_every_play_and_task_of_the_examples_has_a_name():
    plays = [play for block in _blocks("yaml") for play in yaml.safe_load(block)]
    assert plays
    for play in plays:
        assert play.get("name"), play
        for task in play.get("tasks", []):
            assert task.get("name"), task


def test_links_resolve_inside_the_built_collection():
    ignored = yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"]
    links = [link for link in re.findall(r"\]\(([^)]+)\)", README) if "://" not in link]
    assert links
    for link in links:
        path = link.split("#")[0]
        assert (ROOT / path).exists(), link
        assert not any(fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
                       for pattern in ignored), "%s is not in the built collection" % link


def test_diff_mode_claim_matches_the_modules():
    claim = re.search(r"Diff mode \(`--diff`\) shows the before and after of(.*?);(.*?)have no\s+diff", README, re.S)
    with_diff, without_diff = (set(re.findall(r"`(cr_\w+)`", part)) for part in claim.groups())
    support = {module: _documentation(module).get("attributes", {}).get("diff_mode", {}).get("support")
               for module in MODULES}
    assert with_diff == {module for module, level in support.items() if level == "full"}
    assert without_diff == {module for module, level in support.items() if level == "none"}
    assert {module for module, level in support.items() if level is None} == {m for m in MODULES if m.endswith("_info")}


def test_iam_section_names_every_module():
    section = README[README.index("## IAM access"):README.index("## Modules")]
    assert set(re.findall(r"`(cr_\w+)`", section)) >= set(MODULES)
