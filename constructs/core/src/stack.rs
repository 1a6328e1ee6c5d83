//! Stacks, the construct tree inside them, and scopes to build it.
//!
//! A [`Stack`] owns its tree: nodes (one per construct) and the resources, parameters,
//! conditions, mappings and outputs hung on it. Code builds the tree through a [`Scope`], a
//! mutable borrow of the stack positioned at one node, so a construct is just a function (or a
//! struct's `new`) that takes `&mut Scope` and an id, and adds children below it.
//!
//! Problems found while building (a duplicate id, two paths that map to one logical ID) do not
//! panic and do not need `?` at every call: they are recorded and reported, with everything
//! validation finds, when the stack is synthesized.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::asset::Asset;
use crate::diagnostics::Diagnostic;
use crate::logical_id;
use crate::resource::{
    ErasedProps, Handle, RawProps, RemovalPolicy, Resource, ResourceOptions, ResourceRef,
};
use crate::rules::{ConstructTree, Enforcement, Guardrails, RulePack, Suppression};
use crate::schema::TypeSchema;
use crate::template::{Output, Parameter, ParameterRef};
use crate::value::{Condition, ConditionRef, Json, MappingRef};

/// Identifies a construct (node) in its stack's tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) usize);

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) path: String,
    pub(crate) parent: Option<NodeId>,
    children: HashMap<String, NodeId>,
    pub(crate) tags: IndexMap<String, String>,
    pub(crate) metadata: IndexMap<String, Json>,
    pub(crate) suppressions: Vec<(String, String)>,
}

/// A resource in the tree.
#[derive(Debug)]
pub struct ResourceEntry {
    pub(crate) node: NodeId,
    pub(crate) type_name: String,
    pub(crate) schema: Option<&'static TypeSchema>,
    pub(crate) props: Box<dyn ErasedProps>,
    pub(crate) options: ResourceOptions,
    pub(crate) overrides: Vec<(String, Option<Json>)>,
}

/// A CloudFormation stack and the construct tree that describes it.
#[derive(Debug)]
pub struct Stack {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) resources: IndexMap<String, ResourceEntry>,
    pub(crate) parameters: IndexMap<String, Parameter>,
    pub(crate) conditions: IndexMap<String, Condition>,
    pub(crate) mappings: IndexMap<String, IndexMap<String, IndexMap<String, Json>>>,
    pub(crate) outputs: IndexMap<String, Output>,
    pub(crate) metadata: IndexMap<String, Json>,
    /// File assets by content hash, in the order first added.
    pub(crate) assets: IndexMap<String, Asset>,
    /// Logical IDs of resources and parameters (one namespace in CloudFormation) → owner path.
    ids: HashMap<String, String>,
    pub(crate) problems: Vec<Diagnostic>,
    pub(crate) guardrails: Option<Guardrails>,
}

