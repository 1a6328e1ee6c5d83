"""The plugin daemon's container health check runs as ECS runs it and says "healthy" when it should.

The check is the `HealthCheck` of container `plugin_daemon` in family `*-plugin-daemon` of the
synthesized template: `["CMD-SHELL", "python3 - <<'EOF' … EOF"]`, whose script is
`constructs/dify/assets/plugin_daemon/ready.py` (design: docs/research-daemon-readiness.md §4).
ECS runs it as `/bin/sh -c <command>` inside the container; the image's /bin/sh is dash, so dash
runs it here, with the container's environment from the template (Environment and Secrets,
SERVER_KEY included, resolved by cfn.py) plus what Fargate adds.

Each scenario is one "task": a private network, mount and PID namespace (`unshare`) whose PID 1
is started first, like the container's init, and whose /tmp is an empty tmpfs, so the marker the
script writes (/tmp/.plugins-ready) is the task's own, never the host's. Each check is a new
process entering those namespaces (`nsenter`), as a health check enters the container. In the
task's network, as in a Fargate task:

* the daemon (a fake) answers on 127.0.0.1:SERVER_PORT (the template's port): `/health/check`
  200, and `POST /v2/invoke/dispatch/model/schema` 401 for a wrong X-Api-Key, 400 for an
  identifier it runs and 404 "no available node" for any other, as dify-plugin-daemon 0.5.5 does
  (research §2.3; the real daemon was not run), or 500 when told to (a Redis error);
* the ECS credentials endpoint (a fake) is 169.254.170.2, at the AWS_CONTAINER_CREDENTIALS_
  RELATIVE_URI that Fargate puts in the environment; it hands out the task role's credentials:
  a role made in moto with the template's task-role policies, assumed with STS (so a session
  token);
* S3 is moto (`moto_server`, started once on a free 127.0.0.1 port, with IAM authentication:
  signatures and tokens are checked, the role's policies enforced), reached through a port
  forward at S3_ENDPOINT. moto serves path-style URLs only, so these tasks run with
  S3_USE_PATH_STYLE=true; the template's `false` (virtual-hosted, what real S3 gets) is run in
  its own scenario through an HTTP proxy that checks the request's signature against botocore's.

moto 5.2.5 does not evaluate IAM conditions on S3 requests (it would deny the template's
`s3:prefix`-conditioned ListBucket outright), so the role in moto gets the template's statements
without their conditions; the virtual-hosted scenario evaluates the ListBucket condition against
the prefix the script really sends.

Needs root, util-linux (unshare, nsenter), iproute2, dash and python3 (3.12, the image's, when
found), and moto and boto3 in the venv; a missing one fails the test.
`PLUGIN_DAEMON_TEMPLATE=<env or path>` runs the scenarios against another template (default: prd).
"""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from cfn import PSEUDO, ROOT, Template, require
from local import free_port, in_netns

TEMPLATE = os.environ.get("PLUGIN_DAEMON_TEMPLATE", "prd")
FAMILY = "plugin-daemon"  # Family `dify-<env>-plugin-daemon`
CONTAINER = "plugin_daemon"
SCRIPT = ROOT / "constructs/dify/assets/plugin_daemon/ready.py"
MARK = "/tmp/.plugins-ready"  # hard-coded in the script
REGION = PSEUDO["AWS::Region"]
ACCOUNT = PSEUDO["AWS::AccountId"]
CREDENTIALS_HOST = "169.254.170.2"  # the ECS credentials endpoint in every Fargate task
# What ECS adds to the task's Environment: the image's ENV (PATH, as any Ubuntu-based image).
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# ECS limits (constructs/resources/schemas/aws_ecs_taskdefinition.json).
LIMITS = {"Interval": (5, 300), "Timeout": (2, 60), "Retries": (1, 10), "StartPeriod": (0, 300)}

TASK_SETUP = r"""
set -eu
mount -t tmpfs -o mode=1777 tmpfs /tmp
ip link set lo up
ip addr add 169.254.170.2/32 dev lo
echo ready
exec sleep 600
"""


def ident(name: str, version: str = "0.1.0", checksum: str = "a", author: str = "langgenius") -> str:
    """A plugin unique identifier as the daemon stores it under `plugin/`."""
    return f"{author}/{name}:{version}@{checksum * 64}"


OPENAI, TONGYI, OLLAMA = ident("openai", "0.2.3", "a"), ident("tongyi", "0.1.0", "b"), ident("ollama", "0.0.7", "c")


# --- namespaces -----------------------------------------------------------------------------

def serve(server: http.server.HTTPServer) -> http.server.HTTPServer:
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


