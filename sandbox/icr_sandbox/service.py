"""The sandbox service: one process serving IAM, the registry token realm, the control hooks
(service port), /api/v1 for each region (its own port) and each region's registry proxy.

IAM and realm answers follow docs/sandbox-auth.md; hooks follow docs/design.md "Sandbox test
hooks". Every request through here is logged and may be
faulted; /v2 is faulted by the proxies and logged from the registries' own logs.
"""

import base64
import binascii
import json
import logging
import re
import secrets
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

from . import config as config_module
from . import registries, rules, scanner, tls
from .api import ManagementApi
from .auth import EXPIRED, TokenIssuer
from .hooks import FaultRules, RequestLog, fault_body, fault_headers
from .proxy import RegionProxy, TlsFront
from .state import Refused, State

LOG = logging.getLogger("icr_sandbox.service")
BAD_CREDENTIALS = "The login credentials are not valid, or your IBM Cloud account is not active."
API_KEY_NOT_FOUND = {"context": {}, "errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
ASSUME_GRANT = "urn:ibm:params:oauth:grant-type:assume"
CR_TOKEN_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
METADATA_VERSIONS = ("2022-03-01", "2025-08-26")   # what VPCInstanceTokenManager sends
INSTANCE_TOKEN_LIFETIME = (5, 3600)                 # expires_in bounds of the metadata service


class IamRefusal(Exception):
    """An IAM token-endpoint refusal: HTTP status and IAM's error body (docs/sandbox-auth.md, "IAM errors")."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.body = {"context": {}, "errorCode": code, "errorMessage": message}


def _missing(name):
    return IamRefusal(400, "BXNIM0109E", f"Property '{name}' is missing or not supported.")


def _token_refusal(problem, what):
    if problem == EXPIRED:
        return IamRefusal(400, "BXNIM0408E", f"Provided {what} is expired.")
    return IamRefusal(400, "BXNIM0407E", f"Provided {what} is invalid.")
TLS_HANDSHAKE = b"\x16"


class Sandbox:
    """Everything the HTTP handlers share."""

    def __init__(self, config):
        self.config = config
        self.tokens = TokenIssuer(config)
        self.state = State(config)
        self.api = ManagementApi(config, self.state, self.tokens)
        self.va = scanner.Scanner(config, self.state, scanner.load_advisories(config.va_advisories or None),
                                  config.va_scan_delay)
        self.log = RequestLog(config)
        self.faults = FaultRules()
        self.reset_lock = threading.Lock()

    # ---- IAM -------------------------------------------------------------------------------

    def iam_token(self, form):
        """(status, body) for ``POST /identity/token``: the apikey, assume and cr-token grants."""
        grant = _first(form, "grant_type")
        grants = {APIKEY_GRANT: self._apikey_grant, ASSUME_GRANT: self._assume_grant,
                  CR_TOKEN_GRANT: self._cr_token_grant}
        if grant not in grants:
            return 400, {"context": {}, "errorCode": "BXNIM0109E",
                         "errorMessage": f"Property 'grant_type' is missing or not supported: '{grant}'."}
        try:
            principal = grants[grant](form)
        except IamRefusal as refusal:
            return refusal.status, refusal.body
        return 200, self.tokens.iam_token_response(principal, grant)

    def _apikey_grant(self, form):
        principal = self.config.principal_by_key(_first(form, "apikey"))
        if principal is None:
            raise IamRefusal(400, API_KEY_NOT_FOUND["errorCode"], API_KEY_NOT_FOUND["errorMessage"])
        return principal

    def _assume_grant(self, form):
        """A user's IAM token exchanged for a trusted profile's (IAMAssumeAuthenticator's second step)."""
        token = _first(form, "access_token")
        if not token:
            raise _missing("access_token")
        claims, problem = self.tokens.verify_iam(token)
        if claims is None:
            raise _token_refusal(problem, "access token")
        caller = self.config.principal_by_iam_id(claims.get("iam_id"), (claims.get("account") or {}).get("bss"))
        if caller is None:
            raise _token_refusal("invalid", "access token")
        if caller.sub_type == "Profile":
            raise IamRefusal(400, "BXNIM9401E", "A trusted profile's token cannot assume another profile.")
        profile_id, crn, name = _first(form, "profile_id"), _first(form, "profile_crn"), _first(form, "profile_name")
        account_id = _first(form, "account")
        if not (profile_id or crn or name):
            raise _missing("profile_id")
        if name and not profile_id and not crn and not account_id:
            raise _missing("account")
        profile = self.config.find_profile(profile_id, None if profile_id or crn else name, crn, account_id)
        if profile is None:
            raise _unknown_profile(profile_id or crn or name)
        if profile.account_id != caller.account.account_id:
            raise _untrusted(profile, caller.name)
        return self.config.profile_principal(profile)

    def _cr_token_grant(self, form):
        """A compute resource's token (ContainerAuthenticator) exchanged for a trusted profile's."""
        token = _first(form, "cr_token")
        if not token:
            raise _missing("cr_token")
        claims, problem = self.tokens.verify_compute_resource(token.strip())
        if claims is None:
            raise _token_refusal(problem, "compute resource token")
        profile_id, name = _first(form, "profile_id"), _first(form, "profile_name")
        if not (profile_id or name):
            raise _missing("profile_id")
        return self._profile_for_compute_resource(claims, profile_id=profile_id, name=name)

    def _profile_for_compute_resource(self, claims, profile_id=None, name=None, crn=None):
        profile = self.config.find_profile(profile_id, name, crn, claims.get("account"))
        if profile is None:
            raise _unknown_profile(profile_id or crn or name)
        if claims["sub"] not in (profile.compute_resource, self.config.vpc_instance) \
                or profile.account_id != claims.get("account"):
            raise _untrusted(profile, claims["sub"])
        return self.config.profile_principal(profile)

    # ---- the VPC instance metadata service (VPCInstanceAuthenticator) ----------------------

    def instance_token(self, headers, params, body):
        """``PUT /instance_identity/v1/token``: the instance identity token."""
        refusal = _metadata_preconditions(headers, params)
        if refusal:
            return refusal
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return 400, _vpc_error("bad_request", "The request body is not valid JSON.")
        lifetime = request.get("expires_in", 300)
        low, high = INSTANCE_TOKEN_LIFETIME
        if not isinstance(lifetime, int) or isinstance(lifetime, bool) or not low <= lifetime <= high:
            return 400, _vpc_error("invalid_expires_in", f"expires_in must be a whole number from {low} to {high}.")
        main = self.config.accounts[0]
        token, now = self.tokens.instance_identity_token(self.config.vpc_instance, main.account_id, lifetime)
        return 200, _expiring(token, now, lifetime)

    def instance_iam_token(self, headers, params, body):
        """``POST /instance_identity/v1/iam_token``: an IAM token of a profile linked to the instance."""
        refusal = _metadata_preconditions(headers, params)
        if refusal:
            return refusal
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        claims, problem = self.tokens.verify_instance_identity(token.strip() if scheme.lower() == "bearer" else "")
        if claims is None:
            return 401, _vpc_error("invalid_token", f"The instance identity token is {problem}.")
        try:
            wanted = (json.loads(body) if body else {}) or {}
            wanted = wanted.get("trusted_profile") or {}
        except (ValueError, AttributeError):
            return 400, _vpc_error("bad_request", "The request body is not valid JSON.")
        linked = [p for p in self.config.trusted_profiles if p.account_id == claims.get("account")]
        try:
            if wanted:
                principal = self._profile_for_compute_resource(
                    claims, profile_id=wanted.get("id"), name=wanted.get("name"), crn=wanted.get("crn"))
            elif linked:
                principal = self.config.profile_principal(linked[0])    # the instance's default profile
            else:
                return 400, _vpc_error("no_trusted_profile", "No trusted profile is linked to this instance.")
        except IamRefusal as refusal:
            return refusal.status, _vpc_error("iam_token_failed", f"{refusal.body['errorCode']}: "
                                                                  f"{refusal.body['errorMessage']}")
        answer = self.tokens.iam_token_response(principal, CR_TOKEN_GRANT)
        now = int(time.time())
        return 200, _expiring(answer["access_token"], now, answer["expires_in"])

    # ---- token realm -----------------------------------------------------------------------

    def realm_token(self, authorization, params):
        """(status, body) for ``GET /oauth/token?service=…&scope=…`` (several scopes allowed)."""
        service = _first(params, "service")
        region = self.config.region_for_service(service)
        if region is None:
            return 400, _oci_error("UNSUPPORTED", f"unknown service {service!r}")
        principal = self._principal_from_basic(authorization)
        if principal is None:
            return 401, _oci_error("UNAUTHORIZED", BAD_CREDENTIALS)
        scopes = [scope for value in params.get("scope", []) for scope in value.split()]
        if any(scope.startswith("repository:") for scope in scopes):
            refusal = rules.private_only_refusal(self.state, region, principal.account.account_id,
                                                 private=service == region.private_domain)
            if refusal:
                # 401, not 403: skopeo prints a realm's error message only with a 401 (docker with both).
                return 401, _oci_error("DENIED", refusal)
        access = [self._grant(region, principal, scope) for scope in scopes]
        token = self.tokens.registry_token(region, principal.account.account_id, [a for a in access if a],
                                           audience=service)
        issued = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        # No refresh_token: docker would store it and switch to OAuth POSTs (docs/sandbox-auth.md, "The realm's answer").
        return 200, {"token": token, "access_token": token, "expires_in": 300, "issued_at": issued}

    def _principal_from_basic(self, authorization):
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if user == "iamapikey":
            return self.config.principal_by_key(secret)
        if user == "iambearer":
            return self.tokens.principal_from_bearer(secret)
        return None

    def _grant(self, region, principal, scope):
        """The access entry for one ``type:name:actions`` scope: what is asked AND allowed."""
        parts = scope.split(":")
        if len(parts) < 3:
            return None
        kind, name, wanted = parts[0], ":".join(parts[1:-1]), set(parts[-1].split(","))
        allowed = set()
        account_id = principal.account.account_id
        if kind == "repository":
            namespace = name.split("/", 1)[0]
            if "/" in name and self.state.namespace_owner(region.name, namespace) == account_id:
                allowed.add("delete")
                if self.state.pull_allowed(region.name, account_id):
                    allowed.add("pull")
                    if self.state.push_allowed(region.name, account_id):
                        allowed.add("push")
            allowed &= rules.registry_actions(principal)
        # Anything else (the registry catalog included) is not for customers on ICR.
        granted = allowed if "*" in wanted else wanted & allowed
        return {"type": kind, "name": name, "actions": sorted(granted)}

    # ---- control hooks -----------------------------------------------------------------------

    def reset(self):
        """Empties every region's storage (registry stopped meanwhile) and the API state."""
        with self.reset_lock:
            self.faults.clear()
            with ThreadPoolExecutor(len(self.config.regions)) as pool:
                list(pool.map(self._wipe_region, self.config.regions.values()))
            self.state.reset()
            self.log.clear()

    def _wipe_region(self, region):
        registries.wipe_registry(self.config, region)
        self._wait_registry(region, "after the reset")
        if region.private_upstream:
            self._wait_registry(region, "after the reset", region.private_upstream)

    def _wait_registry(self, region, when, address=None):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://{address or region.upstream}/v2/", timeout=1).status_code == 401:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"registry of {region.name} did not come back {when}")

    def registry_process(self, region, action):
        """Stops or starts one region's registry process; answers its state afterwards.

        ``stop`` ends exactly the process the sandbox recorded (connections in flight break,
        partial uploads stay in storage as a real crash leaves them); ``start`` runs it again
        with the same config file and storage, and returns once it answers. Both are no-ops
        when the registry is already in the wanted state.
        """
        with self.reset_lock:
            running = registries.registry_pid(self.config.state_dir, region.name) is not None
            if action == "stop" and running:
                registries.stop_registry(self.config, region)
            elif action == "start" and not running:
                registries.start_registry(self.config, region)
                self._wait_registry(region, "after a start")
            pid = registries.registry_pid(self.config.state_dir, region.name)
        return {"region": region.name, "running": pid is not None, "pid": pid}


def _first(mapping, name):
    values = mapping.get(name) or [None]
    return values[0]


def _oci_error(code, message):
    return {"errors": [{"code": code, "message": message}]}


def _unknown_profile(what):
    return IamRefusal(400, "BXNIM9404E", f"Trusted profile '{what}' could not be found.")


def _untrusted(profile, who):
    return IamRefusal(403, "BXNIM9403E", f"The trusted profile '{profile.name}' does not trust '{who}'.")


def _vpc_error(code, message):
    return {"errors": [{"code": code, "message": message}], "trace": secrets.token_hex(16)}


def _metadata_preconditions(headers, params):
    """The metadata service's checks every call passes: the flavor header and a known version."""
    if (headers.get("Metadata-Flavor") or "").lower() != "ibm":
        return 400, _vpc_error("missing_metadata_flavor", "The request needs the header 'Metadata-Flavor: ibm'.")
    version = _first(params, "version")
    if version not in METADATA_VERSIONS:
        return 400, _vpc_error("invalid_version", f"The version query parameter '{version}' is not supported.")
    return None


def _expiring(token, now, lifetime):
    stamp = lambda seconds: datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return {"access_token": token, "created_at": stamp(now), "expires_at": stamp(now + lifetime),
            "expires_in": lifetime}


# ---- HTTP ------------------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "icr-sandbox"
    sandbox: Sandbox = None
    region = None          # set on the /api/v1 servers

    def log_message(self, format, *args):   # noqa: A002 - the stdlib's signature
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self):  # noqa: N802 - stdlib naming
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, payload=b"", headers=None):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for name, value in (headers or {}).items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _faulted(self, kind, region_name, path):
        """Applies a matching fault rule; True when it answered the request itself."""
        rule = self.sandbox.faults.match(kind, region_name, self.command, path)
        if rule is None or rule.get("reset_after_bytes") is not None or not self.sandbox.faults.fire(rule):
            return False
        if rule.get("latency_ms"):
            time.sleep(rule["latency_ms"] / 1000)
        if rule.get("status") is None:
            return False
        self.sandbox.log.record(kind, region_name, self.command, path, rule["status"])
        self._send(rule["status"], fault_body(kind, rule["status"]), fault_headers(rule))
        return True


