"""Database connections verify the server's certificate and name, as on an instance:
DATABASE_URL with sslmode=verify-full and PGSSLROOTCERT naming the CA bundle (the RDS
bundle there, a throwaway CA here), against a PostgreSQL that serves TLS."""

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy.servers import Postgres, free_port

BASE_DIR = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.db import connection\n"
    "with connection.cursor() as c:\n"
    "    c.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')\n"
    "    print('ssl', c.fetchone()[0])\n"
)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject, issuer, key, signer, *, ca: bool, names=()):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(path: Path, certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def tls_postgres():
    """PostgreSQL with a certificate for `localhost` from a CA of our own, and a second,
    unrelated CA."""
    # Under the suite's work directory: PostgreSQL runs as its own user and must reach it.
    work = Path(tempfile.mkdtemp(prefix="tls-", dir=os.environ["WEBSHOP_TEST_WORKDIR"]))
    work.chmod(0o755)
    ca_key, other_key, server_key = _key(), _key(), _key()
    ca = _certificate("test RDS CA", "test RDS CA", ca_key, ca_key, ca=True)
    other = _certificate("another CA", "another CA", other_key, other_key, ca=True)
    server = _certificate("localhost", "test RDS CA", server_key, ca_key, ca=False,
                          names=["localhost"])  # fmt: skip
    tls = work / "server-tls"
    tls.mkdir()
    certificate = _pem(tls / "server.crt", server)
    key = tls / "server.key"
    key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    if os.geteuid() == 0:
        for path in (tls, certificate, key):
            shutil.chown(path, "postgres", "postgres")
    server = Postgres(work / "pg", free_port(), tls=(certificate, key)).start()
    yield server, _pem(work / "ca.pem", ca), _pem(work / "other-ca.pem", other)
    server.stop()


def _connect(port: int, host: str, root_cert: Path):
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "DJANGO_SECRET_KEY": "tls-test-secret-key-long-enough-for-the-checks-0123456789",
        "DATABASE_URL": f"postgres://postgres@{host}:{port}/postgres?sslmode=verify-full",
        "PGSSLROOTCERT": str(root_cert),
        "REDIS_URL": os.environ["REDIS_URL"],  # the suite's; production settings require one
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_the_server_certificate_from_the_bundle_is_accepted(tls_postgres):
    server, ca, _ = tls_postgres
    result = _connect(server.port, "localhost", ca)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ssl True"


def test_a_certificate_from_another_authority_is_refused(tls_postgres):
    server, _, other = tls_postgres
    result = _connect(server.port, "localhost", other)
    assert result.returncode != 0
    assert "certificate verify failed" in result.stderr


def test_a_certificate_for_another_name_is_refused(tls_postgres):
    server, ca, _ = tls_postgres
    result = _connect(server.port, "127.0.0.1", ca)  # the certificate names localhost only
    assert result.returncode != 0
    assert 'does not match host name "127.0.0.1"' in result.stderr
