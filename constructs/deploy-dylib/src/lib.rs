//! [`cfn_deploy`] re-exported from a Rust dylib (`crate-type = ["dylib"]`).
//!
//! Linking `dify-app` statically means reading the AWS SDK's objects on every edit of a
//! construct: 1.3–1.6 s and 713 MB of the edit → synth loop go to the linker. Built against
//! this library (`cargo run -p dify-app --features dev-dylib -- synth`, or `cargo synth`), the
//! binary links against one shared object that only changes when the deploy engine does: the
//! loop's peak memory falls to ~300 MB (docs/benchmarks.md, "Edit loop").
//!
//! Development only: such a binary needs `libcfn_deploy_dylib.so` and Rust's `libstd-*.so` at
//! run time, which `cargo run` and `cargo test` put on the library path and a copied binary
//! does not find. Release builds and the default build link statically.

pub use cfn_deploy::*;