class ServiceHandler(_Handler):
    """IAM, the token realm, the control hooks and the registries' event sink (see ROUTES)."""

    def _serve(self):
        url = urlsplit(self.path)
        path, params = url.path, parse_qs(url.query, keep_blank_values=True)
        body = self._body()
        for method, pattern, handler in ROUTES:
            match = pattern.fullmatch(path)
            if match and method == self.command:
                handler(self, match, params, body)
                return
        if path.startswith("/_sandbox/"):
            self._send(404, {"error": f"no such hook: {self.command} {path}"})
        else:
            self._send(404, _oci_error("NOT_FOUND", f"no such endpoint: {self.command} {path}"))

    def _logged(self, kind, region_name, path, answer):
        if self._faulted(kind, region_name, path):
            return
        status, document = answer()
        self.sandbox.log.record(kind, region_name, self.command, path, status)
        self._send(status, document)

    # ---- IAM and the token realm ---------------------------------------------------------

    def iam_token(self, match, params, body):
        form = parse_qs(body.decode("utf-8", "replace"))
        self._logged("iam", None, match.string, lambda: self.sandbox.iam_token(form))

    def realm_token(self, match, params, body):
        authorization = self.headers.get("Authorization")
        if self.command == "POST":   # the OAuth form (grant_type=password): same answer as the GET
            form = parse_qs(body.decode("utf-8", "replace"))
            params = {**params, **form}
            if _first(form, "username") is not None:
                pair = f"{_first(form, 'username')}:{_first(form, 'password') or ''}".encode()
                authorization = "Basic " + base64.b64encode(pair).decode()
        region = self.sandbox.config.region_for_service(_first(params, "service"))
        self._logged("token", region.name if region else None, match.string,
                     lambda: self.sandbox.realm_token(authorization, params))

    # ---- the registries' notifications -----------------------------------------------------

    def events(self, match, params, body):
        region = self.sandbox.config.regions.get(match["region"])
        if region is None:
            self._send(404, {"error": f"unknown region {match['region']}"})
            return
        try:
            events = json.loads(body or b"{}").get("events", [])
        except ValueError:
            self._send(400, {"error": "not JSON"})
            return
        rules.count_pulled_bytes(self.sandbox.state, region.name, events)
        self.sandbox.va.on_events(region, events)
        self._send(200)

    # ---- control hooks (docs/design.md "Sandbox test hooks") --------------------------------

    def list_requests(self, match, params, body):
        since = _first(params, "since") or "0"
        if not since.isdigit():
            self._send(400, {"error": "since must be a sequence number"})
            return
        self._send(200, self.sandbox.log.since(int(since)))

    def clear_requests(self, match, params, body):
        self.sandbox.log.clear()
        self._send(204)

    def list_faults(self, match, params, body):
        self._send(200, self.sandbox.faults.listing())

    def replace_faults(self, match, params, body):
        try:
            self.sandbox.faults.replace(json.loads(body or b"[]"))
        except ValueError as error:
            self._send(400, {"error": str(error)})
            return
        self._send(200, self.sandbox.faults.listing())

    def clear_faults(self, match, params, body):
        self.sandbox.faults.clear()
        self._send(204)

    def reset(self, match, params, body):
        self.sandbox.reset()
        self._send(204)

    def health(self, match, params, body):
        self._send(200, {"status": "ok"})

    def legacy_namespace(self, match, params, body):
        try:
            request = json.loads(body or b"{}")
            self.sandbox.state.add_legacy_namespace(request["region"], request["account_id"], request["name"])
        except (ValueError, KeyError, TypeError) as error:
            self._send(400, {"error": f"expected region, account_id and name: {error}"})
        except Refused as refusal:
            self._send(refusal.status, {"error": refusal.message, "code": refusal.code})
        else:
            self._send(201, {"namespace": request["name"]})

    def registry_process(self, match, params, body):
        """``GET /_sandbox/registries/<region>``; ``POST …/<region>/stop`` or ``…/start``."""
        region = self.sandbox.config.regions.get(match["region"])
        if region is None:
            self._send(404, {"error": f"no such hook: {self.command} {match.string}"})
            return
        try:
            self._send(200, self.sandbox.registry_process(region, match.groupdict().get("action")))
        except RuntimeError as error:
            self._send(500, {"error": str(error)})


