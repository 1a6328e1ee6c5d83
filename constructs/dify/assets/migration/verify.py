# Runs after `migrate`, as the app user: exits 0 only when the database is at the alembic
# head(s) of the migrations this image ships. `flask upgrade-db` prints "Database migration
# skipped" and exits 0 when another task holds `db_upgrade_lock`, so its exit code alone does
# not prove that the schema matches the code about to be rolled out.
import os, sys
import psycopg2
import psycopg2.errors
from alembic.script import ScriptDirectory


def fail(message):
    sys.exit(f"verify: {message}")


migrations = os.environ["MIGRATIONS_DIR"]
# Dify's revision files `import models`, which lives next to the migrations directory (the
# image's WORKDIR); loading them is how alembic learns each revision's parents.
sys.path.insert(0, os.path.dirname(os.path.abspath(migrations)))
try:
    heads = set(ScriptDirectory(migrations).get_heads())
except Exception as e:  # a missing directory, an unreadable or broken revision file
    fail(f"cannot read the alembic revisions in {migrations}: {e!r}")
if not heads:
    fail(f"no alembic revisions in {migrations}")

try:
    conn = psycopg2.connect(host=os.environ["DB_HOST"], port=int(os.environ["DB_PORT"]),
                            dbname=os.environ["DB_DATABASE"], user=os.environ["DB_USERNAME"],
                            password=os.environ["DB_PASSWORD"], connect_timeout=10,
                            # The template sets no DB_SSLMODE; tests may, against a server without TLS.
                            sslmode=os.environ.get("DB_SSLMODE", "require"))
    with conn, conn.cursor() as cur:
        cur.execute("SELECT version_num FROM alembic_version")
        current = {r[0] for r in cur.fetchall()}
except psycopg2.errors.UndefinedTable:
    fail(f"no alembic_version table: no migration has run; expected heads {sorted(heads)}")
except psycopg2.Error as e:
    fail(f"cannot read alembic_version: {str(e).strip()}")
if current != heads:
    fail(f"database is at {sorted(current)}, the image's migrations end at {sorted(heads)}")
print(f"verify: database is at the image's alembic head(s) {sorted(heads)}")
