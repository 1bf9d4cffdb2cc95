#!/usr/bin/python3
"""spid-sp benchmark: drive the real daemon with wrk on loopback.

Starts `spid-sp dev-idp` and `spid-sp serve` in a fresh temporary directory
(2048-bit SP key, log_level = warn), then measures, one after the other:

  healthz      GET /healthz                       the HTTP layer baseline
  auth_check   GET /auth/check with a session     X-Original-URI of a citizen service
  auth_check_nginx  GET /app/estratto-conto through nginx (contrib/nginx/spid-sp.conf):
               auth_request to spid-sp, then a backend that nginx itself answers
  api_me       GET /api/me with a session         session lookup + JSON
  pin_login    POST /pin/login, right CF + PIN    one scrypt (the configured cost), a session
  spid_login   GET /spid/login?idp=...&level=2    signed HTTP-Redirect AuthnRequest
  spid_acs     POST /spid/acs                     fresh signed Responses, each posted once
  startup_15   spid-sp serve --check, 15 IdPs     hyperfine, or a plain repeated timing
  rss          VmHWM of the serve process         after every scenario and at the end

and prints a table beside the budget of design.md ("Performance budget"),
writing the same figures as JSON. It measures; it never fails on a figure.
Run with /usr/bin/python3 (Debian's python3-requests and python3-lxml).

  /usr/bin/python3 tests/bench/run.py [--quick] [--duration 10] [--threads 2]
      [--connections 32] [--acs-responses 3000] [--only healthz,api_me,...]
      [--binary PATH] [--json PATH] [--keep]
"""

import argparse
import base64
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

try:
    import lxml.etree as ET
    import requests
    import spidlib  # the e2e browser-like SPID client
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit("run.py: %s (run with /usr/bin/python3: python3-requests and "
             "python3-lxml are Debian packages)" % e)

START_TIMEOUT = 30
STOP_TIMEOUT = 30
MIB = 1024 * 1024

# Performance budget of design.md (2 cores, loopback, wrk on the same machine).
BUDGET_SESSION_RPS = 55000
BUDGET_SESSION_P99_MS = 5.0
BUDGET_LOGIN_RATIO = 0.80
BUDGET_ACS_RPS = 2200
BUDGET_START_S = 1.0
BUDGET_RSS_MIB = 64
N_IDPS_START = 15

SCENARIOS = ("healthz", "auth_check", "auth_check_nginx", "api_me", "pin_login", "spid_login",
             "spid_acs", "startup_15")
NGINX = "/usr/sbin/nginx"
CONTRIB_NGINX = os.path.join(REPO, "contrib", "nginx", "spid-sp.conf")


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# --------------------------------------------------------------- processes


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env():
    env = dict(os.environ)
    env.pop("LASSO_FLAG", None)
    return env