class Forward:
    """A TCP port in a task's network forwarded to the same port on the host's 127.0.0.1."""

    def __init__(self, pid: int, port: int):
        self.port = port
        self.sock = in_netns(pid, lambda: socket.create_server(("127.0.0.1", port)))
        # Started from this (host-network) thread, so the connections it opens are the host's.
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                inner, _ = self.sock.accept()
            except OSError:
                return
            try:
                outer = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                inner.close()
                continue
            for a, b in ((inner, outer), (outer, inner)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        except OSError:
            pass
        self.sock.close()


# --- fakes ----------------------------------------------------------------------------------

class _Quiet(http.server.BaseHTTPRequestHandler):
    def reply(self, code: int, body: bytes, ctype: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Daemon(_Quiet):
    """dify-plugin-daemon 0.5.5 as far as the check sees it (research §2.1-2.3)."""

    def do_GET(self):  # noqa: N802 - http.server's name
        d = self.server.fake
        d.requests.append(("GET", self.path))
        if self.path == "/health/check":
            ok = d.healthy
            return self.reply(200 if ok else 503, json.dumps({"status": "ok" if ok else "down"}).encode())
        self.reply(404, b'{"code":"not_found"}')

    def do_POST(self):  # noqa: N802
        d = self.server.fake
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ident_ = self.headers.get("X-Plugin-Unique-Identifier", "")
        d.requests.append(("POST", self.path))
        if self.path != "/v2/invoke/dispatch/model/schema":
            return self.reply(404, b'{"code":"not_found"}')
        if self.headers.get("X-Api-Key") != d.key:  # CheckingKey, before anything else
            return self.reply(401, b'{"code":"unauthorized","message":"unauthorized"}')
        d.probes.append(ident_)
        if ident_ in d.errors:  # e.g. 500: Redis failed in the redirect lookup (research §2.3)
            return self.reply(d.errors[ident_], b'{"code":"internal_server_error","message":"redis: connection refused"}')
        if ident_ in d.launched:  # the runtime is here: the handler rejects the empty body
            return self.reply(400, json.dumps({"code": "bad_request", "message": "Key: 'tenant_id' Error:"
                                               "Field validation for 'TenantId' failed"}).encode())
        self.reply(404, b'{"code":"internal_server_error","message":"no available node, plugin runtime not found"}')


class FakeDaemon:
    def __init__(self, pid: int, port: int, key: str):
        self.key, self.launched, self.healthy = key, set(), True
        self.errors: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self.probes: list[str] = []
        self.server = in_netns(pid, lambda: http.server.ThreadingHTTPServer(("127.0.0.1", port), _Daemon))
        self.server.fake = self
        serve(self.server)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _Credentials(_Quiet):
    def do_GET(self):  # noqa: N802
        c = self.server.fake
        c.calls += 1
        if self.path != c.path:
            return self.reply(404, b"Not Found\n", "text/plain")
        self.reply(200, json.dumps(c.body).encode())


class FakeCredentials:
    """The ECS task-role credentials endpoint: GET 169.254.170.2<relative URI>."""

    def __init__(self, pid: int, creds: dict, role_arn: str):
        self.path = f"/v2/credentials/{uuid.uuid4()}"
        self.calls = 0
        self.body = {"RoleArn": role_arn, "AccessKeyId": creds["AccessKeyId"],
                     "SecretAccessKey": creds["SecretAccessKey"], "Token": creds["SessionToken"],
                     "Expiration": creds["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.server = in_netns(pid, lambda: http.server.ThreadingHTTPServer((CREDENTIALS_HOST, 80), _Credentials))
        self.server.fake = self
        serve(self.server)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _VirtualHostS3(_Quiet):
    """S3 behind an HTTP proxy: takes virtual-hosted ListObjectsV2 requests, checks each one's
    SigV4 signature against botocore's and the role's ListBucket condition, answers from moto's
    listing two keys a page (continuation tokens with '/', '+' and '=')."""

    PAGE = 2

    def do_GET(self):  # noqa: N802
        p = self.server.fake
        host = self.headers.get("Host", "")
        p.requests.append((host, self.path))
        if host != p.host or not self.path.startswith(f"http://{p.host}/"):
            p.strays.append(f"{host} {self.path}")
            return self.reply(502, b"not S3\n", "text/plain")
        problem = p.verify(self)
        if problem:
            p.problems.append(problem)
            return self.reply(403, f"<Error><Code>{problem[0]}</Code><Message>{escape(problem[1])}</Message></Error>"
                              .encode(), "application/xml")
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        prefix = query.get("prefix", "")
        keys = p.task.all_keys(prefix)
        start = int(query["continuation-token"].split("/")[1].split("+")[0]) if "continuation-token" in query else 0
        page = keys[start:start + self.PAGE]
        more = start + self.PAGE < len(keys)
        xml = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
               f"<Name>{p.task.bucket}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>",
               f"<MaxKeys>1000</MaxKeys><IsTruncated>{'true' if more else 'false'}</IsTruncated>"]
        if "continuation-token" in query:
            xml.append(f"<ContinuationToken>{escape(query['continuation-token'])}</ContinuationToken>")
        xml += [f"<Contents><Key>{escape(k)}</Key><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>"
                for k in page]
        if more:
            xml.append(f"<NextContinuationToken>1ueGcxLPRx1Tr/{start + self.PAGE}+wm36Hy4vbOwM=</NextContinuationToken>")
        xml.append("</ListBucketResult>")
        p.pages += 1
        self.reply(200, "".join(xml).encode(), "application/xml")


class VirtualHostS3:
    def __init__(self, pid: int, port: int, task: "Task"):
        self.task = task
        self.host = f"{task.bucket}.s3.{REGION}.amazonaws.com"
        self.requests: list[tuple[str, str]] = []
        self.strays: list[str] = []
        self.problems: list[tuple[str, str]] = []
        self.signed: list[str] = []
        self.pages = 0
        self.server = in_netns(pid, lambda: http.server.ThreadingHTTPServer(("127.0.0.1", port), _VirtualHostS3))
        self.server.fake = self
        serve(self.server)

    def verify(self, h: http.server.BaseHTTPRequestHandler) -> tuple[str, str] | None:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = h.headers.get("Authorization", "")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                         r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth)
        if not m:
            return "AuthorizationHeaderMalformed", auth
        c = self.task.credentials.body
        if m.group(1) != c["AccessKeyId"] or h.headers.get("x-amz-security-token") != c["Token"]:
            return "InvalidAccessKeyId", "not the task role's key and token"
        signed = m.group(4).split(";")
        unsigned = [k.lower() for k in h.headers if k.lower().startswith("x-amz-") and k.lower() not in signed]
        if "host" not in signed or unsigned:
            return "AccessDenied", f"host and every x-amz-* header must be signed; unsigned: {unsigned}"
        req = AWSRequest(method=h.command, url=h.path, headers={k: h.headers[k] for k in signed})
        req.context["timestamp"] = h.headers["x-amz-date"]
        signer = S3SigV4Auth(Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["Token"]), "s3", REGION)
        signer._modify_request_before_signing(req)  # add_auth, with the request's own time
        canonical = signer.canonical_request(req)
        signer._inject_signature_to_request(req, signer.signature(signer.string_to_sign(req, canonical), req))
        if req.headers["Authorization"] != auth:
            return "SignatureDoesNotMatch", f"script: {auth}\nbotocore: {req.headers['Authorization']}"
        self.signed.append(auth)
        prefix = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(h.path).query)).get("prefix", "")
        if not self.task.may_list(prefix):
            return "AccessDenied", f"the task role may not list prefix {prefix!r}"
        return None

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- moto -----------------------------------------------------------------------------------

