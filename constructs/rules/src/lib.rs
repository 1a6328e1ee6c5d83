//! The default guardrail pack: the rules a platform team wants between a template and AWS,
//! run in-process at `synth` (see [`cfn_core::rules`] for the engine).
//!
//! [`default_pack`] returns a [`RulePack`] for a [`Profile`]: every rule for
//! [`Profile::Production`], and for [`Profile::NonProduction`] all but the production-only ones
//! ([`PRODUCTION_ONLY`]: customer KMS keys for logs, secrets and buckets, deletion protection,
//! removal policies, backup and snapshot retention, WAF, alarm actions, password rotation).
//! Each rule is also a public unit struct, so a team can compose a pack of its own, add rules
//! to this one, or drop some.
//!
//! Rule IDs are stable, kebab-case, with a category prefix: `enc-` (encryption at rest),
//! `tls-` (in transit), `exposure-`, `iam-`, `secret-`, `data-` (data protection), `ops-`
//! (operations) and `alb-`. Values are read as synth time knows them (a parameter's default
//! counts); a value only deploy time can tell is not a finding unless a rule says it must see a
//! literal (`tls-rds-force-ssl` must see the parameter group).
//!
//! ```
//! use cfn_core::rules::Enforcement;
//! use cfn_core::Stack;
//! use cfn_rules::{Profile, default_pack};
//! use serde_json::json;
//!
//! let mut stack = Stack::new("Demo");
//! stack.set_guardrails(default_pack(Profile::NonProduction), Enforcement::Advise);
//! stack.root().child("Data").add_raw("Logs", "AWS::Logs::LogGroup", None, json!({}));
//! let out = stack.synth().unwrap();
//! assert_eq!(out.findings[0].rule_id, "ops-log-retention");
//! assert_eq!(out.findings[0].construct_path, "Demo/Data/Logs");
//! assert_eq!(out.findings[0].property.as_deref(), Some("Properties.RetentionInDays"));
//!
//! // A pack of your own: the default one without a rule, plus whatever you add.
//! let mine = default_pack(Profile::Production).without("ops-container-insights");
//! assert!(mine.get("enc-rds-storage").is_some());
//! ```
//!
//! A rule of your own (`docs/rules.md` explains the parts):
//!
//! ```
//! use cfn_core::rules::{Finding, Rule, RuleContext};
//! use cfn_core::Severity;
//!
//! /// Every ECS service runs at least two tasks.
//! struct TwoTasks;
//!
//! impl Rule for TwoTasks {
//!     fn id(&self) -> &'static str { "team-ecs-two-tasks" }
//!     fn severity(&self) -> Severity { Severity::Warning }
//!     fn summary(&self) -> &'static str { "one task is one failure away from an outage" }
//!     fn fix(&self) -> &'static str { "set DesiredCount to 2 or more" }
//!     fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
//!         for r in ctx.resources_of_type("AWS::ECS::Service") {
//!             let n = r.get("DesiredCount").and_then(|v| ctx.resolve_str(v));
//!             if n.and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n < 2) {
//!                 out.push(r.finding(self, Some("DesiredCount"), "the service runs one task"));
//!             }
//!         }
//!     }
//! }
//!
//! let pack = cfn_rules::default_pack(cfn_rules::Profile::Production).with(TwoTasks);
//! assert!(pack.get("team-ecs-two-tasks").is_some());
//! ```

mod alb_auth;
mod data;
mod deploy;
mod detect;
mod encryption;
mod exposure;
mod graph;
mod iam;
mod ops;
mod secrets;
mod transit;
mod util;

use cfn_core::rules::RulePack;

pub use alb_auth::{AlbAuthSecretReference, AlbRulePriorityUnique};
pub use data::{
    DataCacheSnapshots, DataDbBackupRetention, DataDeletionProtection, DataRemovalPolicy,
    DataS3Versioning, MIN_BACKUP_DAYS,
};
pub use deploy::{AlbDrainCoversIdleTimeout, OpsWaitForDbInstance, OpsWaitForSgRules};
pub use encryption::{
    EncEfs, EncElasticacheAtRest, EncKmsRotation, EncLogGroupKms, EncRdsStorage, EncS3Bucket,
    EncS3Kms, EncSecretKms,
};
pub use exposure::{
    AlbWaf, ExposureCacheNoAuth, ExposureDbPublic, ExposureS3PublicAccess,
    ExposureSgDeclaresEgress, ExposureSgEgressAll, ExposureSgOpenIngress,
};
pub use iam::{
    IamInlineAdmin, IamWildcardAction, IamWildcardResource, STAR_ONLY_ACTIONS, star_only,
};
pub use ops::{
    AlbDropInvalidHeaders, OpsAlarmActions, OpsAlbAccessLogs, OpsContainerInsights,
    OpsEcsCircuitBreaker, OpsLogRetention, OpsS3AccessLogs, OpsTargetGroupHealthCheck,
};
pub use secrets::{
    SecretDbRotation, SecretDbStatementLogging, SecretEnvName, SecretEnvValue,
    SecretParameterNoEcho, SecretSsmPlaintext,
};
pub use transit::{
    TlsAlbHttps, TlsAlbPolicy, TlsElasticache, TlsRdsForceSsl, TlsS3BucketPolicy,
    TlsVerificationDisabled,
};

