//! IAM: wildcard actions, wildcard resources where a resource ARN is possible, and
//! administrator access.
//!
//! The rules read identity policies: inline `Policies` of roles, users and groups, and
//! `AWS::IAM::Policy`, `ManagedPolicy`, `RolePolicy`, `UserPolicy` and `GroupPolicy`. Resource
//! policies — KMS key policies, bucket policies, trust policies — grant to principals rather
//! than to the holder and are not read (a KMS key policy must say `"Resource": "*"`). Only
//! `Allow` statements matter.

use cfn_core::Json;
use cfn_core::rules::{Finding, Rule, RuleContext};

use crate::util::{At, INLINE_HOLDERS, allow_statements, identity_policies, items, meta, shape};

/// Actions that accept no resource but `*`: IAM offers no resource-level permission for them,
/// so a `"Resource": "*"` statement granting only these is not a finding. Lower case; a
/// trailing `*` matches a prefix (`ec2:describe*` covers every EC2 `Describe` action, and a
/// policy's own `ec2:Describe*`).
pub const STAR_ONLY_ACTIONS: [&str; 36] = [
    "acm:listcertificates",
    "application-autoscaling:describe*",
    "autoscaling:describe*",
    // The Bedrock model and inference-profile lists (Service Authorization Reference:
    // no resource type for either).
    "bedrock:listfoundationmodels",
    "bedrock:listinferenceprofiles",
    "cloudwatch:getmetricdata",
    "cloudwatch:getmetricstatistics",
    "cloudwatch:listmetrics",
    "cloudwatch:putmetricdata",
    "ec2:describe*",
    "ecr:getauthorizationtoken",
    "ecs:deregistertaskdefinition",
    "ecs:describetaskdefinition",
    "ecs:discoverpollendpoint",
    "ecs:listclusters",
    "ecs:listtaskdefinitions",
    "ecs:registertaskdefinition",
    "elasticloadbalancing:describe*",
    "kms:createkey",
    "kms:listaliases",
    "kms:listkeys",
    "logs:createlogdelivery",
    "logs:deletelogdelivery",
    "logs:getlogdelivery",
    "logs:listlogdeliveries",
    "logs:updatelogdelivery",
    "route53:listhostedzones",
    "s3:listallmybuckets",
    "secretsmanager:getrandompassword",
    "secretsmanager:listsecrets",
    "ssm:describeparameters",
    "ssmmessages:createcontrolchannel",
    "ssmmessages:createdatachannel",
    "ssmmessages:opencontrolchannel",
    "ssmmessages:opendatachannel",
    "sts:getcalleridentity",
];

/// Whether an action (as written in a policy) accepts only `*` as its resource.
pub fn star_only(action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    STAR_ONLY_ACTIONS.iter().any(|e| match e.strip_suffix('*') {
        Some(prefix) => a.starts_with(prefix),
        None => a == *e,
    })
}

/// `*` or `service:*`.
fn wildcard_action(a: &str) -> bool {
    a == "*" || a.ends_with(":*")
}

/// The literal strings of a property that may be a string or a list (intrinsics rendered by
/// [`shape`]; `None` for an element only deploy time knows).
fn strings(ctx: &RuleContext<'_>, v: Option<&Json>) -> Vec<(At, Option<String>)> {
    items(v)
        .map(|(suffix, x)| {
            let s = shape(ctx, x);
            (suffix, (!s.contains(crate::util::UNKNOWN)).then_some(s))
        })
        .collect()
}

/// `iam-wildcard-action`: identity policies grant no `*` or `service:*` action, and use no
/// `Allow` with `NotAction` (everything but a list).
#[derive(Clone, Copy, Debug, Default)]
pub struct IamWildcardAction;

