//! The contract between generated resource types and the construct tree.

use std::any::Any;
use std::fmt::Debug;

use serde::Serialize;

use crate::schema::TypeSchema;
use crate::value::{Json, Value, fns};

/// A CloudFormation resource type's properties. Implemented by every generated props struct.
pub trait Resource: Serialize + Debug + Clone + 'static {
    /// `AWS::Service::Type`.
    const TYPE_NAME: &'static str;
    /// The typed handle returned when the resource is added to a scope.
    type Handle: Handle;
    /// The type's registry metadata.
    fn schema() -> &'static TypeSchema;
}

/// A typed handle to a resource in a stack: the only way to obtain its `Ref` and `Fn::GetAtt`
/// values, so an attribute the type does not have is a compile error.
pub trait Handle: Clone + Debug {
    /// Wraps an untyped reference. Called by the tree when the resource is added.
    fn from_ref(r: ResourceRef) -> Self;
    /// The untyped reference.
    fn resource_ref(&self) -> &ResourceRef;
    /// The resource's logical ID.
    fn logical_id(&self) -> &str {
        self.resource_ref().logical_id()
    }
}

/// An untyped reference to a resource: its logical ID and type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceRef {
    logical_id: String,
    type_name: String,
}

impl ResourceRef {
    pub(crate) fn new(logical_id: String, type_name: &str) -> Self {
        ResourceRef {
            logical_id,
            type_name: type_name.to_owned(),
        }
    }

    /// The resource's logical ID in the template.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// The resource's CloudFormation type.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// `{"Ref": logical_id}`. Generated handles expose this as `reference()`.
    pub fn reference<T>(&self) -> Value<T> {
        fns::ref_logical_id(&self.logical_id)
    }

    /// `{"Fn::GetAtt": [logical_id, attribute]}`. Generated handles expose one method per
    /// attribute; this untyped form is for raw resources.
    pub fn get_att<T>(&self, attribute: &str) -> Value<T> {
        fns::get_att_unchecked(&self.logical_id, attribute)
    }
}

impl Handle for ResourceRef {
    fn from_ref(r: ResourceRef) -> Self {
        r
    }
    fn resource_ref(&self) -> &ResourceRef {
        self
    }
}

/// What CloudFormation does with a resource's physical resource when it leaves the stack
/// (`DeletionPolicy`) or is replaced (`UpdateReplacePolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RemovalPolicy {
    /// Delete it.
    Delete,
    /// Keep it, outside the stack.
    Retain,
    /// Retain, except when the resource was created by the operation that is rolling back.
    RetainExceptOnCreate,
    /// Take a final snapshot, then delete it (types that support snapshots).
    Snapshot,
}

/// The resource attributes beside `Properties`.
#[derive(Clone, Debug, Default)]
pub struct ResourceOptions {
    /// Explicit dependencies, as logical IDs.
    pub depends_on: Vec<String>,
    /// The named condition that decides whether the resource is created.
    pub condition: Option<String>,
    /// `DeletionPolicy`.
    pub deletion_policy: Option<RemovalPolicy>,
    /// `UpdateReplacePolicy`.
    pub update_replace_policy: Option<RemovalPolicy>,
    /// `UpdatePolicy`, as raw JSON.
    pub update_policy: Option<Json>,
    /// `CreationPolicy`, as raw JSON.
    pub creation_policy: Option<Json>,
    /// Extra `Metadata` entries (the construct path is added at synth).
    pub metadata: indexmap::IndexMap<String, Json>,
}

/// Type-erased resource properties, so one stack can hold every type.
pub(crate) trait ErasedProps: Debug {
    fn to_json(&self) -> Result<Json, serde_json::Error>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<R: Resource> ErasedProps for R {
    fn to_json(&self) -> Result<Json, serde_json::Error> {
        serde_json::to_value(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Properties of a resource added without a generated type (`Scope::add_raw`).
#[derive(Debug)]
pub(crate) struct RawProps(pub(crate) Json);

impl ErasedProps for RawProps {
    fn to_json(&self) -> Result<Json, serde_json::Error> {
        Ok(self.0.clone())
    }
    fn as_any(&self) -> &dyn Any {
        &self.0
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.0
    }
}

/// An unset slot of a generated builder: a required property whose setter has not been called.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Missing;

/// A builder slot that holds its value. Only `T` itself provides a `T`, so `build()` of a
/// generated builder exists only once every required property is set; [`Missing`] does not
/// implement it, and the compiler names the unset slot.
#[diagnostic::on_unimplemented(
    message = "a required property is not set (its slot is `{Self}`, `{T}` is expected)",
    label = "call the setter of every required property before `build()`"
)]
pub trait Provided<T> {
    /// The value.
    fn provided(self) -> T;
}

impl<T> Provided<T> for T {
    fn provided(self) -> T {
        self
    }
}