# (method, full-path regex, handler) of the service port; the first match answers.
ROUTES = [(method, re.compile(pattern), handler) for method, pattern, handler in [
    ("POST", r"/identity/token", ServiceHandler.iam_token),
    ("GET", r"/oauth/token", ServiceHandler.realm_token),
    ("POST", r"/oauth/token", ServiceHandler.realm_token),
    ("POST", r"/_sandbox/events/(?P<region>[^/]+)", ServiceHandler.events),
    ("GET", r"/_sandbox/requests", ServiceHandler.list_requests),
    ("DELETE", r"/_sandbox/requests", ServiceHandler.clear_requests),
    ("GET", r"/_sandbox/faults", ServiceHandler.list_faults),
    ("PUT", r"/_sandbox/faults", ServiceHandler.replace_faults),
    ("DELETE", r"/_sandbox/faults", ServiceHandler.clear_faults),
    ("POST", r"/_sandbox/reset", ServiceHandler.reset),
    ("POST", r"/_sandbox/legacy-namespaces", ServiceHandler.legacy_namespace),
    ("GET", r"/_sandbox/health", ServiceHandler.health),
    ("GET", r"/_sandbox/registries/(?P<region>[^/]+)", ServiceHandler.registry_process),
    ("POST", r"/_sandbox/registries/(?P<region>[^/]+)/(?P<action>stop|start)", ServiceHandler.registry_process),
]]


