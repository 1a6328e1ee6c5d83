"""Redis and Celery over TLS, with the environment the synthesized template gives ECS.

What runs: a real redis-server (TLS only, AUTH with the template's generated token, a server
certificate from a test CA), and the clients Dify 1.13.3 builds from the containers' environment:
redis-py for its cache and its pub/sub event bus, Celery/kombu for the broker and the result
backend, with a real ``celery worker`` process running a task that an api-side producer process
sends. The plugin daemon's REDIS_* settings get a redis-py stand-in for its Go client.

Dify's code is not vendored: the few functions that turn the environment into client settings are
ported below, each naming the file (and lines) it follows in Dify 1.13.3. The tag itself is over
the size the research tools fetch; the lines were read from a copy of the 1.13.3 source
(eastboat2001/dify-1.13.3app-permission @ f2ae814, whose edits touch none of these files; see
docs/research-dify-api.md §0 and §5). The libraries are the versions that copy's api/uv.lock locks
(celery 5.6.2, kombu 5.6.2, redis 7.3.0; newest upload in the lock 2026-03-23, before the release),
pinned in scripts/requirements-ci.txt. A later langgenius/dify main commit still versioned 1.13.3
(0055b98) locks redis 7.4.0; nothing here depends on the difference.

Local stand-ins, and nothing else changes in what the template gives:
* the cache's primary endpoint resolves to ``localhost`` (the server certificate names it);
* the port (6379 in the template) becomes the test server's, in REDIS_PORT and in the broker URL;
* /etc/ssl/certs/ca-certificates.crt, the image's system store (REDIS_SSL_CA_CERTS), becomes a
  bundle of this machine's store plus the test CA, and SSL_CERT_FILE names the same bundle for the
  clients that load OpenSSL's default store, which in the image is that same file.

Needs redis-server built with TLS (Debian's is): ``apt-get install redis-server``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote_plus, unquote, urlsplit, urlunparse, urlunsplit

import pytest
import redis
from celery import Celery
from redis.connection import Connection, SSLConnection

from cfn import Template, Unresolved, require

HERE = Path(__file__).resolve().parent
SYSTEM_STORE = "/etc/ssl/certs/ca-certificates.crt"  # the image's system CA bundle
TEMPLATE_PORT = 6379
CACHE_HOST = "localhost"
DIFY_FAMILIES = ("api", "worker", "beat")  # task families running langgenius/dify-api
INSTALL_REDIS = (
    "install Debian's redis-server, which is built with TLS: "
    "`apt-get update && apt-get install -y redis-server` (or set REDIS_SERVER to such a binary)"
)


# --- Dify 1.13.3, ported ------------------------------------------------------------------------
#
# Only what decides how the clients connect (TLS, AUTH, host, port, db, protocol). Left out: the
# Flask app context, logging, the beat schedule, Sentinel and Cluster branches (the template sets
# neither), and the pool/timeout/retry tuning, which does not change what is verified.

_PYDANTIC_TRUE = {"1", "on", "t", "true", "y", "yes"}
_PYDANTIC_FALSE = {"0", "off", "f", "false", "n", "no"}


def _bool(v: str) -> bool:
    """A bool field as pydantic parses it from an environment string."""
    s = v.strip().lower()
    if s in _PYDANTIC_TRUE:
        return True
    if s in _PYDANTIC_FALSE:
        return False
    raise ValueError(f"not a bool for pydantic: {v!r}")


class DifyConfig:
    """The settings this test needs, read from an environment the way Dify's ``dify_config``
    (pydantic-settings) reads it: declared fields come from the environment or their defaults;
    properties are computed and never read from the environment.

    Fields and defaults follow, at 1.13.3:
    api/configs/middleware/cache/redis_config.py L10-119 (RedisConfig),
    api/configs/middleware/__init__.py L238-288 (CeleryConfig),
    api/configs/middleware/cache/redis_pubsub_config.py L31-106 (RedisPubSubConfig).
    """

    FIELDS: dict[str, tuple[Callable[[str], Any], Any]] = {
        # RedisConfig
        "REDIS_HOST": (str, "localhost"),
        "REDIS_PORT": (int, 6379),
        "REDIS_USERNAME": (str, None),
        "REDIS_PASSWORD": (str, None),
        "REDIS_DB": (int, 0),
        "REDIS_USE_SSL": (_bool, False),
        "REDIS_SSL_CERT_REQS": (str, "CERT_NONE"),
        "REDIS_SSL_CA_CERTS": (str, None),
        "REDIS_SSL_CERTFILE": (str, None),
        "REDIS_SSL_KEYFILE": (str, None),
        "REDIS_USE_SENTINEL": (_bool, False),
        "REDIS_USE_CLUSTERS": (_bool, False),
        "REDIS_SERIALIZATION_PROTOCOL": (int, 3),
        "REDIS_MAX_CONNECTIONS": (lambda v: int(v) if v.strip() else None, None),
        # CeleryConfig
        "CELERY_BACKEND": (str, "redis"),
        "CELERY_BROKER_URL": (str, None),
        "CELERY_USE_SENTINEL": (_bool, False),
        # RedisPubSubConfig (validation_alias: EVENT_BUS_* first, then PUBSUB_*)
        "PUBSUB_REDIS_URL": (str, None),
        "PUBSUB_REDIS_USE_CLUSTERS": (_bool, False),
    }
    ALIASES = {
        "PUBSUB_REDIS_URL": ("EVENT_BUS_REDIS_URL", "PUBSUB_REDIS_URL"),
        "PUBSUB_REDIS_USE_CLUSTERS": ("EVENT_BUS_REDIS_USE_CLUSTERS", "PUBSUB_REDIS_USE_CLUSTERS"),
    }

    def __init__(self, env: Mapping[str, str]):
        for name, (parse, default) in self.FIELDS.items():
            value = default
            for key in self.ALIASES.get(name, (name,)):
                if key in env:
                    value = parse(env[key])
                    break
            setattr(self, name, value)

    # api/configs/middleware/__init__.py L286-288, CeleryConfig: a property computed from the
    # broker URL's scheme. docker/.env.example still lists BROKER_USE_SSL; nothing reads it.
    @property
    def BROKER_USE_SSL(self) -> bool:  # noqa: N802 (Dify's name)
        return self.CELERY_BROKER_URL.startswith("rediss://") if self.CELERY_BROKER_URL else False

    # api/configs/middleware/__init__.py, CeleryConfig.CELERY_RESULT_BACKEND (computed_field).
    @property
    def CELERY_RESULT_BACKEND(self) -> str | None:  # noqa: N802
        if self.CELERY_BACKEND in ("database", "rabbitmq"):
            return "db+<SQLALCHEMY_DATABASE_URI>"
        if self.CELERY_BACKEND == "redis":
            return self.CELERY_BROKER_URL
        return None

    # api/configs/middleware/cache/redis_pubsub_config.py L73-106: the event-bus URL, built from
    # REDIS_* when PUBSUB_REDIS_URL is unset (_build_default_pubsub_url).
    @property
    def normalized_pubsub_redis_url(self) -> str:
        explicit = (self.PUBSUB_REDIS_URL or "").strip()
        if explicit:
            return explicit
        scheme = "rediss" if self.REDIS_USE_SSL else "redis"
        userinfo = quote_plus(self.REDIS_USERNAME) if self.REDIS_USERNAME else ""
        if self.REDIS_PASSWORD:
            pw = quote_plus(self.REDIS_PASSWORD)
            userinfo = f"{userinfo}:{pw}" if userinfo else f":{pw}"
        if userinfo:
            userinfo = f"{userinfo}@"
        netloc = f"{userinfo}{self.REDIS_HOST}:{self.REDIS_PORT}"
        return urlunparse((scheme, netloc, f"/{self.REDIS_DB}", "", "", ""))


# Every Redis/Celery-family environment name Dify 1.13.3 reads: the settings declared under
# api/configs (the classes above in full, plus CELERY_BEAT_SCHEDULER_TIME in feature config) and
# the variables api/docker/entrypoint.sh reads for the worker.
DIFY_READS = {
    *DifyConfig.FIELDS,
    *(alias for aliases in DifyConfig.ALIASES.values() for alias in aliases),
    "REDIS_ENABLE_CLIENT_SIDE_CACHE", "REDIS_SENTINELS", "REDIS_SENTINEL_SERVICE_NAME",
    "REDIS_SENTINEL_USERNAME", "REDIS_SENTINEL_PASSWORD", "REDIS_SENTINEL_SOCKET_TIMEOUT",
    "REDIS_CLUSTERS", "REDIS_CLUSTERS_PASSWORD",
    "CELERY_SENTINEL_MASTER_NAME", "CELERY_SENTINEL_PASSWORD", "CELERY_SENTINEL_SOCKET_TIMEOUT",
    "CELERY_TASK_ANNOTATIONS", "CELERY_BEAT_SCHEDULER_TIME",
    "PUBSUB_REDIS_CHANNEL_TYPE", "EVENT_BUS_REDIS_CHANNEL_TYPE",
    "PUBSUB_STREAMS_RETENTION_SECONDS", "EVENT_BUS_STREAMS_RETENTION_SECONDS",
    "CELERY_AUTO_SCALE", "CELERY_MAX_WORKERS", "CELERY_MIN_WORKERS", "CELERY_PREFETCH_MULTIPLIER",
    "CELERY_QUEUES", "CELERY_WORKER_AMOUNT", "CELERY_WORKER_CLASS", "CELERY_WORKER_CONCURRENCY",
    "CELERY_WORKER_POOL", "CELERY_WORKER_QUEUES",
}

# api/extensions/ext_redis.py L133-138 and api/extensions/ext_celery.py L28-33: the same map in
# both; any other string (e.g. "required", lower case) silently becomes CERT_NONE.
_CERT_REQS = {
    "CERT_NONE": ssl.CERT_NONE,
    "CERT_OPTIONAL": ssl.CERT_OPTIONAL,
    "CERT_REQUIRED": ssl.CERT_REQUIRED,
}


def redis_ssl_configuration(cfg: DifyConfig) -> tuple[type[Connection], dict[str, Any]]:
    """api/extensions/ext_redis.py @ 1.13.3 L127-146, _get_ssl_configuration."""
    if not cfg.REDIS_USE_SSL:
        return Connection, {}
    return SSLConnection, {
        "ssl_cert_reqs": _CERT_REQS.get(cfg.REDIS_SSL_CERT_REQS, ssl.CERT_NONE),
        "ssl_ca_certs": cfg.REDIS_SSL_CA_CERTS,
        "ssl_certfile": cfg.REDIS_SSL_CERTFILE,
        "ssl_keyfile": cfg.REDIS_SSL_KEYFILE,
    }


def dify_redis_client(cfg: DifyConfig) -> redis.Redis:
    """Dify's cache client, ``redis_client``: api/extensions/ext_redis.py @ 1.13.3 L161-172
    _get_base_redis_params + L225-245 _create_standalone_client (client-side cache off)."""
    assert not cfg.REDIS_USE_SENTINEL and not cfg.REDIS_USE_CLUSTERS, "standalone only"
    connection_class, ssl_kwargs = redis_ssl_configuration(cfg)
    params: dict[str, Any] = {
        "username": cfg.REDIS_USERNAME,
        "password": cfg.REDIS_PASSWORD or None,
        "db": cfg.REDIS_DB,
        "encoding": "utf-8",
        "encoding_errors": "strict",
        "decode_responses": False,
        "protocol": cfg.REDIS_SERIALIZATION_PROTOCOL,
        "cache_config": None,
        "host": cfg.REDIS_HOST,
        "port": cfg.REDIS_PORT,
        "connection_class": connection_class,
    }
    if cfg.REDIS_MAX_CONNECTIONS:
        params["max_connections"] = cfg.REDIS_MAX_CONNECTIONS
    params.update(ssl_kwargs)
    return redis.Redis(connection_pool=redis.ConnectionPool(**params))


def dify_pubsub_client(cfg: DifyConfig) -> redis.Redis:
    """Dify's event-bus client (workflow events between api and worker): api/extensions/
    ext_redis.py @ 1.13.3 L248-259 _create_pubsub_client, standalone branch, called by init_app
    L281-285 with normalized_pubsub_redis_url. The URL carries no CA path and none of
    REDIS_SSL_*, so redis-py verifies the server (and its name) against OpenSSL's default store:
    the image's system store, whatever REDIS_SSL_CERT_REQS says."""
    url = cfg.normalized_pubsub_redis_url
    if cfg.REDIS_MAX_CONNECTIONS:
        return redis.Redis.from_url(url, max_connections=cfg.REDIS_MAX_CONNECTIONS)
    return redis.Redis.from_url(url)


