//! An app: the set of stacks synthesized together.

use crate::cross_stack::{self, Defined};
use crate::diagnostics::Diagnostic;
use crate::stack::Stack;
use crate::synth::{SynthError, Synthesized};
use crate::value::Json;

/// The root of a construct program: a set of stacks synthesized together.
#[derive(Debug, Default)]
pub struct App {
    stacks: Vec<Stack>,
}

impl App {
    /// An empty app.
    pub fn new() -> Self {
        App::default()
    }

    /// Adds a stack and returns it for building.
    pub fn add_stack(&mut self, stack: Stack) -> &mut Stack {
        self.stacks.push(stack);
        let last = self.stacks.len() - 1;
        &mut self.stacks[last]
    }

    /// The stacks, in the order they were added.
    pub fn stacks(&self) -> &[Stack] {
        &self.stacks
    }

    /// Synthesizes every stack, in deploy order (a stack after the stacks it imports from).
    /// A reference from one stack to a resource of another becomes an export and an
    /// `Fn::ImportValue` ([`crate::cross_stack`]). All or nothing: if any stack has errors,
    /// the result lists the errors of every stack and no template is returned, so a caller
    /// never writes half an app.
    pub fn synth(&self) -> Result<Vec<Synthesized>, Vec<SynthError>> {
        let mut failed = self.duplicate_names();
        if !failed.is_empty() {
            return Err(failed);
        }
        let defined: Vec<Defined> = self.stacks.iter().map(defined).collect();
        let (mut templates, mut diagnostics): (Vec<Json>, Vec<Vec<Diagnostic>>) =
            self.stacks.iter().map(Stack::raw_template).unzip();
        let links = cross_stack::resolve(&defined, &mut templates);
        let mut ok = Vec::new();
        for (((stack, template), diags), link) in self
            .stacks
            .iter()
            .zip(templates)
            .zip(diagnostics.iter_mut())
            .zip(links)
        {
            diags.extend(link.diagnostics);
            let deps = link.dependencies.into_iter().collect();
            match stack.synth_template(template, std::mem::take(diags), deps) {
                Ok(s) => ok.push(s),
                Err(e) => failed.push(e),
            }
        }
        if !failed.is_empty() {
            return Err(failed);
        }
        let order: Vec<(String, Vec<String>)> = ok
            .iter()
            .map(|s| (s.stack_name.clone(), s.dependencies.clone()))
            .collect();
        let mut slots: Vec<Option<Synthesized>> = ok.into_iter().map(Some).collect();
        Ok(cross_stack::deploy_order(&order)
            .into_iter()
            .filter_map(|i| slots[i].take())
            .collect())
    }

    fn duplicate_names(&self) -> Vec<SynthError> {
        let mut names = std::collections::HashSet::new();
        self.stacks
            .iter()
            .filter(|s| !names.insert(s.name()))
            .map(|stack| SynthError::Invalid {
                stack: stack.name().to_owned(),
                diagnostics: vec![crate::Diagnostic::error(
                    "duplicate-stack",
                    stack.name(),
                    format!("two stacks are named '{}'", stack.name()),
                )],
            })
            .collect()
    }
}

fn defined(stack: &Stack) -> Defined {
    Defined {
        name: stack.name().to_owned(),
        resources: stack
            .resources
            .iter()
            .map(|(id, e)| (id.clone(), e.options.condition.clone()))
            .collect(),
        parameters: stack.parameters.keys().cloned().collect(),
    }
}
