"""``python -m icr_sandbox up|down|status|reset|serve``: the sandbox's lifecycle.

``up`` starts (or reuses) a docker engine, one docker-registry per region and the service,
waits until each answers, then writes ``endpoints.json`` and ``env.sh``. ``down`` stops
exactly the processes recorded in this state folder.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import time
import urllib.error
import urllib.request

from . import auth, engine, processes, registries, scanner, tls
from . import config as config_module
from .config import DEFAULT_REGIONS, ISSUER, KNOWN_REGIONS, Region, SandboxConfig

READY_TIMEOUT = 30.0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m icr_sandbox", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the sandbox (harmless when already running)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--regions", default=",".join(DEFAULT_REGIONS),
                    help=f"comma-separated, from: {', '.join(KNOWN_REGIONS)}")
    up.add_argument("--port-base", type=int, help="use consecutive ports from here (default: free ports)")
    up.add_argument("--tls", action="store_true", help="serve registries, API and IAM over HTTPS (private CA)")
    up.add_argument("--va-scan-delay", type=float, default=1.0, metavar="SECONDS",
                    help="Vulnerability Advisor: seconds from a tagged push to its report (default 1)")
    up.add_argument("--advisories", metavar="FILE", help="Vulnerability Advisor feed (JSON list; sandbox/README.md)")
    down = commands.add_parser("down", help="stop the processes this state folder started")
    down.add_argument("--purge", action="store_true", help="also delete the state folder")
    commands.add_parser("status", help="show what runs and where")
    commands.add_parser("reset", help="empty all registries and API state")
    commands.add_parser("serve", help=argparse.SUPPRESS)
    for sub in commands.choices.values():
        sub.add_argument("--state-dir", default=".sandbox")
    args = parser.parse_args(argv)
    state_dir = os.path.abspath(args.state_dir)
    if args.command == "serve":
        from .service import serve
        serve(state_dir)
        return 0
    return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "reset": cmd_reset}[args.command](state_dir, args)


# ---- up -----------------------------------------------------------------------------------------

def cmd_up(state_dir, args):
    started = time.monotonic()
    if _running(state_dir):
        print(f"sandbox already running: {os.path.join(state_dir, 'endpoints.json')}")
        return 0
    processes.stop_all(state_dir)      # leftovers of a half-dead earlier run
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    unknown = [r for r in regions if r not in KNOWN_REGIONS]
    if unknown or not regions:
        print(f"unknown regions {unknown}; known: {', '.join(KNOWN_REGIONS)}", file=sys.stderr)
        return 2
    if args.va_scan_delay < 0:
        print("--va-scan-delay must not be negative", file=sys.stderr)
        return 2
    advisories = os.path.abspath(args.advisories) if args.advisories else ""
    try:
        scanner.load_advisories(advisories or None)
    except scanner.AdvisoryError as error:
        print(error, file=sys.stderr)
        return 2
    config = _new_config(state_dir, args.host, regions, args.port_base, args.tls)
    config.va_scan_delay, config.va_advisories = args.va_scan_delay, advisories
    auth.ensure_keys(state_dir)
    if config.tls:
        tls.ensure_certificates(state_dir, args.host)

    docker_host = os.environ.get("DOCKER_HOST", "")
    engine_is_ours = not (docker_host and engine.engine_ping(docker_host))
    if engine_is_ours:
        docker_host = engine.start_dockerd(state_dir)
    config.docker_host = docker_host
    config_module.save(config)

    _write_cr_tokens(config)
    for region in config.regions.values():
        for private in registries.variants(region):
            registries.write_registry_config(config, region, private)
            registries.start_registry(config, region, private)
    processes.start_service(state_dir)
    try:
        _wait_ready(config)
        engine.ensure_base_image(docker_host)
    except (TimeoutError, RuntimeError) as failure:
        print(f"sandbox failed to start: {failure}; logs in {os.path.join(state_dir, 'logs')}", file=sys.stderr)
        processes.stop_all(state_dir)
        return 1
    _write_endpoints(config)
    print(f"sandbox up in {time.monotonic() - started:.1f} s: {os.path.join(state_dir, 'endpoints.json')}"
          f" (engine {'started' if engine_is_ours else 'reused'}: {docker_host})")
    return 0


def _running(state_dir):
    records = processes.read_records(state_dir)
    return ("service" in records and all(processes.is_alive(e) for e in records.values())
            and os.path.exists(os.path.join(state_dir, "endpoints.json")))


def _new_config(state_dir, host, region_names, port_base, use_tls):
    accounts = config_module.load_accounts(state_dir) or [config_module.new_account(), config_module.new_account()]
    profiles, service_ids = (config_module.load_identities(state_dir)
                             or config_module.new_identities(state_dir, accounts[0]))
    per_region = 7 if use_tls else 5
    ports = iter(processes.free_ports(host, 2 + per_region * len(region_names), port_base))
    service_port = next(ports)
    metadata_port = next(ports)
    regions = {}
    for name in region_names:
        domain = KNOWN_REGIONS[name]
        regions[name] = Region(name=name, domain=domain, service=domain, registry=f"{host}:{next(ports)}",
                               upstream=f"{host}:{next(ports)}",
                               storage_root=os.path.join(state_dir, "data", name), api_port=next(ports),
                               private_domain=f"private.{domain}", private_upstream=f"{host}:{next(ports)}",
                               private_api_port=next(ports))
        # Over TLS a front holds the published private address; otherwise the registry itself.
        regions[name].private_registry = f"{host}:{next(ports)}" if use_tls else regions[name].private_upstream
    inner = {name: next(ports) for name in region_names} if use_tls else {}
    return SandboxConfig(state_dir=state_dir, host=host, issuer=ISSUER, service_port=service_port,
                         accounts=accounts, regions=regions, tls=use_tls, tls_inner_ports=inner,
                         trusted_profiles=profiles, service_ids=service_ids, metadata_port=metadata_port,
                         vpc_instance=f"crn:v1:bluemix:public:is:us-south-1:a/{accounts[0].account_id}"
                                      f"::instance:0717_{accounts[0].account_id[:8]}-sandbox")


def _write_cr_tokens(config):
    """Each trusted profile's compute resource token, where a pod would find it (0600)."""
    issuer = auth.TokenIssuer(config)
    for profile in config.trusted_profiles:
        os.makedirs(os.path.dirname(profile.cr_token_file), mode=0o700, exist_ok=True)
        config_module.write_private(profile.cr_token_file,
                                    issuer.compute_resource_token(profile.account_id, profile.compute_resource))


