//! # cdc-testkit
//!
//! Helpers for cdc-rs test suites that need real services. It is a dev-dependency only
//! (`publish = false`).
//!
//! - [`PgCluster`]: a throwaway PostgreSQL cluster — `initdb` into a fresh temp dir, `postgres`
//!   on a free loopback port with `wal_level=logical`, trust auth, a fresh database; stopped
//!   and deleted on [`PgCluster::stop`] or on drop (also when the test panics).
//! - [`free_port`], [`wait_for_port`]: loopback port helpers for emulators (moto, …).
//! - [`ChildGuard`]: kills a spawned process (and its process group) when dropped.
//! - [`conformance`]: the provider contract, one check per clause, and
//!   [`provider_conformance!`] to run them all against a provider.
//!
//! Missing PostgreSQL binaries are an error ([`TestkitError::BinariesNotFound`]) that says what
//! to install: suites fail loudly instead of skipping.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cdc_testkit::TestkitError> {
//! let pg = cdc_testkit::PgCluster::start().await?;
//! let client = pg.connect().await?;
//! let row = client.query_one("SHOW wal_level", &[]).await.unwrap();
//! assert_eq!(row.get::<_, String>(0), "logical");
//! pg.stop()?;
//! # Ok(()) }
//! ```

pub mod conformance;
pub mod error;
pub mod postgres;
pub mod process;

pub use error::{Result, TestkitError};
pub use postgres::{PgBinaries, PgCluster, PgClusterBuilder, ShutdownMode};
pub use process::{ChildGuard, free_port, process_alive, wait_for_port};

/// Signals for [`ChildGuard::with_stop_signal`] (re-exported so users need no `nix` dependency).
pub use nix::sys::signal::Signal;
