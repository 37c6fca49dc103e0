"""A real RFC 3161 time-stamp authority on loopback, for tests: OpenSSL's own `openssl ts -reply`
answers each query, signing with a throwaway CA-issued TSA certificate made here.

Using OpenSSL's implementation (not ours) means the tests check our client against an
independent TSA, and `openssl ts -verify` can check our stored tokens in turn.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lijian test TSA")])


def _pem(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_pki(folder: Path) -> None:
    """ca.pem (self-signed root) and tsa.pem/tsa.key (critical timeStamping EKU, issued by it)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test Root")).issuer_name(_name("Test Root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    tsa = (x509.CertificateBuilder().subject_name(_name("Test TSA")).issuer_name(ca.subject)
           .public_key(tsa_key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
           .sign(ca_key, hashes.SHA256()))
    _pem(folder / "ca.pem", ca)
    _pem(folder / "tsa.pem", tsa)
    (folder / "tsa.key").write_bytes(tsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(TSA_CONFIG.format(dir=folder))


@dataclass
class TestTSA:
    url: str
    ca_pem: Path
    folder: Path
    queries: list[bytes]
    server: ThreadingHTTPServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_tsa(folder: Path | None = None) -> TestTSA:
    folder = folder or Path(tempfile.mkdtemp(prefix="lijian-tsa-"))
    make_pki(folder)
    queries: list[bytes] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 — http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415, "expected application/timestamp-query")
                return
            with lock:  # openssl increments one serial file
                queries.append(body)
                query = folder / "query.tsq"
                query.write_bytes(body)
                done = subprocess.run(
                    ["openssl", "ts", "-reply", "-config", str(folder / "tsa.cnf"), "-queryfile", str(query)],
                    capture_output=True, check=False)
            if done.returncode != 0:
                self.send_error(400, done.stderr.decode(errors="replace")[:200])
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(done.stdout)))
            self.end_headers()
            self.wfile.write(done.stdout)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return TestTSA(f"http://127.0.0.1:{server.server_address[1]}/tsa", folder / "ca.pem", folder, queries, server)
