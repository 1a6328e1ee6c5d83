//! The environment file format: defaults, and an error naming file, field and value for each
//! kind of bad input.
#![allow(missing_docs, clippy::unwrap_used)]

use dify_constructs::config::{Component, ConfigError, DbCapacity, Environment, Network};

const MINIMAL: &str = r#"
region = "ap-northeast-1"
[network]
vpc_id = "vpc-0123456789abcdef0"
private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
public_subnet_ids = ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
[network.endpoints]
security_group_id = "sg-0123456789abcdef0"
s3_prefix_list_id = "pl-61a54008"
[ingress.allowlist]
office = ["203.0.113.10/32"]
[alarms]
email = "ops@example.com"
[images.pull_through_cache]
credential_arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
"#;

fn errors(name: &str, text: &str) -> Vec<ConfigError> {
    Environment::from_toml_str(name, text).unwrap_err().0
}

fn one_error(name: &str, text: &str) -> ConfigError {
    let mut e = errors(name, text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.remove(0)
}

#[test]
fn non_production_defaults() {
    let env = Environment::from_toml_str("dev.toml", MINIMAL).unwrap();
    assert_eq!(env.stack_name, "dify-dev");
    assert!(!env.production);
    assert_eq!(env.log_retention_days, 7);
    assert_eq!(env.database.backup_retention_days, 7);
    assert!(!env.database.deletion_protection);
    assert!(!env.database.customer_managed_key);
    assert!(matches!(
        env.database.capacity,
        DbCapacity::Serverless { .. }
    ));
    assert_eq!(env.cache.nodes, 1);
    assert_eq!(env.services.get(Component::Api).desired, 1);
    assert_eq!(env.services.get(Component::Beat).max, 1);
    assert!(env.ingress.idle_timeout_seconds >= 600);
}

#[test]
fn production_defaults_follow_the_seed() {
    let env = Environment::from_toml_str("prd.toml", MINIMAL).unwrap();
    assert!(env.production);
    assert_eq!(env.log_retention_days, 30);
    assert_eq!(env.database.backup_retention_days, 14);
    assert!(env.database.deletion_protection);
    assert!(env.database.performance_insights);
    assert!(env.database.customer_managed_key);
    assert!(env.ingress.deletion_protection);
    assert_eq!(env.cache.nodes, 3);
    assert_eq!(env.cache.snapshot_retention_days, 5);
    assert!(env.services.get(Component::Api).min >= 2);
    // `production` can also be set explicitly on any name.
    let env =
        Environment::from_toml_str("live.toml", &format!("production = true\n{MINIMAL}")).unwrap();
    assert!(env.production);
}

#[test]
fn unknown_key_names_file_field_and_line() {
    let e = one_error(
        "dev.toml",
        &MINIMAL.replace("[network]", "[network]\nvpc = \"x\""),
    );
    assert_eq!(e.file.to_str(), Some("dev.toml"));
    assert_eq!(e.field, "network.vpc");
    assert!(e.message.contains("unknown field `vpc`"), "{e}");
    assert!(e.message.contains("line 4"), "{e}");
}

#[test]
fn bad_cidrs_are_explained() {
    let e = one_error(
        "dev.toml",
        &MINIMAL.replace("203.0.113.10/32", "203.0.113.10/24"),
    );
    assert_eq!(e.field, "ingress.allowlist.office[0]");
    assert_eq!(e.value.as_deref(), Some("\"203.0.113.10/24\""));
    assert!(e.message.contains("did you mean 203.0.113.0/24"), "{e}");
    let e = one_error(
        "dev.toml",
        &MINIMAL.replace("203.0.113.10/32", "203.0.113.10"),
    );
    assert!(e.message.contains("add a prefix length"), "{e}");
    let e = one_error("dev.toml", &MINIMAL.replace("203.0.113.10/32", "office-ip"));
    assert!(e.message.contains("not an IPv4 or IPv6 CIDR"), "{e}");
    // The load balancer is IPv4-only: an IPv6 entry would never match, so it is an error.
    let e = one_error(
        "dev.toml",
        &MINIMAL.replace("203.0.113.10/32", "2001:db8::/48"),
    );
    assert_eq!(e.field, "ingress.allowlist.office[0]");
    assert!(e.message.contains("IPv4-only"), "{e}");
}

#[test]
fn production_never_pulls_anonymously_from_docker_hub() {
    let text = MINIMAL.replace("[images.pull_through_cache]", "[x]").replace(
        "credential_arn = \"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf\"\n",
        "",
    ).replace("[x]\n", "");
    // Both the images and the sandbox's endpoints (which cannot reach Docker Hub) say so.
    let e = errors("prd.toml", &text);
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["images", "network.endpoints"], "{e:#?}");
    assert!(e[0].message.contains("pull_through_cache"), "{}", e[0]);
    // A mirror of the team's own is enough.
    Environment::from_toml_str(
        "prd.toml",
        &format!("{text}[images]\nregistry = \"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/mirror\"\n"),
    )
    .unwrap();
    // The cache's secret must be one ECR accepts.
    let e = one_error(
        "dev.toml",
        &MINIMAL.replace(
            "secret:ecr-pullthroughcache/docker-hub",
            "secret:docker-hub",
        ),
    );
    assert_eq!(e.field, "images.pull_through_cache.credential_arn");
}

