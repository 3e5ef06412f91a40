"""The ICR management API, /api/v1, for one region at a time (and Vulnerability Advisor,
/va/api/v4, on the same address: ``va.py``, routed through ``routes.table_path``).

Routing (``routes.py``) matches the raw, undecoded path (image references arrive
percent-encoded as one segment), then decodes each path argument. Every operation except
GET /messages needs an IAM bearer token and an ``Account`` header naming the token's
account. A handler gets a ``Request`` that carries its region's registry admin, the
region's lock and the calling account; it parses the request, calls the state or a rule
(``state.py``, ``rules.py``) and formats the answer. Errors carry ``errors[0].message``
(what IBM's SDK core reads) and an ICR-style message ID; message IDs numbered 9xxx are the
sandbox's own, the others come from IBM's documentation.
"""

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from .. import rules
from ..registry import RegistryAdmin, RegistryError
from ..state import Refused
from .responses import error_response
from .routes import ROUTES, table_path

LOG = logging.getLogger(__name__)
PREFIX = "/api/v1/"
AUTH_REQUIRED = ("Authorization required. See https://cloud.ibm.com/docs/Registry?"
                 "topic=Registry-troubleshoot-auth-req")


@dataclass
class Request:
    config: object
    state: object
    region: object
    admin: RegistryAdmin           # the region's registry: storage reads, /v2 writes
    lock: object                   # the region's lock: held from a storage read to its write
    account: object                # None on the routes that need no account
    principal: object              # who called (config.Principal: account and service role), or None
    args: list
    params: dict
    headers: object
    body: bytes

    def flag(self, name, default=None):
        values = self.params.get(name)
        if not values:
            return default
        value = values[-1].lower()
        if value not in ("true", "false"):
            raise Refused(400, "CRG9400E", f"The query parameter '{name}' must be true or false.")
        return value == "true"

    def json(self, expected=dict):
        try:
            document = json.loads(self.body or b"null")
        except ValueError:
            raise Refused(400, "CRG9400E", "The request body is not valid JSON.") from None
        if document is None and expected is dict:
            document = {}
        if not isinstance(document, expected):
            raise Refused(400, "CRG9400E", f"The request body must be a JSON {expected.__name__}.")
        return document

    # ---- the calling account in this region --------------------------------------------

    def settings(self):
        return self.state.account_settings(self.region.name, self.account.account_id)

    def update_settings(self, **changes):
        self.state.update_account_settings(self.region.name, self.account.account_id, **changes)

    def own_namespaces(self):
        """The account's namespace records in this region."""
        return self.state.namespaces_of(self.region.name, self.account.account_id)

    def own_namespace_names(self):
        return [record["name"] for record in self.own_namespaces()]

    def check_owner(self, namespace):
        self.state.check_owner(self.region.name, self.account.account_id, namespace)


class ManagementApi:
    def __init__(self, config, state, tokens):
        self._config = config
        self._state = state
        self._tokens = tokens
        self._admins = {name: RegistryAdmin(region, tokens) for name, region in config.regions.items()}
        # One writer at a time per region: image changes read storage, then write.
        self._locks = {name: threading.RLock() for name in config.regions}

    def handle(self, region, method, raw_path, query, headers, body):
        transaction_id = headers.get("X-Global-Transaction-ID") or uuid.uuid4().hex
        try:
            status, response_headers, payload = self._dispatch(region, method, table_path(raw_path), query, headers,
                                                               body)
        except Refused as refusal:
            status, response_headers, payload = error_response(refusal.status, refusal.code, refusal.message,
                                                               transaction_id)
        except RegistryError as failure:
            status, response_headers, payload = error_response(502, "CRG9502E", str(failure), transaction_id)
        except Exception as failure:  # noqa: BLE001 - a sandbox bug must still answer like ICR would
            LOG.exception("unexpected failure in %s %s", method, raw_path)
            status, response_headers, payload = error_response(500, "CRG9500E", f"Internal error: {failure!r}",
                                                               transaction_id)
        response_headers["X-Global-Transaction-ID"] = transaction_id
        return status, response_headers, payload

    def _dispatch(self, region, method, raw_path, query, headers, body):
        if not raw_path.startswith(PREFIX):
            raise Refused(404, "CRG9404E", f"No such API: {method} {raw_path}")
        segments = raw_path[len(PREFIX):].rstrip("/").split("/")
        for route_method, pattern, handler, role in ROUTES:
            if route_method != method or len(pattern) != len(segments):
                continue
            if all(p is None or p == s for p, s in zip(pattern, segments)):
                args = [unquote(s) for p, s in zip(pattern, segments) if p is None]
                principal = self._authenticate(headers) if role else None
                if principal is not None:
                    rules.check_role(principal, role)
                request = Request(self._config, self._state, region, self._admins[region.name],
                                  self._locks[region.name], principal and principal.account, principal, args,
                                  parse_qs(query or "", keep_blank_values=True), headers, body)
                return handler(request)
        raise Refused(404, "CRG9404E", f"No such API: {method} {raw_path}")

    def _authenticate(self, headers):
        authorization = headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        principal = self._tokens.principal_from_bearer(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None or headers.get("Account") != principal.account.account_id:
            raise Refused(401, "CRG0014E", AUTH_REQUIRED)
        return principal
