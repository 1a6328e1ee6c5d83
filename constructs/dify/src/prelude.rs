//! The Dify constructs, their configuration and the core construct API, in one import:
//! `use dify_constructs::prelude::*;`.
//!
//! Everything in [`cfn_core::prelude`] is re-exported, so a platform team's crate needs no
//! second prelude. The configuration types whose names are generic (`Network`, `Database`,
//! `Cache`, …) stay behind the [`config`] module path.
//!
//! ```
//! use dify_constructs::prelude::*;
//!
//! let env = Environment::from_toml_str("dev.toml", r#"
//!     region = "eu-west-1"
//!     [network.create]
//!     nat_gateways = 1
//! "#).expect("a valid environment");
//! let mut stack = Stack::new("team-dify-db");
//! let mut root = stack.root();
//! let network = DifyNetwork::new(&mut root, "Network", &env.network);
//! DifyDatabase::new(&mut root, "Database", &env.database, &network, None, false);
//! let template = Template::from_stack(&stack);
//! template.resource_count_is("AWS::RDS::DBCluster", 1);
//! template.has_resource_properties(
//!     "AWS::RDS::DBCluster",
//!     serde_json::json!({"Engine": "aurora-postgresql", "StorageEncrypted": true}),
//! );
//! ```

pub use cfn_core::prelude::*;

pub use crate::cache::CacheLogs;
pub use crate::cluster::{ClusterDeps, DifyService};
pub use crate::common::GeneratedSecret;
pub use crate::config::{self, Environment};
pub use crate::database::DbCapacity;
pub use crate::services::Component;
pub use crate::{
    DifyCache, DifyCluster, DifyDatabase, DifyIngress, DifyNetwork, DifyStack, DifyStorage,
};
