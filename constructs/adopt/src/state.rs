//! Terraform state, format version 4: the state file itself and `terraform show -json`.
//!
//! Both shapes become one list of managed resource instances, each with its full address
//! (`module.dify.aws_rds_cluster_instance.dify[0]`), its attributes and the addresses it
//! depends on. Data sources are read-only lookups Terraform does not own: they are skipped and
//! listed, never mapped.

use serde::Serialize;
use serde_json::{Map, Value};

/// The state format this parser reads (`"version": 4`, Terraform 0.12 and later).
pub const STATE_VERSION: u64 = 4;

/// Why a text is not a state this parser can read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The text is not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// JSON, but neither a state file nor `terraform show -json` output.
    #[error(
        "not a Terraform state: {0} (expected a state file with \"version\": 4 and \"resources\", or `terraform show -json` output with \"values\")"
    )]
    NotAState(String),
    /// A state of another format version.
    #[error(
        "unsupported Terraform state version {found}: only version {STATE_VERSION} (Terraform 0.12 and later) is read; run `terraform state pull` with a current Terraform to upgrade it"
    )]
    UnsupportedVersion {
        /// The version the file declares.
        found: String,
    },
    /// `terraform show -json` output of an unsupported format version.
    #[error("unsupported `terraform show -json` format_version {found}: only 1.x is read")]
    UnsupportedFormat {
        /// The `format_version` the file declares.
        found: String,
    },
    /// A resource entry lacks a field the format requires.
    #[error("malformed state at {at}: {reason}")]
    Malformed {
        /// Where: the resource's index or address.
        at: String,
        /// What is wrong.
        reason: String,
    },
}

/// The managed resources of a Terraform state.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TerraformState {
    /// The Terraform version that wrote the state, when it says.
    pub terraform_version: Option<String>,
    /// Every managed resource instance, in the state's order.
    pub resources: Vec<TfResource>,
    /// Addresses of data sources, which are skipped.
    pub skipped_data_sources: Vec<String>,
}

/// One managed resource instance.
#[derive(Clone, Debug, Serialize)]
pub struct TfResource {
    /// The full address: `module.dify.aws_rds_cluster_instance.dify[0]`.
    pub address: String,
    /// The address without the instance key: `module.dify.aws_rds_cluster_instance.dify`.
    pub base_address: String,
    /// The resource type: `aws_rds_cluster`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The provider's address, when the state records it.
    pub provider: Option<String>,
    /// The instance's attributes as the provider recorded them.
    #[serde(skip)]
    pub attributes: Map<String, Value>,
    /// Base addresses of the resources this one depends on.
    pub dependencies: Vec<String>,
}

