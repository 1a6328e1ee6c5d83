//! An app: the set of stacks synthesized together.

use crate::stack::Stack;
use crate::synth::{SynthError, Synthesized};

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

    /// Synthesizes every stack. All or nothing: if any stack has errors, the result lists the
    /// errors of every stack and no template is returned, so a caller never writes half an app.
    pub fn synth(&self) -> Result<Vec<Synthesized>, Vec<SynthError>> {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        let mut names = std::collections::HashSet::new();
        for stack in &self.stacks {
            if !names.insert(stack.name()) {
                failed.push(SynthError::Invalid {
                    stack: stack.name().to_owned(),
                    diagnostics: vec![crate::Diagnostic::error(
                        "duplicate-stack",
                        stack.name(),
                        format!("two stacks are named '{}'", stack.name()),
                    )],
                });
                continue;
            }
            match stack.synth() {
                Ok(s) => ok.push(s),
                Err(e) => failed.push(e),
            }
        }
        if failed.is_empty() {
            Ok(ok)
        } else {
            Err(failed)
        }
    }
}