impl Stack {
    /// A new, empty stack. `name` is both the root of every construct path and the
    /// CloudFormation stack name; it must be a valid stack name (letters, digits, hyphens,
    /// starting with a letter, ≤ 128 characters).
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let mut problems = Vec::new();
        if !is_valid_stack_name(&name) {
            problems.push(Diagnostic::error(
                "invalid-stack-name",
                &name,
                format!("'{name}' is not a valid stack name: use letters, digits and hyphens, start with a letter, at most 128 characters"),
            ));
        }
        Stack {
            nodes: vec![Node {
                path: name.clone(),
                parent: None,
                children: HashMap::new(),
                tags: IndexMap::new(),
                metadata: IndexMap::new(),
                suppressions: Vec::new(),
            }],
            name,
            description: None,
            resources: IndexMap::new(),
            parameters: IndexMap::new(),
            conditions: IndexMap::new(),
            mappings: IndexMap::new(),
            outputs: IndexMap::new(),
            metadata: IndexMap::new(),
            assets: IndexMap::new(),
            ids: HashMap::new(),
            problems,
            guardrails: None,
        }
    }

    /// Runs a rule pack over the template at every synthesis. With [`Enforcement::Enforce`],
    /// an unsuppressed error finding fails synthesis.
    pub fn set_guardrails(&mut self, pack: RulePack, enforcement: Enforcement) {
        self.guardrails = Some(Guardrails { pack, enforcement });
    }

    /// The guardrails, if any.
    pub fn guardrails(&self) -> Option<&Guardrails> {
        self.guardrails.as_ref()
    }

    /// Every suppression in the tree.
    pub fn suppressions(&self) -> impl Iterator<Item = Suppression> + '_ {
        self.nodes.iter().flat_map(|n| {
            n.suppressions
                .iter()
                .map(move |(rule, reason)| Suppression {
                    rule_id: rule.clone(),
                    reason: reason.clone(),
                    at: n.path.clone(),
                })
        })
    }

    /// The nearest suppression of `rule_id` covering `node`.
    pub fn suppression_for(&self, node: NodeId, rule_id: &str) -> Option<Suppression> {
        self.ancestors(node).find_map(|n| {
            let node = self.nodes.get(n.0)?;
            node.suppressions
                .iter()
                .find(|(r, _)| r == rule_id)
                .map(|(rule, reason)| Suppression {
                    rule_id: rule.clone(),
                    reason: reason.clone(),
                    at: node.path.clone(),
                })
        })
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the template's `Description`.
    pub fn set_description(&mut self, d: impl Into<String>) {
        self.description = Some(d.into());
    }

    /// Adds an entry to the template-level `Metadata`.
    pub fn set_template_metadata(&mut self, key: impl Into<String>, value: Json) {
        self.metadata.insert(key.into(), value);
    }

    /// Tags every taggable resource in the stack (a resource's own tags win).
    pub fn add_tag(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.nodes[0].tags.insert(key.into(), value.into());
    }

    /// The stack-level tags (what `deploy` also passes as stack tags).
    pub fn tags(&self) -> &IndexMap<String, String> {
        &self.nodes[0].tags
    }

    /// A scope at the root of the tree.
    pub fn root(&mut self) -> Scope<'_> {
        Scope {
            stack: self,
            node: NodeId(0),
        }
    }

    /// A scope at an existing node, to add to a construct after it was built.
    pub fn scope(&mut self, node: NodeId) -> Scope<'_> {
        let node = if node.0 < self.nodes.len() {
            node
        } else {
            NodeId(0)
        };
        Scope { stack: self, node }
    }

    /// The construct path of a node.
    pub fn path_of(&self, node: NodeId) -> &str {
        self.nodes
            .get(node.0)
            .map(|n| n.path.as_str())
            .unwrap_or("")
    }

    /// The node and its ancestors, nearest first.
    pub fn ancestors(&self, node: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(Some(node), move |n| {
            self.nodes.get(n.0).and_then(|n| n.parent)
        })
    }

    /// Metadata attached to a node with [`Scope::set_metadata`].
    pub fn node_metadata(&self, node: NodeId) -> Option<&IndexMap<String, Json>> {
        self.nodes.get(node.0).map(|n| &n.metadata)
    }

    /// Declares a parameter. Its name is its logical ID.
    pub fn add_parameter(&mut self, name: &str, parameter: Parameter) -> ParameterRef {
        let path = format!("{}/{name}", self.name);
        self.claim_id(name, &path);
        self.parameters.insert(name.to_owned(), parameter);
        ParameterRef {
            name: name.to_owned(),
        }
    }

    /// Declares a named condition.
    pub fn add_condition(&mut self, name: &str, condition: Condition) -> ConditionRef {
        self.check_section_name("condition", name, self.conditions.contains_key(name));
        self.conditions.insert(name.to_owned(), condition);
        ConditionRef(name.to_owned())
    }

    /// Declares a mapping: top-level key → second-level key → value.
    pub fn add_mapping(
        &mut self,
        name: &str,
        map: IndexMap<String, IndexMap<String, Json>>,
    ) -> MappingRef {
        self.check_section_name("mapping", name, self.mappings.contains_key(name));
        self.mappings.insert(name.to_owned(), map);
        MappingRef(name.to_owned())
    }

    /// Declares an output.
    pub fn add_output(&mut self, name: &str, output: Output) {
        self.check_section_name("output", name, self.outputs.contains_key(name));
        self.outputs.insert(name.to_owned(), output);
    }

    /// Registers a file asset for `synth` to write beside the template and `deploy` to upload
    /// (see [`crate::asset`]). Assets with the same content are one: the first added is kept.
    pub fn add_asset(&mut self, asset: Asset) {
        self.assets.entry(asset.hash().to_owned()).or_insert(asset);
    }

    /// The file assets, in the order first added.
    pub fn assets(&self) -> impl Iterator<Item = &Asset> {
        self.assets.values()
    }

    /// The resource behind a handle, to set its options, override properties or edit its props.
    ///
    /// A handle from another stack yields an accessor that records an error instead.
    pub fn resource(&mut self, handle: &impl Handle) -> ResourceMut<'_> {
        let id = handle.logical_id();
        let entry = self.resources.get_mut(id);
        if entry.is_none() {
            self.problems.push(
                Diagnostic::error(
                    "foreign-handle",
                    &self.name,
                    format!(
                        "no resource '{id}' in stack '{}': the handle comes from another stack",
                        self.name
                    ),
                )
                .at(id),
            );
        }
        ResourceMut { entry }
    }

    /// The typed props of a resource, read-only. `None` when the handle's type is not `R`.
    pub fn props<R: Resource>(&self, handle: &R::Handle) -> Option<&R> {
        self.resources
            .get(handle.logical_id())
            .and_then(|e| e.props.as_any().downcast_ref::<R>())
    }

    /// Logical IDs of the resources, in the order they were added.
    pub fn resource_ids(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// The construct path of a resource by logical ID.
    pub fn resource_path(&self, logical_id: &str) -> Option<&str> {
        self.resources.get(logical_id).map(|e| self.path_of(e.node))
    }

    /// The node of a resource by logical ID.
    pub fn resource_node(&self, logical_id: &str) -> Option<NodeId> {
        self.resources.get(logical_id).map(|e| e.node)
    }

    /// The registry metadata of a resource by logical ID, when its type is known.
    pub fn resource_schema(&self, logical_id: &str) -> Option<&'static TypeSchema> {
        self.resources.get(logical_id).and_then(|e| e.schema)
    }

    fn check_section_name(&mut self, what: &str, name: &str, taken: bool) {
        if !logical_id::is_valid(name) {
            self.problems.push(
                Diagnostic::error(
                    "invalid-logical-id",
                    &self.name,
                    format!("{what} name '{name}' must be 1-255 ASCII letters and digits"),
                )
                .at(name),
            );
        }
        if taken {
            self.problems.push(
                Diagnostic::error(
                    "duplicate-logical-id",
                    &self.name,
                    format!("{what} '{name}' is declared twice"),
                )
                .at(name),
            );
        }
    }

    /// Registers a logical ID in the resource/parameter namespace, recording a collision.
    fn claim_id(&mut self, id: &str, path: &str) {
        if !logical_id::is_valid(id) {
            self.problems.push(
                Diagnostic::error(
                    "invalid-logical-id",
                    path,
                    format!("logical ID '{id}' must be 1-255 ASCII letters and digits"),
                )
                .at(id),
            );
        }
        if let Some(other) = self.ids.get(id) {
            self.problems.push(
                Diagnostic::error(
                    "logical-id-collision",
                    path,
                    format!("'{path}' and '{other}' both map to logical ID '{id}'; rename one of them or pin a different ID"),
                )
                .at(id),
            );
        } else {
            self.ids.insert(id.to_owned(), path.to_owned());
        }
    }

    fn add_node(&mut self, parent: NodeId, id: &str) -> NodeId {
        let parent_path = self.nodes[parent.0].path.clone();
        let mut path = format!("{parent_path}/{id}");
        if id.is_empty() || id.contains('/') {
            self.problems.push(Diagnostic::error(
                "invalid-construct-id",
                &path,
                format!("construct id '{id}' must be non-empty and must not contain '/'"),
            ));
        }
        if self.nodes[parent.0].children.contains_key(id) {
            self.problems.push(Diagnostic::error(
                "duplicate-construct-id",
                &path,
                format!("'{parent_path}' already has a child '{id}' (at '{path}'); ids must be unique within their scope"),
            ));
            // Keep building so every other problem is reported too; this node gets a path
            // that no user id can produce.
            path = format!("{path}#{}", self.nodes.len());
        }
        let node = NodeId(self.nodes.len());
        self.nodes.push(Node {
            path,
            parent: Some(parent),
            children: HashMap::new(),
            tags: IndexMap::new(),
            metadata: IndexMap::new(),
            suppressions: Vec::new(),
        });
        self.nodes[parent.0]
            .children
            .entry(id.to_owned())
            .or_insert(node);
        node
    }

    fn insert_resource(
        &mut self,
        parent: NodeId,
        id: &str,
        pinned: Option<&str>,
        type_name: &str,
        schema: Option<&'static TypeSchema>,
        props: Box<dyn ErasedProps>,
    ) -> ResourceRef {
        let node = self.add_node(parent, id);
        let path = self.nodes[node.0].path.clone();
        let logical_id = match pinned {
            Some(p) => p.to_owned(),
            None => {
                let below_stack: Vec<&str> = path.split('/').skip(1).collect();
                match logical_id::from_path(&below_stack) {
                    Some(id) => id,
                    None => {
                        self.problems.push(Diagnostic::error(
                            "invalid-construct-id",
                            &path,
                            "no logical ID can be derived: the path has no letters or digits",
                        ));
                        format!("Unnamed{}", node.0)
                    }
                }
            }
        };
        self.claim_id(&logical_id, &path);
        let r = ResourceRef::new(logical_id.clone(), type_name);
        // On a collision the first resource keeps the ID; the second is reported and dropped
        // from the template (synth fails anyway).
        self.resources.entry(logical_id).or_insert(ResourceEntry {
            node,
            type_name: type_name.to_owned(),
            schema,
            props,
            options: ResourceOptions::default(),
            overrides: Vec::new(),
        });
        r
    }
}

