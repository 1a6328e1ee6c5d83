"""The migration task's `bootstrap` and `verify` containers, run as the template defines them.

Each container's EntryPoint + Command (``python -c <script>``) runs with the environment ECS
would give it (``Environment`` plus resolved ``Secrets``, from ``cfn-out/dify-prd``), against a
real PostgreSQL, as a master user with only what Aurora's master has (CREATEDB, CREATEROLE, not
superuser). Only what cannot be the same here is replaced: the writer's host and port, and the
database and role names, made unique per run so reruns and parallel runs do not collide.

Needs PGTEST_HOST/PORT/USER/PASSWORD (a superuser the test uses to set up and clean up):
``source scripts/env.sh && ensure_postgres`` starts Debian's PostgreSQL and exports them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import string
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from cfn import Template
from local import free_port

HOW = "run `source scripts/env.sh && ensure_postgres` first (starts PostgreSQL, exports PGTEST_*)"
DONE = "databases and extensions are in place"
# What the template must hand each container (names as ECS sees them).
BOOTSTRAP_KEYS = {"DB_HOST", "DB_PORT", "DB_DATABASE", "PLUGIN_DB_DATABASE", "MASTER_CREDENTIALS",
                  "APP_USER", "APP_PASSWORD", "APP_ALT_USER", "APP_ALT_PASSWORD",
                  "PLUGIN_DB_USER", "PLUGIN_DB_PASSWORD"}
VERIFY_KEYS = {"DB_HOST", "DB_PORT", "DB_DATABASE", "MIGRATIONS_DIR", "DB_USERNAME", "DB_PASSWORD"}


@dataclass(frozen=True)
class Pg:
    host: str
    port: str
    user: str
    password: str

    def connect(self, db: str = "postgres", user: str | None = None, password: str | None = None):
        c = psycopg2.connect(host=self.host, port=int(self.port), dbname=db, connect_timeout=10,
                             user=user or self.user, password=password or self.password)
        c.autocommit = True
        return c

    @contextmanager
    def cursor(self, db: str = "postgres", user: str | None = None, password: str | None = None):
        """An autocommit session (`with connection` would open a transaction), closed after."""
        with closing(self.connect(db, user, password)) as c, c.cursor() as cur:
            yield cur

    def admin(self, sql: str, db: str = "postgres", args=None) -> list[tuple]:
        with self.cursor(db) as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def pg() -> Pg:
    names = ("PGTEST_HOST", "PGTEST_PORT", "PGTEST_USER", "PGTEST_PASSWORD")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: {HOW}", pytrace=False)
    pg = Pg(*(os.environ[n] for n in names))
    try:
        (superuser,), = pg.admin("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    except psycopg2.Error as e:
        pytest.fail(f"no PostgreSQL at {pg.host}:{pg.port} as {pg.user}: {e}\n{HOW}", pytrace=False)
    if not superuser:
        pytest.fail(f"PGTEST_USER {pg.user} must be a superuser: {HOW}", pytrace=False)
    return pg


def template(pg: Pg) -> Template:
    """cfn-out/dify-prd with the writer endpoint resolving to the local server. A fresh instance
    generates fresh secrets: what Secrets Manager holds after a rotation."""
    t = Template("prd")
    cluster, resource = t.only("AWS::RDS::DBCluster")
    t.values[f"{cluster}.Endpoint.Address"] = pg.host
    props = resource["Properties"]
    if props.get("ManageMasterUserPassword"):
        # RDS makes the master secret, {"username", "password"}; its password may hold any
        # printable ASCII but '/', '"', '@' and space.
        arn = f"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!cluster-{uuid.uuid4()}-AbCdEf"
        alphabet = [c for c in string.ascii_letters + string.digits + string.punctuation if c not in '/"@']
        password = "".join(secrets.choice(alphabet) for _ in range(28))
        t.values[f"{cluster}.MasterUserSecret.SecretArn"] = arn
        t.values[arn] = json.dumps({"username": t.resolve(props["MasterUsername"]), "password": password})
    return t


class World:
    """One run's names, and the template's containers with what they see, made local."""

    def __init__(self, pg: Pg, t: Template):
        self.pg, self.t, self.suffix = pg, t, f"t{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.bootstrap = t.container("migration", "bootstrap")
        self.verify = t.container("migration", "verify")
        self.env = self.local(t, self.bootstrap)
        assert BOOTSTRAP_KEYS <= self.env.keys(), f"bootstrap lacks {BOOTSTRAP_KEYS - self.env.keys()}"
        self.master = json.loads(self.env["MASTER_CREDENTIALS"])
        self.db, self.plugin_db = self.env["DB_DATABASE"], self.env["PLUGIN_DB_DATABASE"]
        self.app, self.plugin = self.env["APP_USER"], self.env["PLUGIN_DB_USER"]
        self.alt = self.env["APP_ALT_USER"]

    def local(self, t: Template, container: dict) -> dict[str, str]:
        """The container's environment from template `t`, with the local host, port and names."""
        env = t.container_env(container)
        assert env["DB_HOST"] == self.pg.host
        assert env["DB_PORT"] == "5432", "the task connects on Aurora PostgreSQL's port"
        env["DB_PORT"] = self.pg.port
        for k in ("DB_DATABASE", "PLUGIN_DB_DATABASE", "APP_USER", "APP_ALT_USER", "PLUGIN_DB_USER",
                  "DB_USERNAME"):
            if k in env:
                env[k] = self.name(env[k])
        if "MASTER_CREDENTIALS" in env:
            master = json.loads(env["MASTER_CREDENTIALS"])
            master["username"] = self.name(master["username"])
            env["MASTER_CREDENTIALS"] = json.dumps(master)
        return env

    def name(self, template_name: str) -> str:
        return f"{template_name}_{self.suffix}"

    @staticmethod
    def start(container: dict, env: dict[str, str], cwd=None) -> subprocess.Popen:
        """The container's EntryPoint + Command exactly as given, with only `env` (and a PATH
        whose `python` is this venv's, standing in for the api image's)."""
        cmd = list(container.get("EntryPoint", [])) + list(container.get("Command", []))
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        assert shutil.which(cmd[0], path=path), f"{cmd[0]} not on {path}"
        return subprocess.Popen(cmd, env={"PATH": path, **env}, cwd=cwd, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, container: dict, env: dict[str, str], timeout: float = 120, cwd=None):
        """`start`, then wait for it: a CompletedProcess."""
        with self.start(container, env, cwd) as proc:
            try:
                out, err = proc.communicate(timeout=timeout)
            finally:
                proc.kill()
        return subprocess.CompletedProcess(proc.args[:2], proc.returncode, out, err)


