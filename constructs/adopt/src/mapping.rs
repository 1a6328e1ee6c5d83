//! The mapping model: which Terraform resource becomes which resource of our template, how its
//! CloudFormation import identifier is derived, and which properties must match.
//!
//! A project ships a list of [`Mapping`]s for the Terraform module it replaces and may append
//! its own; the first mapping whose type and address pattern match a Terraform resource wins.

use serde::Serialize;
use serde_json::Value;

/// Where a mapped resource lives in our synthesized template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// An exact logical ID.
    LogicalId(String),
    /// The resource of this type whose construct path (`Metadata["aws:cdk:path"]`) is
    /// `<stack>/<path>`: logical IDs carry a hash of the path, paths do not.
    Path {
        /// `AWS::RDS::DBCluster`.
        resource_type: String,
        /// The path below the stack: `Database/Cluster`.
        path: String,
    },
}

impl Target {
    /// A target found by type and construct path below the stack.
    pub fn path(resource_type: &str, path: &str) -> Target {
        Target::Path {
            resource_type: resource_type.to_owned(),
            path: path.to_owned(),
        }
    }

    /// Finds the logical ID in a template's `Resources`.
    pub fn find(&self, resources: &serde_json::Map<String, Value>) -> Vec<String> {
        match self {
            Target::LogicalId(id) => resources
                .contains_key(id)
                .then(|| id.clone())
                .into_iter()
                .collect(),
            Target::Path {
                resource_type,
                path,
            } => resources
                .iter()
                .filter(|(_, r)| r["Type"] == resource_type.as_str())
                .filter(|(_, r)| {
                    r["Metadata"]["aws:cdk:path"]
                        .as_str()
                        .and_then(|p| p.split_once('/'))
                        .is_some_and(|(_, below)| below == path)
                })
                .map(|(id, _)| id.clone())
                .collect(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::LogicalId(id) => write!(f, "logical ID {id}"),
            Target::Path {
                resource_type,
                path,
            } => write!(f, "{resource_type} at path {path}"),
        }
    }
}

/// One property of our template compared with one attribute of the Terraform state.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The property below `Properties`, `/`-separated with list indexes as numbers
    /// (`LogDeliveryConfigurations/0/LogFormat`).
    pub property: String,
    /// The attribute, `.`-separated (`log_delivery_configuration.0.log_format`).
    pub attribute: String,
    /// The environment-file key that sets the property, when one does
    /// (`database.engine_version`).
    pub env_key: Option<String>,
    /// Whether letter case is insignificant (AWS lower-cases maintenance windows).
    pub ignore_case: bool,
    /// The value to set `env_key` to, when it is not the state's value (a boolean that
    /// decides whether a key ARN is set at all).
    pub env_value: Option<Value>,
}

/// How one key of the CloudFormation resource identifier is read from the state.
#[derive(Clone, Debug, Serialize)]
pub struct IdentifierPart {
    /// The `primaryIdentifier` property of the type (`DBClusterIdentifier`).
    pub key: String,
    /// The Terraform attribute that holds it (`cluster_identifier`).
    pub attribute: String,
}

/// What becomes of a Terraform resource that is not imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Outcome {
    /// Our template creates its own; the Terraform one is retired after the cut-over.
    CreatedNew {
        /// Our counterpart, when there is one.
        counterpart: Option<Target>,
    },
    /// Nothing of ours replaces it: Terraform keeps managing it (or it is deleted by hand).
    LeftToTerraform,
    /// CloudFormation models it as properties of another resource (a bucket's versioning):
    /// it leaves Terraform with that resource and is not imported on its own.
    MergedInto {
        /// The resource whose properties carry it.
        target: Target,
    },
}

/// What a mapping does with the Terraform resources it matches.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Import into the target.
    Import {
        /// Our resource.
        target: Target,
        /// The import identifier, one part per `primaryIdentifier` key.
        identifier: Vec<IdentifierPart>,
        /// Properties that must match, and what fixes them.
        comparisons: Vec<Comparison>,
        /// `Fn::GetAtt` attributes of the target read from the state (`Arn` ← `arn`), so a
        /// reference to this resource resolves to the existing value.
        attributes: Vec<(String, String)>,
    },
    /// Not imported.
    NotImported {
        /// What happens instead.
        outcome: Outcome,
        /// Why: for the plan's reader.
        reason: String,
    },
}

