//! Which versions of dify-api/web, dify-plugin-daemon and dify-sandbox work together: a table
//! of known-broken combinations, each with why and where that is written down
//! (`docs/research-dify-daemon.md` quotes the sources). The configuration refuses a row's
//! combination and names the fix.

/// A version as `(major, minor, patch)`, read from an image tag (`0.5.5-local` → `(0, 5, 5)`).
pub type Version = (u32, u32, u32);

/// Reads the leading `major.minor.patch` of an image tag; `None` for anything else (a digest,
/// a branch name), which the table then does not judge.
pub fn parse(tag: &str) -> Option<Version> {
    let core = tag.split(['-', '@']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// A half-open range `[from, to)`; `None` ends are open.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// Lowest version in the range.
    pub from: Option<Version>,
    /// First version past the range.
    pub to: Option<Version>,
}

impl Range {
    const ANY: Range = Range {
        from: None,
        to: None,
    };

    fn contains(self, v: Version) -> bool {
        self.from.is_none_or(|f| v >= f) && self.to.is_none_or(|t| v < t)
    }
}

/// One known-broken combination.
#[derive(Debug, Clone, Copy)]
pub struct Incompatibility {
    /// dify-api/web versions.
    pub api: Range,
    /// dify-plugin-daemon versions.
    pub daemon: Range,
    /// dify-sandbox versions.
    pub sandbox: Range,
    /// What breaks, and the fix.
    pub why: &'static str,
    /// Where it is documented.
    pub source: &'static str,
}

const fn v(major: u32, minor: u32, patch: u32) -> Option<Version> {
    Some((major, minor, patch))
}

/// The known-broken combinations.
pub const INCOMPATIBLE: [Incompatibility; 5] = [
    Incompatibility {
        api: Range {
            from: v(1, 13, 0),
            to: None,
        },
        daemon: Range {
            from: None,
            to: v(0, 5, 5),
        },
        sandbox: Range::ANY,
        why: "api sends plugin_unique_identifier as a query parameter, this daemon binds it from the JSON body of a GET: plugin upload and install fail with 400 (\"Internal Server Error\" in the console); use plugin_daemon = \"0.5.5-local\"",
        source: "langgenius/dify#31697; dify-plugin-daemon internal/server/controllers/plugins.go at 0.5.3; fixed by dify-plugin-daemon#593 (0.5.5)",
    },
    Incompatibility {
        api: Range::ANY,
        daemon: Range {
            from: v(0, 5, 6),
            to: v(0, 5, 8),
        },
        sandbox: Range::ANY,
        why: "the image never runs the daemon's database migrations, so a new dify_plugin database gets no tables; use 0.5.5-local",
        source: "dify-plugin-daemon#672, fixed in the image command by #690",
    },
    Incompatibility {
        api: Range {
            from: None,
            to: v(1, 14, 0),
        },
        daemon: Range {
            from: v(0, 6, 2),
            to: None,
        },
        sandbox: Range::ANY,
        why: "0.6.2 and later change the plugin protocol; Dify pairs 0.6.x only with 1.14 and later: keep 0.5.5-local with this api",
        source: "dify-plugin-daemon release notes 0.6.2; langgenius/dify docker/docker-compose.yaml pins",
    },
    Incompatibility {
        api: Range {
            from: v(1, 17, 0),
            to: None,
        },
        daemon: Range {
            from: None,
            to: v(0, 6, 10),
        },
        sandbox: Range::ANY,
        why: "api calls management/models/bindings, which older daemons answer with 404; use 0.6.10-local or later",
        source: "langgenius/dify#40134",
    },
    Incompatibility {
        api: Range::ANY,
        daemon: Range::ANY,
        sandbox: Range {
            from: v(0, 2, 15),
            to: v(0, 2, 16),
        },
        why: "seccomp and Node.js regressions (\"operation not permitted\" in code nodes); use 0.2.14",
        source: "langgenius/dify#38105; langgenius/dify-sandbox#260",
    },
];

/// The first known-broken row matching these tags; tags that are not versions match nothing.
pub fn check(api: &str, daemon: &str, sandbox: &str) -> Option<&'static Incompatibility> {
    let (a, d, s) = (parse(api)?, parse(daemon)?, parse(sandbox)?);
    INCOMPATIBLE
        .iter()
        .find(|row| row.api.contains(a) && row.daemon.contains(d) && row.sandbox.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_to_versions() {
        assert_eq!(parse("0.5.5-local"), Some((0, 5, 5)));
        assert_eq!(parse("1.13.3"), Some((1, 13, 3)));
        assert_eq!(parse("main"), None);
    }

    #[test]
    fn the_pinned_triple_is_compatible_and_the_old_one_is_not() {
        assert!(check("1.13.3", "0.5.5-local", "0.2.14").is_none());
        let row = check("1.13.3", "0.5.3-local", "0.2.14").map(|r| r.source);
        assert!(row.is_some_and(|s| s.contains("31697")));
        assert!(check("1.13.3", "0.5.6-local", "0.2.14").is_some());
        assert!(check("1.13.3", "0.6.2-local", "0.2.14").is_some());
        assert!(check("1.17.1", "0.6.1-local", "0.2.14").is_some());
        assert!(check("1.13.3", "0.5.5-local", "0.2.15").is_some());
    }
}