def celery_ssl_options(cfg: DifyConfig) -> dict[str, Any] | None:
    """api/extensions/ext_celery.py @ 1.13.3 L13-43, _get_celery_ssl_options."""
    if not cfg.BROKER_USE_SSL:
        return None
    url = cfg.CELERY_BROKER_URL
    if not (url and (url.startswith("redis://") or url.startswith("rediss://"))):
        return None
    return {
        "ssl_cert_reqs": _CERT_REQS.get(cfg.REDIS_SSL_CERT_REQS, ssl.CERT_NONE),
        "ssl_ca_certs": cfg.REDIS_SSL_CA_CERTS,
        "ssl_certfile": cfg.REDIS_SSL_CERTFILE,
        "ssl_keyfile": cfg.REDIS_SSL_KEYFILE,
    }


def queue_monitor_client(cfg: DifyConfig) -> redis.Redis:
    """The broker client of Dify's dataset-queue monitor (api/schedule/queue_monitor_task.py @
    1.13.3 L13-28, imported only when ENABLE_DATASETS_QUEUE_MONITOR is true; off by default). It
    passes REDIS_SSL_CERT_REQS to redis-py as is, where redis-py wants none/optional/required."""
    from kombu.utils.url import parse_url

    broker = parse_url(cfg.CELERY_BROKER_URL)
    use_ssl = cfg.BROKER_USE_SSL
    return redis.Redis(
        host=broker.get("hostname") or "localhost",
        port=broker.get("port") or 6379,
        password=broker.get("password") or None,
        db=int(broker.get("virtual_host")) if broker.get("virtual_host") else 1,
        ssl=bool(use_ssl),
        ssl_ca_certs=cfg.REDIS_SSL_CA_CERTS if use_ssl else None,
        ssl_cert_reqs=cfg.REDIS_SSL_CERT_REQS if use_ssl else None,
        ssl_certfile=cfg.REDIS_SSL_CERTFILE if use_ssl else None,
        ssl_keyfile=cfg.REDIS_SSL_KEYFILE if use_ssl else None,
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


ROUNDTRIP_TASK = "artifact.redis_celery.roundtrip"

# api/docker/entrypoint.sh @ 1.13.3, DEFAULT_QUEUES of the community edition.
ENTRYPOINT_QUEUES = (
    "api_token,dataset,dataset_summary,priority_dataset,priority_pipeline,pipeline,mail,"
    "ops_trace,app_deletion,plugin,workflow_storage,conversation,workflow,schedule_poller,"
    "schedule_executor,triggered_workflow_dispatcher,trigger_refresh_executor,retention,"
    "workflow_based_app_execution"
).split(",")


def dify_celery_app(env: Mapping[str, str]) -> Celery:
    """The Celery app as api/extensions/ext_celery.py @ 1.13.3 init_app L56-98 configures it
    (Sentinel off; the log format and pytz's UTC zone left as Celery's defaults), plus this test's
    task."""
    cfg = DifyConfig(env)
    app = Celery("dify", broker=cfg.CELERY_BROKER_URL, backend=cfg.CELERY_BACKEND)
    app.conf.update(
        result_backend=cfg.CELERY_RESULT_BACKEND,
        broker_transport_options={},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        task_ignore_result=True,
        task_annotations=None,
    )
    if cfg.CELERY_BACKEND == "redis":
        app.conf.update(result_backend_transport_options={})
    ssl_options = celery_ssl_options(cfg)
    if ssl_options:
        app.conf.update(
            broker_use_ssl=ssl_options,
            redis_backend_use_ssl=ssl_options if cfg.CELERY_BACKEND == "redis" else None,
        )

    # Dify ignores results app-wide; a task whose caller waits opts out, as this one does, so
    # the result travels through the result backend.
    @app.task(name=ROUNDTRIP_TASK, ignore_result=False)
    def roundtrip(token: str) -> dict[str, Any]:
        # In the worker: write through Dify's cache client built from the worker's environment.
        worker_cfg = DifyConfig(os.environ)
        cache = dify_redis_client(worker_cfg)
        cache.set(f"artifact:roundtrip:{token}", token)
        return {"token": token, "cache_db": worker_cfg.REDIS_DB, "pid": os.getpid()}

    return app


# --- the template's environment, localized ------------------------------------------------------


def cache_endpoint_key(t: Template) -> str:
    logical_id, _ = t.only("AWS::ElastiCache::ReplicationGroup")
    return f"{logical_id}.PrimaryEndPoint.Address"


def container_env(t: Template, family: str) -> dict[str, str]:
    """What ECS gives the family's first container. Values other than the cache endpoint that
    only AWS knows (database endpoint, bucket, secrets of other accounts) get a placeholder, as
    nothing here reads them; a missing cache endpoint is an error."""
    cache_key = cache_endpoint_key(t)
    for _ in range(50):
        try:
            return t.container_env(t.container(family))
        except Unresolved as e:
            m = re.search(r"no local value for (?:secret )?(\S+?)(?: \(|'?$)", str(e))
            if not m or m.group(1) == cache_key:
                raise
            t.values[m.group(1)] = f"placeholder-for-{m.group(1)}"
    raise AssertionError(f"could not resolve the {family} container's environment")


def template_envs() -> tuple[Template, dict[str, dict[str, str]]]:
    t = Template("prd")
    t.values[cache_endpoint_key(t)] = CACHE_HOST
    envs = {f: container_env(t, f) for f in (*DIFY_FAMILIES, "plugin-daemon")}
    return t, envs


def localize(env: Mapping[str, str], port: int, bundle: Path) -> dict[str, str]:
    """The environment with the test server's port and the test CA bundle in place of the
    system store; everything else as the template gives it."""
    out = dict(env)
    assert out["REDIS_HOST"] == CACHE_HOST
    assert out["REDIS_PORT"] == str(TEMPLATE_PORT)
    out["REDIS_PORT"] = str(port)
    if "CELERY_BROKER_URL" in out:
        u = urlsplit(out["CELERY_BROKER_URL"])
        assert (u.hostname, u.port) == (CACHE_HOST, TEMPLATE_PORT), out["CELERY_BROKER_URL"]
        netloc = u.netloc.rsplit(":", 1)[0] + f":{port}"
        out["CELERY_BROKER_URL"] = urlunsplit(u._replace(netloc=netloc))
    if "REDIS_SSL_CA_CERTS" in out:
        assert out["REDIS_SSL_CA_CERTS"] == SYSTEM_STORE, out["REDIS_SSL_CA_CERTS"]
        out["REDIS_SSL_CA_CERTS"] = str(bundle)
    out["SSL_CERT_FILE"] = str(bundle)
    return out


def without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=""))