/// A rule matching Terraform resources to what becomes of them.
#[derive(Clone, Debug, Serialize)]
pub struct Mapping {
    /// The Terraform resource type (`aws_rds_cluster`).
    pub terraform_type: String,
    /// The address pattern ([`crate::state::address_matches`]).
    pub address: String,
    /// What happens to the matching resources.
    pub action: Action,
}

impl Mapping {
    /// A mapping that imports the matching resource into `target`.
    ///
    /// ```
    /// use cfn_adopt::{Mapping, Target};
    /// let m = Mapping::import("aws_s3_bucket", "aws_s3_bucket.files",
    ///         Target::path("AWS::S3::Bucket", "Storage/Files"))
    ///     .identifier("BucketName", "bucket")
    ///     .attribute("Arn", "arn");
    /// assert!(m.matches("aws_s3_bucket", "module.dify.aws_s3_bucket.files"));
    /// ```
    pub fn import(terraform_type: &str, address: &str, target: Target) -> Mapping {
        Mapping {
            terraform_type: terraform_type.to_owned(),
            address: address.to_owned(),
            action: Action::Import {
                target,
                identifier: Vec::new(),
                comparisons: Vec::new(),
                attributes: Vec::new(),
            },
        }
    }

    /// A mapping for resources that are not imported.
    pub fn not_imported(
        terraform_type: &str,
        address: &str,
        outcome: Outcome,
        reason: &str,
    ) -> Mapping {
        Mapping {
            terraform_type: terraform_type.to_owned(),
            address: address.to_owned(),
            action: Action::NotImported {
                outcome,
                reason: reason.to_owned(),
            },
        }
    }

    /// Adds an identifier part (import mappings only; ignored otherwise).
    pub fn identifier(mut self, key: &str, attribute: &str) -> Mapping {
        if let Action::Import { identifier, .. } = &mut self.action {
            identifier.push(IdentifierPart {
                key: key.to_owned(),
                attribute: attribute.to_owned(),
            });
        }
        self
    }

    /// Adds a comparison (import mappings only).
    pub fn compare(self, property: &str, attribute: &str, env_key: Option<&str>) -> Mapping {
        self.push_comparison(property, attribute, env_key, false)
    }

    /// Adds a comparison that ignores letter case (import mappings only).
    pub fn compare_ignoring_case(
        self,
        property: &str,
        attribute: &str,
        env_key: Option<&str>,
    ) -> Mapping {
        self.push_comparison(property, attribute, env_key, true)
    }

    /// Adds a comparison fixed by setting `env_key` to `env_value` (import mappings only).
    pub fn compare_fixed_by(
        mut self,
        property: &str,
        attribute: &str,
        env_key: &str,
        env_value: Value,
    ) -> Mapping {
        self = self.push_comparison(property, attribute, Some(env_key), false);
        if let Action::Import { comparisons, .. } = &mut self.action
            && let Some(last) = comparisons.last_mut()
        {
            last.env_value = Some(env_value);
        }
        self
    }

    /// Reads an `Fn::GetAtt` attribute of the target from a state attribute (import only).
    pub fn attribute(mut self, cfn: &str, terraform: &str) -> Mapping {
        if let Action::Import { attributes, .. } = &mut self.action {
            attributes.push((cfn.to_owned(), terraform.to_owned()));
        }
        self
    }

    fn push_comparison(
        mut self,
        property: &str,
        attribute: &str,
        env_key: Option<&str>,
        ignore_case: bool,
    ) -> Mapping {
        if let Action::Import { comparisons, .. } = &mut self.action {
            comparisons.push(Comparison {
                property: property.to_owned(),
                attribute: attribute.to_owned(),
                env_key: env_key.map(str::to_owned),
                ignore_case,
                env_value: None,
            });
        }
        self
    }

    /// Whether this mapping applies to a Terraform resource.
    pub fn matches(&self, terraform_type: &str, address: &str) -> bool {
        self.terraform_type == terraform_type
            && crate::state::address_matches(&self.address, address)
    }
}