class Moto:
    """moto_server with IAM authentication: after the first three (unauthenticated) IAM calls
    that make an administrator, every request must be signed by a known key."""

    def __init__(self, server: str, log: Path):
        import boto3

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "MOTO_ACCOUNT_ID": ACCOUNT}
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(k, None)
        self.proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                                     stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.1)
        boot = boto3.client("iam", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        boot.create_user(UserName="admin")
        key = boot.create_access_key(UserName="admin")["AccessKey"]
        boot.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        self.admin_arn = f"arn:aws:iam::{ACCOUNT}:user/admin"
        self.session = boto3.Session(aws_access_key_id=key["AccessKeyId"],
                                     aws_secret_access_key=key["SecretAccessKey"], region_name=REGION)
        self.iam = self.client("iam")
        self.sts = self.client("sts")
        self.s3 = self.client("s3")
        # Authentication is on: an unknown key is refused.
        intruder = boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                                aws_access_key_id="AKIAINTRUDER00000000", aws_secret_access_key="x")
        try:
            intruder.list_buckets()
        except intruder.exceptions.ClientError:
            pass
        else:
            raise RuntimeError("moto accepts an unknown key: IAM authentication is not on")

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- template -------------------------------------------------------------------------------

def stand_ins(body: dict, objs, bucket: str) -> dict[str, str]:
    """Local values for the Refs and GetAtts in `objs`: the files bucket is `bucket`, anything
    else a recognisable stand-in (secrets are cfn.py's)."""
    resources = body["Resources"]
    values: dict[str, str] = {}

    def ref(name: str):
        r = resources.get(name)
        if r is None or r["Type"] == "AWS::SecretsManager::Secret":
            return
        values[name] = bucket if r["Type"] == "AWS::S3::Bucket" else f"{name}-stand-in"

    def att(name: str, attr: str):
        r = resources.get(name)
        if r is None:
            return
        if r["Type"] == "AWS::S3::Bucket" and attr == "Arn":
            values[f"{name}.{attr}"] = f"arn:aws:s3:::{bucket}"
        elif attr == "Arn":
            service = r["Type"].split("::")[1].lower()
            values[f"{name}.{attr}"] = f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"
        else:
            values[f"{name}.{attr}"] = f"{name.lower()}.{attr.lower()}.test"

    def visit(o):
        if isinstance(o, dict):
            if list(o) == ["Ref"] and isinstance(o["Ref"], str):
                ref(o["Ref"])
            elif list(o) == ["Fn::GetAtt"]:
                a = o["Fn::GetAtt"]
                att(*(a if isinstance(a, list) else a.split(".", 1)))
            else:
                for v in o.values():
                    visit(v)
        elif isinstance(o, list):
            for v in o:
                visit(v)

    visit(objs)
    return values


