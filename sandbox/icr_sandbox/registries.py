"""The docker-registry processes, one per region: config file, start, stop, wipe.

(``registry.py`` is a registry's storage and /v2 as the management API sees them.)
Registries always start with a scrubbed environment: ``REGISTRY_*`` variables would
override their configuration (docs/sandbox-auth.md, "Registry configuration").
"""

import json
import os
import secrets
import shutil

from . import auth
from .processes import is_alive, read_records, scrubbed_env, spawn, stop


PRIVATE = "-private"


def registry_config_path(state_dir, region_name, private=False):
    return os.path.join(state_dir, "registries", f"{region_name}{PRIVATE if private else ''}.yml")


def registry_log_name(region_name, private=False):
    return f"registry-{region_name}{PRIVATE if private else ''}.log"


def variants(region):
    """(private?) of each docker-registry the region runs: the public one, and the private endpoint's."""
    return (False, True) if region.private_upstream else (False,)


def write_registry_config(config, region, private=False):
    """One docker-registry per region and endpoint: own port and ``service`` (the public or private
    domain), the region's storage shared by both; events posted to the service."""
    host, port = (region.private_upstream if private else region.upstream).rsplit(":", 1)
    document = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": True}},
        # No blobdescriptor cache: stale entries after deletes (docs/sandbox-auth.md).
        "storage": {"filesystem": {"rootdirectory": region.storage_root}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        # Behind a TLS front the registry only sees plain HTTP: absolute upload Locations
        # would say http://, so it answers relative ones.
        "http": {"addr": f"{host}:{port}", "secret": secrets.token_hex(16), "relativeurls": config.tls},
        "auth": {"token": {"realm": f"{config.service_url}/oauth/token",
                           "service": region.private_domain if private else region.service,
                           "issuer": config.issuer, "rootcertbundle": auth.bundle_path(config.state_dir)}},
        "notifications": {"endpoints": [{
            "name": "icr-sandbox", "url": f"http://{config.host}:{config.service_port}/_sandbox/events/{region.name}",
            "timeout": "2s", "threshold": 3, "backoff": "1s"}]},
    }
    path = registry_config_path(config.state_dir, region.name, private)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.makedirs(region.storage_root, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)   # JSON is YAML


def registry_process_name(region_name, private=False):
    return f"registry-{region_name}{PRIVATE if private else ''}"


def start_registry(config, region, private=False):
    """Starts the region's registry from its config file (same port, storage and secret as before)."""
    return spawn(config.state_dir, registry_process_name(region.name, private),
                 ["docker-registry", "serve", registry_config_path(config.state_dir, region.name, private)],
                 registry_log_name(region.name, private), env=scrubbed_env())


def registry_pid(state_dir, region_name):
    """PID of the region's registry while the process the sandbox recorded runs, else None."""
    entry = read_records(state_dir).get(registry_process_name(region_name))
    return entry["pid"] if entry and is_alive(entry) else None


def stop_registry(config, region, private=False):
    """Stops the region's registry, exactly the recorded process; its config and storage stay."""
    stop(config.state_dir, registry_process_name(region.name, private))


def wipe_registry(config, region):
    """Reset: stop the region's registries (public and private), empty their storage, start them again."""
    for private in variants(region):
        stop_registry(config, region, private)
    shutil.rmtree(region.storage_root, ignore_errors=True)
    os.makedirs(region.storage_root, exist_ok=True)
    for private in variants(region):
        start_registry(config, region, private)