#[test]
fn production_sandbox_needs_the_vpc_endpoints() {
    let text = MINIMAL.replace(
        "[network.endpoints]\nsecurity_group_id = \"sg-0123456789abcdef0\"\ns3_prefix_list_id = \"pl-61a54008\"\n",
        "",
    );
    let e = one_error("prd.toml", &text);
    assert_eq!(e.field, "network.endpoints");
    Environment::from_toml_str("dev.toml", &text).unwrap();
    let e = one_error("dev.toml", &MINIMAL.replace("pl-61a54008", "s3"));
    assert_eq!(e.field, "network.endpoints.s3_prefix_list_id");
    // NAT addresses are admitted by the load balancer; they must be addresses.
    let e = one_error(
        "dev.toml",
        &MINIMAL.replace(
            "[network.endpoints]",
            "nat_public_ips = [\"nat-1\"]\n[network.endpoints]",
        ),
    );
    assert_eq!(e.field, "network.nat_public_ips[0]");
}

#[test]
fn production_alarms_must_notify_someone() {
    let text = MINIMAL.replace("[alarms]\nemail = \"ops@example.com\"\n", "");
    let e = one_error("prd.toml", &text);
    assert_eq!(e.field, "alarms");
    // Elsewhere alarms without a topic are allowed.
    Environment::from_toml_str("dev.toml", &text).unwrap();
}

#[test]
fn automatic_minor_upgrades_need_a_major_only_version() {
    let e = one_error(
        "dev.toml",
        &format!(
            "{MINIMAL}[database]\nengine_version = \"16.9\"\nauto_minor_version_upgrade = true\n"
        ),
    );
    assert_eq!(e.field, "database.auto_minor_version_upgrade");
    assert!(e.message.contains("engine_version = \"16\""), "{e}");
    let env = Environment::from_toml_str(
        "dev.toml",
        &format!(
            "{MINIMAL}[database]\nengine_version = \"16\"\nauto_minor_version_upgrade = true\n"
        ),
    )
    .unwrap();
    assert!(env.database.auto_minor_version_upgrade);
    // The default pins the minor version and leaves upgrades to a deliberate change.
    let env = Environment::from_toml_str("dev.toml", MINIMAL).unwrap();
    assert!(!env.database.auto_minor_version_upgrade);
}