@pytest.fixture
def world(pg):
    w = World(pg, template(pg))
    master = w.master
    try:
        # What Aurora gives: a master with CREATEDB/CREATEROLE owning the initial database.
        pg.admin(f'CREATE ROLE "{master["username"]}" LOGIN CREATEDB CREATEROLE PASSWORD %s',
                 args=(master["password"],))
        pg.admin(f'CREATE DATABASE "{w.db}" OWNER "{master["username"]}"')
        yield w
    finally:
        for db in (w.db, w.plugin_db):
            pg.admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for role in (w.alt, w.app, w.plugin, master["username"]):
            pg.admin(f'DROP ROLE IF EXISTS "{role}"')


def ok(result, what: str) -> str:
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout


def state(w: World) -> dict:
    """Everything the bootstrap decides, as the superuser sees it (passwords aside)."""
    pg, roles, dbs = w.pg, [w.app, w.alt, w.plugin, w.master["username"]], [w.db, w.plugin_db]
    s = {
        "roles": pg.admin("SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolinherit"
                          " FROM pg_roles WHERE rolname = ANY(%s) ORDER BY 1", args=(roles,)),
        "members": pg.admin("SELECT r.rolname, u.rolname FROM pg_auth_members m"
                            " JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member"
                            " WHERE r.rolname = ANY(%s) OR u.rolname = ANY(%s) ORDER BY 1, 2",
                            args=(roles, roles)),
        "databases": {name: (owner, acl) for name, owner, acl in pg.admin(
            "SELECT datname, pg_get_userbyid(datdba), datacl::text FROM pg_database"
            " WHERE datname = ANY(%s)", args=(dbs,))},
    }
    for db in dbs:
        s[db] = pg.admin("SELECT pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace"
                         " WHERE nspname = 'public'", db=db)
        s[db] += pg.admin("SELECT extname, pg_get_userbyid(extowner) FROM pg_extension ORDER BY 1", db=db)
    return s


def denied(connect) -> str:
    with pytest.raises(psycopg2.Error) as e:
        connect().close()
    return str(e.value)


