"""TLS with a server that offers it: a MySQL server's first steps (greeting, TLS request, TLS handshake), faked.

The local MariaDB offers no TLS (test_config.py holds DB_TLS=true to refusing it), so this server, which speaks
only up to the handshake, shows what a client does with one that does: without DB_TLS, TLS anyway, the certificate
unchecked (PyMySQL's "preferred" mode, which RDS's direct connections get); with DB_TLS, a certificate no system CA
signed refused before the password is sent.
"""

import datetime
import ipaddress
import socket
import ssl
import struct
import threading

import pymysql
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pymysql.constants import CLIENT

from people_api import db
from people_api.config import database_settings

CAPABILITIES = CLIENT.LONG_PASSWORD | CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.SSL


def packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


GREETING = packet(
    0,
    b"\x0a5.5.5-10.11.0-MariaDB-fake\x00"
    + struct.pack("<I", 7)
    + b"saltsalt\x00"
    + struct.pack("<HBHHB", CAPABILITIES & 0xFFFF, 45, 2, CAPABILITIES >> 16, 21)
    + bytes(10)
    + b"moresaltsalt\x00mysql_native_password\x00",
)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A certificate for 127.0.0.1 that no CA signed, and its key (PEM files)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "cert.pem", folder / "key.pem"


class TlsOfferingServer:
    """Answers one connection: the greeting (offering TLS), the client's TLS request, the handshake; then hangs up.

    `outcome` says how the handshake ended: "encrypted", or the TLS error the server saw.
    """

    def __init__(self, certificate_file, key_file):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate_file, key_file)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.outcome = None
        self.thread = threading.Thread(target=self.answer_one, daemon=True)
        self.thread.start()

    def answer_one(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.sendall(GREETING)
            header = conn.recv(4, socket.MSG_WAITALL)
            request = conn.recv(int.from_bytes(header[:3], "little"), socket.MSG_WAITALL)
            if not struct.unpack("<I", request[:4])[0] & CLIENT.SSL:
                self.outcome = "plain"
                return
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    self.outcome = "encrypted"
            except OSError as refused:  # a TLS alert, or the client hanging up on a certificate it refused
                self.outcome = getattr(refused, "reason", None) or type(refused).__name__

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def tls_server(self_signed):
    server = TlsOfferingServer(*self_signed)
    yield server
    server.close()


def test_without_db_tls_a_server_offering_tls_gets_it_unverified(tls_server):
    with pytest.raises(pymysql.OperationalError):  # the fake server hangs up where the login would go on
        db.connect(database_settings({"DB_PORT": str(tls_server.port), "DB_CONNECT_TIMEOUT": "5"}))
    tls_server.thread.join(timeout=10)
    assert tls_server.outcome == "encrypted"


def test_with_db_tls_a_certificate_no_system_ca_signed_is_refused(tls_server):
    settings = database_settings({"DB_PORT": str(tls_server.port), "DB_CONNECT_TIMEOUT": "5", "DB_TLS": "true"})
    with pytest.raises(pymysql.OperationalError, match="certificate verify failed"):
        db.connect(settings)
    tls_server.thread.join(timeout=10)
    assert tls_server.outcome != "encrypted"


@pytest.mark.parametrize(("host", "outcome"), [("127.0.0.1", "encrypted"), ("localhost", "refused")])
def test_with_db_tls_a_trusted_certificate_must_name_the_host(tls_server, self_signed, monkeypatch, host, outcome):
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))  # OpenSSL's system store: this certificate alone
    settings = database_settings(
        {"DB_HOST": host, "DB_PORT": str(tls_server.port), "DB_CONNECT_TIMEOUT": "5", "DB_TLS": "true"}
    )
    with pytest.raises(pymysql.OperationalError) as failed:
        db.connect(settings)
    tls_server.thread.join(timeout=10)
    if outcome == "encrypted":
        assert tls_server.outcome == "encrypted"  # and the login went on: the fake server hung up there
    else:
        assert "match" in str(failed.value) and tls_server.outcome != "encrypted"