#[test]
fn processes_follow_the_task_size_and_fit_the_database() {
    let env = Environment::from_toml_str(
        "dev.toml",
        &format!("{MINIMAL}[services.api]\ncpu = 2048\nmemory = 4096\n[services.worker]\ncpu = 2048\nmemory = 4096\n"),
    )
    .unwrap();
    assert_eq!(env.services.get(Component::Api).processes, 2);
    assert_eq!(env.services.get(Component::Worker).processes, 4);
    // Forty api tasks of eight processes cannot fit a 4-ACU database.
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}[services.api]\nmax = 40\nprocesses = 8\n"),
    );
    assert_eq!(e.field, "services");
    assert!(e.message.contains("max_connections"), "{e}");
    // Only api and worker run several processes.
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}[services.beat]\nprocesses = 2\n"),
    );
    assert_eq!(e.field, "services.beat.processes");
}

#[test]
fn bad_arn_region_and_account() {
    let text = format!(
        "account = \"12345\"\n{}\n[domain]\ncertificate_arn = \"arn:aws:acm:ap-northeast-1:123456789012:cert/x\"\n",
        MINIMAL.replace("ap-northeast-1\"", "tokyo\"")
    );
    let e = errors("dev.toml", &text);
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["account", "region", "domain.certificate_arn"]);
    assert!(
        e[0].to_string()
            .starts_with("dev.toml: account = \"12345\": not a 12-digit AWS account ID")
    );
}

#[test]
fn certificate_must_match_account_and_region() {
    let text = format!(
        "account = \"123456789012\"\n{MINIMAL}\n[domain]\ncertificate_arn = \"arn:aws:acm:us-east-1:210987654321:certificate/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f\"\n"
    );
    let e = errors("prd.toml", &text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].message.contains("another account"));
    assert!(e[1].message.contains("stack's region (ap-northeast-1)"));
}

#[test]
fn min_above_max_and_beat_scaling() {
    let e = errors(
        "dev.toml",
        &format!(
            "{MINIMAL}\n[services.api]\nmin = 4\nmax = 2\ndesired = 3\n[services.beat]\ndesired = 2\nmax = 2\n"
        ),
    );
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "services.api.min",
            "services.api.desired",
            "services.beat.desired"
        ]
    );
    assert!(e[2].message.contains("exactly one"));
}

#[test]
fn fargate_sizes_and_acu_ranges() {
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}\n[services.web]\ncpu = 512\nmemory = 512\n"),
    );
    assert_eq!(e.field, "services.web.memory");
    assert!(e.message.contains("1024-4096"), "{e}");
    let e = errors(
        "dev.toml",
        &format!("{MINIMAL}\n[database.serverless]\nmin_acu = 8\nmax_acu = 4.3\n"),
    );
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec!["database.serverless.max_acu", "database.serverless.min_acu"]
    );
}

#[test]
fn missing_required_values() {
    let e = errors("dev.toml", "");
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["region", "network"]);
    let e = one_error(
        "dev.toml",
        "region = \"eu-west-1\"\n[smtp]\nserver = \"smtp.example.com\"\nusername = \"u\"\nfrom = \"a@example.com\"\n[network.create]\n",
    );
    assert_eq!(e.field, "smtp.password_secret_arn");
}

#[test]
fn created_network_defaults_and_checks() {
    let env = Environment::from_toml_str(
        "dev.toml",
        "region = \"eu-west-1\"\n[network.create]\nnat_gateways = 1\n",
    )
    .unwrap();
    assert!(matches!(
        env.network,
        Network::Create {
            azs: 2,
            nat_gateways: 1,
            ..
        }
    ));
    let e = one_error(
        "dev.toml",
        "region = \"eu-west-1\"\n[network.create]\nazs = 3\nnat_gateways = 4\n",
    );
    assert_eq!(e.field, "network.create.nat_gateways");
}

#[test]
fn secrets_never_go_in_config() {
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}\n[dify.extra_env]\nOPENAI_API_KEY = \"sk-123\"\n"),
    );
    assert_eq!(e.field, "dify.extra_env.OPENAI_API_KEY");
    assert!(e.message.contains("Secrets Manager"));
}

#[test]
fn production_needs_an_allowlist_and_pinned_images() {
    let open = MINIMAL.replace("[ingress.allowlist]\noffice = [\"203.0.113.10/32\"]\n", "");
    assert_eq!(one_error("prd.toml", &open).field, "ingress.allowlist");
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}\n[images]\ndify_version = \"latest\"\n"),
    );
    assert_eq!(e.field, "images.dify_version");
}

