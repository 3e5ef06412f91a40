"""The execution environment files: ansible-builder must accept docs/execution-environment.yml,
and read from meta/execution-environment.yml every Python package the modules import (plus
paramiko for ssh:// engines) and no system package. `ansible-builder create` only writes a
build context: no container engine is needed."""
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILDER = [sys.executable, "-m", "ansible_builder"]


def _project(requirement):
    """The project name of a requirement line, lower case: ``docker>=7.0.0  # x`` → ``docker``."""
    name = requirement.split("#")[0].strip()
    for sep in "<>=!~[; ":
        name = name.split(sep)[0]
    return name.lower()


def test_collection_dependencies_as_ansible_builder_reads_them(tmp_path):
    collections = tmp_path / "ansible_collections" / "icr"
    collections.mkdir(parents=True)
    (collections / "registry").symlink_to(ROOT, target_is_directory=True)
    out = subprocess.run(BUILDER + ["introspect", str(tmp_path)], check=True, capture_output=True, text=True).stdout
    found = yaml.safe_load(out[out.index("---"):])
    modules_need = {_project(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")}
    assert {"ibm-container-registry", "ibm-cloud-sdk-core", "requests", "docker"} <= modules_need
    assert {_project(line) for line in found["python"]} == modules_need | {"paramiko"}
    assert found["system"] == []


def test_example_definition_makes_a_build_context(tmp_path):
    definition = ROOT / "docs" / "execution-environment.yml"
    subprocess.run(BUILDER + ["create", "-f", str(definition), "-c", str(tmp_path / "context")],
                   check=True, capture_output=True, text=True)
    assert (tmp_path / "context" / "_build" / "requirements.yml").exists()
    example = yaml.safe_load(definition.read_text())
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert example["dependencies"]["ansible_core"]["package_pip"] == "ansible-core" + runtime["requires_ansible"]
    assert {"name": "icr.registry"} in example["dependencies"]["galaxy"]["collections"]
