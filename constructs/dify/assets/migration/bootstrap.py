# Prepares Aurora for Dify as the master user, which on Aurora is not a superuser (CREATEDB,
# CREATEROLE, rds_superuser). Idempotent: every rollout runs it; rotated passwords take effect.
# - the app role owns `dify` and its public schema (PostgreSQL 15 grants PUBLIC no CREATE there);
# - the alternate login is a member of the app role whose sessions act as it (SET role): the
#   services use one of the two, so a rotation can give the idle one a new password while
#   running tasks keep connecting with the other's (alternating users);
# - the plugin daemon's role owns `dify_plugin` only. It is not a member of the app role and has
#   no CONNECT on `dify`: every plugin the daemon runs inherits its environment, password included;
# - extensions that need the master user: vector and uuid-ossp.
import json, os, sys, time
import psycopg2
from psycopg2 import sql

master = json.loads(os.environ["MASTER_CREDENTIALS"])
app_user, app_password = os.environ["APP_USER"], os.environ["APP_PASSWORD"]
alt_user, alt_password = os.environ["APP_ALT_USER"], os.environ["APP_ALT_PASSWORD"]
plugin_user, plugin_password = os.environ["PLUGIN_DB_USER"], os.environ["PLUGIN_DB_PASSWORD"]
main_db, plugin_db = os.environ["DB_DATABASE"], os.environ["PLUGIN_DB_DATABASE"]
app, plugin = sql.Identifier(app_user), sql.Identifier(plugin_user)
alt = sql.Identifier(alt_user)


def connect(db, timeout=10):
    c = psycopg2.connect(host=os.environ["DB_HOST"], port=int(os.environ["DB_PORT"]), dbname=db,
                         user=master["username"], password=master["password"], sslmode="require",
                         connect_timeout=timeout)
    c.autocommit = True
    return c


# The writer may accept connections only minutes after the stack created the cluster (and the
# security-group rules): retry the first connection with backoff, for a bounded time.
bound = float(os.environ.get("BOOTSTRAP_CONNECT_TIMEOUT_SECONDS", "600"))
deadline, delay, attempt = time.monotonic() + bound, 1.0, 0
while True:
    attempt += 1
    try:
        # libpq's minimum connect_timeout is 2 s; never wait much past the bound.
        conn = connect(main_db, timeout=max(2, min(10, int(deadline - time.monotonic()))))
        break
    except psycopg2.OperationalError as e:
        left = deadline - time.monotonic()
        print(f"bootstrap: connection attempt {attempt} failed: {str(e).strip()}", flush=True)
        if left <= 0:
            sys.exit(f"bootstrap: gave up: the database did not accept a connection within {bound:g} s")
        time.sleep(min(delay, left))
        delay = min(delay * 2, 30)
cur = conn.cursor()


def login_role(cur, name, ident, password):
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
    verb = "ALTER" if cur.fetchone() else "CREATE"
    cur.execute(sql.SQL(verb + " ROLE {} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD %s").format(ident),
                (password,))
    # Membership lets the master hand objects over to the role (ALTER ... OWNER TO).
    cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(ident))


login_role(cur, app_user, app, app_password)
login_role(cur, alt_user, alt, alt_password)
# Whatever the alternate login creates belongs to the app role, and it may use what the app
# role owns: to Dify the two are the same user.
cur.execute(sql.SQL("GRANT {} TO {}").format(app, alt))
cur.execute(sql.SQL("ALTER ROLE {} SET role = {}").format(alt, sql.Literal(app_user)))
login_role(cur, plugin_user, plugin, plugin_password)
cur.execute("SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid"
            " JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = %s AND u.rolname = %s",
            (app_user, plugin_user))
if cur.fetchone():
    cur.execute(sql.SQL("REVOKE {} FROM {}").format(app, plugin))

cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (plugin_db,))
row = cur.fetchone()
if not row:
    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(plugin_db), plugin))
pconn = connect(plugin_db)
pcur = pconn.cursor()
if row and row[0] == app_user:
    # An earlier layout had the app role own dify_plugin, and the daemon create its tables as
    # the app role: hand all of it to the plugin role in one transaction. REASSIGN OWNED also
    # moves shared objects, the main database included, so that is handed back before commit.
    pconn.autocommit = False
    pcur.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(app, plugin))
    pcur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(main_db), app))
    pconn.commit()
    pconn.autocommit = True
pcur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(plugin_db), plugin))
pcur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(plugin))
pcur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier("uuid-ossp")))
# And the other way round: Dify's own logins have no business in the plugin database.
pcur.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(plugin_db)))
pcur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, CURRENT_USER").format(sql.Identifier(plugin_db), plugin))

# The main database after the plugin one: whatever the hand-over did, this is the final word.
cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(main_db), app))
cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(app))
# Only the app role (and the master, for the next rollout) may connect to the main database.
cur.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(main_db)))
cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, CURRENT_USER").format(sql.Identifier(main_db), app))
for ext in ("vector", "uuid-ossp"):
    cur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
print("bootstrap: roles, databases and extensions are in place")
