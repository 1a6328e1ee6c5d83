//! The team's stack, written with only the docs: the whole Dify as one construct with two
//! props overridden, and a jobs pipeline of the team's own (an SQS queue, a Lambda function in
//! Dify's private subnets, a DynamoDB table) wired with typed references.
//!
//! ```
//! let stack = team_stack::stack::team_stack(&team_stack::stack::TeamEnv::dev()).expect("builds");
//! assert!(stack.synth().is_ok());
//! ```

pub mod jobs;
pub mod project;
pub mod stack;
