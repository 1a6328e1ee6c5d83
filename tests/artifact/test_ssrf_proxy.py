"""The SSRF proxy container runs as ECS runs it and enforces Dify's SSRF policy.

The container definition is taken from the synthesized template (family `*-ssrf-proxy`): its
EntryPoint + Command run with its Environment, as root (squid switches to its own user), with
stdout and stderr as pipes this test reads, as the awslogs driver does. ECS gives the task its
own network and a writable root filesystem; here that is a private mount + network namespace:

* /etc/squid is a bind mount of a temporary copy, /var/log/squid, /var/spool/squid, /run and
  /dev/shm are empty root-owned tmpfs, so the command writes nothing on the host;
* the container gets its own PID namespace, in which the command is PID 1: when it exits every
  process it started goes too, as when a container stops;
* `lo` carries a VPC client address (10.0.0.5), a client outside every private range
  (198.51.100.7) and destinations: a "public" one (203.0.113.10) and private ones (10.0.0.9,
  instance metadata 169.254.169.254, 127.0.0.1), each with an HTTP server that says which
  address it is. Nothing leaves the namespace.

Then: the proxy stays up; private destinations get 403 (the servers behind them are up, so a
leak would be a 200); the public server is reachable from the VPC and not from outside it;
CONNECT goes to 443 only; every request's access-log line reaches the container's stdout, squid's
own log its stderr; SIGTERM stops the container, with status 0, within its stopTimeout.

The squid is the host's (Debian's package: same paths and same `proxy` user as Ubuntu's, which
ubuntu/squid packs), not the image's: this proves the command and configuration, not the image.
Needs root, squid, util-linux (unshare, nsenter) and iproute2; a missing one fails the test.
`SSRF_PROXY_TEMPLATE=<env or path>` runs it against another template (default: prd).
"""

from __future__ import annotations

import http.server
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from cfn import Template, require
from local import in_netns

TEMPLATE = os.environ.get("SSRF_PROXY_TEMPLATE", "prd")
FAMILY = "ssrf-proxy"  # Family `dify-<env>-ssrf-proxy`
CONTAINER = "ssrf_proxy"

CLIENT = "10.0.0.5"  # a task in the VPC
OUTSIDER = "198.51.100.7"  # TEST-NET-2: in no localnet range
PUBLIC = "203.0.113.10"  # TEST-NET-3: in no denied range
PRIVATE = ["10.0.0.9", "169.254.169.254", "127.0.0.1"]
ADDRESSES = [CLIENT, OUTSIDER, PUBLIC, "10.0.0.9", "169.254.169.254"]  # 127.0.0.1 is lo's

# What ECS adds to the task's Environment: the image's ENV (PATH, as any Ubuntu-based image).
IMAGE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

NAMESPACE_SETUP = r"""
set -eu
copy=$1
for d in /etc/squid /var/log/squid /var/spool/squid; do
    [ -d "$d" ] || { echo "missing $d: apt-get install squid" >&2; exit 1; }
done
cp -a /etc/squid/. "$copy/"
mount --bind "$copy" /etc/squid
for d in /var/log/squid /var/spool/squid /run; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ip link set lo up
for a in $ADDRESSES; do ip addr add "$a/32" dev lo; done
echo ready
exec sleep 600
"""