// Rules read the tree through this view; the inherent methods it forwards to stay the API
// construct code uses.
impl ConstructTree for Stack {
    fn name(&self) -> &str {
        &self.name
    }

    fn resource_path(&self, logical_id: &str) -> Option<&str> {
        Stack::resource_path(self, logical_id)
    }

    fn suppressions(&self) -> Vec<Suppression> {
        Stack::suppressions(self).collect()
    }

    fn suppression_covering(&self, logical_id: &str, rule_id: &str) -> Option<Suppression> {
        self.resource_node(logical_id)
            .and_then(|node| self.suppression_for(node, rule_id))
    }
}

fn is_valid_stack_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A position in a stack's tree where constructs and resources are added.
#[derive(Debug)]
pub struct Scope<'a> {
    stack: &'a mut Stack,
    node: NodeId,
}

impl Scope<'_> {
    /// A child construct (a new node) with this id, as a scope to build it in.
    pub fn child(&mut self, id: &str) -> Scope<'_> {
        let node = self.stack.add_node(self.node, id);
        Scope {
            stack: self.stack,
            node,
        }
    }

    /// This scope's node, to come back to it later with [`Stack::scope`].
    pub fn node_id(&self) -> NodeId {
        self.node
    }

    /// This scope's construct path.
    pub fn path(&self) -> &str {
        self.stack.path_of(self.node)
    }

    /// The stack being built.
    pub fn stack(&mut self) -> &mut Stack {
        self.stack
    }

    /// The stack being built, read-only.
    pub fn stack_ref(&self) -> &Stack {
        self.stack
    }

    /// Adds a resource with a logical ID derived from its path.
    pub fn add<R: Resource>(&mut self, id: &str, props: R) -> R::Handle {
        let r = self.stack.insert_resource(
            self.node,
            id,
            None,
            R::TYPE_NAME,
            Some(R::schema()),
            Box::new(props),
        );
        R::Handle::from_ref(r)
    }

    /// Adds a resource with a pinned logical ID, e.g. to adopt one that already exists under
    /// that ID in a deployed stack.
    pub fn add_with_logical_id<R: Resource>(
        &mut self,
        id: &str,
        logical_id: &str,
        props: R,
    ) -> R::Handle {
        let r = self.stack.insert_resource(
            self.node,
            id,
            Some(logical_id),
            R::TYPE_NAME,
            Some(R::schema()),
            Box::new(props),
        );
        R::Handle::from_ref(r)
    }

    /// Escape hatch: adds a resource of any type from raw JSON properties. `schema` (from
    /// `cfn_resources::schema_for`) enables validation of the properties when given.
    pub fn add_raw(
        &mut self,
        id: &str,
        type_name: &str,
        schema: Option<&'static TypeSchema>,
        properties: Json,
    ) -> ResourceRef {
        self.stack.insert_resource(
            self.node,
            id,
            None,
            type_name,
            schema,
            Box::new(RawProps(properties)),
        )
    }

    /// Tags every taggable resource below this scope (a deeper tag or the resource's own wins).
    pub fn add_tag(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.stack.nodes[self.node.0]
            .tags
            .insert(key.into(), value.into());
    }

    /// Reports a problem a construct found in its own inputs, at this construct's path. It is
    /// listed with everything validation finds, and an error fails synthesis — the same powers
    /// the library's own checks have, without a `Result` at every call.
    pub fn report(
        &mut self,
        severity: crate::Severity,
        code: &'static str,
        message: impl Into<String>,
    ) {
        let path = self.path().to_owned();
        let d = match severity {
            crate::Severity::Error => Diagnostic::error(code, path, message),
            crate::Severity::Warning => Diagnostic::warning(code, path, message),
        };
        self.stack.problems.push(d);
    }

    /// Suppresses a guardrail rule for this construct and everything below it. The reason is
    /// mandatory (at least 10 characters): it is written into the template's metadata for
    /// reviewers and scanners, and listed by `synth`.
    pub fn suppress(&mut self, rule_id: &str, reason: &str) {
        if reason.trim().len() < 10 {
            let path = self.path().to_owned();
            self.stack.problems.push(Diagnostic::error(
                "suppression-without-reason",
                path,
                format!("suppressing '{rule_id}' needs a reason a reviewer can judge"),
            ));
        }
        self.stack.nodes[self.node.0]
            .suppressions
            .push((rule_id.to_owned(), reason.trim().to_owned()));
    }

    /// Attaches metadata to this construct (read by rules and tools, not written to the
    /// template by itself).
    pub fn set_metadata(&mut self, key: impl Into<String>, value: Json) {
        self.stack.nodes[self.node.0]
            .metadata
            .insert(key.into(), value);
    }
}

