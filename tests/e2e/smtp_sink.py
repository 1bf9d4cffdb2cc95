"""A real SMTP server for tests (Debian's python3-aiosmtpd): every message it
accepts is kept in DIR as msg-N.eml (the raw DATA) and as one JSON line of
DIR/messages.jsonl:

    {"n", "mail_from", "rcpt_tos", "data" (raw, UTF-8 with replacement),
     "headers": [[name, decoded value], ...], "subject" (decoded),
     "content_type", "cte", "body" (decoded text, line ends as LF)}

    smtp_sink.py DIR [--port 0] [--fail-first N]

--fail-first N answers the first N DATA commands with "451 4.3.0 try again
later" (recorded with "status": 451, no message kept). No STARTTLS is offered.
With --port 0 it binds a free loopback port; once it accepts connections the
number is written to DIR/port (atomically) and to stdout. SIGTERM stops it.
Exit status 3 when python3-aiosmtpd is missing.

From Python tests: start(DIR, "--fail-first", "1") -> Sink (.port, .records(),
.stop()).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
READY_TIMEOUT = 15


class Handler:
    def __init__(self, directory, fail_first):
        self.dir = directory
        self.fail_left = fail_first
        self.n = 0

    def _append(self, record):
        with open(os.path.join(self.dir, "messages.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            self._append({"status": 451, "mail_from": envelope.mail_from,
                          "rcpt_tos": list(envelope.rcpt_tos)})
            return "451 4.3.0 try again later"
        self.n += 1
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        with open(os.path.join(self.dir, "msg-%d.eml" % self.n), "wb") as f:
            f.write(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        try:
            body = msg.get_content()
        except Exception as e:  # noqa: BLE001 - record what went wrong instead
            body = "<undecodable: %s>" % e
        self._append({
            "n": self.n,
            "status": 250,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": raw.decode("utf-8", errors="replace"),
            "headers": [[k, str(v)] for k, v in msg.items()],
            "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
            "content_type": msg.get_content_type(),
            "cte": str(msg.get("Content-Transfer-Encoding", "")),
            "body": body.replace("\r\n", "\n"),
        })
        return "250 2.0.0 message accepted"


def write_ready(directory, port):
    tmp = os.path.join(directory, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, os.path.join(directory, "port"))
    print(port, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="SMTP sink for tests")
    ap.add_argument("dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    a = ap.parse_args(argv)
    try:
        from aiosmtpd.smtp import SMTP
    except ImportError:
        sys.stderr.write("smtp_sink: python3-aiosmtpd is not installed "
                         "(apt-get install python3-aiosmtpd)\n")
        return 3
    os.makedirs(a.dir, exist_ok=True)
    handler = Handler(a.dir, a.fail_first)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.test", loop=loop),
        host="127.0.0.1", port=a.port))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    write_ready(a.dir, server.sockets[0].getsockname()[1])
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    return 0


class Sink:
    """A sink process started by start(); records() reads what it received."""

    def __init__(self, proc, directory, port, jsonl):
        self.proc, self.dir, self.port, self._jsonl = proc, directory, port, jsonl

    def records(self):
        path = os.path.join(self.dir, self._jsonl)
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def spawn(script, directory, jsonl, *args):
    """Start script DIR args with this interpreter; wait for DIR/port."""
    os.makedirs(directory, exist_ok=True)
    proc = subprocess.Popen([sys.executable, script, directory, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ready = os.path.join(directory, "port")
    deadline = time.monotonic() + READY_TIMEOUT
    while not os.path.exists(ready):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with status %d: %s" % (
                os.path.basename(script), proc.returncode,
                proc.stderr.read().decode(errors="replace").strip()))
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("%s did not start" % os.path.basename(script))
        time.sleep(0.02)
    with open(ready) as f:
        return Sink(proc, directory, int(f.read()), jsonl)


def start(directory, *args):
    return spawn(os.path.join(HERE, "smtp_sink.py"), directory, "messages.jsonl", *args)


if __name__ == "__main__":
    sys.exit(main())
