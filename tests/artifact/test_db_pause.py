"""dev's Aurora pauses (min 0 ACU): a paused cluster drops every connection, and Dify must get
a working one on its next request. Dify builds its SQLAlchemy engine from the container's
`SQLALCHEMY_POOL_PRE_PING` and `SQLALCHEMY_POOL_RECYCLE` (langgenius/dify 1.13.3,
api/configs/middleware/__init__.py `SQLALCHEMY_ENGINE_OPTIONS`: `pool_pre_ping`,
`pool_recycle`). This takes those values from the api container of cfn-out/dify-dev, builds
the engine the same way against a real PostgreSQL, drops the pooled connection as a pause does
(`pg_terminate_backend`), and queries again.

Needs PGTEST_* (`source scripts/env.sh && ensure_postgres`), as test_migration_bootstrap.
"""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from cfn import Template
from test_migration_bootstrap import Pg, pg  # noqa: F401  (the PGTEST_* fixture)


def flag(value: str) -> bool:
    """A boolean setting as pydantic reads it from the environment."""
    return value.strip().lower() in ("1", "true", "yes", "on")


def dev_engine_settings() -> tuple[dict, dict]:
    """The api container's engine options, and the cluster's scaling configuration."""
    t = Template("dev")
    # Only the two settings: the rest of the environment names endpoints this test has no
    # local value for.
    wanted = ("SQLALCHEMY_POOL_PRE_PING", "SQLALCHEMY_POOL_RECYCLE")
    env = {e["Name"]: t.resolve(e["Value"]) for e in t.container("api").get("Environment", [])
           if e["Name"] in wanted}
    _, cluster = t.only("AWS::RDS::DBCluster")
    scaling = cluster["Properties"]["ServerlessV2ScalingConfiguration"]
    options = {
        "pool_pre_ping": flag(env["SQLALCHEMY_POOL_PRE_PING"]),
        "pool_recycle": int(env["SQLALCHEMY_POOL_RECYCLE"]),
        "pool_size": 1,
    }
    return options, scaling


def paused(pg: Pg, engine) -> None:
    """Every connection of the engine's pool is dropped, as an Aurora pause drops them."""
    with engine.connect() as c:
        pid = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
    (killed,), = pg.admin("SELECT pg_terminate_backend(%s)", args=(pid,))
    assert killed, f"backend {pid} was not terminated"


def url(pg: Pg) -> str:
    return f"postgresql+psycopg2://{pg.user}:{pg.password}@{pg.host}:{pg.port}/postgres"


def test_dev_pauses_and_dify_reconnects_on_its_next_request(pg):  # noqa: F811
    options, scaling = dev_engine_settings()
    assert scaling["MinCapacity"] == 0, "dev is the environment with auto-pause"
    assert options["pool_pre_ping"], "without pre-ping the first request after a pause fails"
    # Connections are recycled before the cluster could pause under them.
    assert options["pool_recycle"] < scaling["SecondsUntilAutoPause"], (options, scaling)
    engine = create_engine(url(pg), **options)
    try:
        paused(pg, engine)
        with engine.connect() as c:
            assert c.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_without_pre_ping_the_request_after_a_pause_fails(pg):  # noqa: F811
    """The control: the same drop without the setting breaks a request, so the test above
    proves the setting, not the driver."""
    options, _ = dev_engine_settings()
    engine = create_engine(url(pg), **{**options, "pool_pre_ping": False})
    try:
        paused(pg, engine)
        with pytest.raises(OperationalError):
            with engine.connect() as c:
                c.execute(text("SELECT 1"))
    finally:
        engine.dispose()
