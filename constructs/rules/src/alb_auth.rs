//! Sign-in at the load balancer and the listener rules around it: rule priorities unique per
//! listener, and an OIDC client secret that never sits in the template.

use std::collections::HashMap;

use cfn_core::Json;
use cfn_core::rules::{Finding, Rule, RuleContext};

use crate::util::{items, meta, number, ref_target};

/// `alb-rule-priority-unique`: no two listener rules of one listener (the same `Ref`/`GetAtt`
/// or literal `ListenerArn`) share a `Priority`. ELB refuses the second at deploy time, after
/// the stack has half-changed; with sign-in in front of some routes, a clash could also leave
/// a machine route shadowed by an authenticated one once the first rule is renumbered.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlbRulePriorityUnique;

impl Rule for AlbRulePriorityUnique {
    meta!(
        "alb-rule-priority-unique",
        Error,
        "two rules of one listener with one priority fail the deployment (PriorityInUse)",
        "give every listener rule of a listener its own Priority",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let mut seen: HashMap<(String, i64), String> = HashMap::new();
        for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::ListenerRule") {
            let Some(listener) = r.get("ListenerArn") else {
                continue;
            };
            let listener = ref_target(listener)
                .map(str::to_owned)
                .unwrap_or_else(|| listener.to_string());
            #[allow(clippy::cast_possible_truncation)]
            let Some(priority) = r
                .get("Priority")
                .and_then(|p| number(ctx, p))
                .map(|p| p as i64)
            else {
                continue;
            };
            if let Some(first) = seen.insert((listener, priority), r.logical_id.to_owned()) {
                out.push(r.finding(
                    self,
                    Some("Priority"),
                    format!("priority {priority} is also {first}'s, on the same listener"),
                ));
            }
        }
    }
}

/// `alb-auth-secret-reference`: every `authenticate-oidc` action (a listener's default
/// actions or a listener rule's actions) takes its `ClientSecret` from a
/// `{{resolve:secretsmanager:…}}` dynamic reference, or reuses the listener's
/// (`UseExistingClientSecret`). A literal secret is in the template, the stack's events and
/// every copy of either.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlbAuthSecretReference;

impl Rule for AlbAuthSecretReference {
    meta!(
        "alb-auth-secret-reference",
        Error,
        "an OIDC client secret written into the template is readable by anyone who can read the template",
        "store the client secret in Secrets Manager and set ClientSecret to {{resolve:secretsmanager:<arn>:SecretString:<key>}}",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (ty, list) in [
            ("AWS::ElasticLoadBalancingV2::Listener", "DefaultActions"),
            ("AWS::ElasticLoadBalancingV2::ListenerRule", "Actions"),
        ] {
            for r in ctx.resources_of_type(ty) {
                for (at, action) in items(r.get(list)) {
                    let Some(oidc) = action.get("AuthenticateOidcConfig") else {
                        continue;
                    };
                    if !secret_is_referenced(oidc) {
                        out.push(r.finding(
                            self,
                            Some(&format!("{list}{at}.AuthenticateOidcConfig.ClientSecret")),
                            "the OIDC client secret is not a Secrets Manager dynamic reference",
                        ));
                    }
                }
            }
        }
    }
}

/// Whether an OIDC config's client secret stays out of the template.
fn secret_is_referenced(oidc: &Json) -> bool {
    if oidc.get("UseExistingClientSecret") == Some(&Json::Bool(true)) {
        return true;
    }
    // The reference may be the whole string or built with Fn::Join / Fn::Sub (an ARN from a
    // Ref): look for it anywhere in the value.
    oidc.get("ClientSecret")
        .is_some_and(|v| v.to_string().contains("{{resolve:secretsmanager:"))
}