/// Which rules apply: production adds the rules that cost money or slow down iteration
/// (customer keys, deletion protection, retained resources, long backups).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Every rule.
    Production,
    /// Every rule but [`PRODUCTION_ONLY`].
    NonProduction,
}

impl Profile {
    /// [`Profile::Production`] when `production`, else [`Profile::NonProduction`].
    pub fn from_production(production: bool) -> Profile {
        if production {
            Profile::Production
        } else {
            Profile::NonProduction
        }
    }

    /// `production` or `non-production`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Production => "production",
            Profile::NonProduction => "non-production",
        }
    }
}

/// The rules only [`Profile::Production`] runs.
pub const PRODUCTION_ONLY: [&str; 10] = [
    "enc-log-group-kms",
    "enc-secret-kms",
    "data-deletion-protection",
    "data-removal-policy",
    "data-db-backup-retention",
    "data-cache-snapshots",
    // Production hardening.
    "alb-waf",
    "ops-alarm-actions",
    "enc-s3-kms",
    "secret-db-rotation",
];

/// A pack for a profile: all of it for production, without [`PRODUCTION_ONLY`] otherwise.
fn for_profile(pack: RulePack, profile: Profile) -> RulePack {
    match profile {
        Profile::Production => pack,
        Profile::NonProduction => PRODUCTION_ONLY.iter().fold(pack, |p, id| p.without(id)),
    }
}

/// The nine rules added for deploy-time ordering, rollouts, egress and production hardening
/// (`ops-wait-for-db-instance`, `ops-wait-for-sg-rules`, `alb-drain-covers-idle-timeout`,
/// `exposure-sg-declares-egress`, `exposure-sg-egress-all`, and the production-only `alb-waf`,
/// `ops-alarm-actions`, `enc-s3-kms`, `secret-db-rotation`) as a pack of their own (named
/// `staged-production` or `staged-non-production`), for a team that composes its own pack.
/// [`default_pack`] includes them.
pub fn staged_pack(profile: Profile) -> RulePack {
    for_profile(
        with_rollout_and_hardening(RulePack::new(format!("staged-{}", profile.name()))),
        profile,
    )
}

/// Adds the nine rules of [`staged_pack`] to `pack`.
fn with_rollout_and_hardening(pack: RulePack) -> RulePack {
    pack
        // Deploy-time ordering and rollouts.
        .with(OpsWaitForDbInstance)
        .with(OpsWaitForSgRules)
        .with(AlbDrainCoversIdleTimeout)
        // Egress.
        .with(ExposureSgDeclaresEgress)
        .with(ExposureSgEgressAll)
        // Production only.
        .with(AlbWaf)
        .with(OpsAlarmActions)
        .with(EncS3Kms)
        .with(SecretDbRotation)
}

/// The default pack for a profile, named `default-production` or `default-non-production`.
pub fn default_pack(profile: Profile) -> RulePack {
    let pack = RulePack::new(format!("default-{}", profile.name()))
        // Encryption at rest.
        .with(EncRdsStorage)
        .with(EncElasticacheAtRest)
        .with(EncS3Bucket)
        .with(EncEfs)
        .with(EncLogGroupKms)
        .with(EncSecretKms)
        .with(EncKmsRotation)
        // Encryption in transit.
        .with(TlsElasticache)
        .with(TlsAlbHttps)
        .with(TlsAlbPolicy)
        .with(TlsS3BucketPolicy)
        .with(TlsRdsForceSsl)
        .with(TlsVerificationDisabled)
        // Public exposure.
        .with(ExposureSgOpenIngress)
        .with(ExposureS3PublicAccess)
        .with(ExposureDbPublic)
        .with(ExposureCacheNoAuth)
        // IAM.
        .with(IamWildcardAction)
        .with(IamWildcardResource)
        .with(IamInlineAdmin)
        // Secrets.
        .with(SecretEnvName)
        .with(SecretEnvValue)
        .with(SecretParameterNoEcho)
        .with(SecretSsmPlaintext)
        .with(SecretDbStatementLogging)
        // Data protection.
        .with(DataDeletionProtection)
        .with(DataRemovalPolicy)
        .with(DataDbBackupRetention)
        .with(DataCacheSnapshots)
        .with(DataS3Versioning)
        // Operations.
        .with(OpsLogRetention)
        .with(OpsContainerInsights)
        .with(OpsEcsCircuitBreaker)
        .with(OpsTargetGroupHealthCheck)
        .with(OpsS3AccessLogs)
        .with(OpsAlbAccessLogs)
        .with(AlbDropInvalidHeaders)
        // Sign-in at the load balancer.
        .with(AlbRulePriorityUnique)
        .with(AlbAuthSecretReference);
    for_profile(with_rollout_and_hardening(pack), profile)
}
