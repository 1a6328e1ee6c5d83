//! Private-only mode, SSO at the load balancer and Bedrock through the task roles: what each
//! switch puts in the template, and the combinations the environment file refuses.
#![allow(missing_docs, clippy::unwrap_used)]

use dify_constructs::DifyStack;
use dify_constructs::config::{ConfigError, Environment};
use serde_json::Value as Json;

const BASE: &str = r#"
region = "ap-northeast-1"
account = "123456789012"
[network]
vpc_id = "vpc-0123456789abcdef0"
private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
public_subnet_ids = ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
[ingress.allowlist]
office = ["10.50.0.0/16"]
[alarms]
email = "ops@example.com"
[images.pull_through_cache]
credential_arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
"#;

const PRIVATE: &str = r#"
[network.private]
pypi_mirror_url = "https://pypi.corp.example.com/simple"
egress_cidrs = ["10.20.0.0/16"]
route_table_ids = ["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"]
s3_prefix_list_id = "pl-61a54008"
"#;

const CERT: &str = r#"
[domain]
name = "dify.example.com"
certificate_arn = "arn:aws:acm:ap-northeast-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
"#;

const OIDC: &str = r#"
[ingress.sso.oidc]
issuer = "https://login.example.com"
authorization_endpoint = "https://login.example.com/authorize"
token_endpoint = "https://login.example.com/token"
user_info_endpoint = "https://login.example.com/userinfo"
client_id = "dify"
client_secret_arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dify/oidc-AbCdEf"
client_secret_key = "client_secret"
"#;

