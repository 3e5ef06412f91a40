"""Secrets: a login, a push, a copy with a source password, a tag and a namespace at -vvvv
--diff leak no API key, IAM token or registry token into output, files or command lines.

The slow full version (every integration target) is tests/reliability/scan_secrets.py --all.
"""

import json
import os
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from conftest import endpoints_path  # noqa: E402
from module_process import collection_path  # noqa: E402
from scan_secrets import Needles, run_and_scan  # noqa: E402

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    ns: "{{ lookup('env', 'SCAN_NS') }}"
    work: "{{ lookup('env', 'SCAN_DIR') }}"
  tasks:
    - name: Namespace
      icr.registry.cr_namespace:
        name: "{{ ns }}"
    - name: Log in with the API key
      icr.registry.cr_login:
        config_path: "{{ work }}/docker/config.json"
    - name: Log in with a bearer token
      icr.registry.cr_login:
        config_path: "{{ work }}/bearer/config.json"
        username: iambearer
    - name: Build and push
      icr.registry.cr_image:
        name: us.icr.io/{{ ns }}/app:1
        source: build
        path: "{{ work }}/context"
    - name: Copy with the key as source password
      icr.registry.cr_image_copy:
        src: "{{ lookup('env', 'SCAN_REGISTRY') }}/{{ ns }}/app:1"
        src_username: iamapikey
        src_password: "{{ lookup('env', 'IC_API_KEY') }}"
        dest: de.icr.io/{{ ns }}/app:1
        create_namespace: true
    - name: Tag
      icr.registry.cr_image_tag:
        name: us.icr.io/{{ ns }}/app:1
        tags: ["us.icr.io/{{ ns }}/app:2"]
    - name: Inspect
      icr.registry.cr_image_info:
        names: ["us.icr.io/{{ ns }}/app:1"]
        manifest: true
    - name: Log out
      icr.registry.cr_login:
        config_path: "{{ work }}/docker/config.json"
        state: absent
    - name: Remove the namespaces
      icr.registry.cr_namespace:
        name: "{{ ns }}"
        region: "{{ item }}"
        state: absent
        force: true
      loop: [us-south, eu-de]
"""


@pytest.fixture
def scan(endpoints, tmp_path):
    (tmp_path / "context").mkdir()
    (tmp_path / "context" / "Dockerfile").write_text("FROM %s\nRUN echo scan > /scan\n" % endpoints["base_image"])
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = dict(os.environ, IC_API_KEY=endpoints["api_key"], DOCKER_HOST=endpoints["docker_host"],
               ICR_ENDPOINTS=endpoints_path(),
               SCAN_NS="scan" + os.urandom(4).hex(), SCAN_DIR=str(tmp_path),
               SCAN_REGISTRY=endpoints["regions"]["us-south"]["registry"],
               ANSIBLE_COLLECTIONS_PATH=str(collection_path()), ANSIBLE_DIFF_ALWAYS="1",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable, "-vvvv", "--diff", str(tmp_path / "play.yml")]
    needles = Needles(endpoints)
    rc, output, report = run_and_scan(command, env, needles, timeout=600, roots=[str(tmp_path), "/tmp"],
                                      exclude=(os.path.dirname(env["ICR_ENDPOINTS"]),))
    return rc, output, report, needles, tmp_path


def test_no_secret_in_output_files_or_command_lines(scan):
    rc, output, report, needles, tmp_path = scan
    assert rc == 0, output[-3000:]
    assert report["output"] == [] and report["files"] == [] and report["cmdline"] == [], report
    # The scan looked: it sampled while modules ran, and recognised the credential it must skip.
    assert report["samples"] > 10 and "AnsiballZ_cr_login.py" in output, report
    assert str(tmp_path / "bearer" / "config.json") in report["docker_configs"], report
    bearer = tmp_path / "bearer" / "config.json"
    assert stat.S_IMODE(bearer.stat().st_mode) == 0o600
    assert needles.find(bearer.read_text()), "the scanner must recognise the stored token"
    assert json.loads(bearer.read_text())["auths"]


def test_the_scanner_sees_a_planted_secret(tmp_path):
    """The scan can fail: a made-up key on a command line, in output and in a file is reported."""
    planted = "planted-" + os.urandom(8).hex()
    needles = Needles({"api_key": planted, "account_id": "0" * 32})
    script = "import sys, time; open(%r, 'w').write(sys.argv[1]); print(sys.argv[1]); time.sleep(0.5)" % (
        str(tmp_path / "written.txt"))
    _rc, _output, report = run_and_scan([sys.executable, "-c", script, planted], dict(os.environ), needles,
                                        timeout=60, roots=[str(tmp_path)])
    assert report["output"] and report["files"] and report["cmdline"], report