def test_bootstrap_twice_separates_app_and_plugin_roles(world):
    w, pg = world, world.pg
    assert w.bootstrap["Essential"] is False, "migrate waits on bootstrap's SUCCESS instead"
    assert DONE in ok(w.run(w.bootstrap, w.env), "first bootstrap")
    first = state(w)

    # Every rollout runs it again; rotated passwords must take effect and nothing else change.
    rotated = w.local(template(pg), w.bootstrap)
    rotated["MASTER_CREDENTIALS"] = w.env["MASTER_CREDENTIALS"]  # the cluster's, set up once
    assert rotated["APP_PASSWORD"] != w.env["APP_PASSWORD"]
    assert DONE in ok(w.run(w.bootstrap, rotated), "second bootstrap")
    assert state(w) == first, "a second run changed roles, ownership, privileges or extensions"

    app_pw, plugin_pw = rotated["APP_PASSWORD"], rotated["PLUGIN_DB_PASSWORD"]
    assert "password authentication failed" in denied(
        lambda: pg.connect(w.db, w.app, w.env["APP_PASSWORD"]))
    assert "password authentication failed" in denied(
        lambda: pg.connect(w.plugin_db, w.plugin, w.env["PLUGIN_DB_PASSWORD"]))

    # The app role: owner of dify and its public schema, with the extensions; nothing more.
    with pg.cursor(w.db, w.app, app_pw) as cur:
        cur.execute("CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT uuid_generate_v4())")
        cur.execute("INSERT INTO accounts DEFAULT VALUES")
        cur.execute("SELECT extname FROM pg_extension")
        assert {"vector", "uuid-ossp"} <= {r[0] for r in cur.fetchall()}
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False), "the app role must not be privileged"
    assert first["databases"][w.db][0] == w.app
    assert first[w.db][0][0] == w.app, "the app role owns dify's public schema"

    # The plugin role: owner of dify_plugin and its schema, can build its tables there.
    with pg.cursor(w.plugin_db, w.plugin, plugin_pw) as cur:
        cur.execute("CREATE TABLE plugins (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), name text)")
        cur.execute("INSERT INTO plugins (name) VALUES ('p') RETURNING id")
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False), "the daemon must not need CREATEDB"
    assert first["databases"][w.plugin_db][0] == w.plugin
    assert first[w.plugin_db][0][0] == w.plugin, "the plugin role owns dify_plugin's public schema"

    # ... and cannot reach Dify's main database in any way.
    assert "permission denied for database" in denied(lambda: pg.connect(w.db, w.plugin, plugin_pw))
    (member, connect, table), = pg.admin(
        "SELECT pg_has_role(%s, %s, 'MEMBER'), has_database_privilege(%s, %s, 'CONNECT'),"
        " has_table_privilege(%s, 'public.accounts', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')",
        db=w.db, args=(w.plugin, w.app, w.plugin, w.db, w.plugin))
    assert (member, connect, table) == (False, False, False), \
        f"plugin role: member of app {member}, CONNECT on dify {connect}, rights on its tables {table}"


def test_rotation_alternates_two_logins_with_no_downtime(world):
    """A rotation (database.app_credentials_generation + 1) gives the idle login a new password
    and moves the services to it; tasks still running keep connecting with the other's. To
    Dify both logins are one user: what either creates belongs to the app role."""
    w, pg = world, world.pg
    ok(w.run(w.bootstrap, w.env), "bootstrap")
    with pg.cursor(w.db, w.app, w.env["APP_PASSWORD"]) as cur:
        cur.execute("CREATE TABLE apps (id int)")
        cur.execute("INSERT INTO apps VALUES (1)")

    # Generation 1: only the alternate login's secret is regenerated.
    gen1 = dict(w.env, APP_ALT_PASSWORD=w.local(template(pg), w.bootstrap)["APP_ALT_PASSWORD"])
    assert gen1["APP_ALT_PASSWORD"] != w.env["APP_ALT_PASSWORD"]
    ok(w.run(w.bootstrap, gen1), "bootstrap at generation 1")
    with pg.cursor(w.db, w.app, w.env["APP_PASSWORD"]) as cur:  # a task of generation 0
        cur.execute("SELECT count(*) FROM apps")
        assert cur.fetchone() == (1,)
    with pg.cursor(w.db, w.alt, gen1["APP_ALT_PASSWORD"]) as cur:  # a task of generation 1
        cur.execute("SELECT current_user, session_user")
        assert cur.fetchone() == (w.app, w.alt), "the alternate login acts as the app role"
        cur.execute("INSERT INTO apps VALUES (2)")
        cur.execute("CREATE TABLE workflows (id int)")
    (owner,), = pg.admin("SELECT tableowner FROM pg_tables WHERE tablename = 'workflows'", db=w.db)
    assert owner == w.app, "tables made through the alternate login belong to the app role"

    # Generation 2: the app login gets a new password; generation 1's tasks keep theirs.
    gen2 = dict(gen1, APP_PASSWORD=w.local(template(pg), w.bootstrap)["APP_PASSWORD"])
    ok(w.run(w.bootstrap, gen2), "bootstrap at generation 2")
    with pg.cursor(w.db, w.alt, gen1["APP_ALT_PASSWORD"]) as cur:
        cur.execute("SELECT count(*) FROM workflows")
    with pg.cursor(w.db, w.app, gen2["APP_PASSWORD"]) as cur:
        cur.execute("SELECT count(*) FROM apps")
        assert cur.fetchone() == (2,)
    assert "password authentication failed" in denied(
        lambda: pg.connect(w.db, w.app, w.env["APP_PASSWORD"]))
    # Neither login is a way into the plugin database.
    assert "permission denied for database" in denied(
        lambda: pg.connect(w.plugin_db, w.alt, gen1["APP_ALT_PASSWORD"]))
    assert "permission denied for database" in denied(
        lambda: pg.connect(w.plugin_db, w.app, gen2["APP_PASSWORD"]))