class Daemon:
    """One running spid-sp process (own process group) with its log file.

    Has what spidlib expects of an SP or IdP: .url(path) and .entity_id.
    """

    def __init__(self, name, args, log_path, base_url=None):
        self.name = name
        self.log = log_path
        self.base_url = base_url
        self.entity_id = base_url
        self._logf = open(log_path, "wb")
        # own session: a Ctrl-C at the terminal reaches run.py, which stops us
        self.proc = subprocess.Popen(args, stdout=self._logf, stderr=subprocess.STDOUT,
                                     env=bench_env(), start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def url(self, path="/"):
        return self.base_url + path

    def log_tail(self, n=4000):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", errors="replace")[-n:]
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def wait_http(self, path="/healthz", timeout=START_TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.alive():
                raise RuntimeError("%s exited with %d during startup:\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail()))
            try:
                if requests.get(self.url(path), timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s did not answer %s in %ds:\n%s"
                           % (self.name, path, timeout, self.log_tail()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                log("%s did not stop within %ds of SIGTERM: killed" % (self.name, STOP_TIMEOUT))
        if not self._logf.closed:
            self._logf.close()
        return self.proc.returncode


def run_cli(args, log_path, timeout=120):
    p = subprocess.run(args, capture_output=True, env=bench_env(), timeout=timeout)
    with open(log_path, "ab") as f:
        f.write(b"$ " + " ".join(args).encode() + b"\n" + p.stdout + p.stderr)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(args), p.returncode,
                                                    (p.stdout + p.stderr).decode(errors="replace")))
    return p


def write_config(path, values):
    with open(path, "w") as f:
        for section, opts in values.items():
            f.write("[%s]\n" % section)
            for k, v in opts.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")


def proc_status(pid):
    """{'VmHWM': bytes, 'VmRSS': bytes} of a live process (empty if gone)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(val.split()[0]) * 1024
    except OSError:
        pass
    return out


def binary_info(binary):
    """Build type (from the CMakeCache.txt beside it) and a sanitizer hint."""
    info = {"path": binary, "build_type": None, "sanitized": False}
    cache = os.path.join(os.path.dirname(binary), "CMakeCache.txt")
    try:
        with open(cache) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    info["build_type"] = line.split("=", 1)[1].strip() or "(none)"
                if re.match(r"SP_(ASAN|UBSAN):BOOL=ON", line):
                    info["sanitized"] = True
    except OSError:
        pass
    try:
        with open(binary, "rb") as f:
            if b"__asan_init" in f.read():
                info["sanitized"] = True
    except OSError:
        pass
    return info


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


# --------------------------------------------------------------- the environment


class Bench:
    """A dev IdP and an SP that trust each other, in one temporary directory."""

    def __init__(self, args):
        self.args = args
        self.binary = args.binary
        self.dir = tempfile.mkdtemp(prefix="spid-bench-")
        self.sp = self.idp = None
        self.cli_log = os.path.join(self.dir, "cli.log")
        self.rss = []  # (after, VmHWM, VmRSS)

    def start(self):
        sp_port = free_port()
        self.sp_port = sp_port
        base = "http://127.0.0.1:%d" % sp_port
        self.sp_data = os.path.join(self.dir, "sp-data")
        self.idp_md_dir = os.path.join(self.dir, "idp-metadata")
        sp_opts = {
            "entity_id": base + "/metadata",
            "base_url": base,
            "listen": "127.0.0.1",
            "port": str(sp_port),
            "data_dir": self.sp_data,
            "idp_metadata": self.idp_md_dir,
            # pre-generated ACS responses wait a little before being posted
            "request_ttl": "3600",
            "log_level": "warn",
        }
        if self.args.sp_threads is not None:
            sp_opts["threads"] = str(self.args.sp_threads)
        self.cfg = {"sp": sp_opts, "organization": {"url": base + "/"}}
        self.config = os.path.join(self.dir, "sp.ini")
        write_config(self.config, self.cfg)
        self.sp_metadata = os.path.join(self.dir, "sp-metadata.xml")
        log("keygen (RSA 2048), metadata in %s" % self.dir)
        run_cli([self.binary, "keygen", "--config", self.config, "--bits", "2048"], self.cli_log)
        run_cli([self.binary, "metadata", "--config", self.config, "--out", self.sp_metadata],
                self.cli_log)
        self.idp = self._start_devidp()
        self.sp = Daemon("sp", [self.binary, "serve", "--config", self.config],
                         os.path.join(self.dir, "sp.log"), base_url=base)
        self.sp.entity_id = sp_opts["entity_id"]
        self.sp.wait_http()
        log("spid-sp serve pid %d on %s, dev IdP on %s" % (self.sp.pid, base, self.idp.base_url))

    def _start_devidp(self):
        data = os.path.join(self.dir, "idp-data")
        ready = os.path.join(self.dir, "idp-ready")
        os.makedirs(self.idp_md_dir, exist_ok=True)
        md_out = os.path.join(self.idp_md_dir, "dev-idp.xml")
        args = [self.binary, "dev-idp", "--port", "0", "--data-dir", data,
                "--sp-metadata", self.sp_metadata, "--metadata-out", md_out,
                "--ready-file", ready]
        d = Daemon("dev-idp", args, os.path.join(self.dir, "dev-idp.log"))
        deadline = time.time() + START_TIMEOUT
        while not os.path.exists(ready) or os.path.getsize(ready) == 0:
            if not d.alive():
                raise RuntimeError("dev-idp exited with %d:\n%s" % (d.proc.returncode,
                                                                    d.log_tail()))
            if time.time() > deadline:
                d.stop()
                raise RuntimeError("dev-idp not ready in %ds:\n%s" % (START_TIMEOUT,
                                                                      d.log_tail()))
            time.sleep(0.05)
        time.sleep(0.05)
        with open(ready) as f:
            port = int(f.read().strip())
        d.base_url = d.entity_id = "http://127.0.0.1:%d" % port
        d.metadata_path = md_out
        d.wait_http()
        return d

    def record_rss(self, after):
        st = proc_status(self.sp.pid)
        hwm, rss = st.get("VmHWM"), st.get("VmRSS")
        self.rss.append({"after": after, "vmhwm": hwm, "vmrss": rss})
        if hwm is not None:
            log("serve RSS after %s: VmHWM %.1f MiB, VmRSS %.1f MiB"
                % (after, hwm / MIB, rss / MIB))
        return hwm

    def check_alive(self):
        for d in (self.sp, self.idp):
            if d is not None and not d.alive():
                raise RuntimeError("%s exited with %d:\n%s" % (d.name, d.proc.returncode,
                                                             d.log_tail()))

    def close(self):
        for d in (self.sp, self.idp):
            if d is not None:
                d.stop()
        if self.args.keep:
            log("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------- wrk


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (None if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_wrk(args, url, script, script_args=(), headers=(), duration=None, label="",
            sp_pid=None):
    duration = duration if duration is not None else args.duration
    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections),
           "-d", "%ds" % duration, "--timeout", "%ds" % args.wrk_timeout, "--latency",
           "-s", os.path.join(HERE, script)]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    if script_args:
        cmd += ["--"] + list(script_args)
    log("wrk %s: -t%d -c%d -d%ds %s" % (label, args.threads, args.connections, duration,
                                        url if len(url) < 100 else url[:97] + "..."))
    cpu0, t0 = (cpu_seconds(sp_pid) if sp_pid else None), time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    cpu1, t1 = (cpu_seconds(sp_pid) if sp_pid else None), time.monotonic()
    data = None
    for line in p.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON "):])
    if p.returncode != 0 or data is None:
        raise RuntimeError("wrk failed (%d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
    # CPU the daemon used during the run, in cores (2.0 = both cores of a 2-core box)
    data["sp_cpu_cores"] = (None if cpu0 is None or cpu1 is None
                            else (cpu1 - cpu0) / (t1 - t0))
    data["wrk_text"] = "\n".join(l for l in p.stdout.splitlines()
                                 if not l.startswith("BENCH_JSON "))
    return data


def socket_errors(d):
    e = d["errors"]
    return e["connect"] + e["read"] + e["write"] + e["timeout"]


def ms(us):
    return None if us is None else us / 1000.0


def wrk_row(name, what, d, errors=None):
    lat = d["latency_us"]
    return {
        "scenario": name, "what": what, "rps": d["rps"], "requests": d["requests"],
        "p50_ms": ms(lat["p50"]), "p90_ms": ms(lat["p90"]), "p99_ms": ms(lat["p99"]),
        "p999_ms": ms(lat["p999"]), "max_ms": ms(lat["max"]),
        "errors": (socket_errors(d) + d["errors"]["status"]) if errors is None else errors,
        "error_detail": d["errors"], "sp_cpu_cores": d["sp_cpu_cores"],
    }


def session_budget(row):
    row["budget"] = ">= %s req/s, p99 < %g ms" % (format(BUDGET_SESSION_RPS, ","),
                                                  BUDGET_SESSION_P99_MS)
    row["meets_budget"] = (row["rps"] >= BUDGET_SESSION_RPS
                           and row["p99_ms"] < BUDGET_SESSION_P99_MS and row["errors"] == 0)
    return row


# --------------------------------------------------------------- scenarios


def sc_healthz(b):
    d = run_wrk(b.args, b.sp.url("/healthz"), "report.lua", label="healthz",
                sp_pid=b.sp.pid)
    row = wrk_row("healthz", "GET /healthz", d)
    row["budget"] = "(baseline)"
    row["meets_budget"] = None
    return row


def get_session_cookie(b):
    log("logging in once through the dev IdP for a session cookie")
    r = spidlib.login(b.sp, b.idp, identity="citizen", level=2, next="/api/me")
    if r.status_code != 302:
        raise RuntimeError("login through the dev IdP answered %d: %s"
                           % (r.status_code, r.text[:500]))
    token = r.spid_session.cookies.get("spid_sp_session")
    if not token:
        raise RuntimeError("the ACS 302 set no spid_sp_session cookie")
    me = requests.get(b.sp.url("/api/me"), cookies={"spid_sp_session": token}, timeout=10)
    if me.status_code != 200:
        raise RuntimeError("/api/me with the new session answered %d" % me.status_code)
    return token


def sc_session_route(b, name, path, token, headers=()):
    probe = requests.get(b.sp.url(path), cookies={"spid_sp_session": token}, timeout=10,
                         allow_redirects=False,
                         headers=dict(h.split(": ", 1) for h in headers))
    if probe.status_code == 404:
        log("%s: GET %s answers 404 (not implemented yet): skipped" % (name, path))
        return {"scenario": name, "what": "GET %s (session)" % path, "skipped":
                "route answers 404", "budget": "", "meets_budget": None}
    if probe.status_code != 200:
        log("%s: warning: probe answered %d, wrk will count errors" % (name, probe.status_code))
    d = run_wrk(b.args, b.sp.url(path), "report.lua",
                headers=["Cookie: spid_sp_session=%s" % token] + list(headers), label=name,
                sp_pid=b.sp.pid)
    return session_budget(wrk_row(name, "GET %s (session)" % path, d))


def start_bench_nginx(b):
    """nginx with the contrib server block in front of spid-sp; the backend is a
    second nginx server answering 200 itself, so the figure is nginx +
    auth_request + spid-sp, not some application."""
    d = os.path.join(b.dir, "nginx")
    os.makedirs(d)
    port, backend = free_port(), free_port()
    with open(CONTRIB_NGINX) as f:
        site = f.read()
    for old, new in (("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % b.sp_port),
                     ("server 127.0.0.1:9000;", "server 127.0.0.1:%d;" % backend),
                     ("listen 80;", "listen 127.0.0.1:%d;" % port)):
        if site.count(old) != 1:
            raise RuntimeError("placeholder %r not found once in %s" % (old, CONTRIB_NGINX))
        site = site.replace(old, new)
    with open(os.path.join(d, "site.conf"), "w") as f:
        f.write(site)
    temp = "".join("    %s_temp_path %s;\n" % (k, os.path.join(d, k))
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = os.path.join(d, "nginx.conf")
    with open(main, "w") as f:
        f.write("daemon off;\nworker_processes %d;\n" % b.args.nginx_workers)
        if os.geteuid() == 0:
            f.write("user root;\n")
        f.write("pid %s;\nerror_log %s warn;\n" % (os.path.join(d, "nginx.pid"),
                                                    os.path.join(d, "error.log")))
        f.write("events { worker_connections 1024; }\n")
        f.write("http {\n    access_log off;\n%s    include %s;\n"
                "    server { listen 127.0.0.1:%d; access_log off;\n"
                "             location / { return 200 \"ok\\n\"; } }\n}\n"
                % (temp, os.path.join(d, "site.conf"), backend))
    proc = subprocess.Popen([NGINX, "-p", d + "/", "-e", os.path.join(d, "error.log"), "-c",
                             main], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    for _ in range(100):
        try:
            requests.get(url + "/healthz-none", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.05)
    return proc, url


def sc_pin_login(b):
    """A person with an active personal PIN (issued at the office from the CLI,
    then the first login's forced change), then wrk posting the right PIN."""
    cf, pin = "FOXDRA26C24L219Y", "Q7W2E9R4"
    p = subprocess.run([b.binary, "pin", "issue", cf, "--name", "Dario", "--surname", "Fo",
                        "--sex", "M", "--birth-date", "1926-03-24", "--config", b.config],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"PIN iniziale:\s+([0-9A-F]{8}) ([0-9A-F]{8})", p.stdout)
    if p.returncode != 0 or m is None:
        raise RuntimeError("pin issue failed: %s" % (p.stdout + p.stderr))
    initial = m.group(1) + m.group(2)
    token = "0123456789abcdef0123456789abcdef"
    r = requests.post(b.sp.url("/pin/change"), cookies={"spid_sp_form": token},
                      data={"csrf": token, "cf": cf, "current": initial, "new": pin,
                            "confirm": pin}, allow_redirects=False, timeout=30)
    if r.status_code != 303:
        raise RuntimeError("first PIN login answered %d" % r.status_code)
    log_n = 14
    for line in open(b.config):
        mm = re.match(r"\s*scrypt_log2_n\s*=\s*(\d+)", line)
        if mm:
            log_n = int(mm.group(1))
    d = run_wrk(b.args, b.sp.url("/pin/login"), "pin.lua", script_args=[cf, pin, token],
                label="pin_login", sp_pid=b.sp.pid)
    row = wrk_row("pin_login", "POST /pin/login (scrypt N=2^%d r=8 p=1, %d MiB)"
                  % (log_n, (128 * 8 << log_n) >> 20), d)
    row["budget"] = "(no budget: the hash is slow on purpose)"
    row["meets_budget"] = None
    row["scrypt_log2_n"] = log_n
    return row


def sc_auth_check_nginx(b, token):
    name = "auth_check_nginx"
    if not os.access(NGINX, os.X_OK):
        log("%s: %s missing (scripts/deps.sh installs it): skipped" % (name, NGINX))
        return {"scenario": name, "what": "GET /app/... through nginx", "skipped":
                "nginx missing", "budget": "", "meets_budget": None}
    proc, url = start_bench_nginx(b)
    try:
        path = "/app/estratto-conto"
        probe = requests.get(url + path, cookies={"spid_sp_session": token}, timeout=10,
                             allow_redirects=False)
        if probe.status_code != 200:
            log("%s: warning: probe answered %d, wrk will count errors"
                % (name, probe.status_code))
        d = run_wrk(b.args, url + path, "report.lua",
                    headers=["Cookie: spid_sp_session=%s" % token], label=name,
                    sp_pid=b.sp.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return session_budget(wrk_row(name, "GET %s via nginx auth_request" % path, d))


def openssl_rsa2048(b):
    secs = 3
    cmd = ["openssl", "speed", "-seconds", str(secs), "-multi", str(b.args.cores), "rsa2048"]
    log("openssl speed -seconds %d -multi %d rsa2048" % (secs, b.args.cores))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = None
    for line in p.stdout.splitlines():
        mm = re.match(r"\s*rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", line)
        if mm:
            m = mm
    if m is None:
        raise RuntimeError("cannot parse openssl speed output:\n%s\n%s" % (p.stdout, p.stderr))
    return {"cmd": " ".join(cmd), "sign_per_s": float(m.group(1)),
            "verify_per_s": float(m.group(2))}


def sc_spid_login(b):
    q = urllib.parse.urlencode({"idp": b.idp.entity_id, "level": "2"})
    url = b.sp.url("/spid/login?" + q)
    probe = requests.get(url, allow_redirects=False, timeout=10)
    if probe.status_code != 302:
        log("spid_login: warning: probe answered %d (binding not Redirect?)"
            % probe.status_code)
    d = run_wrk(b.args, url, "report.lua", label="spid_login", sp_pid=b.sp.pid)
    row = wrk_row("spid_login", "GET /spid/login (signed Redirect, RSA 2048)", d)
    ossl = openssl_rsa2048(b)
    row["openssl"] = ossl
    target = BUDGET_LOGIN_RATIO * ossl["sign_per_s"]
    row["ratio_to_openssl_sign"] = row["rps"] / ossl["sign_per_s"]
    row["budget"] = ">= 80%% of %.0f sign/s = %.0f req/s" % (ossl["sign_per_s"], target)
    row["meets_budget"] = row["rps"] >= target and row["errors"] == 0
    log("openssl rsa2048: %.1f sign/s on %d cores; /spid/login %.1f req/s = %.0f%%"
        % (ossl["sign_per_s"], b.args.cores, row["rps"], 100 * row["ratio_to_openssl_sign"]))
    return row


IDENTITIES = ("citizen", "pensioner", "professional", "company")


def pregenerate_acs(b, n, workers, path):
    """n fresh (cookie, form body) pairs: each one its own pending request at the
    SP and its own signed Response from the dev IdP, never posted."""
    local = threading.local()
    acs_paths = set()

    def one(i):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        _, acs, xml, relay = spidlib.get_genuine_response(
            b.sp, b.idp, identity=IDENTITIES[i % len(IDENTITIES)], level=2,
            next="/api/me", session=s)
        cookie = s.cookies.get("spid_sp_login")
        if not cookie:
            raise RuntimeError("GET /spid/login set no spid_sp_login cookie")
        acs_paths.add(acs)
        fields = {"SAMLResponse": base64.b64encode(xml).decode("ascii")}
        if relay is not None:
            fields["RelayState"] = relay
        return cookie, urllib.parse.urlencode(fields)

    log("pre-generating %d fresh Responses (%d workers)" % (n, workers))
    t0 = time.monotonic()
    lines = [None] * n
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        futs = {ex.submit(one, i): i for i in range(n)}
        done = 0
        for f in concurrent.futures.as_completed(futs):
            lines[futs[f]] = f.result()
            done += 1
            if done % 1000 == 0:
                log("  %d/%d" % (done, n))
    secs = time.monotonic() - t0
    with open(path, "w") as f:
        for cookie, body in lines:
            f.write("%s\t%s\n" % (cookie, body))
    log("pre-generated %d Responses in %.1f s (%.0f/s), %.1f MiB"
        % (n, secs, n / secs, os.path.getsize(path) / MIB))
    return secs, acs_paths


def sc_spid_acs(b):
    n = b.args.acs_responses
    path = os.path.join(b.dir, "acs-responses.txt")
    gen_secs, acs_urls = pregenerate_acs(b, n, b.args.gen_workers, path)
    if len(acs_urls) != 1:
        raise RuntimeError("the IdP posted to several ACS URLs: %s" % sorted(acs_urls))
    acs_url = acs_urls.pop()
    if gen_secs > 200:
        log("warning: generation took %.0f s; the dev IdP's Responses are valid for 300 s, "
            "use fewer (--acs-responses)" % gen_secs)
    d = run_wrk(b.args, acs_url, "acs.lua", script_args=[path, str(b.args.threads)],
                label="spid_acs", sp_pid=b.sp.pid)
    errors = d["bad"] + socket_errors(d)
    lat = d["latency_us"]
    row = {
        "scenario": "spid_acs", "what": "POST /spid/acs (fresh signed Response)",
        "rps": d["rps"], "requests": d["ok"], "p50_ms": ms(lat["p50"]), "p90_ms": ms(lat["p90"]),
        "p99_ms": ms(lat["p99"]), "p999_ms": ms(lat["p999"]), "max_ms": ms(lat["max"]),
        "errors": errors, "error_detail": dict(d["errors"], non_302=d["bad_status"]),
        "sp_cpu_cores": d["sp_cpu_cores"],
        "responses_generated": n, "responses_posted": d["used"], "responses_302": d["ok"],
        "responses_discarded": d["discarded"],
        "window_s": d["window_us"] / 1e6, "generation_s": gen_secs,
        "budget": ">= %s responses/s" % format(BUDGET_ACS_RPS, ","),
    }
    row["meets_budget"] = row["rps"] >= BUDGET_ACS_RPS and errors == 0
    row["responses_unanswered"] = d["used"] - d["ok"] - d["bad"]
    log("spid_acs: %d posted, %d x 302, %d errors, %d still in flight when wrk stopped, "
        "%.2f s window -> %.1f responses/s"
        % (d["used"], d["ok"], errors, row["responses_unanswered"], row["window_s"],
           row["rps"]))
    if d["used"] + d["discarded"] >= n:
        log("spid_acs: every pre-generated Response was used before -d ran out; "
            "the rate is over the %.2f s window (raise --acs-responses for a longer one)"
            % row["window_s"])
    return row


def make_idp_copies(b, count, out_dir):
    """count IdP metadata files: the dev IdP's with other entityIDs and certificates."""
    os.makedirs(out_dir, exist_ok=True)
    keys_dir = os.path.join(b.dir, "idp15-keys")
    os.makedirs(keys_dir, exist_ok=True)
    with open(b.idp.metadata_path, "rb") as f:
        template = f.read()

    def one(i):
        key, cert = spidlib.make_keypair(keys_dir, "idp%02d" % i, cn="bench idp %02d" % i)
        root = ET.fromstring(template)
        for sig in root.findall("ds:Signature", spidlib.NS):
            root.remove(sig)  # the copy is edited: the old signature would not match
        old = root.get("entityID")
        new = "https://idp%02d.bench.example/" % i
        root.set("entityID", new)
        for x5 in root.iter("{%s}X509Certificate" % spidlib.NS["ds"]):
            x5.text = spidlib.cert_b64(cert)
        for el in root.iter():  # endpoints and names that repeat the entity ID
            for k, v in el.attrib.items():
                if old and old in v and k != "entityID":
                    el.set(k, v.replace(old.rstrip("/"), new.rstrip("/")))
            if el.tag == "{%s}OrganizationDisplayName" % spidlib.NS["md"]:
                el.text = "Bench IdP %02d" % i
        with open(os.path.join(out_dir, "idp%02d.xml" % i), "wb") as f:
            f.write(ET.tostring(root, xml_declaration=True, encoding="UTF-8"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, b.args.cores)) as ex:
        list(ex.map(one, range(1, count + 1)))


def sc_startup(b):
    md_dir = os.path.join(b.dir, "idp15-metadata")
    log("generating %d IdP metadata files (RSA 2048 each)" % N_IDPS_START)
    make_idp_copies(b, N_IDPS_START, md_dir)
    cfg = json.loads(json.dumps(b.cfg))
    cfg["sp"]["idp_metadata"] = md_dir
    cfg["sp"]["data_dir"] = os.path.join(b.dir, "sp-data-check")  # not the live database
    cfg["sp"]["key_file"] = os.path.join(b.sp_data, "sp-key.pem")
    cfg["sp"]["cert_file"] = os.path.join(b.sp_data, "sp-cert.pem")
    cfg["sp"]["port"] = str(free_port())
    config = os.path.join(b.dir, "sp-check15.ini")
    write_config(config, cfg)
    cmd = [b.binary, "serve", "--check", "--config", config]
    p = run_cli(cmd, b.cli_log)  # also creates the database: warm start from here on
    out = p.stdout.decode(errors="replace").strip()
    m = re.search(r"(\d+) IdP", out)
    loaded = int(m.group(1)) if m else None
    log("serve --check: %s" % out)
    runs = 5 if b.args.quick else 20
    row = {"scenario": "startup_15", "what": "serve --check, %s IdPs" % loaded,
           "idps_loaded": loaded, "runs": runs,
           "budget": "< %g s" % BUDGET_START_S}
    hf = shutil.which("hyperfine")
    if hf:
        jpath = os.path.join(b.dir, "hyperfine.json")
        hcmd = [hf, "--shell=none", "--warmup", "2", "--runs", str(runs), "--export-json",
                jpath, "--style", "none", " ".join(cmd)]
        log("hyperfine --runs %d '%s'" % (runs, " ".join(cmd[1:])))
        subprocess.run(hcmd, capture_output=True, check=True, timeout=300, env=bench_env())
        with open(jpath) as f:
            r = json.load(f)["results"][0]
        times = r["times"]
        row["tool"] = "hyperfine"
    else:
        log("hyperfine not installed (apt-get install hyperfine): %d plain timings" % runs)
        times = []
        for _ in range(2 + runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, timeout=60, env=bench_env())
            times.append(time.perf_counter() - t0)
        times = times[2:]
        row["tool"] = "subprocess"
    times = sorted(times)
    row.update({"mean_s": sum(times) / len(times), "min_s": times[0], "max_s": times[-1],
                "median_s": times[len(times) // 2]})
    row["meets_budget"] = row["max_s"] < BUDGET_START_S and loaded == N_IDPS_START
    log("start with %s IdPs: mean %.1f ms, min %.1f, max %.1f"
        % (loaded, 1000 * row["mean_s"], 1000 * row["min_s"], 1000 * row["max_s"]))
    return row


# --------------------------------------------------------------- output


def fmt_num(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(results, rss_peak):
    rows = []
    for r in results:
        name = r["scenario"]
        if r.get("skipped"):
            rows.append((name, "skipped", "-", "-", "-", "-", "-", r["skipped"], ""))
            continue
        if name == "startup_15":
            rows.append((name, "-", "%.1f ms" % (1000 * r["median_s"]), "-",
                         "max %.1f ms" % (1000 * r["max_s"]), "-", "-",
                         r["budget"], verdict(r["meets_budget"])))
            continue
        rps = fmt_num(r["rps"], ",.0f")
        if name == "spid_login" and "ratio_to_openssl_sign" in r:
            rps += " (%.0f%%)" % (100 * r["ratio_to_openssl_sign"])
        rows.append((name, rps, "%.2f ms" % r["p50_ms"], "%.2f ms" % r["p90_ms"],
                     "%.2f ms" % r["p99_ms"], str(r["errors"]),
                     fmt_num(r.get("sp_cpu_cores"), ".2f"), r["budget"],
                     verdict(r["meets_budget"])))
    if rss_peak is not None:
        rows.append(("peak RSS", "-", "-", "-", "-", "-", "-", "<= %d MiB" % BUDGET_RSS_MIB,
                     verdict(rss_peak / MIB <= BUDGET_RSS_MIB)))
        rows[-1] = (rows[-1][0], "%.1f MiB" % (rss_peak / MIB)) + rows[-1][2:]
    head = ("scenario", "req/s", "p50", "p90", "p99", "errors", "sp cpu", "budget", "within")
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    line = " | ".join("%-*s" % (widths[i], head[i]) for i in range(len(head)))
    print()
    print(line)
    print("-+-".join("-" * w for w in widths))
    for x in rows:
        print(" | ".join(("%-*s" if i in (0, 7, 8) else "%*s") % (widths[i], x[i])
                         for i in range(len(head))))
    print()


def verdict(v):
    return "" if v is None else ("yes" if v else "NO")


def git_head():
    try:
        p = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        return p.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# --------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    ap.add_argument("--nginx-workers", type=int, default=2,
                    help="nginx worker processes for auth_check_nginx (2)")
    ap.add_argument("--wrk-timeout", type=int, default=5, help="wrk per-request timeout (5 s)")
    ap.add_argument("--quick", action="store_true",
                    help="3 s smoke run: -d3, 600 ACS responses, fewer start-up runs")
    ap.add_argument("--acs-responses", type=int, default=None,
                    help="fresh Responses to pre-generate for /spid/acs (3000; 600 with --quick)")
    ap.add_argument("--gen-workers", type=int, default=8,
                    help="threads pre-generating the ACS Responses (8)")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2,
                    help="openssl speed -multi (default: all cores, %(default)s)")
    ap.add_argument("--sp-threads", type=int, default=None,
                    help="[sp] threads of the daemon (default: its own, one per core)")
    ap.add_argument("--only", default=None,
                    help="comma-separated subset of: " + ",".join(SCENARIOS))
    ap.add_argument("--binary", default=os.environ.get("SPID_SP_BINARY",
                                                       os.path.join(REPO, "build", "spid-sp")),
                    help="spid-sp executable (SPID_SP_BINARY, else build/spid-sp)")
    ap.add_argument("--json", default=None,
                    help="results file (default: <repo>/tmp/bench/results-<time>.json)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args(argv)
    if a.quick:
        a.duration = min(a.duration, 3)
    if a.acs_responses is None:
        a.acs_responses = 600 if a.quick else 3000
    a.only = set(SCENARIOS) if a.only is None else set(a.only.split(","))
    unknown = a.only - set(SCENARIOS)
    if unknown:
        ap.error("unknown scenario(s): %s" % ", ".join(sorted(unknown)))
    if a.acs_responses < a.threads:
        ap.error("--acs-responses must be >= --threads (one per wrk thread at least)")
    if a.connections < a.threads:
        ap.error("--connections must be >= --threads")
    return a


def main(argv):
    args = parse_args(argv)
    args.binary = os.path.abspath(args.binary)
    if not os.access(args.binary, os.X_OK):
        sys.exit("run.py: spid-sp binary not found at %s (set SPID_SP_BINARY or --binary)"
                 % args.binary)
    if shutil.which("wrk") is None:
        sys.exit("run.py: wrk not found (apt-get install wrk)")
    binfo = binary_info(args.binary)
    if binfo["sanitized"] or (binfo["build_type"] or "").lower() == "debug":
        log("warning: %s is a %s%s build: figures are not representative"
            % (args.binary, binfo["build_type"], " sanitizer" if binfo["sanitized"] else ""))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = args.json or os.path.join(REPO, "tmp", "bench", "results-%s.json" % stamp)

    # SIGTERM/SIGHUP end the run like Ctrl-C: through the finally below
    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "git_head": git_head(), "binary": binfo, "cpus": os.cpu_count(), "cpu": cpu_model(),
        "wrk": {"threads": args.threads, "connections": args.connections,
                "duration_s": args.duration},
        "quick": args.quick,
        "loadavg_at_start": list(os.getloadavg()),
    }
    if meta["loadavg_at_start"][0] > 0.5:
        log("warning: load average %.2f before the run: other work shares these cores and "
            "the figures will be lower and noisier" % meta["loadavg_at_start"][0])
    results = []
    b = Bench(args)
    interrupted = False
    failure = None
    try:
        b.start()
        b.record_rss("start")
        token = None
        if "healthz" in args.only:
            results.append(sc_healthz(b))
            b.record_rss("healthz")
        if args.only & {"auth_check", "auth_check_nginx", "api_me"}:
            token = get_session_cookie(b)
        if "auth_check" in args.only:
            # what nginx asks for a citizen opening a consultation service
            results.append(sc_session_route(b, "auth_check", "/auth/check", token,
                                            ["X-Original-URI: /app/estratto-conto"]))
            b.record_rss("auth_check")
        if "auth_check_nginx" in args.only:
            results.append(sc_auth_check_nginx(b, token))
            b.record_rss("auth_check_nginx")
        if "api_me" in args.only:
            results.append(sc_session_route(b, "api_me", "/api/me", token))
            b.record_rss("api_me")
        if "pin_login" in args.only:
            results.append(sc_pin_login(b))
            b.record_rss("pin_login")
        if "spid_login" in args.only:
            results.append(sc_spid_login(b))
            b.record_rss("spid_login")
        b.check_alive()
        if "spid_acs" in args.only:
            results.append(sc_spid_acs(b))
            b.record_rss("spid_acs")
        b.check_alive()
        if "startup_15" in args.only:
            results.append(sc_startup(b))
        b.record_rss("end")
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: stopping the daemons")
    except Exception as e:  # report what was measured, then the problem
        failure = "%s: %s" % (type(e).__name__, e)
        log("benchmark aborted: %s" % failure)
    finally:
        b.close()
    hwms = [r["vmhwm"] for r in b.rss if r.get("vmhwm")]
    rss_peak = max(hwms) if hwms else None
    out = {"meta": meta, "results": results, "rss": b.rss,
           "peak_rss": {"vmhwm": rss_peak, "budget_mib": BUDGET_RSS_MIB,
                        "meets_budget": None if rss_peak is None
                        else rss_peak / MIB <= BUDGET_RSS_MIB},
           "interrupted": interrupted, "failure": failure}
    print_table(results, rss_peak)
    print("binary %s (%s%s), %s CPU(s) %s, wrk -t%d -c%d -d%ds%s, load average %.2f at start"
          % (args.binary, binfo["build_type"] or "build type unknown",
             ", sanitizers" if binfo["sanitized"] else "", meta["cpus"], meta["cpu"] or "",
             args.threads, args.connections, args.duration, " (quick)" if args.quick else "",
             meta["loadavg_at_start"][0]))
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(out, f, indent=2)
    print("results: %s" % json_path)
    if failure:
        print("aborted: %s" % failure.splitlines()[0])
        return 1
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