def resolve_deep(tpl: Template, o):
    """A template structure (a policy document) with every intrinsic resolved."""
    if isinstance(o, dict):
        if len(o) == 1 and (next(iter(o)) == "Ref" or next(iter(o)).startswith("Fn::")):
            return tpl.resolve(o)
        return {k: resolve_deep(tpl, v) for k, v in o.items()}
    if isinstance(o, list):
        return [resolve_deep(tpl, v) for v in o]
    return o


def task_role_documents(body: dict) -> list[dict]:
    """The policy documents of the daemon's task role: its inline Policies and any
    AWS::IAM::Policy attached to it (unresolved)."""
    for r in body["Resources"].values():
        props = r["Properties"]
        if r["Type"] == "AWS::ECS::TaskDefinition" and str(props.get("Family", "")).endswith(f"-{FAMILY}"):
            role = props["TaskRoleArn"]["Fn::GetAtt"][0]
            break
    else:
        raise LookupError(f"no task definition *-{FAMILY}")
    docs = [p["PolicyDocument"] for p in body["Resources"][role]["Properties"].get("Policies", [])]
    for r in body["Resources"].values():
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"].get("Roles", []):
            docs.append(r["Properties"]["PolicyDocument"])
    return docs


def as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def may_list(documents: list[dict], bucket: str, prefix: str) -> bool:
    """The Allow statements of `documents` (resolved), conditions included, let the role list
    `prefix` of `bucket` (no Deny statement in these policies: asserted)."""
    arn = f"arn:aws:s3:::{bucket}"
    allowed = False
    for doc in documents:
        for s in as_list(doc["Statement"]):
            assert s["Effect"] == "Allow" and "NotAction" not in s and "NotResource" not in s, s
            if not any(fnmatch.fnmatchcase("s3:ListBucket", a) for a in as_list(s["Action"])):
                continue
            if not any(fnmatch.fnmatchcase(arn, r) for r in as_list(s["Resource"])):
                continue
            cond = s.get("Condition", {})
            unknown = (set(cond) - {"StringLike", "StringEquals"}) | \
                ({k for c in cond.values() for k in c} - {"s3:prefix"})
            assert not unknown, f"a condition this test does not evaluate: {cond}"
            if all(any(fnmatch.fnmatchcase(prefix, pat) if op == "StringLike" else prefix == pat
                       for pat in as_list(c["s3:prefix"])) for op, c in cond.items()):
                allowed = True
    return allowed


def script_of(command: str) -> str:
    """The script in the command's here-document."""
    head, tail = "python3 - <<'EOF'\n", "EOF"
    assert command.startswith(head) and command.endswith("\n" + tail), command[:80]
    return command[len(head):-len(tail)]


def ready_py_script() -> str:
    """ready.py minus its leading comment lines: what the template embeds."""
    lines = SCRIPT.read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


# --- a task ---------------------------------------------------------------------------------

class Result:
    def __init__(self, rc: int, out: str, took: float):
        self.rc, self.out, self.took = rc, out, took

    def __repr__(self):
        return f"exit {self.rc} after {self.took:.2f} s:\n{self.out}"