fn env(text: &str) -> Environment {
    Environment::from_toml_str("dev.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(text: &str) -> Vec<ConfigError> {
    Environment::from_toml_str("dev.toml", text).unwrap_err().0
}

fn template(e: &Environment) -> Json {
    DifyStack::build(e).stack.synth().unwrap().template
}

fn of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

/// The logical IDs of the task security groups (every group but the load balancer's and the
/// endpoints').
fn task_groups(t: &Json) -> Vec<String> {
    of_type(t, "AWS::EC2::SecurityGroup")
        .into_iter()
        .map(|(id, _)| id.clone())
        .filter(|id| id.starts_with("App"))
        .collect()
}

fn refs(v: &Json) -> Option<String> {
    v.get("Fn::GetAtt")
        .and_then(|g| g[0].as_str())
        .or_else(|| v.get("Ref").and_then(Json::as_str))
        .map(str::to_owned)
}

#[test]
fn private_mode_makes_an_internal_load_balancer_and_the_endpoints() {
    let t = template(&env(&format!("{BASE}{PRIVATE}")));
    let lbs = of_type(&t, "AWS::ElasticLoadBalancingV2::LoadBalancer");
    assert_eq!(lbs.len(), 1);
    assert_eq!(lbs[0].1["Properties"]["Scheme"], "internal");
    assert!(
        lbs[0].1["Properties"]["Subnets"]
            .to_string()
            .contains("subnet-0123456789abcdef0")
    );
    let endpoints = of_type(&t, "AWS::EC2::VPCEndpoint");
    let names: Vec<String> = endpoints
        .iter()
        .map(|(_, e)| {
            e["Properties"]["ServiceName"]["Fn::Sub"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for svc in [
        "ecr.api",
        "ecr.dkr",
        "logs",
        "secretsmanager",
        "kms",
        "sts",
        "ssm",
        "s3",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(&format!(".{svc}"))),
            "no {svc} endpoint in {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n.contains("bedrock")),
        "Bedrock is off"
    );
    for (id, e) in &endpoints {
        let p = &e["Properties"];
        if p["VpcEndpointType"] == "Interface" {
            assert_eq!(p["PrivateDnsEnabled"], true, "{id}");
            assert_eq!(p["SubnetIds"].as_array().unwrap().len(), 2, "{id}");
        } else {
            assert_eq!(p["RouteTableIds"][0], "rtb-0123456789abcdef0", "{id}");
        }
    }
}

#[test]
fn private_mode_opens_no_task_group_to_the_internet() {
    let t = template(&env(&format!("{BASE}{PRIVATE}")));
    let groups = task_groups(&t);
    assert!(groups.len() >= 8, "{groups:?}");
    let mut endpoint_admits = 0;
    for (id, r) in of_type(&t, "AWS::EC2::SecurityGroupEgress") {
        let p = &r["Properties"];
        let Some(g) = refs(&p["GroupId"]) else {
            continue;
        };
        if !groups.contains(&g) {
            continue;
        }
        assert_ne!(p["CidrIp"], "0.0.0.0/0", "{id} opens {g} to the internet");
        if let Some(cidr) = p["CidrIp"].as_str() {
            assert_eq!(cidr, "10.20.0.0/16", "{id}");
        }
    }
    for (id, r) in of_type(&t, "AWS::EC2::SecurityGroupIngress") {
        let p = &r["Properties"];
        assert!(
            p.get("CidrIp").is_none(),
            "{id}: a task or endpoint group admits a CIDR"
        );
        if refs(&p["GroupId"]).is_some_and(|g| g.starts_with("EndpointsSecurityGroup")) {
            let from = refs(&p["SourceSecurityGroupId"]).unwrap();
            assert!(groups.contains(&from), "{id}: endpoints admit {from}");
            assert_eq!(p["FromPort"], 443);
            endpoint_admits += 1;
        }
    }
    // Every task group (services and migration) is admitted to the endpoints, and only those.
    assert_eq!(endpoint_admits, groups.len());
    // The sandbox reaches no internal range: only the endpoints and S3.
    let sandbox_cidrs = of_type(&t, "AWS::EC2::SecurityGroupEgress")
        .into_iter()
        .filter(|(_, r)| refs(&r["Properties"]["GroupId"]).is_some_and(|g| g.contains("Sandbox")))
        .filter(|(_, r)| r["Properties"].get("CidrIp").is_some())
        .count();
    assert_eq!(sandbox_cidrs, 0);
}

#[test]
fn private_mode_gives_the_plugin_daemon_the_mirror_and_turns_the_marketplace_off() {
    let t = template(&env(&format!("{BASE}{PRIVATE}")));
    let env_of = |family: &str, name: &str| -> Option<String> {
        of_type(&t, "AWS::ECS::TaskDefinition")
            .into_iter()
            .filter(|(_, td)| {
                td["Properties"]["Family"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with(family)
            })
            .flat_map(|(_, td)| {
                td["Properties"]["ContainerDefinitions"][0]["Environment"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .find(|kv| kv["Name"] == name)
            .map(|kv| kv["Value"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(
        env_of("-plugin-daemon", "PIP_MIRROR_URL").as_deref(),
        Some("https://pypi.corp.example.com/simple")
    );
    assert_eq!(
        env_of("-api", "MARKETPLACE_ENABLED").as_deref(),
        Some("false")
    );
    assert_eq!(env_of("-api", "PIP_MIRROR_URL"), None);
}

#[test]
fn with_every_switch_off_nothing_of_them_appears() {
    let t = template(&env(BASE));
    assert!(of_type(&t, "AWS::EC2::VPCEndpoint").is_empty());
    assert!(!t.to_string().contains("authenticate-"));
    assert!(!t.to_string().contains("bedrock:"));
    assert!(!t.to_string().contains("PIP_MIRROR_URL"));
}

#[test]
fn private_mode_refuses_an_internet_facing_load_balancer() {
    let e = errors(&format!(
        "{BASE}{PRIVATE}\n[ingress]\ninternet_facing = true\n"
    ));
    assert!(
        e.iter().any(|e| e.field == "ingress.internet_facing"),
        "{e:#?}"
    );
}

#[test]
fn private_mode_refuses_the_internet_as_an_egress_or_allowlist_range() {
    let text = format!("{BASE}{PRIVATE}").replace("\"10.20.0.0/16\"", "\"0.0.0.0/0\"");
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|e| e.field == "network.private.egress_cidrs[0]"),
        "{e:#?}"
    );
    let text = format!("{BASE}{PRIVATE}").replace("\"10.50.0.0/16\"", "\"0.0.0.0/0\"");
    let e = errors(&text);
    assert!(e.iter().any(|e| e.field == "ingress.allowlist"), "{e:#?}");
}

#[test]
fn private_mode_refuses_images_from_outside_ecr() {
    let text = format!("{BASE}{PRIVATE}").replace("[images.pull_through_cache]", "[images.unused]");
    let text = text.replace(
        "[images.unused]\ncredential_arn = \"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf\"",
        "",
    );
    let e = errors(&text);
    assert!(e.iter().any(|e| e.field == "images.registry"), "{e:#?}");
    assert!(e.iter().any(|e| e.field == "images.ssrf_proxy"), "{e:#?}");
}

#[test]
fn private_mode_needs_a_mirror_and_an_existing_vpc() {
    let e = errors(&format!("{BASE}{PRIVATE}").replace(
        "pypi_mirror_url = \"https://pypi.corp.example.com/simple\"\n",
        "",
    ));
    assert!(
        e.iter()
            .any(|e| e.field == "network.private.pypi_mirror_url"),
        "{e:#?}"
    );
    let created = r#"
region = "ap-northeast-1"
[network.create]
cidr = "10.0.0.0/16"
[network.private]
pypi_mirror_url = "https://pypi.corp.example.com/simple"
s3_prefix_list_id = "pl-61a54008"
[ingress.allowlist]
office = ["10.50.0.0/16"]
"#;
    let e = errors(created);
    assert!(e.iter().any(|e| e.field == "network.private"), "{e:#?}");
}

#[test]
fn sso_authenticates_console_and_web_routes_only() {
    let t = template(&env(&format!("{BASE}{CERT}{OIDC}")));
    let https = of_type(&t, "AWS::ElasticLoadBalancingV2::Listener")
        .into_iter()
        .find(|(_, l)| l["Properties"]["Port"] == 443)
        .unwrap();
    let default = &https.1["Properties"]["DefaultActions"];
    assert_eq!(default[0]["Type"], "authenticate-oidc");
    assert_eq!(default[1]["Type"], "forward");
    let secret = default[0]["AuthenticateOidcConfig"]["ClientSecret"].to_string();
    assert!(secret.contains("{{resolve:secretsmanager:"), "{secret}");
    assert!(secret.contains(":SecretString:client_secret}}"), "{secret}");
    let mut priorities = std::collections::HashSet::new();
    let mut authenticated = Vec::new();
    for (id, r) in of_type(&t, "AWS::ElasticLoadBalancingV2::ListenerRule") {
        let p = &r["Properties"];
        assert!(
            priorities.insert(p["Priority"].as_i64().unwrap()),
            "{id}: duplicate priority"
        );
        let paths: Vec<String> = p["Conditions"][0]["PathPatternConfig"]["Values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let auth = p["Actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["Type"].as_str().unwrap().starts_with("authenticate-"));
        for path in &paths {
            let machine = ["/v1", "/e", "/triggers", "/mcp", "/files", "/health"]
                .iter()
                .any(|m| path == m || path.starts_with(&format!("{m}/")));
            assert!(!(auth && machine), "{id}: {path} is behind sign-in");
            if auth {
                authenticated.push(path.clone());
            }
        }
    }
    authenticated.sort();
    assert_eq!(authenticated, ["/api/*", "/console/api", "/console/api/*"]);
}

#[test]
fn sso_with_cognito_uses_the_user_pool() {
    let cognito = r#"
[ingress.sso.cognito]
user_pool_arn = "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf"
user_pool_client_id = "abc123"
user_pool_domain = "dify-login"
"#;
    let t = template(&env(&format!("{BASE}{CERT}{cognito}")));
    let s = t.to_string();
    assert!(s.contains("authenticate-cognito"));
    assert!(s.contains("\"UserPoolDomain\":\"dify-login\""));
    assert!(!s.contains("authenticate-oidc"));
}

#[test]
fn sso_refuses_machine_routes_plaintext_secrets_and_plain_http() {
    let text =
        format!("{BASE}{CERT}[ingress.sso]\npaths = [\"/console/api/*\", \"/v1/*\"]\n{OIDC}");
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|e| e.field == "ingress.sso.paths[1]" && e.message.contains("/v1")),
        "{e:#?}"
    );
    let text = format!("{BASE}{CERT}[ingress.sso]\npaths = [\"/*\"]\n{OIDC}");
    assert!(
        errors(&text)
            .iter()
            .any(|e| e.field == "ingress.sso.paths[0]")
    );
    let plaintext = OIDC.replace(
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dify/oidc-AbCdEf",
        "my-client-secret",
    );
    let e = errors(&format!("{BASE}{CERT}{plaintext}"));
    assert!(
        e.iter()
            .any(|e| e.field == "ingress.sso.oidc.client_secret_arn"),
        "{e:#?}"
    );
    let e = errors(&format!("{BASE}{OIDC}"));
    assert!(
        e.iter()
            .any(|e| e.field == "ingress.sso" && e.message.contains("HTTPS")),
        "{e:#?}"
    );
}

fn bedrock_statements(t: &Json) -> Vec<(String, Json)> {
    of_type(t, "AWS::IAM::Role")
        .into_iter()
        .flat_map(|(id, r)| {
            r["Properties"]["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
                .filter(|s| s["Action"].to_string().contains("bedrock:"))
                .map(|s| (id.clone(), s))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn bedrock_grants_api_worker_and_plugin_daemon_scoped_to_region_and_account() {
    let t = template(&env(&format!("{BASE}\n[bedrock]\nenabled = true\n")));
    let statements = bedrock_statements(&t);
    let roles: std::collections::BTreeSet<&str> =
        statements.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles.len(), 3, "{roles:?}");
    for component in ["Api", "Worker", "PluginDaemon"] {
        assert!(
            roles
                .iter()
                .any(|r| r.starts_with(&format!("App{component}Task"))),
            "{component}: {roles:?}"
        );
    }
    for (role, s) in &statements {
        let actions = s["Action"].to_string();
        if s["Sid"] == "BedrockInvoke" {
            for a in [
                "InvokeModel\"",
                "InvokeModelWithResponseStream",
                "GetFoundationModel",
                "GetInferenceProfile",
            ] {
                assert!(actions.contains(a), "{role}: {a} missing in {actions}");
            }
            let resources = s["Resource"].to_string();
            assert!(
                resources.contains("${AWS::Region}::foundation-model/*"),
                "{resources}"
            );
            assert!(
                resources.contains("${AWS::AccountId}:inference-profile/*"),
                "{resources}"
            );
            assert!(!s["Resource"].as_array().unwrap().iter().any(|r| r == "*"));
        } else {
            assert_eq!(s["Resource"], "*", "{role}");
            assert!(
                actions.contains("ListFoundationModels")
                    && actions.contains("ListInferenceProfiles")
            );
            assert!(!actions.contains("Invoke"), "{role}: invoke on *");
        }
    }
    assert!(!t.to_string().contains("AWS_ACCESS_KEY_ID"));
}

#[test]
fn bedrock_scoped_to_configured_models_and_its_endpoints_in_private_mode() {
    let text = format!(
        "{BASE}{PRIVATE}\n[bedrock]\nmodel_arns = [\"arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0\"]\n"
    );
    let t = template(&env(&text));
    let invoke = bedrock_statements(&t)
        .into_iter()
        .find(|(_, s)| s["Sid"] == "BedrockInvoke")
        .unwrap()
        .1;
    assert_eq!(
        invoke["Resource"][0],
        "arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    );
    let names: Vec<String> = of_type(&t, "AWS::EC2::VPCEndpoint")
        .iter()
        .map(|(_, e)| {
            e["Properties"]["ServiceName"]["Fn::Sub"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with(".bedrock-runtime")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with(".bedrock")), "{names:?}");
}

#[test]
fn bedrock_refuses_access_keys_and_foreign_arns() {
    let e = errors(&format!(
        "{BASE}\n[bedrock]\n[dify.extra_env]\nAWS_ACCESS_KEY_ID = \"AKIAEXAMPLE\"\n"
    ));
    assert!(
        e.iter()
            .any(|e| e.field == "dify.extra_env.AWS_ACCESS_KEY_ID"
                && e.message.contains("task roles")),
        "{e:#?}"
    );
    let e = errors(&format!("{BASE}\n[bedrock]\nmodel_arns = [\"*\"]\n"));
    assert!(
        e.iter().any(|e| e.field == "bedrock.model_arns[0]"),
        "{e:#?}"
    );
}

/// The constructs refuse what the environment file cannot express wrongly: a private Dify
/// behind an internet-facing load balancer, SSO on plain HTTP.
#[test]
fn the_constructs_report_a_public_private_dify_and_sso_without_https() {
    use cfn_core::Stack;
    use dify_constructs::private::PrivateSettings;
    use dify_constructs::sso::{SsoProvider, SsoSettings};
    use dify_constructs::{Dify, DifyProps};

    let e = env(&format!("{BASE}{PRIVATE}"));
    let mut props = DifyProps::from_environment(&e);
    props.ingress.internet_facing = true;
    let mut stack = Stack::new("t");
    Dify::new(&mut stack.root(), "Dify", props);
    let err = format!("{:?}", stack.synth().unwrap_err());
    assert!(err.contains("dify-private"), "{err}");

    let settings: &PrivateSettings = e.private.as_ref().unwrap();
    assert_eq!(settings.egress_cidrs.len(), 1);
    let sso = SsoSettings::new(SsoProvider::Cognito {
        user_pool_arn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC".into(),
        user_pool_client_id: "c".into(),
        user_pool_domain: "d".into(),
    });
    let mut stack = Stack::new("t");
    Dify::new(
        &mut stack.root(),
        "Dify",
        DifyProps {
            sso: Some(sso),
            ..DifyProps::default()
        },
    );
    let err = format!("{:?}", stack.synth().unwrap_err());
    assert!(err.contains("dify-sso"), "{err}");
}

#[test]
fn private_mode_with_ecs_exec_gets_the_session_channel_endpoint_and_the_estimate_counts_them() {
    let private = format!("{BASE}{PRIVATE}");
    let with_exec = format!("{private}\n[operations]\necs_exec = true\n");
    let services = |text: &str| -> Vec<String> {
        let t = template(&env(text));
        of_type(&t, "AWS::EC2::VPCEndpoint")
            .iter()
            .map(|(_, r)| r["Properties"]["ServiceName"].to_string())
            .collect()
    };
    let without = services(&private);
    let with = services(&with_exec);
    assert!(
        !without.iter().any(|s| s.contains("ssmmessages")),
        "{without:?}"
    );
    assert!(with.iter().any(|s| s.contains("ssmmessages")), "{with:?}");
    assert_eq!(with.len(), without.len() + 1);

    // The estimate prices what the template creates: one line per endpoint, in each AZ.
    let estimate = |text: &str| {
        let props = dify_constructs::DifyProps::from_environment(&env(text));
        dify_constructs::cost::CostEstimate::for_props(&props).unwrap()
    };
    let interface = |text: &str| {
        let n = services(text).iter().filter(|s| !s.contains(".s3")).count();
        let e = estimate(text);
        let l = e
            .lines
            .iter()
            .find(|l| l.item == "interface endpoints (private mode)")
            .unwrap_or_else(|| panic!("no endpoint line: {:#?}", e.lines))
            .clone();
        (n, l)
    };
    let (n, line) = interface(&with_exec);
    assert!(line.basis.starts_with(&format!("{n} × 2 AZs")), "{line:?}");
    let (m, fewer) = interface(&private);
    assert_eq!(m + 1, n);
    assert!(fewer.monthly_usd < line.monthly_usd);
    assert!(
        !estimate(BASE)
            .lines
            .iter()
            .any(|l| l.item.starts_with("interface endpoints")),
        "no private mode, no endpoint line"
    );
}
