import json, os, psycopg2
from psycopg2 import sql
master = json.loads(os.environ["MASTER_CREDENTIALS"])
app_user, app_password = os.environ["APP_USER"], os.environ["APP_PASSWORD"]
def connect(db):
    c = psycopg2.connect(host=os.environ["DB_HOST"], port=int(os.environ["DB_PORT"]), dbname=db,
                         user=master["username"], password=master["password"], sslmode="require",
                         connect_timeout=10)
    c.autocommit = True
    return c
cur = connect(os.environ["DB_DATABASE"]).cursor()
role = sql.Identifier(app_user)
cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (app_user,))
verb = "ALTER" if cur.fetchone() else "CREATE"
cur.execute(sql.SQL(verb + " ROLE {} WITH LOGIN PASSWORD %s").format(role), (app_password,))
cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(os.environ["DB_DATABASE"]), role))
cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))
for ext in ("vector", "uuid-ossp"):
    cur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
plugin_db = os.environ["PLUGIN_DB_DATABASE"]
cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (plugin_db,))
if not cur.fetchone():
    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(plugin_db), role))
pcur = connect(plugin_db).cursor()
pcur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))
pcur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier("uuid-ossp")))
print("bootstrap: role, databases and extensions are in place")
