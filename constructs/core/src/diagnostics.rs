//! Problems found while building or validating a stack.

use std::fmt;

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; synthesis goes on.
    Warning,
    /// Synthesis fails.
    Error,
}

/// One problem, located as precisely as the template allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// A stable kebab-case code (`unknown-ref`, `dependency-cycle`, …), for filtering and docs.
    pub code: &'static str,
    /// The construct path (`DifyPrd/Database/Cluster`), or the stack name for stack-level items.
    pub construct_path: String,
    /// The logical ID of the resource, parameter, output or condition concerned.
    pub logical_id: Option<String>,
    /// Where in the item (`Properties.VpcConfig.SubnetIds[0]`).
    pub property: Option<String>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl Diagnostic {
    /// An error at a construct path.
    pub fn error(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            construct_path: path.into(),
            logical_id: None,
            property: None,
            message: message.into(),
        }
    }

    /// A warning at a construct path.
    pub fn warning(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, path, message)
        }
    }

    /// Names the logical ID concerned.
    pub fn at(mut self, logical_id: impl Into<String>) -> Self {
        self.logical_id = Some(logical_id.into());
        self
    }

    /// Names the property concerned.
    pub fn property(mut self, property: impl Into<String>) -> Self {
        self.property = Some(property.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}] {}", self.code, self.construct_path)?;
        if let Some(id) = &self.logical_id {
            write!(f, " ({id})")?;
        }
        if let Some(p) = &self.property {
            write!(f, " {p}")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_path_id_and_property() {
        let d = Diagnostic::error(
            "unknown-ref",
            "Prd/Db/Cluster",
            "Ref to unknown logical ID 'X'",
        )
        .at("DbCluster12345678")
        .property("Properties.DBSubnetGroupName");
        assert_eq!(
            d.to_string(),
            "error[unknown-ref] Prd/Db/Cluster (DbCluster12345678) Properties.DBSubnetGroupName: Ref to unknown logical ID 'X'"
        );
        assert!(d.is_error());
        assert!(!Diagnostic::warning("w", "p", "m").is_error());
    }
}