# --- a TLS redis-server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server listening on TLS only (port 0), on 127.0.0.1, with AUTH."""

    def __init__(self, binary: str, workdir: Path, cert: Path, key: Path, password: str):
        self.binary, self.workdir = binary, workdir
        self.cert, self.key, self.password = cert, key, password
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = workdir / "redis.log"

    def start(self) -> "RedisServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            self.port = _free_port()
            conf = self.workdir / "redis.conf"
            conf.write_text(
                "port 0\n"
                f"tls-port {self.port}\n"
                "bind 127.0.0.1\n"
                f"tls-cert-file {self.cert}\n"
                f"tls-key-file {self.key}\n"
                "tls-auth-clients no\n"
                f'requirepass "{self.password}"\n'
                'save ""\n'
                "appendonly no\n"
                f"dir {self.workdir}\n"
                "daemonize no\n"
            )
            conf.chmod(0o600)
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(
                    [self.binary, str(conf)], stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                text = self.log.read_text(errors="replace")
                if "Ready to accept connections" in text:
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
            text = self.log.read_text(errors="replace")
            self.stop()
            if "Address already in use" in text:
                continue
            if "tls" in text.lower() and ("Bad directive" in text or "not built with TLS" in text):
                pytest.fail(
                    f"{self.binary} cannot serve TLS ({text.strip().splitlines()[-1:]}); "
                    + INSTALL_REDIS
                )
            pytest.fail(f"{self.binary} did not start:\n{text[-2000:]}\n" + INSTALL_REDIS)
        pytest.fail(f"{self.binary}: no free port after 3 tries:\n{self.log.read_text()[-1000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def admin(self, ca: Path, db: int = 0) -> redis.Redis:
        """A client of the test's own (not Dify's), for looking at what the others wrote."""
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, db=db, ssl=True,
            ssl_ca_certs=str(ca), ssl_cert_reqs=ssl.CERT_REQUIRED, ssl_check_hostname=False,
        )


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_binary() -> str:
    binary = require("redis-server", INSTALL_REDIS)
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except OSError as e:
        pytest.fail(f"{binary} does not run ({e}); " + INSTALL_REDIS)
    if version.returncode != 0:
        pytest.fail(f"{binary} --version failed: {version.stderr}; " + INSTALL_REDIS)
    return binary


@pytest.fixture(scope="module")
def template():
    return template_envs()


@pytest.fixture(scope="module")
def token(template) -> str:
    t, envs = template
    return envs["worker"]["REDIS_PASSWORD"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A test CA and a server certificate it signs for localhost; a second, untrusted CA and a
    certificate of its own; the bundle standing in for the image's system store."""
    import trustme

    d = tmp_path_factory.mktemp("pki")
    out: dict[str, Path] = {}
    for name, ca in (("trusted", trustme.CA()), ("rogue", trustme.CA())):
        leaf = ca.issue_cert(CACHE_HOST, "127.0.0.1")
        ca.cert_pem.write_to_path(str(d / f"{name}-ca.pem"))
        leaf.private_key_pem.write_to_path(str(d / f"{name}-key.pem"))
        leaf.cert_chain_pems[0].write_to_path(str(d / f"{name}-cert.pem"))
        out[f"{name}_ca"] = d / f"{name}-ca.pem"
        out[f"{name}_cert"] = d / f"{name}-cert.pem"
        out[f"{name}_key"] = d / f"{name}-key.pem"
    system = Path(SYSTEM_STORE)
    bundle = d / "ca-certificates.crt"
    bundle.write_text(
        (system.read_text() if system.exists() else "") + out["trusted_ca"].read_text()
    )
    out["bundle"] = bundle
    return out


@pytest.fixture(scope="module")
def servers(redis_binary, pki, token, tmp_path_factory):
    """The cache (trusted CA) and an impostor on another port (untrusted CA), same token."""
    base = tmp_path_factory.mktemp("redis")
    real = RedisServer(redis_binary, base / "real", pki["trusted_cert"], pki["trusted_key"], token)
    rogue = RedisServer(redis_binary, base / "rogue", pki["rogue_cert"], pki["rogue_key"], token)
    try:
        real.start()
        rogue.start()
        yield {"real": real, "rogue": rogue}
    finally:
        real.stop()
        rogue.stop()


@pytest.fixture
def envs(template, servers, pki, monkeypatch) -> dict[str, dict[str, str]]:
    """Each family's environment, localized to the cache; this process sees the image's
    default store (SSL_CERT_FILE) as the containers would."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["bundle"]))
    _, raw = template
    return {f: localize(e, servers["real"].port, pki["bundle"]) for f, e in raw.items()}


# --- what the template gives --------------------------------------------------------------------


def test_template_redis_settings_are_what_dify_needs(template):
    """TLS with verification against the system store, AUTH with the generated token shared by
    REDIS_PASSWORD and the broker URL, cache in db 0, broker and results in db 1."""
    t, envs = template
    auth_id, _ = t.only("AWS::SecretsManager::Secret", "AuthToken")
    token = t.secret_string(auth_id)
    assert re.fullmatch(r"[A-Za-z0-9]{32,}", token), "AUTH token: ElastiCache allows no punctuation"
    for family in DIFY_FAMILIES:
        env = envs[family]
        cfg = DifyConfig(env)
        assert cfg.REDIS_HOST == CACHE_HOST and cfg.REDIS_PORT == TEMPLATE_PORT, family
        assert cfg.REDIS_USE_SSL is True, family
        assert _CERT_REQS.get(cfg.REDIS_SSL_CERT_REQS, ssl.CERT_NONE) == ssl.CERT_REQUIRED, (
            f"{family}: REDIS_SSL_CERT_REQS={cfg.REDIS_SSL_CERT_REQS!r} is CERT_NONE to Dify"
        )
        assert cfg.REDIS_SSL_CA_CERTS == SYSTEM_STORE, family
        assert cfg.REDIS_PASSWORD == token, f"{family}: REDIS_PASSWORD is not the AUTH token"
        assert cfg.REDIS_DB == 0, family

        url = urlsplit(cfg.CELERY_BROKER_URL)
        assert url.scheme == "rediss", f"{family}: the broker URL must use TLS"
        assert (url.hostname, url.port) == (cfg.REDIS_HOST, cfg.REDIS_PORT), family
        assert unquote(url.password or "") == token and not url.username, family
        assert url.path == "/1", f"{family}: broker db is {url.path}, want /1 (cache is db 0)"
        assert cfg.BROKER_USE_SSL is True  # computed by Dify from the rediss:// scheme
        assert cfg.CELERY_BACKEND == "redis" and cfg.CELERY_RESULT_BACKEND == cfg.CELERY_BROKER_URL
        assert cfg.normalized_pubsub_redis_url.startswith("rediss://"), family

        # The queue monitor's client cannot take REDIS_SSL_CERT_REQS=CERT_REQUIRED (see
        # queue_monitor_client): it must stay off while that is the value.
        assert not _bool(env.get("ENABLE_DATASETS_QUEUE_MONITOR", "false")), family

    daemon = envs["plugin-daemon"]
    assert daemon["REDIS_HOST"] == CACHE_HOST and daemon["REDIS_PORT"] == str(TEMPLATE_PORT)
    assert _bool(daemon["REDIS_USE_SSL"]) is True
    assert daemon["REDIS_PASSWORD"] == token
    assert daemon.get("REDIS_DB", "0") == "0"
    # dify-plugin-daemon (config RedisTLSConfig, docs/research-dify-daemon.md §2.3): an empty
    # REDIS_SSL_CERT_REQS verifies against the system roots; CERT_NONE skips verification;
    # CERT_REQUIRED refuses to start without a REDIS_SSL_CA_CERTS file.
    reqs = daemon.get("REDIS_SSL_CERT_REQS", "").strip().upper()
    assert reqs != "CERT_NONE"
    assert reqs != "CERT_REQUIRED" or daemon.get("REDIS_SSL_CA_CERTS", "").strip()


def test_template_sets_no_redis_or_celery_variable_dify_ignores(template):
    """Every REDIS_/CELERY_/BROKER_/PUBSUB_ variable given to the dify-api containers is a
    setting Dify 1.13.3 reads. BROKER_USE_SSL is not one: Dify computes it from the broker URL's
    scheme (a property of CeleryConfig in api/configs/middleware/__init__.py), so a value in the
    environment changes nothing."""
    _, envs = template
    ignored = {
        family: sorted(
            name for name in envs[family]
            if name.startswith(("REDIS_", "CELERY_", "BROKER_", "PUBSUB_", "EVENT_BUS_"))
            and name not in DIFY_READS
        )
        for family in DIFY_FAMILIES
    }
    assert not any(ignored.values()), f"variables Dify 1.13.3 never reads: {ignored}"


# --- redis-py, as Dify and the plugin daemon connect --------------------------------------------


def test_dify_redis_clients_connect_over_tls_with_auth(envs, servers, pki):
    """Dify's cache client (REDIS_SSL_CA_CERTS) and event-bus client (system store) in every
    dify-api container, and the plugin daemon's settings, reach the cache over verified TLS."""
    admin0 = servers["real"].admin(pki["trusted_ca"], db=0)
    for family in DIFY_FAMILIES:
        cfg = DifyConfig(envs[family])
        cache = dify_redis_client(cfg)
        assert cache.connection_pool.connection_class is SSLConnection
        key = f"artifact:cache:{family}:{uuid.uuid4().hex}"
        assert cache.set(key, family) is True
        assert cache.get(key) == family.encode()
        assert admin0.get(key) == family.encode(), "the cache client writes to db 0"
        conn = cache.connection_pool.get_connection()
        try:
            assert conn._sock.version() in ("TLSv1.2", "TLSv1.3")
            assert conn.cert_reqs == ssl.CERT_REQUIRED and conn.ca_certs == str(pki["bundle"])
        finally:
            cache.connection_pool.release(conn)

        bus = dify_pubsub_client(cfg)
        assert bus.connection_pool.connection_class is SSLConnection
        assert bus.connection_pool.connection_kwargs.get("ssl_ca_certs") is None  # default store
        sub = bus.pubsub()
        sub.subscribe(f"artifact:bus:{family}")
        assert sub.get_message(timeout=5)["type"] == "subscribe"
        assert bus.publish(f"artifact:bus:{family}", b"event") == 1
        msg = sub.get_message(timeout=5)
        assert msg and msg["data"] == b"event", msg
        sub.close()
        for c in (cache, bus):
            c.close()

    # dify-plugin-daemon (Go, go-redis): REDIS_USE_SSL with REDIS_SSL_CERT_REQS and
    # REDIS_SSL_CA_CERTS unset gives a tls.Config with MinVersion TLS 1.2 and the system roots,
    # which Go on Linux also takes from SSL_CERT_FILE, checking the host name. The redis-py
    # equivalent, with the daemon's settings:
    daemon = envs["plugin-daemon"]
    assert not daemon.get("REDIS_SSL_CA_CERTS")
    client = redis.Redis(
        host=daemon["REDIS_HOST"], port=int(daemon["REDIS_PORT"]),
        username=daemon.get("REDIS_USERNAME") or None, password=daemon["REDIS_PASSWORD"],
        db=int(daemon.get("REDIS_DB", "0")), ssl=_bool(daemon["REDIS_USE_SSL"]),
        ssl_cert_reqs=ssl.CERT_REQUIRED, ssl_check_hostname=True,
        ssl_min_version=ssl.TLSVersion.TLSv1_2,
    )
    assert client.ping() is True
    client.close()

    # The dataset-queue monitor, were it on, could not connect with these settings.
    with pytest.raises(redis.RedisError, match="Invalid SSL Certificate Requirements Flag"):
        queue_monitor_client(DifyConfig(envs["beat"])).ping()


def test_untrusted_server_and_wrong_password_are_refused(envs, servers, pki):
    """The same settings against a server whose certificate comes from another CA fail
    verification; a wrong or missing password fails AUTH."""
    rogue_port = servers["rogue"].port
    for family in DIFY_FAMILIES:
        env = dict(envs[family], REDIS_PORT=str(rogue_port))
        cfg = DifyConfig(env)
        for client in (dify_redis_client(cfg), dify_pubsub_client(cfg)):
            with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
                client.ping()

        for password in ("wrong-" + cfg.REDIS_PASSWORD, ""):
            bad = DifyConfig(dict(envs[family], REDIS_PASSWORD=password))
            with pytest.raises(redis.AuthenticationError):
                dify_redis_client(bad).ping()


# --- Celery and kombu, as Dify configures them --------------------------------------------------


def _subprocess_env(env: Mapping[str, str], extra_path: Path) -> dict[str, str]:
    """The container's environment and what it takes to run Python here, nothing from this
    shell (no SSL_CERT_DIR, no CELERY_* left over)."""
    return {
        **env,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(extra_path), str(HERE)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": os.environ.get("HOME", "/tmp"),
    }


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_celery_worker_runs_a_task_sent_by_the_api(envs, servers, pki, tmp_path):
    """A ``celery worker`` with the worker container's environment consumes from the broker URL;
    a producer with the api container's environment sends a task and gets its result through the
    result backend. The broker and results live in db 1, the cache in db 0."""
    (tmp_path / "artifact_worker_app.py").write_text(
        "import os\n"
        "from test_redis_celery import dify_celery_app\n"
        "app = dify_celery_app(os.environ)\n"
    )
    worker_log = tmp_path / "worker.log"
    with open(worker_log, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "artifact_worker_app:app", "worker",
             "-P", "solo", "-c", "1", "--loglevel", "INFO", "-n", "artifact@%h",
             # The queues api/docker/entrypoint.sh @ 1.13.3 passes with -Q: CELERY_WORKER_QUEUES
             # when set (the template sets it when worker_long takes the long queues), else
             # its community-edition default list.
             "-Q", envs["worker"].get("CELERY_WORKER_QUEUES") or ",".join(ENTRYPOINT_QUEUES)],
            cwd=tmp_path, env=_subprocess_env(envs["worker"], tmp_path),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        token = uuid.uuid4().hex
        producer = subprocess.run(
            [sys.executable, "-c",
             "import json, os, sys\n"
             "from test_redis_celery import dify_celery_app, ROUNDTRIP_TASK\n"
             "app = dify_celery_app(os.environ)\n"
             # The queue Dify's mail tasks use: the worker consumes it in every layout.
             "r = app.send_task(ROUNDTRIP_TASK, args=[sys.argv[1]], queue='mail')\n"
             "print(json.dumps({'id': r.id, 'result': r.get(timeout=25)}))\n",
             token],
            cwd=tmp_path, env=_subprocess_env(envs["api"], tmp_path),
            capture_output=True, text=True, timeout=40,
        )
        worker_text = lambda: worker_log.read_text(errors="replace")[-4000:]  # noqa: E731
        assert producer.returncode == 0, (
            f"producer failed:\n{producer.stderr[-4000:]}\n--- worker ---\n{worker_text()}"
        )
        out = json.loads(producer.stdout.strip().splitlines()[-1])
        assert out["result"]["token"] == token
        assert out["result"]["pid"] == worker.pid, "the worker process ran the task"
        assert out["result"]["cache_db"] == 0

        db0 = servers["real"].admin(pki["trusted_ca"], db=0)
        db1 = servers["real"].admin(pki["trusted_ca"], db=1)
        assert db0.get(f"artifact:roundtrip:{token}") == token.encode(), "worker's cache is db 0"
        assert db1.exists(f"celery-task-meta-{out['id']}"), "result backend is db 1"
        assert db1.exists("_kombu.binding.mail"), "broker is db 1"
        assert not db0.keys("celery-task-meta-*") and not db0.keys("_kombu.*"), "nothing of Celery in db 0"
        assert f"{ROUNDTRIP_TASK}" in worker_text()
    finally:
        _stop(worker)


def test_celery_beat_environment_reaches_broker(envs):
    """celery beat only publishes: its environment's broker connection and backend work too."""
    app = dify_celery_app(envs["beat"])
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.default_channel.client.ping() is True
    assert app.backend.client.ping() is True


def _broker_ping(app: Celery) -> bool:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=5)
        return conn.default_channel.client.ping()


def test_ssl_cert_reqs_in_the_broker_url(envs, servers, monkeypatch):
    """What `?ssl_cert_reqs=CERT_REQUIRED` in the broker URL does with the pinned celery/kombu.

    * Plain Celery refuses a rediss:// result backend URL without it (ValueError), and kombu's
      broker then silently skips verification, as aws-samples PR #80 reports.
    * Dify 1.13.3 passes broker_use_ssl and redis_backend_use_ssl built from REDIS_SSL_*, so it
      accepts the URL without the parameter, verifying against REDIS_SSL_CA_CERTS.
    * With the parameter, kombu's broker connection takes its ssl options from the URL alone: the
      broker then verifies against OpenSSL's default store (in the image, the system store),
      not REDIS_SSL_CA_CERTS; the result backend keeps both.
    """
    env = envs["worker"]
    url = env["CELERY_BROKER_URL"]
    assert urlsplit(url).query == "ssl_cert_reqs=CERT_REQUIRED"
    bare_url = without_query(url)
    rogue_bare_url = bare_url.replace(f":{servers['real'].port}/", f":{servers['rogue'].port}/")

    # Plain Celery, no ssl_cert_reqs: the backend refuses, the broker does not verify at all.
    plain = Celery("plain", broker=rogue_bare_url, backend=rogue_bare_url)
    with pytest.raises(ValueError, match="ssl_cert_reqs"):
        plain.backend  # noqa: B018 (instantiates the redis result backend)
    with plain.connection_for_write() as conn:
        assert conn.ssl == {"ssl_cert_reqs": ssl.CERT_NONE}
    assert _broker_ping(plain) is True, "connected to the untrusted server without verifying"

    # Plain Celery with the template's URL: accepted, and verified.
    plain = Celery("plain", broker=url, backend=url)
    assert plain.backend.connparams["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert plain.backend.client.ping() is True and _broker_ping(plain) is True

    # Dify 1.13.3 without the parameter: accepted, broker and backend verify with the CA path.
    dify = dify_celery_app(dict(env, CELERY_BROKER_URL=bare_url))
    assert dify.backend.connparams["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert dify.backend.connparams["ssl_ca_certs"] == env["REDIS_SSL_CA_CERTS"]
    with dify.connection_for_write() as conn:
        assert conn.ssl == celery_ssl_options(DifyConfig(env))
    assert dify.backend.client.ping() is True and _broker_ping(dify) is True
    rogue = dify_celery_app(dict(env, CELERY_BROKER_URL=rogue_bare_url))
    with pytest.raises(Exception, match="certificate verify failed"):
        _broker_ping(rogue)
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        rogue.backend.client.ping()

    # Dify 1.13.3 with the template's URL: the URL's ssl options replace broker_use_ssl.
    dify = dify_celery_app(env)
    with dify.connection_for_write() as conn:
        assert conn.ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}, conn.ssl
    assert dify.backend.connparams["ssl_ca_certs"] == env["REDIS_SSL_CA_CERTS"]
    monkeypatch.delenv("SSL_CERT_FILE")  # this machine's store: no test CA in it
    assert dify.backend.client.ping() is True
    with pytest.raises(Exception, match="certificate verify failed"):
        _broker_ping(dify_celery_app(env))
