//! Assertions on synthesized templates, for tests: the AWS CDK's
//! `Template.fromStack(stack).hasResourceProperties(...)`, in Rust.
//!
//! [`Template::from_stack`] synthesizes a stack (and panics with every synthesis error if it
//! is invalid: this is a test helper). Its assertions panic with a message that names the
//! closest candidate, the path of each mismatch, and what was expected against what was found,
//! at the caller's line (`#[track_caller]`).
//!
//! Expected values are JSON, matched *partially*: an object matches when every key it lists
//! matches (other keys are ignored), an array when it has the same length and each element
//! matches, a scalar when it is equal (numbers by value: `4` matches `4.0`). [`Match`] builds
//! matchers that can stand anywhere in the expected JSON: [`Match::any_value`],
//! [`Match::absent`], [`Match::array_with`], [`Match::string_like_regexp`],
//! [`Match::object_equals`], [`Match::object_like`] and [`Match::not`].
//!
//! ```
//! use cfn_core::assertions::{Match, Template};
//! use cfn_core::{RemovalPolicy, Stack};
//! use serde_json::json;
//!
//! let mut stack = Stack::new("Files");
//! stack.add_tag("team", "platform");
//! let bucket = stack.root().add_raw(
//!     "Bucket",
//!     "AWS::S3::Bucket",
//!     None,
//!     json!({"VersioningConfiguration": {"Status": "Enabled"}}),
//! );
//! stack.resource(&bucket).removal_policy(RemovalPolicy::Retain);
//!
//! let template = Template::from_stack(&stack);
//! template.resource_count_is("AWS::S3::Bucket", 1);
//! template.has_resource_properties(
//!     "AWS::S3::Bucket",
//!     json!({
//!         "VersioningConfiguration": {"Status": "Enabled"},
//!         "BucketName": Match::absent(),
//!     }),
//! );
//! template.has_resource(
//!     "AWS::S3::Bucket",
//!     json!({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}),
//! );
//! assert_eq!(template.logical_id_at("Files/Bucket"), "Bucket");
//! ```
//!
//! A failed assertion reads:
//!
//! ```text
//! no AWS::S3::Bucket has the expected properties (1 resource of that type)
//! closest: Bucket (Files/Bucket), 1 mismatch:
//!   at Properties.VersioningConfiguration.Status: expected "Suspended", found "Enabled"
//! expected (partial match): {"VersioningConfiguration": {"Status": "Suspended"}}
//! Properties of Bucket:
//!   { … }
//! ```

mod matching;
mod template;

pub use matching::{Match, MatchFailure, Matcher, Mismatch};
pub use template::Template;