def _wait_ready(config):
    """Until IAM answers, each registry (through its proxy) challenges for a Bearer token, and the engine pings."""
    deadline = time.monotonic() + READY_TIMEOUT
    context = tls.client_context(config.state_dir) if config.tls else None
    checks = {"iam": lambda: _status(f"{config.service_url}/identity/token", b"grant_type=x", context) == 400,
              "engine": lambda: engine.engine_ping(config.docker_host)}
    for region in config.regions.values():
        checks[f"registry {region.name}"] = (lambda r=region: _bearer_challenge(config.scheme, r.registry, context))
        if region.private_registry:
            checks[f"private registry {region.name}"] = (
                lambda r=region: _bearer_challenge(config.scheme, r.private_registry, context))
    while checks:
        for name, check in list(checks.items()):
            if check():
                del checks[name]
        if checks and time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {READY_TIMEOUT:.0f} s: {', '.join(checks)}")
        if checks:
            time.sleep(0.05)
            for name, entry in processes.read_records(config.state_dir).items():
                if not processes.is_alive(entry):
                    raise RuntimeError(f"{name} exited")


def _status(url, data=None, context=None):
    try:
        with urllib.request.urlopen(url, data=data, timeout=1, context=context) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def _bearer_challenge(scheme, address, context):
    try:
        urllib.request.urlopen(f"{scheme}://{address}/v2/", timeout=1, context=context)
    except urllib.error.HTTPError as error:
        return error.code == 401 and error.headers.get("Www-Authenticate", "").startswith("Bearer ")
    except OSError:
        return False
    return False