class Task:
    """One plugin-daemon task: its namespaces, daemon, credentials, bucket and role."""

    def __init__(self, tools: dict, moto: Moto, *, env: dict[str, str] | None = None, virtual_host: bool = False):
        self.tools, self.moto = tools, moto
        self.bucket = f"dify-test-files-{uuid.uuid4().hex[:12]}"
        base = Template(TEMPLATE)
        self.container = base.container(FAMILY, CONTAINER)
        self.documents_raw = task_role_documents(base.body)
        self.tpl = Template(TEMPLATE, stand_ins(base.body, [self.container, self.documents_raw], self.bucket))
        self.health = self.container["HealthCheck"]
        self.container_env = self.tpl.container_env(self.container)
        self.documents = [resolve_deep(self.tpl, d) for d in self.documents_raw]
        self.holder = self.pid1 = None
        self.servers: list = []
        self.host_mark = _stat(MARK)

        # The account: the files bucket, the task role with the template's policies, its session.
        moto.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        role = f"dify-test-plugin-daemon-{uuid.uuid4().hex[:8]}"
        arn = moto.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                   "Principal": {"AWS": moto.admin_arn}}]}))["Role"]["Arn"]
        for n, doc in enumerate(self.documents):
            stripped = {**doc, "Statement": [{k: v for k, v in s.items() if k != "Condition"}
                                             for s in as_list(doc["Statement"])]}
            moto.iam.put_role_policy(RoleName=role, PolicyName=f"p{n}", PolicyDocument=json.dumps(stripped))
        creds = moto.sts.assume_role(RoleArn=arn, RoleSessionName="ecs-task")["Credentials"]

        # The task: PID 1 first (the container's age counts from it), /tmp its own, lo up.
        self.holder = subprocess.Popen(
            [tools["unshare"], "--net", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private",
             "--kill-child", "/bin/sh", "-c", TASK_SETUP],
            env={"PATH": IMAGE_PATH}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.holder.stdout.readline()
        if line.strip() != b"ready":
            self.holder.kill()
            raise RuntimeError(f"task setup failed ({self.holder.wait()}): {self.holder.stderr.read().decode()}")
        try:
            self._start(creds, arn, virtual_host, env)
        except BaseException:
            self.stop()
            raise

    def _start(self, creds: dict, arn: str, virtual_host: bool, env: dict[str, str] | None):
        tools, moto = self.tools, self.moto
        children = Path(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children").read_text().split()
        self.pid1 = int(children[0])

        port = int(self.container_env["SERVER_PORT"])
        self.daemon = FakeDaemon(self.pid1, port, self.container_env["SERVER_KEY"])
        self.credentials = FakeCredentials(self.pid1, creds, arn)
        self.servers += [self.daemon, self.credentials]
        self.env = {
            "PATH": f"{tools['python_dir']}:{IMAGE_PATH}",
            **self.container_env,
            # Fargate adds this to every container of a task with a role.
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": self.credentials.path,
        }
        if virtual_host:
            # The template's S3_USE_PATH_STYLE (false), as against real S3; the endpoint is
            # http:// only so that the proxy can read the request (real S3 is https://).
            assert self.env["S3_USE_PATH_STYLE"] == "false", self.env["S3_USE_PATH_STYLE"]
            proxy = free_port()
            self.s3 = VirtualHostS3(self.pid1, proxy, self)
            self.servers.append(self.s3)
            self.env.update(S3_ENDPOINT=f"http://s3.{REGION}.amazonaws.com", HTTP_PROXY=f"http://127.0.0.1:{proxy}")
        else:
            self.servers.append(Forward(self.pid1, moto.port))
            # moto answers path-style requests only; real S3 gets the template's `false`
            # (virtual-hosted), run in test_virtual_hosted_s3_requests_sign_as_botocore.
            self.env.update(S3_ENDPOINT=f"http://127.0.0.1:{moto.port}", S3_USE_PATH_STYLE="true")
        self.env.update(env or {})

    # --- the account ----------------------------------------------------------------------

    def put(self, *keys: str):
        for k in keys:
            self.moto.s3.put_object(Bucket=self.bucket, Key=k, Body=b"pkg")

    def install(self, *idents: str):
        prefix = self.container_env["PLUGIN_INSTALLED_PATH"].rstrip("/")
        self.put(*(f"{prefix}/{i}" for i in idents))

    def all_keys(self, prefix: str) -> list[str]:
        keys = []
        for page in self.moto.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def may_list(self, prefix: str) -> bool:
        return may_list(self.documents, self.bucket, prefix)

    # --- the container --------------------------------------------------------------------

    @property
    def command(self) -> str:
        kind, command = self.health["Command"]
        assert kind == "CMD-SHELL", self.health["Command"]
        return command

    def check(self) -> Result:
        """One health check: `/bin/sh -c <command>` (dash) in the task's namespaces, with the
        container's environment, cut off at the health check's Timeout as ECS would."""
        assert self.holder.poll() is None, "the task's PID 1 is gone"
        timeout = int(self.health["Timeout"])
        started = time.monotonic()
        try:
            p = subprocess.run(
                [self.tools["nsenter"], "-t", str(self.pid1), "--net", "--mount", "--pid", "--",
                 self.tools["dash"], "-c", self.command],
                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"the check ran past its {timeout} s timeout (ECS counts a failure):\n{e.output}")
        result = Result(p.returncode, p.stdout.decode(errors="replace"), time.monotonic() - started)
        assert _stat(MARK) == self.host_mark, f"the check touched the host's {MARK}"
        return result

    @property
    def marked(self) -> bool:
        """The task's own /tmp/.plugins-ready exists."""
        return os.path.exists(f"/proc/{self.pid1}/root{MARK}")

    def unmark(self):
        os.remove(f"/proc/{self.pid1}/root{MARK}")

    def age(self) -> float:
        """Seconds since the task's PID 1 started, as the script computes it."""
        stat = Path(f"/proc/{self.pid1}/stat").read_text()
        start = int(stat.rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        return float(Path("/proc/uptime").read_text().split()[0]) - start

    def stop(self):
        for s in self.servers:
            s.stop()
        if self.holder and self.holder.poll() is None:
            self.holder.kill()  # --kill-child: PID 1 goes, and every check left in the task
        if self.holder:
            self.holder.wait(10)


def _stat(path: str):
    try:
        st = os.stat(path)
        return st.st_ino, st.st_mtime_ns
    except FileNotFoundError:
        return None


# --- fixtures -------------------------------------------------------------------------------

def _python_dir() -> str:
    """A directory whose `python3` the check runs: 3.12 (the image's) when there is one."""
    if os.environ.get("PLUGIN_DAEMON_PYTHON"):
        return str(Path(os.environ["PLUGIN_DAEMON_PYTHON"]).parent)
    for name in ("python3.12", "python3"):
        found = shutil.which(name)
        if not found:
            continue
        exe = subprocess.run([found, "-c", "import os, sys; print(os.path.realpath(sys.executable))"],
                             capture_output=True, text=True).stdout.strip()
        d = Path(exe).parent
        if exe and (d / "python3").exists() and not str(d).startswith("/tmp"):
            return str(d)
    raise RuntimeError("no python3 for the check: apt-get install python3 (the image has python3.12)")


@pytest.fixture(scope="module")
def tools() -> dict:
    assert os.geteuid() == 0, "run as root: the test makes namespaces and mounts, as ECS would"
    found = {
        "unshare": require("unshare", "apt-get install util-linux"),
        "nsenter": require("nsenter", "apt-get install util-linux"),
        "ip": require("ip", "apt-get install iproute2"),
        "dash": require("dash", "apt-get install dash (the image's /bin/sh)"),
        "python_dir": _python_dir(),
    }
    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        server = Path(require("moto_server", ".venv/bin/pip install 'moto[server]==5.2.5'"))
    found["moto_server"] = str(server)
    try:
        import boto3  # noqa: F401
        import botocore  # noqa: F401
    except ImportError as e:
        raise RuntimeError(f"{e}: .venv/bin/pip install boto3 'moto[server]==5.2.5'") from e
    return found


@pytest.fixture(scope="module")
def moto(tools, tmp_path_factory):
    m = Moto(tools["moto_server"], tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture
def new_task(tools, moto):
    tasks: list[Task] = []

    def make(**kw) -> Task:
        t = Task(tools, moto, **kw)
        tasks.append(t)
        return t

    yield make
    for t in tasks:
        t.stop()


def healthy(r: Result) -> bool:
    return r.rc == 0


# --- the template ---------------------------------------------------------------------------

def _envs() -> list[str]:
    return sorted(p.name[len("dify-"):-len(".template.json")] for p in (ROOT / "cfn-out").glob("dify-*.template.json"))


@pytest.mark.parametrize("env", _envs())
def test_the_command_is_ready_py_in_a_here_document(env):
    """The health check is CMD-SHELL (run by /bin/sh -c), its script ready.py verbatim, and no
    line of it ends the here-document early."""
    c = Template(env).container(FAMILY, CONTAINER)
    kind, command = c["HealthCheck"]["Command"]
    assert kind == "CMD-SHELL"
    assert script_of(command) == ready_py_script(), "the template's script is not ready.py (re-synth?)"
    assert "EOF" not in script_of(command).splitlines()
    assert len(command) < 8192, f"{len(command)} bytes"


@pytest.mark.parametrize("env", _envs())
def test_the_deadline_latches_before_ecs_would_call_the_container_unhealthy(env):
    """Failures count after startPeriod; the container turns UNHEALTHY at the `retries`-th failure
    in a row, each at least `interval` after the last, so no earlier than startPeriod +
    (retries - 1) × interval (stricter than startPeriod + retries × interval). Any check after
    the deadline latches ready, so that moment must not come before the deadline. ECS ignores
    the container's health during the service's grace period, which must cover the deadline."""
    tpl = Template(env)
    c = tpl.container(FAMILY, CONTAINER)
    hc = c["HealthCheck"]
    for k, (lo, hi) in LIMITS.items():
        assert lo <= int(hc[k]) <= hi, f"{k} {hc[k]} outside ECS's {lo}-{hi}"
    deadline = int(next(e["Value"] for e in c["Environment"] if e["Name"] == "PLUGIN_READINESS_DEADLINE_SECONDS"))
    assert deadline > 0, "without a deadline one plugin that never starts blocks every rollout"
    interval, retries, start, timeout = (int(hc[k]) for k in ("Interval", "Retries", "StartPeriod", "Timeout"))
    earliest_unhealthy = start + (retries - 1) * interval
    assert earliest_unhealthy > deadline, \
        f"UNHEALTHY possible at {earliest_unhealthy} s, before the {deadline} s deadline latches"
    assert start + retries * interval > deadline
    assert timeout < interval, "a check must end before the next one is due"
    (_, service), = [(k, r) for k, r in tpl.of_type("AWS::ECS::Service").items()
                     if r["Properties"]["TaskDefinition"] == {"Ref": next(
                         k2 for k2, r2 in tpl.of_type("AWS::ECS::TaskDefinition").items()
                         if r2["Properties"]["Family"].endswith(f"-{FAMILY}"))}]
    grace = int(service["Properties"]["HealthCheckGracePeriodSeconds"])
    assert grace >= deadline, f"HealthCheckGracePeriodSeconds {grace} < deadline {deadline}"


@pytest.mark.parametrize("env", _envs())
def test_the_task_role_may_list_the_installed_prefix(env):
    """The prefix the script lists (PLUGIN_INSTALLED_PATH + '/') is allowed by the task role's
    ListBucket condition, which moto cannot evaluate; another prefix is not."""
    body = Template(env).body
    raw = task_role_documents(body)
    c = Template(env).container(FAMILY, CONTAINER)
    tpl = Template(env, stand_ins(body, [c, raw], "files"))
    documents = [resolve_deep(tpl, d) for d in raw]
    installed = next(e["Value"] for e in c["Environment"] if e["Name"] == "PLUGIN_INSTALLED_PATH")
    assert may_list(documents, "files", installed.rstrip("/") + "/")
    assert not may_list(documents, "files", "other/")
    assert not may_list(documents, "other-bucket", installed.rstrip("/") + "/")


# --- the scenarios --------------------------------------------------------------------------

def test_empty_prefix_is_ready(new_task):
    t = new_task()
    # Objects outside `plugin/` (the packages prefix shares its start) are not installed plugins.
    t.put(f"plugin_packages/{OPENAI}", "assets/x.png")
    r = t.check()
    assert healthy(r), r
    assert "all 0 installed plugins launched" in r.out, r
    assert t.marked
    assert t.daemon.probes == []
    assert t.credentials.calls == 1  # the role's credentials, from the endpoint


def test_not_all_launched_is_unhealthy_until_they_are(new_task):
    t = new_task()
    assert int(t.env["PLUGIN_READINESS_DEADLINE_SECONDS"]) > 60, "the template's deadline, not latched yet"
    t.install(OPENAI, TONGYI, OLLAMA, ".keep", "not-an-identifier")
    t.daemon.launched = {OLLAMA, OPENAI}  # sorted: ollama, openai, tongyi
    r = t.check()
    assert r.rc == 1, r
    assert f"2/3 installed plugins launched; waiting for {TONGYI}" in r.out, r
    assert not t.marked
    assert t.daemon.probes == [OLLAMA, OPENAI, TONGYI]  # .keep and the invalid key are not probed

    t.daemon.launched.add(TONGYI)
    r = t.check()
    assert healthy(r), r
    assert "all 3 installed plugins launched" in r.out, r
    assert t.marked


def test_a_probe_error_is_not_launched(new_task):
    """Only 400 means "runs here": a 500 (Redis down in the redirect lookup) is not ready."""
    t = new_task()
    t.install(OPENAI)
    t.daemon.launched = {OPENAI}
    t.daemon.errors[OPENAI] = 500
    r = t.check()
    assert r.rc == 1 and f"0/1 installed plugins launched; waiting for {OPENAI}" in r.out, r
    assert not t.marked


def test_none_launched_stops_at_the_first(new_task):
    t = new_task()
    t.install(OPENAI, TONGYI)
    r = t.check()
    assert r.rc == 1, r
    assert f"0/2 installed plugins launched; waiting for {OPENAI}" in r.out, r
    assert t.daemon.probes == [OPENAI]


def test_latched_stays_healthy_when_a_new_plugin_is_installed(new_task):
    t = new_task()
    t.install(OPENAI)
    t.daemon.launched = {OPENAI}
    assert healthy(r := t.check()), r
    assert t.marked

    t.install(TONGYI)  # installed later: the daemon's own 30 s loop launches it
    t.daemon.probes.clear()
    r = t.check()
    assert healthy(r), r
    assert t.daemon.probes == [], "a latched check probes nothing"

    t.unmark()  # the same state without the latch: not ready
    r = t.check()
    assert r.rc == 1 and f"waiting for {TONGYI}" in r.out, r


def test_daemon_down_is_unhealthy_even_when_latched(new_task):
    t = new_task()
    assert healthy(r := t.check()), r
    assert t.marked

    t.daemon.healthy = False  # /health/check answers 503
    r = t.check()
    assert r.rc == 1 and "daemon not answering /health/check" in r.out, r

    t.daemon.stop()  # nothing listens on SERVER_PORT
    r = t.check()
    assert r.rc == 1 and "Connection refused" in r.out, r


def test_wrong_server_key_is_unhealthy(new_task):
    t = new_task()
    t.install(OPENAI)
    t.daemon.launched = {OPENAI}
    t.daemon.key = "not-" + t.container_env["SERVER_KEY"]
    r = t.check()
    assert r.rc == 1 and "SERVER_KEY rejected" in r.out, r
    assert not t.marked


def test_deadline_latches_an_old_container(new_task):
    """PLUGIN_READINESS_DEADLINE_SECONDS=2 instead of the template's 420 (checked above): a
    young container waits, one older than the deadline latches ready with a message."""
    t = new_task(env={"PLUGIN_READINESS_DEADLINE_SECONDS": "2"})
    t.install(OPENAI, TONGYI)
    t.daemon.launched = {OPENAI}
    assert t.age() < 1.5, f"the task is already {t.age():.1f} s old"
    r = t.check()
    assert r.rc == 1 and f"1/2 installed plugins launched; waiting for {TONGYI}" in r.out, r

    time.sleep(max(0.0, 2.3 - t.age()))
    r = t.check()
    assert healthy(r), r
    assert f"container older than 2s: latching ready although {TONGYI} is not launched" in r.out, r
    assert t.marked


def test_s3_refuses_what_the_role_may_not_do(new_task, moto):
    """moto checks signatures and the role's policies: with a wrong secret, or another bucket,
    the same check is refused; so the healthy scenarios passed both with the role's session."""
    t = new_task()
    good = t.credentials.body["SecretAccessKey"]
    t.credentials.body["SecretAccessKey"] = ("x" if good[0] != "x" else "y") + good[1:]
    r = t.check()
    assert r.rc == 1 and "S3 list 403" in r.out and "SignatureDoesNotMatch" in r.out, r

    t.credentials.body["SecretAccessKey"] = good
    other = f"dify-test-other-{uuid.uuid4().hex[:12]}"
    moto.s3.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": REGION})
    t.env["PLUGIN_STORAGE_OSS_BUCKET"] = other
    r = t.check()
    assert r.rc == 1 and "S3 list 403" in r.out and "AccessDenied" in r.out, r

    t.env["PLUGIN_STORAGE_OSS_BUCKET"] = t.bucket
    assert healthy(r := t.check()), r


def test_virtual_hosted_s3_requests_sign_as_botocore(new_task):
    """With the template's S3_USE_PATH_STYLE=false the script asks `<bucket>.s3.<region>…`;
    through an HTTP proxy (which the script honours for S3 only) each page of the listing is
    checked against botocore's S3SigV4Auth and the role's ListBucket condition; continuation
    tokens carry '/', '+' and '='."""
    t = new_task(virtual_host=True)
    plugins = [ident(f"p{n}", f"1.{n}.0", "abcdef"[n]) for n in range(5)]
    t.install(*plugins, ".keep")
    t.daemon.launched = set(plugins)
    r = t.check()
    assert not t.s3.problems, t.s3.problems
    assert not t.s3.strays, f"local calls went through the proxy: {t.s3.strays}"
    assert healthy(r), r
    assert "all 5 installed plugins launched" in r.out, r
    assert t.s3.pages == 3 and len(t.s3.signed) == 3, t.s3.requests
    assert t.daemon.probes == sorted(plugins)
    assert t.marked
