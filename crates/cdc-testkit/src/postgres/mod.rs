//! Throwaway PostgreSQL clusters for tests.
//!
//! [`PgCluster::start`] finds the server binaries ([`PgBinaries::locate`]), runs `initdb` into a
//! fresh temp dir, starts `postgres` on a free loopback port with logical replication enabled,
//! waits until it accepts connections and creates a database. Dropping the cluster (or calling
//! [`PgCluster::stop`]) shuts the server down and deletes the temp dir.

mod binaries;
mod builder;
mod cluster;
mod packages;
mod run_as;
mod server;
mod tls;

pub use binaries::PgBinaries;
pub use builder::PgClusterBuilder;
pub use cluster::{PgCluster, ShutdownMode};
pub use packages::debian_package_for;