def _write_endpoints(config):
    main, *others = config.accounts
    api = f"{config.scheme}://{config.host}"
    document = {
        "api_key": main.api_key, "account_id": main.account_id,
        "iam_url": config.service_url, "docker_host": config.docker_host, "control_url": config.service_url,
        "resource_groups": main.resource_groups,
        # Over TLS the registry carries its scheme: clients assume plain http for a bare
        # loopback host (as docker does), so without it they would not speak TLS.
        "regions": {r.name: {"domain": r.domain, "api_url": f"{api}:{r.api_port}",
                             "registry": f"https://{r.registry}" if config.tls else r.registry,
                             "private_domain": r.private_domain, "private_api_url": f"{api}:{r.private_api_port}",
                             "private_registry": (f"https://{r.private_registry}" if config.tls
                                                  else r.private_registry)}
                    for r in config.regions.values()},
        "other_accounts": [{"api_key": a.api_key, "account_id": a.account_id, "resource_groups": a.resource_groups}
                           for a in others],
        "trusted_profiles": [{"id": p.id, "name": p.name, "crn": p.crn, "account_id": p.account_id,
                              "role": p.role, "cr_token_file": p.cr_token_file} for p in config.trusted_profiles],
        "service_ids": [{"name": s.name, "api_key": s.api_key, "role": s.role, "account_id": s.account_id}
                        for s in config.service_ids],
        "vpc_metadata_url": f"http://{config.host}:{config.metadata_port}",
        "base_image": engine.BASE_IMAGE,
        "state_dir": config.state_dir,
    }
    if config.tls:
        document["ca_path"] = tls.ca_path(config.state_dir)
    endpoints_path = os.path.join(config.state_dir, "endpoints.json")
    config_module.write_private(endpoints_path, json.dumps(document, indent=2) + "\n")
    exports = {"IC_API_KEY": main.api_key, "IC_ACCOUNT_ID": main.account_id, "ICR_ENDPOINTS": endpoints_path,
               "DOCKER_HOST": config.docker_host, "IC_IAM_URL": config.service_url,
               "ICR_SANDBOX_CONTROL_URL": config.service_url}
    config_module.write_private(os.path.join(config.state_dir, "env.sh"),
                                "".join(f"export {k}={shlex.quote(v)}\n" for k, v in exports.items()))


# ---- down, status, reset --------------------------------------------------------------------------

def cmd_down(state_dir, args):
    try:
        config = config_module.load(state_dir)
    except (OSError, ValueError, KeyError, TypeError):
        config = None    # stop what is recorded all the same
    stopped = processes.stop_all(state_dir)
    for name in ("endpoints.json", "env.sh"):
        if os.path.exists(os.path.join(state_dir, name)):
            os.remove(os.path.join(state_dir, name))
    bound = _bound_ports(config) if config else []
    deadline = time.monotonic() + 3      # the kernel may still be closing a dead process's sockets
    while bound and time.monotonic() < deadline:
        time.sleep(0.1)
        bound = _bound_ports(config)
    print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    if bound:
        print(f"ports still bound after down: {bound}", file=sys.stderr)
    if args.purge and os.path.isdir(state_dir):
        engine.unmount_under(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        shutil.rmtree(engine.short_runtime_dir(state_dir), ignore_errors=True)
        if os.path.exists(state_dir):
            print(f"could not remove all of {state_dir}", file=sys.stderr)
            return 1
        print(f"removed {state_dir}")
    return 1 if bound else 0


def _bound_ports(config):
    ports = [config.service_port] + ([config.metadata_port] if config.metadata_port else [])
    for region in config.regions.values():
        ports += [int(region.registry.rsplit(":", 1)[1]), int(region.upstream.rsplit(":", 1)[1]), region.api_port]
        if region.private_upstream:
            ports += sorted({int(region.private_registry.rsplit(":", 1)[1]),
                             int(region.private_upstream.rsplit(":", 1)[1]), region.private_api_port})
    ports += list(config.tls_inner_ports.values())
    return [p for p in ports if processes.port_in_use(config.host, p)]


def cmd_status(state_dir, args):
    records = processes.read_records(state_dir)
    if not records:
        print(f"not running ({state_dir})")
        return 1
    for name, entry in records.items():
        print(f"{name:24} pid {entry['pid']:>7}  {'running' if processes.is_alive(entry) else 'DEAD'}")
    endpoints = os.path.join(state_dir, "endpoints.json")
    if os.path.exists(endpoints):
        with open(endpoints, encoding="utf-8") as handle:
            document = json.load(handle)
        print(f"control {document['control_url']}  engine {document['docker_host']}")
        for name, region in document["regions"].items():
            print(f"{name:10} {region['domain']:12} registry {region['registry']:22} api {region['api_url']}")
    return 0 if _running(state_dir) else 1


def cmd_reset(state_dir, args):
    config = config_module.load(state_dir)
    request = urllib.request.Request(f"{config.service_url}/_sandbox/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=60) as response:
        print(f"reset: HTTP {response.status}")
    return 0
