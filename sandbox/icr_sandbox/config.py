"""The sandbox's configuration: accounts, regions and ports, kept in ``<state_dir>/config.json``.

``up`` creates it (API keys and account ids are random per state folder and survive
restarts of the same folder; ports are chosen afresh at each start) and the service
process loads it.
"""

import json
import os
import secrets
import uuid
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

# Container Registry service access roles, weakest first (docs/sandbox-auth.md, "Roles").
READER, WRITER, MANAGER = "Reader", "Writer", "Manager"
ROLES = (READER, WRITER, MANAGER)


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
    private_domain: str = ""      # "private.us.icr.io": the private endpoint, also its registry's service
    private_registry: str = ""    # published host:port of the private endpoint (its own docker-registry, same storage)
    private_upstream: str = ""    # that docker-registry itself (== private_registry unless --tls)
    private_api_port: int = 0     # /api/v1 on the private endpoint


@dataclass
class TrustedProfile:
    id: str               # "Profile-<uuid>"
    name: str
    crn: str
    account_id: str
    role: str             # its Container Registry service role (ROLES)
    compute_resource: str  # the compute resource (its CR token's subject) the profile trusts
    cr_token_file: str    # where ``up`` writes that compute resource's token (0600)

    @property
    def iam_id(self):
        return f"iam-{self.id}"


@dataclass
class ServiceId:
    id: str               # "ServiceId-<uuid>"
    name: str
    api_key: str
    account_id: str
    role: str

    @property
    def iam_id(self):
        return f"iam-{self.id}"


@dataclass(frozen=True)
class Principal:
    """Who a credential stands for: an account and, unless ``role`` is None, a service role."""
    account: Account
    role: str | None      # None: no restriction (the account's own API key)
    iam_id: str
    sub_type: str         # "User", "ServiceId", "Profile"
    name: str
    sub: str


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
    trusted_profiles: list = field(default_factory=list)        # TrustedProfile
    service_ids: list = field(default_factory=list)             # ServiceId
    metadata_port: int = 0                                       # the VPC instance metadata service
    vpc_instance: str = ""                                       # the VPC instance it plays (a compute resource)

    def account_by_key(self, api_key):
        if not api_key:
            return None
        return next((a for a in self.accounts if secrets.compare_digest(a.api_key, api_key)), None)

    def account_by_id(self, account_id):
        return next((a for a in self.accounts if a.account_id == account_id), None)

    def region_for_domain(self, domain):
        """The region whose canonical domain or published registry host:port this is."""
        return next((r for r in self.regions.values()
                     if domain in (r.domain, r.registry, r.private_domain, r.private_registry)), None)

    def region_for_service(self, service):
        """The region whose public or private registry ``service`` this is."""
        return next((r for r in self.regions.values() if service and service in (r.service, r.private_domain)), None)

    # ---- identities --------------------------------------------------------------------

    def principal_by_key(self, api_key):
        """The principal of an API key: an account's own key (no role restriction) or a service ID's."""
        account = self.account_by_key(api_key)
        if account is not None:
            return account_principal(account)
        if not api_key:
            return None
        service_id = next((s for s in self.service_ids if secrets.compare_digest(s.api_key, api_key)), None)
        return self.service_id_principal(service_id) if service_id else None

    def service_id_principal(self, service_id):
        return Principal(self.account_by_id(service_id.account_id), service_id.role, service_id.iam_id,
                         "ServiceId", service_id.name, service_id.id)

    def profile_principal(self, profile):
        return Principal(self.account_by_id(profile.account_id), profile.role, profile.iam_id,
                         "Profile", profile.name, profile.id)

    def principal_by_iam_id(self, iam_id, account_id):
        """The principal an IAM token's ``iam_id`` names (None when unknown)."""
        account = self.account_by_id(account_id)
        if account is None:
            return None
        if iam_id == account_principal(account).iam_id:
            return account_principal(account)
        for service_id in self.service_ids:
            if service_id.iam_id == iam_id and service_id.account_id == account_id:
                return self.service_id_principal(service_id)
        for profile in self.trusted_profiles:
            if profile.iam_id == iam_id and profile.account_id == account_id:
                return self.profile_principal(profile)
        return None

    def find_profile(self, profile_id=None, name=None, crn=None, account_id=None):
        """A trusted profile by id, CRN, or name within an account; None when none matches."""
        for profile in self.trusted_profiles:
            if crn and profile.crn != crn:
                continue
            if profile_id and profile.id != profile_id:
                continue
            if name and (profile.name != name or profile.account_id != account_id):
                continue
            if crn or profile_id or name:
                return profile
        return None

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def service_url(self):
        return f"{self.scheme}://{self.host}:{self.service_port}"


def account_principal(account):
    return Principal(account, None, f"IBMid-{account.account_id[:10].upper()}", "User",
                     f"sandbox-{account.account_id[:8]}@example.com", f"sandbox-{account.account_id[:8]}@example.com")


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
    document["trusted_profiles"] = [TrustedProfile(**p) for p in document.get("trusted_profiles", [])]
    document["service_ids"] = [ServiceId(**s) for s in document.get("service_ids", [])]
    known = {f.name for f in fields(SandboxConfig)}      # a file written by another version
    return SandboxConfig(**{k: v for k, v in document.items() if k in known})


def load_accounts(state_dir):
    """Accounts of an earlier start of this state folder, or None."""
    try:
        return load(state_dir).accounts
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def load_identities(state_dir):
    """(trusted profiles, service IDs) of an earlier start of this state folder, or None."""
    try:
        config = load(state_dir)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return (config.trusted_profiles, config.service_ids) if config.trusted_profiles else None


def new_identities(state_dir, account):
    """Trusted profiles (a Writer and a Reader) and service IDs (Reader, Writer, Manager) of ``account``."""
    profiles = []
    for name, role in (("sandbox-writer", WRITER), ("sandbox-reader", READER)):
        profile_id = f"Profile-{uuid.uuid4()}"
        profiles.append(TrustedProfile(
            id=profile_id, name=name, role=role, account_id=account.account_id,
            crn=f"crn:v1:bluemix:public:iam-identity::a/{account.account_id}::profile:{profile_id}",
            compute_resource=f"crn:v1:bluemix:public:containers-kubernetes:us-south:a/{account.account_id}"
                             f":sandbox-cluster:sa/default/{name}",
            cr_token_file=os.path.join(state_dir, "identity", f"cr-token-{name}")))
    service_ids = [ServiceId(id=f"ServiceId-{uuid.uuid4()}", name=f"sandbox-{role.lower()}", role=role,
                             api_key=secrets.token_urlsafe(33), account_id=account.account_id)
                   for role in ROLES]
    return profiles, service_ids


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
