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
//! let network = DifyNetwork::new(&mut root, "Network", DifyNetworkProps {
//!     vpc: env.network.clone(),
//! });
//! DifyDatabase::new(&mut root, "Database", DifyDatabaseProps {
//!     settings: env.database.clone(),
//!     ..DifyDatabaseProps::new(&network)
//! });
//! let template = Template::from_stack(&stack);
//! template.resource_count_is("AWS::RDS::DBCluster", 1);
//! template.has_resource_properties(
//!     "AWS::RDS::DBCluster",
//!     serde_json::json!({"Engine": "aurora-postgresql", "StorageEncrypted": true}),
//! );
//! ```

pub use cfn_core::prelude::*;

pub use crate::alarms::{DifyAlarms, DifyAlarmsProps};
pub use crate::cache::DifyCacheProps;
pub use crate::cluster::{DifyClusterProps, DifyService};
pub use crate::common::GeneratedSecret;
pub use crate::config::{self, Environment};
pub use crate::data_key::{DataKey, DataKeyProps};
pub use crate::database::DbCapacity;
pub use crate::database::DifyDatabaseProps;
pub use crate::ingress::DifyIngressProps;
pub use crate::network::DifyNetworkProps;
pub use crate::services::Component;
pub use crate::storage::DifyStorageProps;
pub use crate::waf::{AlbWaf, AlbWafProps};
pub use crate::{
    Dify, DifyCache, DifyCluster, DifyDatabase, DifyIngress, DifyNetwork, DifyProps, DifyStack,
    DifyStorage,
};