class MetadataHandler(_Handler):
    """The VPC instance metadata service's two identity calls (VPCInstanceTokenManager), v1 and v2 paths."""

    def _serve(self):
        url = urlsplit(self.path)
        path, params = url.path, parse_qs(url.query, keep_blank_values=True)
        body = self._body()
        for method, pattern, name in METADATA_ROUTES:
            if method == self.command and pattern.fullmatch(path):
                if self._faulted("iam", None, path):
                    return
                status, document = getattr(self.sandbox, name)(self.headers, params, body)
                self.sandbox.log.record("iam", None, self.command, path, status)
                self._send(status, document)
                return
        self._send(404, _vpc_error("not_found", f"no such endpoint: {self.command} {path}"))


METADATA_ROUTES = [(method, re.compile(pattern), name) for method, pattern, name in [
    ("PUT", r"/instance_identity/v1/token", "instance_token"),
    ("PUT", r"/identity/v1/token", "instance_token"),
    ("POST", r"/instance_identity/v1/iam_token", "instance_iam_token"),
    ("POST", r"/identity/v1/iam_tokens", "instance_iam_token"),
]]


class ApiHandler(_Handler):
    """/api/v1 of one region, wrapped with the request log and fault injection."""

    def _serve(self):
        raw_path, _, query = self.path.partition("?")
        body = self._body()
        region = self.region
        if self._faulted("api", region.name, raw_path):
            return
        status, headers, payload = self.sandbox.api.handle(region, self.command, raw_path, query, self.headers, body)
        self.sandbox.log.record("api", region.name, self.command, raw_path, status)
        self._send(status, payload, headers)