def test_bootstrap_hands_an_earlier_plugin_database_to_the_plugin_role(world):
    # The earlier layout: the app role owned both databases, the daemon built its tables as it.
    w, pg = world, world.pg
    master = w.master["username"]
    pg.admin(f'CREATE ROLE "{w.app}" LOGIN PASSWORD \'old\'')
    pg.admin(f'GRANT "{w.app}" TO "{master}"')
    pg.admin(f'ALTER DATABASE "{w.db}" OWNER TO "{w.app}"')
    pg.admin(f'CREATE DATABASE "{w.plugin_db}" OWNER "{w.app}"')
    pg.admin(f'ALTER SCHEMA public OWNER TO "{w.app}"; SET ROLE "{w.app}";'
             " CREATE TABLE plugins (id serial PRIMARY KEY, name text);"
             " INSERT INTO plugins (name) VALUES ('kept')", db=w.plugin_db)

    assert DONE in ok(w.run(w.bootstrap, w.env), "bootstrap over the earlier layout")
    plugin_pw = w.env["PLUGIN_DB_PASSWORD"]
    assert "permission denied for database" in denied(lambda: w.pg.connect(w.db, w.plugin, plugin_pw))
    assert DONE in ok(w.run(w.bootstrap, w.env), "bootstrap again")
    with pg.cursor(w.plugin_db, w.plugin, plugin_pw) as cur:
        cur.execute("ALTER TABLE plugins ADD COLUMN version text")  # the daemon's own migrations
        cur.execute("INSERT INTO plugins (name) VALUES ('new')")
        cur.execute("SELECT name FROM plugins ORDER BY id")
        assert cur.fetchall() == [("kept",), ("new",)]
    (db_owner,), (plugin_owner,) = pg.admin(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = ANY(%s) ORDER BY datname = %s",
        args=([w.db, w.plugin_db], w.plugin_db))
    assert (db_owner, plugin_owner) == (w.app, w.plugin)