impl TfResource {
    /// The attribute at a dotted path (`log_delivery_configuration.0.destination`): object
    /// keys, and list indexes as numbers.
    pub fn attribute(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut at = self.attributes.get(parts.next()?)?;
        for part in parts {
            at = match at {
                Value::Object(m) => m.get(part)?,
                Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }
}

impl TerraformState {
    /// Reads a state file or `terraform show -json` output.
    ///
    /// ```
    /// let state = cfn_adopt::TerraformState::parse(r#"{"version": 4, "terraform_version": "1.9.8",
    ///   "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "files",
    ///     "module": "module.dify", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
    ///     "instances": [{"attributes": {"bucket": "dify-prd-storage"}}]}]}"#).unwrap();
    /// assert_eq!(state.resources[0].address, "module.dify.aws_s3_bucket.files");
    /// ```
    pub fn parse(text: &str) -> Result<TerraformState, StateError> {
        let json: Value = serde_json::from_str(text)?;
        let Value::Object(root) = json else {
            return Err(StateError::NotAState(
                "the top level is not an object".into(),
            ));
        };
        // A plan's JSON carries a format_version too: tell it apart first.
        if root.contains_key("planned_values") {
            return Err(StateError::NotAState(
                "this is a plan (`terraform show -json PLANFILE`); give the state".into(),
            ));
        }
        if root.contains_key("values") || root.contains_key("format_version") {
            return from_show_json(&root);
        }
        let Some(version) = root.get("version") else {
            return Err(StateError::NotAState("no \"version\" field".into()));
        };
        if version.as_u64() != Some(STATE_VERSION) {
            return Err(StateError::UnsupportedVersion {
                found: version.to_string(),
            });
        }
        from_state_file(&root)
    }

    /// The resource at an exact address.
    pub fn get(&self, address: &str) -> Option<&TfResource> {
        self.resources.iter().find(|r| r.address == address)
    }
}

fn from_state_file(root: &Map<String, Value>) -> Result<TerraformState, StateError> {
    let mut state = TerraformState {
        terraform_version: root
            .get("terraform_version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..TerraformState::default()
    };
    let resources = match root.get("resources") {
        Some(Value::Array(a)) => a.as_slice(),
        None => &[],
        Some(_) => return Err(StateError::NotAState("\"resources\" is not a list".into())),
    };
    for (i, r) in resources.iter().enumerate() {
        let at = || format!("resources[{i}]");
        let field = |name: &str| {
            r.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| StateError::Malformed {
                    at: at(),
                    reason: format!("no \"{name}\" string"),
                })
        };
        let (mode, ty, name) = (field("mode")?, field("type")?, field("name")?);
        let module = r.get("module").and_then(Value::as_str);
        let base = join_address(module, mode, ty, name);
        if mode == "data" {
            state.skipped_data_sources.push(base);
            continue;
        }
        let instances = r
            .get("instances")
            .and_then(Value::as_array)
            .ok_or_else(|| StateError::Malformed {
                at: base.clone(),
                reason: "no \"instances\" list".into(),
            })?;
        for inst in instances {
            let key = inst.get("index_key");
            let attributes = object(inst.get("attributes"), &base)?;
            state.resources.push(TfResource {
                address: format!("{base}{}", index_suffix(key)),
                base_address: base.clone(),
                resource_type: ty.to_owned(),
                provider: r.get("provider").and_then(Value::as_str).map(str::to_owned),
                attributes,
                dependencies: strings(inst.get("dependencies")),
            });
        }
    }
    Ok(state)
}

fn from_show_json(root: &Map<String, Value>) -> Result<TerraformState, StateError> {
    if let Some(v) = root.get("format_version") {
        let text = v.as_str().unwrap_or_default();
        if !text.starts_with("1.") && text != "1" {
            return Err(StateError::UnsupportedFormat {
                found: v.to_string(),
            });
        }
    }
    let mut state = TerraformState {
        terraform_version: root
            .get("terraform_version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..TerraformState::default()
    };
    // `terraform show -json` of an empty state has no "values" at all.
    let Some(values) = root.get("values") else {
        return Ok(state);
    };
    let module = values
        .get("root_module")
        .ok_or_else(|| StateError::NotAState("\"values\" has no \"root_module\"".into()))?;
    walk_module(module, &mut state)?;
    Ok(state)
}

fn walk_module(module: &Value, state: &mut TerraformState) -> Result<(), StateError> {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let address =
            r.get("address")
                .and_then(Value::as_str)
                .ok_or_else(|| StateError::Malformed {
                    at: "values".into(),
                    reason: "a resource without \"address\"".into(),
                })?;
        let ty = r.get("type").and_then(Value::as_str).unwrap_or_default();
        let mode = r.get("mode").and_then(Value::as_str).unwrap_or("managed");
        let base = match r.get("index") {
            Some(_) => address
                .rfind('[')
                .map_or(address, |i| &address[..i])
                .to_owned(),
            None => address.to_owned(),
        };
        if mode == "data" {
            state.skipped_data_sources.push(address.to_owned());
            continue;
        }
        state.resources.push(TfResource {
            address: address.to_owned(),
            base_address: base,
            resource_type: ty.to_owned(),
            provider: r
                .get("provider_name")
                .and_then(Value::as_str)
                .map(str::to_owned),
            attributes: object(r.get("values"), address)?,
            dependencies: strings(r.get("depends_on")),
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk_module(child, state)?;
    }
    Ok(())
}

fn join_address(module: Option<&str>, mode: &str, ty: &str, name: &str) -> String {
    let data = if mode == "data" { "data." } else { "" };
    match module {
        Some(m) if !m.is_empty() => format!("{m}.{data}{ty}.{name}"),
        _ => format!("{data}{ty}.{name}"),
    }
}

/// `[0]` for `count`, `["key"]` for `for_each`, nothing for a single instance.
fn index_suffix(key: Option<&Value>) -> String {
    match key {
        Some(Value::Number(n)) => format!("[{n}]"),
        Some(Value::String(s)) => format!("[{}]", Value::String(s.clone())),
        _ => String::new(),
    }
}

fn object(v: Option<&Value>, at: &str) -> Result<Map<String, Value>, StateError> {
    match v {
        Some(Value::Object(m)) => Ok(m.clone()),
        None | Some(Value::Null) => Ok(Map::new()),
        Some(_) => Err(StateError::Malformed {
            at: at.to_owned(),
            reason: "attributes are not an object".into(),
        }),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Whether `address` matches `pattern`. `*` stands for any run of characters. A pattern that
/// does not start with `module.` matches the address below any module, so
/// `aws_rds_cluster.dify` matches `module.dify.aws_rds_cluster.dify` too.
///
/// ```
/// use cfn_adopt::state::address_matches;
/// assert!(address_matches("aws_rds_cluster_instance.dify[*]", "module.dify.aws_rds_cluster_instance.dify[1]"));
/// assert!(!address_matches("module.other.aws_rds_cluster.dify", "module.dify.aws_rds_cluster.dify"));
/// ```
pub fn address_matches(pattern: &str, address: &str) -> bool {
    if pattern.starts_with("module.") {
        glob(pattern.as_bytes(), address.as_bytes())
    } else {
        glob(pattern.as_bytes(), strip_modules(address).as_bytes())
    }
}

/// The address below its module path: `module.a["x"].module.b.aws_s3_bucket.f` → `aws_s3_bucket.f`.
pub fn strip_modules(mut address: &str) -> &str {
    while let Some(rest) = address.strip_prefix("module.") {
        let Some(end) = module_name_end(rest) else {
            return address;
        };
        address = &rest[end..];
    }
    address
}

/// The byte offset just past `name[key].` at the start of `rest`, skipping a quoted key.
fn module_name_end(rest: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '"' if depth > 0 => in_quotes = !in_quotes,
            '[' if !in_quotes => depth += 1,
            ']' if !in_quotes => depth -= 1,
            '.' if !in_quotes && depth == 0 => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}
