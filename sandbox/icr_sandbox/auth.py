"""Tokens: IBM-style IAM access tokens and registry bearer tokens (JWTs docker-registry accepts).

One RSA key signs both. The registry trusts it through ``keys/bundle.crt`` (a self-signed
certificate wrapping the key) and finds it by ``kid``, the libtrust fingerprint of the key.
IAM tokens carry another issuer and audience, so the registry never accepts one as its own.
The rules the registry enforces on its tokens: docs/sandbox-auth.md, "Registry tokens".
"""

import base64
import datetime
import hashlib
import os
import secrets
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

IAM_ISSUER = "https://iam.cloud.ibm.com/identity"
IAM_AUDIENCE = "default"
IAM_LIFETIME = 3600
# Compute-resource tokens (what IKS or Code Engine mounts in a pod) and VPC instance identity
# tokens: same key, their own issuer and audience, so neither passes for an IAM token.
CR_ISSUER = "https://icr-sandbox.invalid/compute-resource"
CR_AUDIENCE = "iam"
CR_LIFETIME = 7 * 86400
INSTANCE_ISSUER = "https://icr-sandbox.invalid/instance-identity"
INSTANCE_AUDIENCE = "vpc-iam"
EXPIRED, INVALID = "expired", "invalid"
REGISTRY_LIFETIME = 300      # the registry never revokes a token: keep them short-lived
ADMIN_SUBJECT = "icr-sandbox-admin"
KEY_FILE = "signing.key"
BUNDLE_FILE = "bundle.crt"


def keys_dir(state_dir):
    return os.path.join(state_dir, "keys")


def bundle_path(state_dir):
    return os.path.join(keys_dir(state_dir), BUNDLE_FILE)


def ensure_keys(state_dir):
    """Creates the signing key and the registry's trust bundle once per state folder."""
    directory = keys_dir(state_dir)
    key_path = os.path.join(directory, KEY_FILE)
    if os.path.exists(key_path) and os.path.exists(bundle_path(state_dir)):
        return
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "icr-sandbox token signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=3650))
                   .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    with open(bundle_path(state_dir), "wb") as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))


def libtrust_kid(public_key):
    """The key ID docker-registry derives from a trusted certificate (not an RFC 7638 thumbprint)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, 48, 4))


class TokenIssuer:
    def __init__(self, config):
        self._config = config
        with open(os.path.join(keys_dir(config.state_dir), KEY_FILE), "rb") as handle:
            self._key = serialization.load_pem_private_key(handle.read(), password=None)
        self._public = self._key.public_key()
        self._kid = libtrust_kid(self._public)

    # ---- IAM -----------------------------------------------------------------------------

    def iam_token_response(self, principal, grant_type="urn:ibm:params:oauth:grant-type:apikey"):
        """IAM's answer for a principal (config.Principal): a JWT with IBM's claims."""
        now = int(time.time())
        account_id = principal.account.account_id
        claims = {
            "iam_id": principal.iam_id, "id": principal.iam_id, "realmid": "iam", "sub": principal.sub,
            "sub_type": principal.sub_type, "name": principal.name, "jti": secrets.token_hex(16),
            "identifier": principal.sub, "account": {"valid": True, "bss": account_id, "frozen": True},
            "iat": now, "exp": now + IAM_LIFETIME, "iss": IAM_ISSUER,
            "grant_type": grant_type, "scope": "ibm openid",
            "client_id": "default", "acr": 1, "amr": ["pwd"], "aud": IAM_AUDIENCE,
        }
        if principal.sub_type == "User":
            claims["realmid"] = "IBMid"
        access_token = self._sign(claims)
        return {"access_token": access_token, "refresh_token": "not_supported", "token_type": "Bearer",
                "expires_in": IAM_LIFETIME, "expiration": now + IAM_LIFETIME, "scope": "ibm openid"}

    def verify_iam(self, token):
        """(claims, None) for a valid IAM access token, else (None, EXPIRED or INVALID)."""
        return self._verify(token, IAM_ISSUER, IAM_AUDIENCE)

    def principal_from_bearer(self, token):
        """The principal of a valid (signed by us, unexpired) IAM access token, else None."""
        claims, _ = self.verify_iam(token)
        if claims is None:
            return None
        return self._config.principal_by_iam_id(claims.get("iam_id"), (claims.get("account") or {}).get("bss"))

    def account_from_bearer(self, token):
        principal = self.principal_from_bearer(token)
        return principal.account if principal else None

    # ---- compute resources: CR tokens (IKS, Code Engine) and VPC instance identity ---------

    def compute_resource_token(self, account_id, compute_resource, lifetime=CR_LIFETIME):
        now = int(time.time())
        return self._sign({"iss": CR_ISSUER, "aud": CR_AUDIENCE, "sub": compute_resource, "account": account_id,
                           "iat": now, "nbf": now - 5, "exp": now + lifetime, "jti": secrets.token_hex(12)})

    def verify_compute_resource(self, token):
        return self._verify(token, CR_ISSUER, CR_AUDIENCE)

    def instance_identity_token(self, instance, account_id, lifetime):
        now = int(time.time())
        token = self._sign({"iss": INSTANCE_ISSUER, "aud": INSTANCE_AUDIENCE, "sub": instance, "account": account_id,
                            "iat": now, "nbf": now - 5, "exp": now + lifetime, "jti": secrets.token_hex(12)})
        return token, now

    def verify_instance_identity(self, token):
        return self._verify(token, INSTANCE_ISSUER, INSTANCE_AUDIENCE)

    # ---- helpers ---------------------------------------------------------------------------

    def _sign(self, claims):
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def _verify(self, token, issuer, audience):
        """The signature is checked first: a forged token is INVALID even when also expired."""
        if not token:
            return None, INVALID
        try:
            return jwt.decode(token, self._public, algorithms=["RS256"], issuer=issuer, audience=audience,
                              options={"require": ["exp", "iat"]}), None
        except jwt.ExpiredSignatureError:
            return None, EXPIRED
        except jwt.PyJWTError:
            return None, INVALID

    # ---- registry ----------------------------------------------------------------------------

    def registry_token(self, region, subject, access, audience=None):
        """``audience``: the registry's service, the region's public (default) or private one."""
        now = int(time.time())   # exp/nbf/iat must be JSON integers, aud a string
        claims = {"iss": self._config.issuer, "sub": subject or "", "aud": audience or region.service,
                  "exp": now + REGISTRY_LIFETIME, "nbf": now - 5, "iat": now,
                  "jti": secrets.token_hex(12), "access": access}
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid, "typ": "JWT"})

    def admin_headers(self, region, access):
        return {"Authorization": f"Bearer {self.registry_token(region, ADMIN_SUBJECT, access)}"}
