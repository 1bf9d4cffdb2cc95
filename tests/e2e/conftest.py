"""End-to-end fixtures: the real `spid-sp serve` and `spid-sp dev-idp`.

Environment:
  SPID_SP_BINARY  the spid-sp executable (default: build/spid-sp in the repo)
  KEEP_TMP=1      keep each test's temporary directory (its path is printed)

Fixtures:
  spid_binary         path of the executable
  devidp_alone        module scope: a dev IdP trusting a FakeSP (no daemon SP)
  spid_env            module scope: one SP + dev IdP pair with the default config
  start_spid_env      function scope: start_spid_env(overrides) -> a fresh pair,
                      overrides = {"sp": {"binding": "post"}, "organization": {...}}

SpidEnv(overrides, public_base="http://127.0.0.1:PORT") puts the SP behind a
front proxy (nginx): base_url, entity_id and the metadata the dev IdP trusts
name that origin, while the daemon listens on its own port (.sp.url() still
reaches it directly; .public_url(path) goes through the proxy).

A pair (`SpidEnv`) has .sp and .idp (`Daemon` objects: .url(path),
.entity_id, .log, .loggrep(pattern)), .dir, and for the IdP .key/.cert. On
teardown each daemon gets SIGTERM; the test fails if a daemon exited with a
non-zero status or its log shows a sanitizer report.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

import spidlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "LeakSanitizer", "runtime error:")
START_TIMEOUT = 30
STOP_TIMEOUT = 30


def binary_path():
    return os.environ.get("SPID_SP_BINARY", os.path.join(REPO, "build", "spid-sp"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sanitizer_env():
    env = dict(os.environ)
    supp = os.path.join(REPO, "tests", "lsan.supp")
    if "LSAN_OPTIONS" not in env and os.path.exists(supp):
        env["LSAN_OPTIONS"] = "suppressions=" + supp
    # full stacks: LSan suppressions name our functions, which fast unwinding
    # through the (frame-pointer-less) libraries would lose
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:fast_unwind_on_malloc=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    # xmlsec gives every lasso provider an X.509 store filled from OpenSSL's
    # default CA file; spid-sp never asks it for chain validation (IdP keys
    # come from metadata, lasso notes §4.2) and the tests use no public CA.
    # Parsing the ~140 system CAs per IdP is what makes a daemon start take
    # 15 s under ASan's slow unwinder, so the tests' daemons get an empty file.
    env.setdefault("SSL_CERT_FILE", "/dev/null")
    env.pop("LASSO_FLAG", None)
    return env


class Daemon:
    """One running spid-sp process with its log file."""

    def __init__(self, name, args, log_path, base_url=None):
        self.name = name
        self.args = args
        self.log = log_path
        self.base_url = base_url
        self.entity_id = base_url
        self._logf = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._logf, stderr=subprocess.STDOUT,
                                     env=sanitizer_env())

    def url(self, path="/"):
        return self.base_url + path

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def loggrep(self, pattern):
        """Lines of the log matching the regular expression (OpenBSD regress style)."""
        rx = re.compile(pattern)
        return [line for line in self.log_text().splitlines() if rx.search(line)]

    def wait_http(self, path="/healthz", timeout=START_TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d during startup:\n%s"
                                   % (self.name, self.proc.returncode, self.log_text()))
            try:
                if requests.get(self.url(path), timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s did not answer %s in %ds:\n%s"
                           % (self.name, path, timeout, self.log_text()))

    def stop(self):
        """SIGTERM, wait; returns a list of problems (empty when all is well)."""
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append("%s did not stop within %ds of SIGTERM" % (self.name, STOP_TIMEOUT))
        self._logf.close()
        if self.proc.returncode != 0:
            problems.append("%s exited with status %d" % (self.name, self.proc.returncode))
        text = self.log_text()
        for pat in SANITIZER_PATTERNS:
            if pat in text:
                problems.append("%s log contains %r" % (self.name, pat))
        if problems:
            problems.append("--- %s log (%s) ---\n%s" % (self.name, self.log, text[-20000:]))
        return problems


class TempDir:
    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def cleanup(self):
        if os.environ.get("KEEP_TMP") == "1":
            print("\nKEEP_TMP: kept %s" % self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def start_devidp(directory, sp_metadata, name="dev-idp", extra=()):
    """Start `spid-sp dev-idp --port 0` and wait for its ready file."""
    data = os.path.join(directory, "idp-data")
    ready = os.path.join(directory, "idp-ready")
    md_dir = os.path.join(directory, "idp-metadata")
    os.makedirs(md_dir, exist_ok=True)
    md_out = os.path.join(md_dir, "dev-idp.xml")
    args = [binary_path(), "dev-idp", "--port", "0", "--data-dir", data,
            "--metadata-out", md_out, "--ready-file", ready]
    for m in sp_metadata:
        args += ["--sp-metadata", m]
    args += list(extra)
    d = Daemon(name, args, os.path.join(directory, name + ".log"))
    deadline = time.time() + START_TIMEOUT
    while not os.path.exists(ready):
        if d.proc.poll() is not None:
            d.stop()
            if "unknown command" in d.log_text():
                pytest.skip("spid-sp dev-idp is not wired into the CLI yet")
            raise RuntimeError("dev-idp exited with %d:\n%s" % (d.proc.returncode, d.log_text()))
        if time.time() > deadline:
            d.stop()
            raise RuntimeError("dev-idp not ready in %ds:\n%s" % (START_TIMEOUT, d.log_text()))
        time.sleep(0.05)
    with open(ready) as f:
        port = int(f.read().strip())
    d.base_url = d.entity_id = "http://127.0.0.1:%d" % port
    d.data_dir = data
    d.key = os.path.join(data, "idp-key.pem")
    d.cert = os.path.join(data, "idp-cert.pem")
    d.metadata_path = md_out
    d.wait_http()
    return d


def write_config(path, values):
    with open(path, "w") as f:
        for section, opts in values.items():
            f.write("[%s]\n" % section)
            for k, v in opts.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")


def run_cli(args, log_path):
    p = subprocess.run(args, capture_output=True, env=sanitizer_env(), timeout=120)
    with open(log_path, "ab") as f:
        f.write(b"$ " + " ".join(args).encode() + b"\n" + p.stdout + p.stderr)
    return p


class SpidEnv:
    """A dev IdP and an SP that trust each other, in one temp directory."""

    def __init__(self, overrides=None, public_base=None):
        self.tmp = TempDir("spid-e2e-")
        self.dir = self.tmp.path
        self.sp = self.idp = None
        self.public_base = public_base
        try:
            self._start(overrides or {})
        except BaseException:
            self.close()
            raise

    def _start(self, overrides):
        binary = binary_path()
        if not os.access(binary, os.X_OK):
            pytest.skip("spid-sp binary not found at %s (set SPID_SP_BINARY)" % binary)
        sp_port = free_port()
        direct = "http://127.0.0.1:%d" % sp_port
        base = self.public_base or direct
        cfg = {
            "sp": {
                "entity_id": base + "/metadata",
                "base_url": base,
                "listen": "127.0.0.1",
                "port": str(sp_port),
                "data_dir": os.path.join(self.dir, "sp-data"),
                "idp_metadata": os.path.join(self.dir, "idp-metadata"),
                "test_hooks": "true",
                "log_level": "info",
            },
            "organization": {"url": base + "/"},
        }
        for section, opts in overrides.items():
            cfg.setdefault(section, {}).update(opts)
        self.config = os.path.join(self.dir, "sp.ini")
        write_config(self.config, cfg)
        cli_log = os.path.join(self.dir, "cli.log")
        self.sp_metadata = os.path.join(self.dir, "sp-metadata.xml")
        for args in ([binary, "keygen", "--config", self.config],
                     [binary, "metadata", "--config", self.config, "--out", self.sp_metadata]):
            p = run_cli(args, cli_log)
            if p.returncode != 0:
                err = (p.stdout + p.stderr).decode(errors="replace")
                if "unknown command" in err:
                    pytest.skip("spid-sp %s not implemented yet" % args[1])
                raise RuntimeError("%s failed (%d):\n%s" % (" ".join(args), p.returncode, err))
        self.idp = start_devidp(self.dir, [self.sp_metadata])
        self.sp = Daemon("sp", [binary, "serve", "--config", self.config],
                         os.path.join(self.dir, "sp.log"), base_url=direct)
        self.sp_port = sp_port
        self.sp.entity_id = cfg["sp"]["entity_id"]
        self.sp.wait_http()

    def public_url(self, path="/"):
        """The URL browsers use: through the front proxy when there is one."""
        return (self.public_base or self.sp.base_url) + path

    def close(self):
        problems = []
        for d in (self.sp, self.idp):
            if d is not None:
                problems += d.stop()
        self.sp = self.idp = None
        self.tmp.cleanup()
        return problems


class DevIdpAlone:
    """A dev IdP trusting a FakeSP played by the tests."""

    def __init__(self):
        self.tmp = TempDir("spid-devidp-")
        self.dir = self.tmp.path
        self.idp = None
        binary = binary_path()
        if not os.access(binary, os.X_OK):
            self.tmp.cleanup()
            pytest.skip("spid-sp binary not found at %s (set SPID_SP_BINARY)" % binary)
        try:
            self.fake_sp = spidlib.FakeSP(self.dir)
            self.idp = start_devidp(self.dir, [self.fake_sp.metadata_path])
        except BaseException:
            self.close()
            raise

    def close(self):
        problems = self.idp.stop() if self.idp is not None else []
        self.idp = None
        self.tmp.cleanup()
        return problems


@pytest.fixture(scope="session")
def spid_binary():
    return binary_path()


@pytest.fixture(scope="module")
def devidp_alone():
    env = DevIdpAlone()
    yield env
    problems = env.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def spid_env():
    env = SpidEnv()
    yield env
    problems = env.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def start_spid_env():
    envs = []

    def start(overrides=None):
        env = SpidEnv(overrides)
        envs.append(env)
        return env

    yield start
    problems = []
    for env in envs:
        problems += env.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