#[test]
fn load_dir_reports_every_file() {
    let dir = std::env::temp_dir().join(format!("dify-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.toml"), MINIMAL).unwrap();
    std::fs::write(dir.join("b.toml"), "region = 1").unwrap();
    std::fs::write(
        dir.join("c.toml"),
        format!("stack_name = \"dify-a\"\n{MINIMAL}"),
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
    let e = Environment::load_dir(&dir).unwrap_err().0;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].file.ends_with("b.toml") && e[0].field == "region");
    assert!(e[1].field == "stack_name" && e[1].message.contains("environment 'a'"));
}

#[test]
fn a_worker_for_the_long_queues_takes_known_queues_and_leaves_worker_the_rest() {
    // Off unless configured.
    let env = Environment::from_toml_str("dev.toml", MINIMAL).unwrap();
    assert!(
        !env.services
            .components()
            .any(|c| c == Component::WorkerLong)
    );
    assert!(env.services.long_queues().is_empty());
    // On with the default long queues.
    let env = Environment::from_toml_str(
        "dev.toml",
        &format!("{MINIMAL}[services.worker_long]\nmax = 2\n"),
    )
    .unwrap();
    assert!(
        env.services
            .components()
            .any(|c| c == Component::WorkerLong)
    );
    assert!(
        env.services
            .long_queues()
            .contains(&"workflow_based_app_execution".to_owned())
    );
    // A queue Dify does not have is refused, and so is taking every queue.
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}[services.worker_long]\nqueues = [\"datasets\"]\n"),
    );
    assert_eq!(e.field, "services.worker_long.queues");
    assert_eq!(e.value.as_deref(), Some("\"datasets\""));
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}[services.worker]\nqueues = [\"dataset\"]\n"),
    );
    assert_eq!(e.field, "services.worker.queues");
}

#[test]
fn a_number_too_large_for_toml_is_reported_against_its_key() {
    let text = "region = \"eu-west-1\"\n[network.create]\nnat_gateways = 99999999999999999999\n";
    let errors = Environment::from_toml_str("dev.toml", text).expect_err("refused");
    let e = &errors.0[0];
    assert_eq!(e.field, "network.create.nat_gateways", "{e}");
    assert!(
        e.message.contains("number too large") && e.message.contains("(line 3)"),
        "{e}"
    );
}

#[test]
fn adoption_settings_pin_existing_names_and_keys_and_default_to_todays_templates() {
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}[cache]\nslow_log_group_name = \"/aws/elasticache/dify prd\"\n"),
    );
    assert_eq!(e.field, "cache.slow_log_group_name");
    let e = one_error(
        "dev.toml",
        &format!("{MINIMAL}[services.api]\nlog_group_name = \"\"\n"),
    );
    assert_eq!(e.field, "services.api.log_group_name");
    let env = Environment::from_toml_str(
        "dev.toml",
        &format!(
            "{MINIMAL}[cache]\ncustomer_managed_key = false\nslow_log_group_name = \"/aws/elasticache/dify-dev\"\n\
             [database]\nperformance_insights_customer_managed_key = false\n\
             [services.api]\nlog_group_name = \"/ecs/dify-dev\"\n"
        ),
    )
    .unwrap();
    assert!(!env.cache.customer_managed_key);
    assert_eq!(
        env.cache.slow_log_group_name.as_deref(),
        Some("/aws/elasticache/dify-dev")
    );
    assert!(!env.database.performance_insights_customer_managed_key);
    assert_eq!(
        env.services.log_group_name(Component::Api),
        Some("/ecs/dify-dev")
    );
    assert_eq!(env.services.log_group_name(Component::Worker), None);
    let env = Environment::from_toml_str("dev.toml", MINIMAL).unwrap();
    assert!(env.cache.customer_managed_key);
    assert!(env.database.performance_insights_customer_managed_key);
    assert_eq!(env.cache.slow_log_group_name, None);
}
