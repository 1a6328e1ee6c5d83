//! Why an import is refused before any change set: its own module, below both the errors that
//! carry it and the import check that finds it.

use std::fmt;

/// One reason an import is refused before any change set is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportProblem {
    /// The resource to import is not in the import template.
    NotInTemplate {
        /// Logical ID.
        logical_id: String,
    },
    /// The template gives the logical ID another type than the resource to import.
    WrongType {
        /// Logical ID.
        logical_id: String,
        /// The type the resource to import names.
        given: String,
        /// The type in the template.
        in_template: String,
    },
    /// The resource to import has no `DeletionPolicy` in the template.
    NoDeletionPolicy {
        /// Logical ID.
        logical_id: String,
    },
    /// The logical ID is already a resource of the deployed stack.
    AlreadyInStack {
        /// Logical ID.
        logical_id: String,
    },
    /// The same logical ID is named twice among the resources to import.
    Duplicate {
        /// Logical ID.
        logical_id: String,
    },
    /// The identifier's keys are not the type's `primaryIdentifier`.
    IdentifierKeys {
        /// Logical ID.
        logical_id: String,
        /// The type.
        resource_type: String,
        /// The keys the type's schema names.
        expected: Vec<String>,
        /// The keys given.
        given: Vec<String>,
    },
    /// An identifier value is empty.
    EmptyIdentifier {
        /// Logical ID.
        logical_id: String,
        /// The key whose value is empty.
        key: String,
    },
    /// A resource that is not imported would be created, changed or removed.
    OtherChange {
        /// Logical ID.
        logical_id: String,
        /// `added`, `changed` or `removed`.
        how: &'static str,
    },
    /// The template's outputs differ from the deployed ones (or a new stack has outputs).
    OutputsChanged,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportProblem::NotInTemplate { logical_id } => write!(
                f,
                "{logical_id} is not a resource of the import template; the template must describe the entire stack, the resources to import included"
            ),
            ImportProblem::WrongType {
                logical_id,
                given,
                in_template,
            } => write!(
                f,
                "{logical_id} is to be imported as {given}, but the template makes it {in_template}"
            ),
            ImportProblem::NoDeletionPolicy { logical_id } => write!(
                f,
                "{logical_id} has no DeletionPolicy in the template; every resource to import needs one (Retain keeps it if the import rolls back or the stack lets go of it)"
            ),
            ImportProblem::AlreadyInStack { logical_id } => write!(
                f,
                "{logical_id} is already a resource of the stack and cannot be imported again"
            ),
            ImportProblem::Duplicate { logical_id } => {
                write!(f, "{logical_id} is named twice among the resources to import")
            }
            ImportProblem::IdentifierKeys {
                logical_id,
                resource_type,
                expected,
                given,
            } => write!(
                f,
                "{logical_id} ({resource_type}) is identified by [{}], but the identifier gives [{}]",
                expected.join(", "),
                given.join(", ")
            ),
            ImportProblem::EmptyIdentifier { logical_id, key } => {
                write!(f, "{logical_id}'s identifier {key} is empty")
            }
            ImportProblem::OtherChange { logical_id, how } => write!(
                f,
                "{logical_id} would be {how}, but an import may not create, change or remove any other resource; deploy that change separately"
            ),
            ImportProblem::OutputsChanged => f.write_str(
                "the template's Outputs differ from the stack's; an import may not add or change outputs (deploy them after the import)",
            ),
        }
    }
}