class Forwarder:
    """A TCP port that forwards to PostgreSQL once started: a database that comes up late."""

    def __init__(self, port: int, pg: Pg):
        self.sock = socket.create_server(("127.0.0.1", port))
        self.target = (pg.host, int(pg.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def test_bootstrap_waits_for_a_database_that_comes_up_late(world):
    w = world
    port = free_port()
    env = {**w.env, "DB_PORT": str(port), "BOOTSTRAP_CONNECT_TIMEOUT_SECONDS": "60"}
    with w.start(w.bootstrap, env) as proc:
        time.sleep(2.5)
        forwarder = Forwarder(port, w.pg)
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
            forwarder.close()
    assert proc.returncode == 0, f"bootstrap exited {proc.returncode}:\n{out}{err}"
    assert "connection attempt 1 failed" in out, out
    assert DONE in out


def test_bootstrap_gives_up_within_its_bound(world):
    # A server that accepts TCP but never answers: each attempt waits for its own timeout.
    w = world
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        env = {**w.env, "DB_PORT": str(silent.getsockname()[1]),
               "BOOTSTRAP_CONNECT_TIMEOUT_SECONDS": "5"}
        start = time.monotonic()
        result = w.run(w.bootstrap, env, timeout=60)
        elapsed = time.monotonic() - start
    assert result.returncode != 0, result.stdout
    assert "gave up" in result.stderr and "5 s" in result.stderr, result.stdout + result.stderr
    assert "connection attempt 1 failed" in result.stdout, result.stdout
    assert elapsed < 5 + 4, f"took {elapsed:.1f} s for a 5 s bound"


# --- verify --------------------------------------------------------------------------------

ENV_PY = """\
# What an api image's migrations/env.py does, minus Flask: migrate the configured database.
import os
import sqlalchemy as sa
from alembic import context

url = sa.engine.URL.create("postgresql+psycopg2", username=os.environ["DB_USERNAME"],
                           password=os.environ["DB_PASSWORD"], host=os.environ["DB_HOST"],
                           port=int(os.environ["DB_PORT"]), database=os.environ["DB_DATABASE"])
with sa.create_engine(url).connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""

REVISION = """\
import sqlalchemy as sa
from alembic import op

import models as models  # as Dify's revisions do: `models` sits next to `migrations`

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    {upgrade}
"""


def migrations(root: Path) -> Path:
    """An api image's layout, <root>/api/{models.py, migrations/{env.py, versions/}}: a root
    revision, then two branches from it (two heads)."""
    api = root / "api"
    (api / "migrations" / "versions").mkdir(parents=True)
    (api / "models.py").write_text("UUID = 'uuid'\n")
    (api / "migrations" / "env.py").write_text(ENV_PY)
    (api / "migrations" / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    for rev, down, upgrade in (
        ("a1f0c0de0001", None,
         "op.create_table('accounts', sa.Column('id', sa.Uuid, primary_key=True,"
         " server_default=sa.text('uuid_generate_v4()')))"),
        ("b2f0c0de0002", "a1f0c0de0001", "op.add_column('accounts', sa.Column('name', sa.Text))"),
        # A second branch: the database must be at every head, not at some of them.
        ("c3f0c0de0003", "a1f0c0de0001", "op.create_table('tags', sa.Column('id', sa.Integer, primary_key=True))"),
    ):
        (api / "migrations" / "versions" / f"{rev}_step.py").write_text(
            REVISION.format(rev=rev, down=down, upgrade=upgrade))
    return api / "migrations"


def test_verify_passes_only_at_the_migrations_head(world, tmp_path):
    w = world
    assert w.verify["Essential"] is True, "the task (and the rollout) fails with verify"
    assert {"ContainerName": "migrate", "Condition": "SUCCESS"} in w.verify.get("DependsOn", [])
    ok(w.run(w.bootstrap, w.env), "bootstrap")
    env = w.local(w.t, w.verify)
    assert VERIFY_KEYS <= env.keys(), f"verify lacks {VERIFY_KEYS - env.keys()}"
    assert env["MIGRATIONS_DIR"] == "/app/api/migrations"
    # Runs as the app user: the secret the bootstrap created the role from.
    assert (env["DB_USERNAME"], env["DB_PASSWORD"]) == (w.app, w.env["APP_PASSWORD"])
    assert "DB_SSLMODE" not in env, "the template leaves TLS at verify's default, require"
    env["MIGRATIONS_DIR"] = str(migrations(tmp_path))
    # Not the api directory: the script must not depend on the image's WORKDIR.
    verify = lambda e=env: w.run(w.verify, e, cwd=tmp_path)  # noqa: E731

    def upgrade(rev: str):
        ok(subprocess.run([sys.executable, "-m", "alembic", "-c", "migrations/alembic.ini",
                           "upgrade", rev], cwd=tmp_path / "api", env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120), f"alembic upgrade {rev}")

    r = verify({**env, "MIGRATIONS_DIR": str(tmp_path / "nowhere")})
    assert r.returncode == 1 and "cannot read the alembic revisions" in r.stderr, r.stdout + r.stderr
    r = verify()
    assert r.returncode == 1 and "no alembic_version table" in r.stderr, r.stdout + r.stderr
    heads = "['b2f0c0de0002', 'c3f0c0de0003']"
    upgrade("a1f0c0de0001")
    r = verify()
    assert r.returncode == 1 and f"at ['a1f0c0de0001']" in r.stderr and heads in r.stderr, r.stderr
    upgrade("b2f0c0de0002")
    r = verify()
    assert r.returncode == 1 and f"at ['b2f0c0de0002']" in r.stderr and heads in r.stderr, r.stderr
    upgrade("heads")
    r = verify()
    assert r.returncode == 0, r.stdout + r.stderr
    assert heads in r.stdout, r.stdout