/// Mutable access to one resource: options, overrides and typed props.
#[derive(Debug)]
pub struct ResourceMut<'a> {
    entry: Option<&'a mut ResourceEntry>,
}

impl ResourceMut<'_> {
    fn with(mut self, f: impl FnOnce(&mut ResourceEntry)) -> Self {
        if let Some(e) = self.entry.as_deref_mut() {
            f(e);
        }
        self
    }

    /// Adds an explicit dependency on another resource.
    pub fn depends_on(self, other: &impl Handle) -> Self {
        let id = other.logical_id().to_owned();
        self.with(|e| {
            if !e.options.depends_on.contains(&id) {
                e.options.depends_on.push(id);
            }
        })
    }

    /// Creates the resource only when the condition holds.
    pub fn condition(self, c: &ConditionRef) -> Self {
        let name = c.name().to_owned();
        self.with(|e| e.options.condition = Some(name))
    }

    /// Sets `DeletionPolicy`.
    pub fn deletion_policy(self, p: RemovalPolicy) -> Self {
        self.with(|e| e.options.deletion_policy = Some(p))
    }

    /// Sets `UpdateReplacePolicy`.
    pub fn update_replace_policy(self, p: RemovalPolicy) -> Self {
        self.with(|e| e.options.update_replace_policy = Some(p))
    }

    /// Sets both `DeletionPolicy` and `UpdateReplacePolicy`.
    pub fn removal_policy(self, p: RemovalPolicy) -> Self {
        self.deletion_policy(p).update_replace_policy(p)
    }

    /// Sets `UpdatePolicy`.
    pub fn update_policy(self, p: Json) -> Self {
        self.with(|e| e.options.update_policy = Some(p))
    }

    /// Sets `CreationPolicy`.
    pub fn creation_policy(self, p: Json) -> Self {
        self.with(|e| e.options.creation_policy = Some(p))
    }

    /// Adds a `Metadata` entry.
    pub fn metadata(self, key: impl Into<String>, value: Json) -> Self {
        let key = key.into();
        self.with(|e| {
            e.options.metadata.insert(key, value);
        })
    }

    /// Escape hatch: sets a value anywhere in the resource's JSON, by dotted path from the
    /// resource (`Properties.VpcConfig.AssignPublicIp`, `UpdatePolicy.X`). Applied after the
    /// typed properties are serialized, in the order given.
    pub fn add_override(self, path: &str, value: Json) -> Self {
        let path = path.to_owned();
        self.with(|e| e.overrides.push((path, Some(value))))
    }

    /// Escape hatch: as [`Self::add_override`] below `Properties`.
    pub fn add_property_override(self, path: &str, value: Json) -> Self {
        self.add_override(&format!("Properties.{path}"), value)
    }

    /// Escape hatch: removes a value from the resource's JSON by dotted path.
    pub fn add_deletion_override(self, path: &str) -> Self {
        let path = path.to_owned();
        self.with(|e| e.overrides.push((path, None)))
    }

    /// The typed props, to edit them after the resource was added. `None` when the handle's
    /// type is not `R` or the resource is raw.
    pub fn props_mut<R: Resource>(&mut self) -> Option<&mut R> {
        self.entry
            .as_deref_mut()
            .and_then(|e| e.props.as_any_mut().downcast_mut::<R>())
    }

    /// The resource's current options.
    pub fn options(&self) -> Option<&ResourceOptions> {
        self.entry.as_deref().map(|e| &e.options)
    }
}
