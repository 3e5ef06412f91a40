"""Check mode, every module: no mutating request (request log), and the predicted ``changed``
is what the real run then does. Each case runs twice: first when there is work to do, then
when there is none (a prediction of "no change" must hold too).
"""

import os

import pytest

from conftest import endpoints_path
from module_process import run_module


@pytest.fixture(scope="module")
def world(endpoints, tmp_path_factory):
    """Names, an env, a build context and a source image; everything removed at the end."""
    work = tmp_path_factory.mktemp("check-mode")
    (work / "context").mkdir()
    (work / "context" / "Dockerfile").write_text("FROM %s\nRUN echo check > /check\n" % endpoints["base_image"])
    ns = "chk" + os.urandom(4).hex()
    env = {"IC_API_KEY": endpoints["api_key"], "DOCKER_HOST": endpoints["docker_host"],
           "ICR_ENDPOINTS": endpoints_path()}
    state = {"ns": ns, "env": env, "work": work, "endpoints": endpoints}
    yield state
    for region in ("us-south", "eu-de"):
        run_module("cr_namespace", {"name": ns, "region": region, "state": "absent", "force": True}, env)


def mutations(control):
    return [r for r in control.requests()["requests"] if r["mutating"]]


def predict_then_run(control, name, args, env):
    """Check mode (asserting no write), then for real; both results."""
    control.clear_requests()
    predicted = run_module(name, dict(args, _ansible_check_mode=True), env)
    assert not predicted.get("failed"), (name, predicted.get("msg"))
    assert mutations(control) == [], (name, "check mode wrote", mutations(control))
    real = run_module(name, args, env)
    assert not real.get("failed"), (name, real.get("msg"))
    assert predicted["changed"] == real["changed"], (name, args, predicted["changed"], real["changed"])
    return predicted, real


def cases(world):
    """(module, args) in an order where each step prepares the next; run twice each."""
    ns, work = world["ns"], world["work"]
    quota = run_module("cr_quota", {}, world["env"])["quota"]
    settings = run_module("cr_account_settings", {}, world["env"])["settings"]
    return [
        ("cr_namespace", {"name": ns}),
        ("cr_namespace_info", {"name": ns}),
        ("cr_login", {"config_path": str(work / "docker" / "config.json")}),
        ("cr_image", {"name": "us.icr.io/%s/app:1" % ns, "source": "build", "path": str(work / "context")}),
        ("cr_image_tag", {"name": "us.icr.io/%s/app:1" % ns, "tags": ["us.icr.io/%s/app:2" % ns]}),
        ("cr_image_copy", {"src": "us.icr.io/%s/app:1" % ns, "dest": ["de.icr.io/%s/app:1" % ns],
                           "create_namespace": True}),
        ("cr_image_info", {"namespace": ns}),
        ("cr_retention_policy", {"namespace": ns, "images_per_repo": 5, "retain_untagged": True}),
        ("cr_image", {"name": "us.icr.io/%s/app:2" % ns, "state": "absent"}),
        ("cr_trash_info", {"namespace": ns}),
        ("cr_image_restore", {"name": "us.icr.io/%s/app:2" % ns}),
        ("cr_image_tag", {"name": "us.icr.io/%s/app:1" % ns, "tags": ["us.icr.io/%s/app:2" % ns],
                          "state": "absent"}),
        ("cr_quota", {"storage_megabytes": quota["storage"]["limit_megabytes"]}),
        ("cr_account_settings", {"platform_metrics": settings["platform_metrics"]}),
        ("cr_plan_info", {}),
        ("cr_login", {"config_path": str(work / "docker" / "config.json"), "state": "absent"}),
        ("cr_retention_policy", {"namespace": ns, "state": "absent"}),
        ("cr_repo", {"name": "us.icr.io/%s/app" % ns, "state": "absent"}),
        # It holds the copy: deleting it deletes that for good, which cr_namespace wants said.
        ("cr_namespace", {"name": ns, "region": "eu-de", "state": "absent", "force": True}),
    ]


def test_check_mode_predicts_the_real_run_and_writes_nothing(world, control):
    seen_changes = {}
    for name, args in cases(world):
        first, _ = predict_then_run(control, name, args, world["env"])
        again, _ = predict_then_run(control, name, args, world["env"])
        assert again["changed"] is False, (name, "a second run must have nothing left to do")
        seen_changes[name] = seen_changes.get(name, False) or first["changed"]
    # The cases really exercised a predicted change for every mutating module.
    assert {n for n, changed in seen_changes.items() if changed} >= {
        "cr_namespace", "cr_login", "cr_image", "cr_image_tag", "cr_image_copy", "cr_retention_policy",
        "cr_image_restore", "cr_repo"}, seen_changes
