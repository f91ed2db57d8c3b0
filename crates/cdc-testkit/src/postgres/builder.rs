//! Options of a test cluster, and the step from options to a running [`PgCluster`].

use std::path::PathBuf;
use std::time::Duration;

use super::PgCluster;
use crate::error::{Result, TestkitError};

/// Server settings every test cluster gets. Logical replication on, durability off (a test
/// cluster is thrown away, so fsync and full-page writes only cost time), small memory
/// footprint so several clusters fit at once. Later settings (from
/// [`PgClusterBuilder::setting`]) override.
///
/// `synchronous_commit` stays on on purpose: logical decoding only reads WAL up to the flush
/// position, so with asynchronous commit a just-committed change would be invisible to a
/// slot for up to `wal_writer_delay` and CDC tests would flake.
pub(crate) const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("wal_level", "logical"),
    ("max_replication_slots", "16"),
    ("max_wal_senders", "16"),
    ("fsync", "off"),
    ("full_page_writes", "off"),
    ("shared_buffers", "32MB"),
];

/// Output plugins allowed by default where the server restricts them
/// (`output_plugin_libraries`, added in PostgreSQL minor releases such as 15.20): the
/// built-in ones plus the plugins cdc-rs providers use (Bento: wal2json; Debezium:
/// decoderbufs). Listing a plugin that is not installed is harmless.
pub(crate) const DEFAULT_OUTPUT_PLUGINS: &[&str] =
    &["pgoutput", "test_decoding", "wal2json", "decoderbufs"];

/// Options for [`PgCluster`]; [`PgCluster::start`] uses the defaults.
///
/// ```no_run
/// # async fn demo() -> Result<(), cdc_testkit::TestkitError> {
/// let pg = cdc_testkit::PgCluster::builder()
///     .database("orders")
///     .setting("shared_preload_libraries", "wal2json")
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgClusterBuilder {
    pub(crate) database: String,
    pub(crate) user: String,
    pub(crate) settings: Vec<(String, String)>,
    pub(crate) output_plugins: Vec<String>,
    pub(crate) start_timeout: Duration,
    pub(crate) bindir: Option<PathBuf>,
}

impl Default for PgClusterBuilder {
    fn default() -> Self {
        Self {
            database: "cdc_test".to_owned(),
            user: "postgres".to_owned(),
            settings: Vec::new(),
            output_plugins: DEFAULT_OUTPUT_PLUGINS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            start_timeout: Duration::from_secs(60),
            bindir: None,
        }
    }
}

impl PgClusterBuilder {
    /// The defaults: database `cdc_test`, superuser `postgres`, 60 s start timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The database created after start (default `cdc_test`; `postgres` creates nothing).
    #[must_use]
    pub fn database(mut self, name: impl Into<String>) -> Self {
        self.database = name.into();
        self
    }

    /// The superuser name given to `initdb` (default `postgres`).
    #[must_use]
    pub fn user(mut self, name: impl Into<String>) -> Self {
        self.user = name.into();
        self
    }

    /// An extra server setting passed as `-c name=value`, e.g.
    /// `setting("shared_preload_libraries", "wal2json")`. Overrides the defaults.
    #[must_use]
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Allows one more logical decoding output plugin. Servers that have the
    /// `output_plugin_libraries` setting refuse plugins not listed there (even to superusers);
    /// the default list is `pgoutput, test_decoding, wal2json, decoderbufs`. On servers without
    /// that setting this changes nothing.
    #[must_use]
    pub fn output_plugin(mut self, name: impl Into<String>) -> Self {
        self.output_plugins.push(name.into());
        self
    }

    /// How long to wait for the server to accept connections (default 60 s).
    #[must_use]
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Use the binaries in this directory instead of searching (see
    /// [`super::PgBinaries::locate`]).
    #[must_use]
    pub fn bindir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bindir = Some(dir.into());
        self
    }

    /// Starts the cluster. See [`PgCluster::start`].
    pub async fn start(self) -> Result<PgCluster> {
        self.validate()?;
        PgCluster::start_with(self).await
    }

    fn validate(&self) -> Result<()> {
        for (what, value) in [("database name", &self.database), ("user name", &self.user)] {
            if value.is_empty() || value.contains('\0') {
                return Err(TestkitError::InvalidInput {
                    what: format!("{what} {value:?}"),
                    reason: "must be non-empty and contain no NUL byte".to_owned(),
                });
            }
        }
        for plugin in &self.output_plugins {
            if plugin.is_empty()
                || !plugin
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(TestkitError::InvalidInput {
                    what: format!("output plugin name {plugin:?}"),
                    reason: "plugin names are letters, digits and '_'".to_owned(),
                });
            }
        }
        for (name, value) in &self.settings {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !valid {
                return Err(TestkitError::InvalidInput {
                    what: format!("setting name {name:?}"),
                    reason: "server setting names are letters, digits, '_' and '.'".to_owned(),
                });
            }
            if value.contains('\0') {
                return Err(TestkitError::InvalidInput {
                    what: format!("value of setting {name}"),
                    reason: "contains a NUL byte".to_owned(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_setting_names() {
        let err = PgClusterBuilder::new()
            .setting("wal level", "logical")
            .validate()
            .unwrap_err();
        assert!(
            err.to_string().contains("setting name \"wal level\""),
            "{err}"
        );
        assert!(PgClusterBuilder::new().database("").validate().is_err());
        assert!(
            PgClusterBuilder::new()
                .output_plugin("a,b")
                .validate()
                .is_err()
        );
        assert!(
            PgClusterBuilder::new()
                .setting("wal2json.foo", "1")
                .validate()
                .is_ok()
        );
    }
}