impl Rule for IamWildcardAction {
    meta!(
        "iam-wildcard-action",
        Error,
        "a wildcard action grants every current and future API of a service, far beyond what the code calls",
        "list the actions the workload calls (s3:GetObject, s3:PutObject, …)",
        ["CKV_AWS_63"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for p in identity_policies(ctx) {
            for (sp, s) in allow_statements(ctx, p.doc) {
                if s.get("NotAction").is_some() {
                    out.push(p.resource.finding(
                        self,
                        Some(&format!("{}.Statement{sp}.NotAction", p.path())),
                        "Allow with NotAction grants every action but the listed ones",
                    ));
                }
                for (suffix, a) in strings(ctx, s.get("Action")) {
                    if let Some(a) = a.filter(|a| wildcard_action(a)) {
                        out.push(p.resource.finding(
                            self,
                            Some(&format!("{}.Statement{sp}.Action{suffix}", p.path())),
                            format!("the policy allows action {a}"),
                        ));
                    }
                }
            }
        }
    }
}

/// `iam-wildcard-resource`: identity policies name resources: `"Resource": "*"` (or an `Allow`
/// with `NotResource`) only for actions that accept nothing else ([`STAR_ONLY_ACTIONS`]).
///
/// A statement with an action only deploy time knows is not a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct IamWildcardResource;

impl Rule for IamWildcardResource {
    meta!(
        "iam-wildcard-resource",
        Error,
        "Resource \"*\" grants the actions on every resource in the account, not just the workload's",
        "name the resources (ARNs from Ref/GetAtt or Fn::Sub); keep \"*\" only for actions without resource-level permissions",
        [
            "CKV_AWS_107",
            "CKV_AWS_108",
            "CKV_AWS_109",
            "CKV_AWS_110",
            "CKV_AWS_111"
        ]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for p in identity_policies(ctx) {
            for (sp, s) in allow_statements(ctx, p.doc) {
                let actions = strings(ctx, s.get("Action"));
                if actions.iter().any(|(_, a)| a.is_none()) {
                    continue;
                }
                let needs_arn: Vec<String> = actions
                    .into_iter()
                    .filter_map(|(_, a)| a)
                    .filter(|a| !star_only(a))
                    .collect();
                if needs_arn.is_empty() && s.get("NotAction").is_none() {
                    continue;
                }
                let what = if needs_arn.is_empty() {
                    "every action but the NotAction list".to_owned()
                } else {
                    needs_arn.join(", ")
                };
                if s.get("NotResource").is_some() {
                    out.push(p.resource.finding(
                        self,
                        Some(&format!("{}.Statement{sp}.NotResource", p.path())),
                        format!("Allow with NotResource grants {what} on nearly everything"),
                    ));
                }
                for (suffix, r) in strings(ctx, s.get("Resource")) {
                    if r.as_deref() == Some("*") {
                        out.push(p.resource.finding(
                            self,
                            Some(&format!("{}.Statement{sp}.Resource{suffix}", p.path())),
                            format!("{what} on every resource"),
                        ));
                    }
                }
            }
        }
    }
}

/// `iam-inline-admin`: no identity policy grants administrator access (`Action: *` or
/// `NotAction` with `Resource: *`), and no role, user or group attaches the
/// `AdministratorAccess` managed policy.
#[derive(Clone, Copy, Debug, Default)]
pub struct IamInlineAdmin;

impl Rule for IamInlineAdmin {
    meta!(
        "iam-inline-admin",
        Error,
        "a workload with administrator access turns any bug into an account takeover",
        "grant the workload's own actions on its own resources; administrators get access through IAM Identity Center, not a stack",
        ["CKV_AWS_62"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for p in identity_policies(ctx) {
            for (sp, s) in allow_statements(ctx, p.doc) {
                let all_actions = s.get("NotAction").is_some()
                    || strings(ctx, s.get("Action"))
                        .iter()
                        .any(|(_, a)| a.as_deref() == Some("*"));
                let all_resources = s.get("NotResource").is_some()
                    || strings(ctx, s.get("Resource"))
                        .iter()
                        .any(|(_, r)| r.as_deref() == Some("*"));
                if all_actions && all_resources {
                    out.push(p.resource.finding(
                        self,
                        Some(&format!("{}.Statement{sp}", p.path())),
                        "the statement grants administrator access (every action on every resource)",
                    ));
                }
            }
        }
        for r in INLINE_HOLDERS
            .iter()
            .flat_map(|ty| ctx.resources_of_type(ty))
        {
            for (suffix, arn) in items(r.get("ManagedPolicyArns")) {
                // The partition is often a pseudo parameter: read the rendered shape.
                let admin = shape(ctx, arn).ends_with(":policy/AdministratorAccess");
                if admin {
                    out.push(r.finding(
                        self,
                        Some(&format!("ManagedPolicyArns{suffix}")),
                        "AdministratorAccess is attached",
                    ));
                }
            }
        }
    }
}
