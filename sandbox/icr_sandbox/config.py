"""The sandbox's configuration: accounts, regions and ports, kept in ``<state_dir>/config.json``.

``up`` creates it (API keys and account ids are random per state folder and survive
restarts of the same folder; ports are chosen afresh at each start) and the service
process loads it.
"""

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields

CONFIG_FILE = "config.json"
ISSUER = "icr-sandbox"

# ICR regions and their canonical registry domains (the sandbox emulates any of them).
KNOWN_REGIONS = {
    "us-south": "us.icr.io",
    "eu-de": "de.icr.io",
    "global": "icr.io",
    "uk-south": "uk.icr.io",
    "eu-gb": "uk.icr.io",
    "ap-north": "jp.icr.io",
    "jp-tok": "jp.icr.io",
    "ap-south": "au.icr.io",
    "au-syd": "au.icr.io",
    "jp-osa": "jp2.icr.io",
    "ca-tor": "ca.icr.io",
    "br-sao": "br.icr.io",
    "eu-es": "es.icr.io",
    "eu-fr2": "fr2.icr.io",
}
DEFAULT_REGIONS = ("us-south", "eu-de", "global")


@dataclass
class Account:
    api_key: str
    account_id: str
    resource_groups: list[str]   # the first one is the account's default group


@dataclass
class Region:
    name: str           # "us-south"
    domain: str         # "us.icr.io": canonical ICR domain
    service: str        # the registry's auth.token.service == JWT aud
    registry: str       # "127.0.0.1:P" published host:port (the proxy in front of the registry)
    upstream: str       # "127.0.0.1:U" the docker-registry process itself
    storage_root: str   # the registry's filesystem rootdirectory
    api_port: int       # where the service serves /api/v1 for this region


@dataclass
class SandboxConfig:
    state_dir: str
    host: str
    issuer: str
    service_port: int   # IAM + token realm + control hooks
    accounts: list[Account]
    regions: dict[str, Region]
    docker_host: str = ""
    va_scan_delay: float = 1.0                                  # up --va-scan-delay: push to VA report
    va_advisories: str = ""                                      # up --advisories: the VA feed ("" = shipped one)
    tls: bool = False                                            # up --tls
    tls_inner_ports: dict = field(default_factory=dict)         # region -> plain proxy port behind the TLS front

    def account_by_key(self, api_key):
        if not api_key:
            return None
        return next((a for a in self.accounts if secrets.compare_digest(a.api_key, api_key)), None)

    def account_by_id(self, account_id):
        return next((a for a in self.accounts if a.account_id == account_id), None)

    def region_for_domain(self, domain):
        """The region whose canonical domain or published registry host:port this is."""
        return next((r for r in self.regions.values() if domain in (r.domain, r.registry)), None)

    def region_for_service(self, service):
        return next((r for r in self.regions.values() if r.service == service), None)

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def service_url(self):
        return f"{self.scheme}://{self.host}:{self.service_port}"


def new_account():
    return Account(api_key=secrets.token_urlsafe(33), account_id=secrets.token_hex(16),
                   resource_groups=[secrets.token_hex(16), secrets.token_hex(16)])


def path(state_dir):
    return os.path.join(state_dir, CONFIG_FILE)


def load(state_dir):
    with open(path(state_dir), encoding="utf-8") as handle:
        document = json.load(handle)
    document["accounts"] = [Account(**a) for a in document["accounts"]]
    document["regions"] = {name: Region(**r) for name, r in document["regions"].items()}
    known = {f.name for f in fields(SandboxConfig)}      # a file written by another version
    return SandboxConfig(**{k: v for k, v in document.items() if k in known})


def load_accounts(state_dir):
    """Accounts of an earlier start of this state folder, or None."""
    try:
        return load(state_dir).accounts
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def save(config):
    write_private(path(config.state_dir), json.dumps(asdict(config), indent=1))


def write_private(file_path, text):
    """Writes a file only its owner can read (it holds API keys)."""
    temporary = file_path + ".tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, file_path)