class _Server(ThreadingHTTPServer):
    """With ``up --tls``, a connection that opens with a TLS handshake is served over TLS;
    plain HTTP is still accepted (the registries post their events in plain HTTP)."""

    daemon_threads = True
    ssl_context = None

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            if request.recv(1, socket.MSG_PEEK) != TLS_HANDSHAKE:
                super().finish_request(request, client_address)
                return
            secure = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as error:
            LOG.debug("TLS handshake with %s failed: %s", client_address, error)
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()


def _server(host, port, handler, sandbox, region=None, ssl_context=None):
    attributes = {"sandbox": sandbox, "region": region}
    server = _Server((host, port), type(handler.__name__, (handler,), attributes))
    server.ssl_context = ssl_context
    return server


def serve(state_dir):
    """Runs the service until the process is terminated."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_module.load(state_dir)
    sandbox = Sandbox(config)
    context = tls.server_context(state_dir) if config.tls else None
    servers = [_server(config.host, config.service_port, ServiceHandler, sandbox, ssl_context=context)]
    servers += [_server(config.host, r.api_port, ApiHandler, sandbox, r, context) for r in config.regions.values()]
    # The private endpoints: /api/v1 over the same state; /v2 is each region's second registry.
    servers += [_server(config.host, r.private_api_port, ApiHandler, sandbox, r, context)
                for r in config.regions.values() if r.private_api_port]
    if config.metadata_port:
        servers.append(_server(config.host, config.metadata_port, MetadataHandler, sandbox))
    for region in config.regions.values():
        if config.tls:
            inner = (config.host, config.tls_inner_ports[region.name])
            RegionProxy(region, sandbox.faults, sandbox.log, listen=inner).start()
            host, port = region.registry.rsplit(":", 1)
            TlsFront((host, int(port)), inner, context).start()
            if region.private_registry and region.private_registry != region.private_upstream:
                host, port = region.private_registry.rsplit(":", 1)
                up_host, up_port = region.private_upstream.rsplit(":", 1)
                TlsFront((host, int(port)), (up_host, int(up_port)), context).start()
        else:
            RegionProxy(region, sandbox.faults, sandbox.log).start()
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    LOG.info("serving on %s (service), api ports %s", config.service_port,
             [r.api_port for r in config.regions.values()])
    servers[0].serve_forever()
