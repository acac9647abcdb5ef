"""Key pairs: Nova's ``KeypairAPI`` (``nova/compute/api.py``) and the key making of
``nova/crypto.py``.

Owns what a key pair is made of: an imported public key is checked by parsing it (an
OpenSSH public key for type ``ssh``, a PEM X.509 certificate for ``x509``) and
fingerprinted as Nova does (MD5 of the key blob for ``ssh``, SHA-1 of the certificate for
``x509``, hex pairs joined by ``:``); a generated one is a 2048-bit RSA key (the private
key in PEM, the public key ``ssh-rsa ... Generated-by-Nova``) or, for ``x509``, a
self-signed certificate for the user. Also owns the ``[quota] key_pairs`` check (per
user, as in Nova) and the name check Nova's compute API makes. The database rows are
``nova_sim.db.keypairs``'. Must not know about HTTP.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import string
from typing import Any

from nova_sim import exception
from nova_sim.compute.quotas import QuotaAPI

KEYPAIR_TYPE_SSH = "ssh"
KEYPAIR_TYPE_X509 = "x509"
KEYPAIR_TYPES = (KEYPAIR_TYPE_SSH, KEYPAIR_TYPE_X509)
#: The characters of a key pair name, as Nova's compute API checks them.
SAFE_CHARS = frozenset("_- " + string.digits + string.ascii_letters)


def _colon_hex(digest: bytes) -> str:
    raw = binascii.hexlify(digest).decode("ascii")
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def generate_fingerprint(public_key: str) -> str:
    """The fingerprint of an OpenSSH public key (``aa:bb:...``, MD5 of the key blob);
    ``InvalidKeypair`` when it is not one."""
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(public_key.split(" ")[1])
    except Exception:  # any parse failure: Nova's one message
        raise exception.InvalidKeypair(reason="failed to generate fingerprint")
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def generate_x509_fingerprint(pem_key: str) -> str:
    """The SHA-1 fingerprint of a PEM X.509 certificate; ``InvalidKeypair`` when it is
    not one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_pem_x509_certificate(pem_key.encode("utf-8"))
    except (ValueError, TypeError) as error:
        raise exception.InvalidKeypair(
            reason=f"failed to generate X509 fingerprint. Error message: {error}")
    return _colon_hex(certificate.fingerprint(hashes.SHA1()))  # noqa: S303 - Nova's choice


def _rsa_key(bits: int) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def generate_key_pair(bits: int = 2048) -> tuple[str, str, str]:
    """A new RSA key pair: ``(private_key_pem, public_key, fingerprint)``."""
    from cryptography.hazmat.primitives import serialization

    key = _rsa_key(bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")
    public = f"{public} Generated-by-Nova"
    return private, public, generate_fingerprint(public)


def generate_x509_certificate(user_id: str, bits: int = 2048,
                              now: datetime.datetime | None = None) -> tuple[str, str, str]:
    """A new self-signed certificate for ``user_id`` (Nova's WinRM client certificate):
    ``(private_key_pem, certificate_pem, fingerprint)``, valid for ten years."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _rsa_key(bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id or "nova")])
    start = now or datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode("ascii")
    return private, pem, generate_x509_fingerprint(pem)


class KeypairAPI:
    """Create, import, list, show and delete the key pairs of a user.

    ``db`` is a ``nova_sim.db.api.Database``; ``conf`` gives ``[quota] key_pairs`` (a
    project's own limit, ``os-quota-sets``, overrides it; it counts per user).
    Errors: ``InvalidKeypair`` (400: a bad name, type or public key),
    ``KeypairLimitExceeded`` (403), ``KeyPairExists`` (409), ``KeypairNotFound`` (404),
    ``MarkerNotFound`` (400).
    """

    def __init__(self, conf: Any, db: Any):
        self.conf = conf
        self.db = db

    def _validate_new_key_pair(self, ctxt: Any, user_id: str, key_name: str,
                               key_type: str) -> None:
        if key_type not in KEYPAIR_TYPES:
            raise exception.InvalidKeypair(
                reason=f"Specified Keypair type '{key_type}' is invalid")
        if not 1 <= len(key_name) <= 255:
            raise exception.InvalidKeypair(
                reason="Keypair name must be string and between 1 and 255 characters long")
        limit = QuotaAPI(self.conf, self.db).limit(getattr(ctxt, "project_id", None),
                                                   "key_pairs")
        if 0 <= limit <= self.db.key_pair_count_by_user(user_id):
            raise exception.KeypairLimitExceeded()

    def _fingerprint(self, public_key: str, key_type: str) -> str:
        if key_type == KEYPAIR_TYPE_X509:
            return generate_x509_fingerprint(public_key)
        return generate_fingerprint(public_key)

    def import_key_pair(self, ctxt: Any, user_id: str, key_name: str, public_key: str,
                        key_type: str = KEYPAIR_TYPE_SSH) -> dict[str, Any]:
        """Record ``public_key`` as ``key_name`` of ``user_id``; the new row."""
        self._validate_new_key_pair(ctxt, user_id, key_name, key_type)
        fingerprint = self._fingerprint(public_key, key_type)
        return self.db.key_pair_create({
            "user_id": user_id, "name": key_name, "type": key_type,
            "public_key": public_key, "fingerprint": fingerprint})

    def create_key_pair(self, ctxt: Any, user_id: str, key_name: str,
                        key_type: str = KEYPAIR_TYPE_SSH) -> tuple[dict[str, Any], str]:
        """Generate a key pair ``key_name`` for ``user_id``: ``(row, private_key)``; the
        private key is kept nowhere."""
        self._validate_new_key_pair(ctxt, user_id, key_name, key_type)
        if key_type == KEYPAIR_TYPE_X509:
            private_key, public_key, fingerprint = generate_x509_certificate(user_id)
        else:
            private_key, public_key, fingerprint = generate_key_pair()
        row = self.db.key_pair_create({
            "user_id": user_id, "name": key_name, "type": key_type,
            "public_key": public_key, "fingerprint": fingerprint})
        return row, private_key

    def get_key_pairs(self, ctxt: Any, user_id: str, limit: int | None = None,
                      marker: str | None = None) -> list[dict[str, Any]]:
        """The key pairs of ``user_id`` by name (after ``marker``, at most ``limit``)."""
        return self.db.key_pair_get_all_by_user(user_id, limit=limit, marker=marker)

    def get_key_pair(self, ctxt: Any, user_id: str, key_name: str) -> dict[str, Any]:
        """The key pair ``key_name`` of ``user_id``."""
        return self.db.key_pair_get(user_id, key_name)

    def delete_key_pair(self, ctxt: Any, user_id: str, key_name: str) -> None:
        """Delete the key pair ``key_name`` of ``user_id``."""
        self.db.key_pair_destroy(user_id, key_name)