class Lines:
    """A pipe read line by line on a thread; waits for a line matching a pattern."""

    def __init__(self, pipe):
        self.lines: list[str] = []
        self.closed = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe):
        for raw in iter(pipe.readline, b""):
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        self.closed.set()
        with self._cond:
            self._cond.notify_all()

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> str | None:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.closed.is_set():
                    return None
                self._cond.wait(left)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = f"reached {self.server.server_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Proxy:
    """The container running in its namespace, with what the test sees of it."""

    def __init__(self, tpl: Template, unshare: str, nsenter: str):
        self.unshare, self.nsenter = unshare, nsenter
        c = tpl.container(FAMILY, CONTAINER)
        self.argv = [tpl.resolve(a) for a in c.get("EntryPoint", []) + c.get("Command", [])]
        self.env = {**IMAGE_ENV, **tpl.container_env(c)}
        self.port = int(c["PortMappings"][0]["ContainerPort"])
        self.stop_timeout = int(c.get("StopTimeout", 30))
        self.holder: subprocess.Popen | None = None
        self.proc: subprocess.Popen | None = None
        self.servers: list[http.server.HTTPServer] = []
        self.copy = tempfile.mkdtemp(prefix="ssrf-proxy-etc-")

    # --- lifecycle ------------------------------------------------------------------------

    def start(self):
        self.holder = subprocess.Popen(
            [self.unshare, "--mount", "--net", "--propagation", "private", "--fork", "--kill-child",
             "/bin/sh", "-c", NAMESPACE_SETUP, "setup", self.copy],
            env={**IMAGE_ENV, "ADDRESSES": " ".join(ADDRESSES)},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        ready, _, _ = select.select([self.holder.stdout], [], [], 10)
        line = self.holder.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            self.holder.kill()
            raise RuntimeError(
                f"namespace setup failed ({self.holder.wait()}): {self.holder.stderr.read().decode()}"
            )
        for addr in [PUBLIC, *PRIVATE]:
            srv = in_netns(self.holder.pid, lambda a=addr: http.server.ThreadingHTTPServer((a, 80), _Handler))
            self.servers.append(srv)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        # The container: a PID namespace of its own in the task's mount and network namespaces,
        # EntryPoint + Command as PID 1, stdin /dev/null, stdout and stderr pipes.
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [self.nsenter, "-t", str(self.holder.pid), "--mount", "--net", "--",
             self.unshare, "--pid", "--fork", "--mount-proc", "--kill-child", *self.argv],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.stdout = Lines(self.proc.stdout)
        self.stderr = Lines(self.proc.stderr)

    def main_pid(self) -> int | None:
        """The container's PID 1 (host numbering), what ECS's init forwards SIGTERM to."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except FileNotFoundError:
            return None
        return int(children[0]) if children else None

    def stop(self):
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()
        for p in (self.proc, self.holder):
            if p and p.poll() is None:
                p.kill()  # --kill-child: the namespace's PID 1 goes, and everything in it
            if p:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        shutil.rmtree(self.copy, ignore_errors=True)

    # --- what the test does ---------------------------------------------------------------

    def report(self) -> str:
        status = self.proc.poll()
        return (
            f"container {'running' if status is None else f'exited with {status}'}\n"
            f"--- stdout ---\n{self.stdout.text()}\n--- stderr ---\n{self.stderr.text()}"
        )

    def require_running(self):
        assert self.proc.poll() is None, f"the SSRF proxy is not running:\n{self.report()}"

    def request(self, src: str, head: str) -> tuple[int, bytes]:
        """Send `head` (request line + headers) through the proxy from address `src`."""
        self.require_running()

        def connect():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            s.bind((src, 0))
            s.connect((CLIENT, self.port))
            return s

        with in_netns(self.holder.pid, connect) as s:
            s.sendall(head.encode() + b"\r\n")
            data = b""
            try:  # one response: headers, then Content-Length bytes (a denied CONNECT stays open)
                while chunk := s.recv(65536):
                    data += chunk
                    head, sep, body = data.partition(b"\r\n\r\n")
                    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                    if sep and length and len(body) >= int(length.group(1)):
                        break
            except socket.timeout:
                pass
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        assert m, f"no HTTP response from the proxy: {data[:200]!r}\n{self.report()}"
        return int(m.group(1)), data

    def get(self, src: str, url: str) -> tuple[int, bytes]:
        host = re.match(r"http://([^/]+)", url).group(1)
        return self.request(src, f"GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n")

    def logged(self, pattern: str, what: str) -> str:
        """The access-log line matching `pattern`, from the container's stdout."""
        line = self.stdout.wait_for(pattern, 5)
        assert line, f"no access-log line on stdout for {what} (/{pattern}/):\n{self.report()}"
        return line


@pytest.fixture(scope="module")
def tpl() -> Template:
    return Template(TEMPLATE)


@pytest.fixture(scope="module")
def proxy(tpl):
    assert os.geteuid() == 0, "run as root: the test makes namespaces and mounts, as ECS would"
    require("squid", "apt-get install squid")
    assert os.path.exists("/usr/sbin/squid"), "the command runs /usr/sbin/squid: apt-get install squid"
    unshare = require("unshare", "apt-get install util-linux")
    nsenter = require("nsenter", "apt-get install util-linux")
    require("ip", "apt-get install iproute2")
    try:
        pwd.getpwnam("proxy")
    except KeyError:
        pytest.fail("no user 'proxy' (squid's user in ubuntu/squid): apt-get install squid")
    p = Proxy(tpl, unshare, nsenter)
    try:
        p.start()
        yield p
    finally:
        p.stop()


def test_squid_parses_the_configuration_cleanly(tpl, tmp_path):
    """What SQUID_CONF says, squid reads: every directive, no error nor warning."""
    squid = require("squid", "apt-get install squid")
    conf = tpl.container_env(tpl.container(FAMILY, CONTAINER))["SQUID_CONF"]
    path = tmp_path / "squid.conf"
    path.write_text(conf + "\n")
    out = subprocess.run([squid, "-k", "parse", "-f", str(path)], capture_output=True, text=True, timeout=20)
    log = out.stderr + out.stdout
    assert out.returncode == 0, f"squid rejected SQUID_CONF:\n{log}"
    complaints = [l for l in log.splitlines() if re.search(r"error|warning|bungled|fatal", l, re.I)]
    assert not complaints, "\n".join(complaints)
    for directive in (l.strip() for l in conf.splitlines()):
        if directive and not directive.startswith("#"):
            assert f"Processing: {directive}" in log, f"not read: {directive}\n{log}"


def test_it_stays_up(proxy):
    """Squid is listening and still running a few seconds after the task started."""
    listening = proxy.stderr.wait_for(r"Accepting HTTP Socket connections", 10)
    assert listening, f"squid never listened:\n{proxy.report()}"
    time.sleep(max(0.0, 3 - (time.monotonic() - proxy.started)))
    proxy.require_running()
    bad = [l for l in proxy.stderr.lines if re.search(r"FATAL|Cannot (open|write)|Permission denied|Bungled", l)]
    assert not bad, f"{bad}\n{proxy.report()}"


@pytest.mark.parametrize("dest", PRIVATE)
def test_private_destinations_are_denied(proxy, dest):
    status, body = proxy.get(CLIENT, f"http://{dest}/")
    assert status == 403, f"{dest} answered {status} through the proxy: {body[-200:]!r}"
    assert f"reached {dest}".encode() not in body
    proxy.logged(rf"\s{re.escape(CLIENT)} TCP_DENIED/403 .* http://{re.escape(dest)}/", f"GET {dest}")


def test_public_destination_is_reachable_from_the_vpc(proxy):
    status, body = proxy.get(CLIENT, f"http://{PUBLIC}/")
    assert status == 200, body[-300:]
    assert body.endswith(f"reached {PUBLIC}\n".encode()), body[-200:]
    proxy.logged(rf"\s{re.escape(CLIENT)} TCP_MISS/200 .* http://{re.escape(PUBLIC)}/", "the public GET")


def test_clients_outside_the_vpc_are_denied(proxy):
    status, body = proxy.get(OUTSIDER, f"http://{PUBLIC}/")
    assert status == 403, f"a client at {OUTSIDER} got {status}: {body[-200:]!r}"
    proxy.logged(rf"\s{re.escape(OUTSIDER)} TCP_DENIED/403 ", "the outsider's GET")


@pytest.mark.parametrize("target", [f"{PUBLIC}:80", f"{PUBLIC}:8443", "169.254.169.254:443"])
def test_connect_goes_to_public_443_only(proxy, target):
    status, _ = proxy.request(CLIENT, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n")
    assert status == 403, f"CONNECT {target} got {status}"
    proxy.logged(rf"\s{re.escape(CLIENT)} TCP_DENIED/403 .* CONNECT {re.escape(target)} ", f"CONNECT {target}")


def test_squid_log_reaches_stderr(proxy):
    """cache.log messages (startup, listening) come out on the container's stderr."""
    for msg in ("Starting Squid Cache", "Accepting HTTP Socket connections"):
        assert proxy.stderr.wait_for(re.escape(msg), 5), f"'{msg}' not on stderr:\n{proxy.report()}"


def test_sigterm_stops_it_within_the_stop_timeout(proxy):
    """ECS stops a task with SIGTERM to the container's main process, SIGKILL after stopTimeout."""
    proxy.require_running()
    pid = proxy.main_pid()
    assert pid, f"no main process:\n{proxy.report()}"
    sent = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    try:
        status = proxy.proc.wait(proxy.stop_timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {proxy.stop_timeout} s after SIGTERM (ECS would SIGKILL):\n{proxy.report()}")
    took = time.monotonic() - sent
    assert status == 0, f"exited with {status} after SIGTERM:\n{proxy.report()}"
    # Every process of the container is gone: nothing holds its stdout open any more.
    assert proxy.stdout.closed.wait(5) and proxy.stderr.closed.wait(5), proxy.report()
    print(f"stopped {took:.1f} s after SIGTERM (stopTimeout {proxy.stop_timeout} s)")
