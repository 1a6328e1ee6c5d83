//! Checking: the patterns values must match and the [`Checker`] that collects every problem
//! of one file instead of stopping at the first.

use std::net::IpAddr;
use std::path::Path;
use std::sync::LazyLock;

use ipnet::IpNet;
use regex::Regex;

use super::error::ConfigError;

pub(super) static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| re(r"^\d{12}$"));
pub(super) static REGION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$"));
pub(super) static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9-]{0,20}$"));
pub(super) static STACK_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z][A-Za-z0-9-]{0,127}$"));
pub(super) static VPC_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^vpc-[0-9a-f]{8,17}$"));
pub(super) static SUBNET_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^subnet-[0-9a-f]{8,17}$"));
pub(super) static ZONE_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^Z[0-9A-Z]{1,32}$"));
pub(super) static DOMAIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"));
pub(super) static ACM_ARN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
});
pub(super) static SECRET_ARN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
});
pub(super) static SNS_ARN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"));
pub(super) static WINDOW: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"));
pub(super) static MAINT_WINDOW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$",
    )
});
pub(super) static IMAGE_TAG: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"));
pub(super) static IMAGE_REF: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$",
    )
});
pub(super) static DB_VERSION: LazyLock<Regex> = LazyLock::new(|| re(r"^1[3-7](\.\d+)?$"));
pub(super) static DB_CLASS: LazyLock<Regex> = LazyLock::new(|| re(r"^db\.[a-z0-9]+\.[a-z0-9]+$"));
pub(super) static CACHE_NODE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^cache\.[a-z0-9]+\.[a-z0-9]+$"));
pub(super) static LOG_GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[.\-_/#A-Za-z0-9]{1,512}$"));
pub(super) static CACHE_VERSION: LazyLock<Regex> = LazyLock::new(|| re(r"^\d+(\.\d+)?$"));
pub(super) static ENV_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Z][A-Z0-9_]*$"));
pub(super) static EMAIL: LazyLock<Regex> = LazyLock::new(|| re(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"));
pub(super) static PULL_THROUGH_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache/[A-Za-z0-9/_+=.@-]+$",
    )
});
pub(super) static ECR_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-z0-9][a-z0-9._/-]{0,28}[a-z0-9]$"));
pub(super) static SG_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^sg-[0-9a-f]{8,17}$"));
pub(super) static PREFIX_LIST_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^pl-[0-9a-f]{8,17}$"));
pub(super) static TAG_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$"));

fn re(p: &str) -> Regex {
    // The patterns above are constants checked by the tests; a typo there is a bug, not input.
    Regex::new(p).unwrap_or_else(|e| panic!("invalid built-in pattern {p}: {e}"))
}

/// Secret-looking names that must not be set as plain environment values.
pub(super) const SECRET_WORDS: [&str; 5] = ["PASSWORD", "SECRET", "KEY", "TOKEN", "CREDENTIAL"];

pub(super) struct Checker<'a> {
    pub(super) file: &'a Path,
    pub(super) errors: Vec<ConfigError>,
}

impl Checker<'_> {
    pub(super) fn fail(&mut self, field: &str, value: Option<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            field: field.to_owned(),
            value,
            message: message.into(),
        });
    }

    pub(super) fn pattern(&mut self, field: &str, value: &str, re: &Regex, what: &str) {
        if !re.is_match(value) {
            self.fail(field, Some(quote(value)), format!("not {what}"));
        }
    }

    pub(super) fn opt_pattern(
        &mut self,
        field: &str,
        value: &Option<String>,
        re: &Regex,
        what: &str,
    ) {
        if let Some(v) = value {
            self.pattern(field, v, re, what);
        }
    }

    pub(super) fn cidr(&mut self, field: &str, value: &str) -> Option<IpNet> {
        match value.parse::<IpNet>() {
            Ok(net) if net.trunc() != net => {
                self.fail(
                    field,
                    Some(quote(value)),
                    format!("host bits are set; did you mean {}?", net.trunc()),
                );
                None
            }
            Ok(net) => Some(net),
            Err(_) => {
                let hint = if value.parse::<IpAddr>().is_ok() {
                    " (add a prefix length, e.g. /32 or /128)"
                } else {
                    ""
                };
                self.fail(
                    field,
                    Some(quote(value)),
                    format!("not an IPv4 or IPv6 CIDR{hint}"),
                );
                None
            }
        }
    }

    /// A daily (`hh:mm-hh:mm`) or weekly (`ddd:hh:mm-ddd:hh:mm`) UTC window, defaulted.
    pub(super) fn window(
        &mut self,
        field: &str,
        value: Option<String>,
        default: &str,
        weekly: bool,
    ) -> String {
        let v = value.unwrap_or_else(|| default.to_owned());
        if weekly {
            self.pattern(
                field,
                &v,
                &MAINT_WINDOW,
                "ddd:hh:mm-ddd:hh:mm (UTC, lowercase days)",
            );
        } else {
            self.pattern(field, &v, &WINDOW, "hh:mm-hh:mm (UTC)");
        }
        v
    }

    /// CloudWatch Logs' rule for group names (`[.\-_/#A-Za-z0-9]{1,512}`).
    pub(super) fn log_group_name(&mut self, field: &str, name: &str) {
        self.pattern(
            field,
            name,
            &LOG_GROUP_NAME,
            "a log group name (1-512 of letters, digits and . - _ / #)",
        );
    }

    pub(super) fn range(&mut self, field: &str, v: u32, min: u32, max: u32) {
        if v < min || v > max {
            self.fail(
                field,
                Some(v.to_string()),
                format!("must be between {min} and {max}"),
            );
        }
    }
}

pub(super) fn quote(s: &str) -> String {
    format!("\"{s}\"")
}
