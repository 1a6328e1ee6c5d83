//! The Dify stacks: what they must never contain, what an upgrade may touch, and that the
//! committed templates are exactly what the code synthesizes.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeSet;

use cfn_core::schema::Replacement;
use dify_constructs::DifyStack;
use dify_constructs::config::Environment;
use integration_tests::{cfn_lint, require_tool, workspace_root, write_temp};
use serde_json::Value as Json;

fn environments() -> Vec<Environment> {
    Environment::load_dir(&workspace_root().join("apps/dify-app/environments"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn env(name: &str) -> Environment {
    environments().into_iter().find(|e| e.name == name).unwrap()
}

fn template(e: &Environment) -> Json {
    DifyStack::build(e).stack.synth().unwrap().template
}

fn resources(t: &Json) -> &serde_json::Map<String, Json> {
    t["Resources"].as_object().unwrap()
}

fn of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

const SECRET_WORDS: [&str; 4] = ["PASSWORD", "SECRET", "KEY", "TOKEN"];

#[test]
fn no_container_environment_carries_a_secret() {
    for e in environments() {
        let t = template(&e);
        let mut containers = 0;
        for (id, td) in of_type(&t, "AWS::ECS::TaskDefinition") {
            for c in td["Properties"]["ContainerDefinitions"].as_array().unwrap() {
                containers += 1;
                for kv in c["Environment"].as_array().into_iter().flatten() {
                    let name = kv["Name"].as_str().unwrap();
                    assert!(
                        !SECRET_WORDS.iter().any(|w| name.contains(w)),
                        "{}: {id}/{}: environment variable {name} looks secret; it must come from `secrets`",
                        e.name,
                        c["Name"]
                    );
                    let value = kv["Value"].to_string();
                    assert!(
                        !value.contains("{{resolve:"),
                        "{}: {id}: {name} resolves a secret into plain environment",
                        e.name
                    );
                }
                for s in c["Secrets"].as_array().into_iter().flatten() {
                    // Every injected secret names a Secrets Manager secret (a generated one by
                    // Ref, RDS's managed master secret, or the configured SMTP secret ARN),
                    // never an SSM String.
                    let from = s["ValueFrom"].to_string();
                    assert!(
                        from.contains("\"Ref\"")
                            || from.contains("MasterUserSecret.SecretArn")
                            || from.contains(":secretsmanager:"),
                        "{}: {id}: {} comes from {from}",
                        e.name,
                        s["Name"]
                    );
                }
            }
        }
        assert!(containers >= 9, "{}: only {containers} containers", e.name);
    }
}

/// Property names whose literal value would be a secret in the template.
fn secret_property(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    // A generation template holds the user name, not the secret.
    if n == "secretstringtemplate" {
        return false;
    }
    ["password", "authtoken", "secretstring", "token"]
        .iter()
        .any(|w| n.contains(w))
}

fn walk<'a>(v: &'a Json, path: String, out: &mut Vec<(String, &'a Json)>) {
    match v {
        Json::Object(o) => {
            for (k, child) in o {
                out.push((format!("{path}.{k}"), child));
                walk(child, format!("{path}.{k}"), out);
            }
        }
        Json::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                walk(child, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_generated_secret_or_password_appears_in_any_template() {
    for e in environments() {
        let t = template(&e);
        let mut generated = 0;
        for (id, r) in resources(&t) {
            let mut all = Vec::new();
            walk(&r["Properties"], String::new(), &mut all);
            for (path, v) in all {
                let key = path.rsplit('.').next().unwrap_or_default();
                if key == "GenerateSecretString" {
                    generated += 1;
                }
                if secret_property(key) && v.is_string() {
                    let s = v.as_str().unwrap();
                    assert!(
                        s.contains("{{resolve:secretsmanager:"),
                        "{}: {id}{path} holds a literal secret-like value",
                        e.name
                    );
                }
            }
        }
        // The master's name (its password is RDS's), DB app and its alternate login, DB plugin
        // daemon, cache token, four application keys and the install password.
        assert_eq!(generated, 10, "{}: generated secrets", e.name);
        assert!(
            t.get("Parameters").is_none(),
            "{}: no parameters, so no secret can be passed as one",
            e.name
        );
    }
}

#[test]
fn secret_pairs_come_from_one_secret_each() {
    let t = template(&env("prd"));
    let value_from = |container: &str, var: &str| -> Json {
        for (_, td) in of_type(&t, "AWS::ECS::TaskDefinition") {
            for c in td["Properties"]["ContainerDefinitions"].as_array().unwrap() {
                if c["Name"] == container {
                    for s in c["Secrets"].as_array().into_iter().flatten() {
                        if s["Name"] == var {
                            return s["ValueFrom"].clone();
                        }
                    }
                }
            }
        }
        panic!("{container} has no secret {var}")
    };
    assert_eq!(
        value_from("api", "PLUGIN_DAEMON_KEY"),
        value_from("plugin_daemon", "SERVER_KEY")
    );
    assert_eq!(
        value_from("api", "INNER_API_KEY_FOR_PLUGIN"),
        value_from("plugin_daemon", "DIFY_INNER_API_KEY")
    );
    assert_eq!(
        value_from("api", "CODE_EXECUTION_API_KEY"),
        value_from("sandbox", "API_KEY")
    );
    for c in ["api", "worker", "beat"] {
        assert_eq!(value_from(c, "SECRET_KEY"), value_from("api", "SECRET_KEY"));
        assert_eq!(
            value_from(c, "CELERY_BROKER_URL"),
            value_from("api", "CELERY_BROKER_URL")
        );
    }
    assert_ne!(
        value_from("api", "PLUGIN_DAEMON_KEY"),
        value_from("api", "INNER_API_KEY_FOR_PLUGIN")
    );
}

/// Types a Dify upgrade may change.
const UPGRADE_TYPES: [&str; 3] = [
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service",
    "Custom::DifyMigration",
];
/// Types whose replacement loses data or traffic.
const PROTECTED_TYPES: [&str; 12] = [
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::EC2::SecurityGroup",
    "AWS::ECS::Cluster",
];

/// The `/`-separated property paths that differ between two property trees.
fn changed_paths(a: &Json, b: &Json, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}/{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(l), Some(r)) => changed_paths(l, r, &p, out),
                    _ => out.push(p),
                }
            }
        }
        _ if a != b => out.push(path.to_owned()),
        _ => {}
    }
}

#[test]
fn a_dify_upgrade_changes_only_task_definitions_and_services() {
    let before_env = env("prd");
    let mut after_env = before_env.clone();
    after_env.images.dify_version = "1.13.4".into();
    after_env.images.web = "1.13.4".into();
    let before = template(&before_env);
    let after = template(&after_env);
    let (b, a) = (resources(&before), resources(&after));
    assert_eq!(
        b.keys().collect::<BTreeSet<_>>(),
        a.keys().collect::<BTreeSet<_>>(),
        "an upgrade adds or removes no resource"
    );
    let mut changed = BTreeSet::new();
    let mut replaced = BTreeSet::new();
    for (id, old) in b {
        let ty = old["Type"].as_str().unwrap();
        let mut paths = Vec::new();
        changed_paths(&old["Properties"], &a[id]["Properties"], "", &mut paths);
        if paths.is_empty() {
            continue;
        }
        changed.insert(id.clone());
        if let Some(schema) = cfn_resources::schema_for(ty)
            && paths
                .iter()
                .any(|p| schema.replaces_on_change(p) != Replacement::Never)
        {
            replaced.insert(id.clone());
        }
    }
    // A replaced resource gets a new physical ID, so whatever references it updates too.
    loop {
        let before = changed.len();
        for (id, r) in a {
            let text = r["Properties"].to_string();
            if replaced.iter().any(|x| {
                text.contains(&format!("\"Ref\":\"{x}\"")) || text.contains(&format!("[\"{x}\","))
            }) {
                changed.insert(id.clone());
            }
        }
        if changed.len() == before {
            break;
        }
    }
    let type_of = |id: &String| b[id]["Type"].as_str().unwrap().to_owned();
    for id in &changed {
        let ty = type_of(id);
        assert!(
            UPGRADE_TYPES.contains(&ty.as_str()),
            "{id} ({ty}) changes on upgrade"
        );
        assert!(
            !PROTECTED_TYPES.contains(&ty.as_str()),
            "{id} ({ty}) changes on upgrade"
        );
    }
    for id in &replaced {
        assert_eq!(
            type_of(id),
            "AWS::ECS::TaskDefinition",
            "{id} would be replaced"
        );
    }
    let count = |ty: &str| changed.iter().filter(|id| type_of(id) == ty).count();
    // api, worker, worker_long (prd runs the long queues apart), beat, web and the migration
    // run Dify's images and roll; the plugin daemon, sandbox and proxy have versions of their
    // own and stay as they are.
    assert_eq!(replaced.len(), 6, "{replaced:?}");
    assert_eq!(count("AWS::ECS::Service"), 5);
    assert_eq!(
        count("Custom::DifyMigration"),
        1,
        "the migration step must re-run"
    );
}

#[test]
fn committed_templates_are_what_the_code_synthesizes() {
    for e in environments() {
        let out = DifyStack::build(&e).stack.synth().unwrap();
        let path = workspace_root().join("cfn-out").join(out.file_name());
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert!(
            committed == out.body,
            "{} is stale: run `cargo run -p dify-app -- synth` and commit cfn-out/",
            path.display()
        );
    }
}

#[test]
fn cfn_lint_reports_nothing_on_any_environment() {
    let lint = require_tool("CFN_LINT", "cfn-lint");
    let files: Vec<_> = environments()
        .iter()
        .map(|e| {
            let out = DifyStack::build(e).stack.synth().unwrap();
            write_temp(&out.stack_name, &out.body)
        })
        .collect();
    let findings = cfn_lint(&lint, &files);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn checkov_finds_nothing_unjustified_in_production() {
    let checkov = require_tool("CHECKOV", "checkov");
    let out = DifyStack::build(&env("prd")).stack.synth().unwrap();
    let path = write_temp("checkov-prd", &out.body);
    let report = integration_tests::checkov(&checkov, &path);
    let failed = &report["results"]["failed_checks"];
    assert_eq!(
        report["summary"]["failed"], 0,
        "checkov failures: {:#}",
        failed
    );
    assert!(report["summary"]["passed"].as_u64().unwrap() > 300);
    // Every suppression carries a reason.
    for r in resources(&out.template).values() {
        for skip in r["Metadata"]["checkov"]["skip"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(
                skip["comment"].as_str().is_some_and(|c| c.len() > 40),
                "{skip}"
            );
        }
    }
}

#[test]
fn production_pulls_every_image_through_the_ecr_cache_and_waits_for_it() {
    let t = template(&env("prd"));
    let rules = of_type(&t, "AWS::ECR::PullThroughCacheRule");
    assert_eq!(rules.len(), 1, "one Docker Hub cache rule");
    let (rule_id, rule) = rules[0];
    let prefix = rule["Properties"]["EcrRepositoryPrefix"].as_str().unwrap();
    assert_eq!(rule["Properties"]["UpstreamRegistry"], "docker-hub");
    for (id, td) in of_type(&t, "AWS::ECS::TaskDefinition") {
        for c in td["Properties"]["ContainerDefinitions"].as_array().unwrap() {
            let image = c["Image"]["Fn::Sub"].as_str().unwrap_or_default();
            assert!(
                image.starts_with(&format!(
                    "${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{prefix}/"
                )),
                "{id}/{}: {} does not come from the account's ECR cache",
                c["Name"],
                c["Image"]
            );
        }
    }
    // Nothing starts a task before the rule exists.
    let starters = of_type(&t, "AWS::ECS::Service")
        .into_iter()
        .chain(of_type(&t, "Custom::DifyMigration"));
    for (id, r) in starters {
        let deps: Vec<&str> = r["DependsOn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str())
            .collect();
        assert!(
            deps.contains(&rule_id.as_str()),
            "{id} does not wait for {rule_id}"
        );
    }
    // dev may pull from Docker Hub.
    assert!(of_type(&template(&env("dev")), "AWS::ECR::PullThroughCacheRule").is_empty());
}

#[test]
fn a_credential_rotation_regenerates_only_the_idle_login_and_moves_the_services_to_it() {
    let before = env("prd");
    let mut after = before.clone();
    after.database.app_credentials_generation += 1;
    let (t0, t1) = (template(&before), template(&after));
    let secret_id = |t: &Json, user: &str| {
        of_type(t, "AWS::SecretsManager::Secret")
            .into_iter()
            .find(|(_, r)| {
                r["Properties"]["GenerateSecretString"]["SecretStringTemplate"]
                    .as_str()
                    .is_some_and(|s| s.contains(&format!("\"username\":\"{user}\"")))
            })
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    let (app, alt) = (secret_id(&t0, "dify"), secret_id(&t0, "dify_alt"));
    // Only the alternate login's secret changes (a new password); the app login's stays, so
    // tasks still running keep connecting.
    let generator =
        |t: &Json, id: &str| t["Resources"][id]["Properties"]["GenerateSecretString"].clone();
    assert_eq!(generator(&t0, &app), generator(&t1, &app));
    assert_ne!(generator(&t0, &alt), generator(&t1, &alt));
    // Every service now reads the alternate login; the migration step re-runs first.
    let users = |t: &Json| -> BTreeSet<String> {
        of_type(t, "AWS::ECS::TaskDefinition")
            .into_iter()
            .flat_map(|(_, td)| {
                td["Properties"]["ContainerDefinitions"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .flat_map(|c| c["Secrets"].as_array().cloned().unwrap_or_default())
            .filter(|s| {
                s["Name"] == "DB_USERNAME" && !s["ValueFrom"].to_string().contains("Plugin")
            })
            .map(|s| {
                s["ValueFrom"]["Fn::Join"][1][0]["Ref"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(users(&t0), BTreeSet::from([app.clone()]));
    assert_eq!(users(&t1), BTreeSet::from([alt.clone()]));
    // And back: generation 2 regenerates the app login and leaves the alternate one.
    let mut again = after.clone();
    again.database.app_credentials_generation += 1;
    let t2 = template(&again);
    assert_eq!(generator(&t1, &alt), generator(&t2, &alt));
    assert_ne!(generator(&t1, &app), generator(&t2, &app));
    assert_eq!(users(&t2), BTreeSet::from([app]));
}

/// Properties the registry schema lists as conditionally create-only that the resource's
/// documentation updates in place ("Update requires: No interruption"): turning off automatic
/// minor upgrades on an Aurora instance is ModifyDBInstance, never a new instance. The deploy
/// command's guard still refuses any replacement CloudFormation itself announces in prd.
const IN_PLACE_DESPITE_SCHEMA: [(&str, &str); 1] =
    [("AWS::RDS::DBInstance", "AutoMinorVersionUpgrade")];

/// The last release before the issue-9 changes: a stack deployed from it must upgrade in place.
const PREVIOUS_RELEASE: &str = "1c5ded9";

#[test]
fn upgrading_from_the_previous_release_replaces_nothing_stateful() {
    for e in environments() {
        let path = format!(
            "{PREVIOUS_RELEASE}:cfn-out/{}",
            DifyStack::build(&e).stack.synth().unwrap().file_name()
        );
        let out = std::process::Command::new("git")
            .args(["show", &path])
            .current_dir(workspace_root())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git show {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let old: Json = serde_json::from_slice(&out.stdout).unwrap();
        let new = template(&e);
        let (old, new) = (resources(&old), resources(&new));
        for (id, before) in old {
            let ty = before["Type"].as_str().unwrap();
            if !PROTECTED_TYPES.contains(&ty) {
                continue;
            }
            let after = new
                .get(id)
                .unwrap_or_else(|| panic!("{}: {id} ({ty}) would be deleted", e.name));
            let mut paths = Vec::new();
            changed_paths(&before["Properties"], &after["Properties"], "", &mut paths);
            let schema = cfn_resources::schema_for(ty).unwrap();
            let replacing: Vec<&String> = paths
                .iter()
                .filter(|p| schema.replaces_on_change(p) != Replacement::Never)
                .filter(|p| !IN_PLACE_DESPITE_SCHEMA.contains(&(ty, p.as_str())))
                .collect();
            assert!(
                replacing.is_empty(),
                "{}: {id} ({ty}) would be replaced by {replacing:?}",
                e.name
            );
        }
        // The master user's name is the same dynamic reference: RDS is never asked to rename it.
        let cluster = |r: &serde_json::Map<String, Json>| {
            r.values()
                .find(|x| x["Type"] == "AWS::RDS::DBCluster")
                .unwrap()["Properties"]["MasterUsername"]
                .clone()
        };
        assert_eq!(cluster(old), cluster(new), "{}", e.name);
    }
}
