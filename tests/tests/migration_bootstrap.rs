//! The migration task's bootstrap script (Python + psycopg2, shipped inline in the template),
//! run against a real PostgreSQL: as a master user with the rights Aurora's master has
//! (CREATEDB, CREATEROLE, not superuser), twice, then checked from the application role's side.
//!
//! Needs `PGTEST_HOST`/`PORT`/`USER`/`PASSWORD` (a superuser; `.ci/run` starts Debian's
//! PostgreSQL and sets them) and a Python with psycopg2 (`$PYTHON`, else `.venv/bin/python`).
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use dify_constructs::migration::BOOTSTRAP_SCRIPT;
use integration_tests::workspace_root;

struct Pg {
    host: String,
    port: String,
    admin: String,
    admin_password: String,
    python: PathBuf,
}

fn pg() -> Option<Pg> {
    let var = |k: &str| std::env::var(k).ok();
    let python = var("PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    match (
        var("PGTEST_HOST"),
        var("PGTEST_PORT"),
        var("PGTEST_USER"),
        var("PGTEST_PASSWORD"),
    ) {
        (Some(host), Some(port), Some(admin), Some(admin_password)) if python.exists() => {
            Some(Pg {
                host,
                port,
                admin,
                admin_password,
                python,
            })
        }
        _ if std::env::var_os("CI").is_some() => {
            panic!("PGTEST_* or the venv's python are missing; .ci/run sets them up")
        }
        _ => {
            eprintln!("skipped: no PostgreSQL for tests (set PGTEST_* as .ci/run does)");
            None
        }
    }
}

impl Pg {
    /// Runs a Python snippet with psycopg2 and these variables in its environment.
    fn python(&self, code: &str, env: &[(&str, String)]) -> Result<String, String> {
        let out = Command::new(&self.python)
            .args(["-c", code])
            .env("PGHOST", &self.host)
            .env("PGPORT", &self.port)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .map_err(|e| e.to_string())?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// SQL as the superuser, in autocommit, on one database.
    fn admin(&self, db: &str, sql: &str) {
        let code = r#"import os, psycopg2
c = psycopg2.connect(host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]), dbname=os.environ["DB"],
                     user=os.environ["U"], password=os.environ["P"], sslmode="require")
c.autocommit = True
c.cursor().execute(os.environ["SQL"])
"#;
        self.python(
            code,
            &[
                ("DB", db.to_owned()),
                ("U", self.admin.clone()),
                ("P", self.admin_password.clone()),
                ("SQL", sql.to_owned()),
            ],
        )
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[test]
fn bootstrap_prepares_databases_roles_and_extensions_idempotently() {
    let Some(pg) = pg() else { return };
    let n = std::process::id();
    let (master, app, db, plugin_db) = (
        format!("boot_master_{n}"),
        format!("boot_app_{n}"),
        format!("boot_dify_{n}"),
        format!("boot_plugin_{n}"),
    );
    // What Aurora gives us: a master with CREATEDB/CREATEROLE owning the initial database.
    pg.admin(
        "postgres",
        &format!("CREATE ROLE {master} LOGIN CREATEDB CREATEROLE PASSWORD 'master-pw'"),
    );
    pg.admin("postgres", &format!("CREATE DATABASE {db} OWNER {master}"));

    let run = |app_password: &str| {
        pg.python(
            BOOTSTRAP_SCRIPT,
            &[
                (
                    "MASTER_CREDENTIALS",
                    format!(r#"{{"username": "{master}", "password": "master-pw"}}"#),
                ),
                ("APP_USER", app.clone()),
                ("APP_PASSWORD", app_password.to_owned()),
                ("DB_HOST", pg.host.clone()),
                ("DB_PORT", pg.port.clone()),
                ("DB_DATABASE", db.clone()),
                ("PLUGIN_DB_DATABASE", plugin_db.clone()),
            ],
        )
    };
    let first = run("app-pw-1");
    // Every rollout runs it again; a rotated application password must take effect.
    let second = run("app-pw-2");

    // What the application role can do afterwards, with the second password.
    let check = r#"import os, psycopg2
def conn(db):
    return psycopg2.connect(host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]), dbname=db,
                            user=os.environ["APP"], password=os.environ["PW"], sslmode="require")
c = conn(os.environ["DB"]); c.autocommit = True; cur = c.cursor()
cur.execute("SELECT extname FROM pg_extension ORDER BY extname")
print("extensions", [r[0] for r in cur.fetchall()])
cur.execute("CREATE TABLE t (id uuid PRIMARY KEY DEFAULT uuid_generate_v4())")
cur.execute("INSERT INTO t DEFAULT VALUES")
cur.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname IN (%s, %s) ORDER BY 1",
            (os.environ["DB"], os.environ["PLUGIN_DB"]))
print("owners", cur.fetchall())
p = conn(os.environ["PLUGIN_DB"]); p.autocommit = True
p.cursor().execute("CREATE TABLE plugins (id serial PRIMARY KEY)")
print("plugin-db-writable")
"#;
    let checked = pg.python(
        check,
        &[
            ("APP", app.clone()),
            ("PW", "app-pw-2".to_owned()),
            ("DB", db.clone()),
            ("PLUGIN_DB", plugin_db.clone()),
        ],
    );

    // Clean up before asserting, so a failure leaves nothing behind.
    pg.admin(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    pg.admin(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {plugin_db} WITH (FORCE)"),
    );
    pg.admin("postgres", &format!("DROP ROLE IF EXISTS {app}"));
    pg.admin("postgres", &format!("DROP ROLE IF EXISTS {master}"));

    let first = first.unwrap_or_else(|e| panic!("first bootstrap failed:\n{e}"));
    assert!(
        first.contains("bootstrap: role, databases and extensions are in place"),
        "{first}"
    );
    second.unwrap_or_else(|e| panic!("second bootstrap (idempotence) failed:\n{e}"));
    let checked = checked.unwrap_or_else(|e| panic!("the application role cannot work:\n{e}"));
    assert!(
        checked.contains("'uuid-ossp'") && checked.contains("'vector'"),
        "{checked}"
    );
    assert!(
        checked.contains(&format!("('{db}', '{app}')"))
            && checked.contains(&format!("('{plugin_db}', '{app}')")),
        "both databases belong to the application role: {checked}"
    );
    assert!(checked.contains("plugin-db-writable"), "{checked}");
}
