//! A running throwaway cluster and its teardown.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tempfile::TempDir;
use tokio_postgres::{Client, NoTls};

use super::builder::{DEFAULT_SETTINGS, PgClusterBuilder};
use super::run_as::{RunAs, temp_base};
use super::server::{self, Layout, Started};
use super::{PgBinaries, debian_package_for};
use crate::error::{Result, TestkitError};
use crate::process::{ChildGuard, free_port};

/// The server setting that restricts output plugins (newer minor releases).
const OUTPUT_PLUGIN_LIBRARIES: &str = "output_plugin_libraries";

/// How often a start is retried when another process grabs the chosen port first.
const PORT_ATTEMPTS: usize = 5;

/// A PostgreSQL server of its own for one test: temp dir, free loopback port,
/// `wal_level=logical`, trust auth, a fresh database.
///
/// Stop it with [`PgCluster::stop`] to see teardown errors; dropping it stops the server
/// (immediate shutdown, SIGKILL after 10 s) and deletes the temp dir too, also when the test
/// panics — in which case the tail of the server log is printed to stderr first.
///
/// When the tests run as root, the temp dir is owned by the `postgres` system user and the
/// server runs as that user (initdb and postgres refuse to run as root).
#[derive(Debug)]
pub struct PgCluster {
    server: Option<ChildGuard>,
    dir: Option<TempDir>,
    layout: Layout,
    pid: u32,
    port: u16,
    user: String,
    database: String,
    settings: Vec<(String, String)>,
    start_timeout: std::time::Duration,
}

/// How [`PgCluster::stop_server`] shuts the server down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    /// `fast` (SIGINT): clients are disconnected, a shutdown checkpoint is written (so
    /// replication slots' positions are saved).
    Fast,
    /// `immediate` (SIGQUIT): a crash as far as the data is concerned; recovery runs at the
    /// next start.
    Immediate,
}

impl PgCluster {
    /// Starts a cluster with the defaults (database `cdc_test`, user `postgres`).
    ///
    /// Fails with a message saying what to install when no PostgreSQL server binaries are found.
    pub async fn start() -> Result<Self> {
        PgClusterBuilder::new().start().await
    }

    /// Options: database, user, extra server settings, binaries, timeout.
    pub fn builder() -> PgClusterBuilder {
        PgClusterBuilder::new()
    }

    pub(crate) async fn start_with(options: PgClusterBuilder) -> Result<Self> {
        let bindir = options.bindir.clone();
        let user = options.user.clone();
        let (layout, dir) = tokio::task::spawn_blocking(move || prepare(bindir, &user))
            .await
            .map_err(|e| TestkitError::io("joining the setup task", std::io::Error::other(e)))??;

        let mut settings: Vec<(String, String)> = DEFAULT_SETTINGS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if layout.bins.has_setting(OUTPUT_PLUGIN_LIBRARIES) {
            settings.push((
                OUTPUT_PLUGIN_LIBRARIES.to_owned(),
                options.output_plugins.join(", "),
            ));
        }
        settings.extend(options.settings.iter().cloned());

        let mut attempt = 0;
        let (server, port) = loop {
            attempt += 1;
            let port = free_port().map_err(|e| TestkitError::io("finding a free port", e))?;
            let mut server = server::spawn_postgres(&layout, port, &settings)?;
            match server::wait_ready(
                &layout,
                &mut server,
                port,
                &options.user,
                options.start_timeout,
            )
            .await?
            {
                Started::Ready => break (server, port),
                Started::PortTaken if attempt < PORT_ATTEMPTS => continue,
                Started::PortTaken => {
                    return Err(server::start_failed(
                        &layout,
                        format!("every one of {PORT_ATTEMPTS} free ports was taken before bind"),
                    ));
                }
            }
        };

        let cluster = Self {
            pid: server.pid(),
            server: Some(server),
            dir: Some(dir),
            layout,
            port,
            user: options.user,
            database: options.database,
            settings,
            start_timeout: options.start_timeout,
        };
        if cluster.database != "postgres" {
            let client = cluster.connect_to("postgres").await?;
            client
                .batch_execute(&format!(
                    "CREATE DATABASE {}",
                    quote_ident(&cluster.database)
                ))
                .await
                .map_err(|e| {
                    TestkitError::pg(format!("creating database {}", cluster.database), e)
                })?;
        }
        Ok(cluster)
    }

    /// `127.0.0.1`: the server listens on loopback only.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The database created for the test.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// PID of the postmaster.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The temp dir holding the data directory, the unix socket and the log.
    pub fn dir(&self) -> &Path {
        &self.layout.root
    }

    /// The data directory (`<dir>/data`).
    pub fn data_dir(&self) -> &Path {
        &self.layout.data_dir
    }

    /// The directory of the unix socket (same as [`PgCluster::dir`]).
    pub fn socket_dir(&self) -> &Path {
        &self.layout.root
    }

    /// The server log file.
    pub fn log_path(&self) -> &Path {
        &self.layout.log_path
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.layout.log_path).unwrap_or_default()
    }

    /// The binaries this cluster runs.
    pub fn binaries(&self) -> &PgBinaries {
        &self.layout.bins
    }

    /// tokio-postgres key=value connection string for the test database, e.g.
    /// `host=127.0.0.1 port=54321 user=postgres dbname=cdc_test`.
    pub fn connection_string(&self) -> String {
        self.connection_string_for(&self.database)
    }

    /// tokio-postgres key=value connection string for another database of this cluster.
    pub fn connection_string_for(&self, database: &str) -> String {
        format!(
            "host={} port={} user={} dbname={}",
            self.host(),
            self.port,
            quote_kv(&self.user),
            quote_kv(database)
        )
    }

    /// `postgres://user@127.0.0.1:port/database` URL for the test database.
    pub fn url(&self) -> String {
        self.url_for(&self.database)
    }

    /// `postgres://` URL for another database of this cluster.
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            percent_encode(&self.user),
            self.host(),
            self.port,
            percent_encode(database)
        )
    }

    /// A tokio-postgres config for `database`.
    pub fn config_for(&self, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(self.host())
            .port(self.port)
            .user(&self.user)
            .dbname(database);
        config
    }

    /// Connects to the test database; the connection task is spawned on the current runtime.
    pub async fn connect(&self) -> Result<Client> {
        self.connect_to(&self.database).await
    }

    /// Connects to another database of this cluster.
    pub async fn connect_to(&self, database: &str) -> Result<Client> {
        let (client, connection) = self
            .config_for(database)
            .connect(NoTls)
            .await
            .map_err(|e| {
                TestkitError::pg(format!("connecting to {}", self.url_for(database)), e)
            })?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                eprintln!("cdc-testkit: PostgreSQL connection closed with an error: {err}");
            }
        });
        Ok(client)
    }

    /// Checks that the logical decoding output plugin `plugin` (e.g. `wal2json`) is installed
    /// by creating (and dropping) a temporary slot with it. When it is missing the error names
    /// the Debian package, e.g. `postgresql-15-wal2json`.
    pub async fn require_output_plugin(&self, plugin: &str) -> Result<()> {
        static PROBE: AtomicU64 = AtomicU64::new(0);
        let slot = format!(
            "cdc_testkit_probe_{}_{}",
            std::process::id(),
            PROBE.fetch_add(1, Ordering::Relaxed)
        );
        let client = self.connect().await?;
        let created = client
            .query_one(
                "SELECT slot_name::text FROM pg_create_logical_replication_slot($1, $2, true)",
                &[&slot, &plugin],
            )
            .await;
        match created {
            Ok(_) => {
                client
                    .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
                    .await
                    .map_err(|e| TestkitError::pg(format!("dropping probe slot {slot}"), e))?;
                Ok(())
            }
            Err(err) if is_missing_file(&err) => Err(self.plugin_missing(plugin)),
            // The allow-list is checked before the file is loaded: look for the file ourselves
            // so a plugin that is not installed is reported as such.
            Err(err) if is_not_allowed(&err) && !self.plugin_file_exists(plugin) => {
                Err(self.plugin_missing(plugin))
            }
            Err(err) if is_not_allowed(&err) => Err(TestkitError::PluginNotAllowed {
                plugin: plugin.to_owned(),
            }),
            Err(err) => Err(TestkitError::pg(
                format!("probing output plugin {plugin}"),
                err,
            )),
        }
    }

    fn plugin_file_exists(&self, plugin: &str) -> bool {
        let libdir = self.layout.bins.pkglibdir();
        ["so", "dylib"]
            .iter()
            .any(|ext| libdir.join(format!("{plugin}.{ext}")).is_file())
    }

    fn plugin_missing(&self, plugin: &str) -> TestkitError {
        TestkitError::PluginMissing {
            plugin: plugin.to_owned(),
            package: debian_package_for(plugin, self.layout.bins.major()),
            major: self.layout.bins.major(),
            bindir: self.layout.bins.bindir().to_owned(),
        }
    }

    /// Checks that `CREATE EXTENSION extension` would find the extension. When it is missing
    /// the error names the Debian package that most likely provides it.
    pub async fn require_extension(&self, extension: &str) -> Result<()> {
        let client = self.connect().await?;
        let rows = client
            .query(
                "SELECT 1 FROM pg_available_extensions WHERE name = $1",
                &[&extension],
            )
            .await
            .map_err(|e| TestkitError::pg(format!("looking up extension {extension}"), e))?;
        if rows.is_empty() {
            return Err(TestkitError::ExtensionMissing {
                extension: extension.to_owned(),
                package: debian_package_for(extension, self.layout.bins.major()),
                major: self.layout.bins.major(),
                bindir: self.layout.bins.bindir().to_owned(),
            });
        }
        Ok(())
    }

    /// Stops the server, keeping the data directory; [`PgCluster::start_server`] starts it
    /// again on the same port. Clients see their connections end.
    pub fn stop_server(&mut self, mode: ShutdownMode) -> Result<()> {
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        let signal = match mode {
            ShutdownMode::Fast => crate::Signal::SIGINT,
            ShutdownMode::Immediate => crate::Signal::SIGQUIT,
        };
        server
            .stop_with(signal)
            .map_err(|e| TestkitError::io(format!("stopping postgres (pid {})", self.pid), e))?;
        Ok(())
    }

    /// Starts a server stopped with [`PgCluster::stop_server`] again, on the same port with
    /// the same settings. A no-op when it runs.
    pub async fn start_server(&mut self) -> Result<()> {
        if self.server.is_some() {
            return Ok(());
        }
        let mut server = server::spawn_postgres(&self.layout, self.port, &self.settings)?;
        match server::wait_ready(
            &self.layout,
            &mut server,
            self.port,
            &self.user,
            self.start_timeout,
        )
        .await?
        {
            Started::Ready => {}
            Started::PortTaken => {
                return Err(server::start_failed(
                    &self.layout,
                    format!("port {} was taken while the server was down", self.port),
                ));
            }
        }
        self.pid = server.pid();
        self.server = Some(server);
        Ok(())
    }

    /// [`PgCluster::stop_server`] then [`PgCluster::start_server`].
    pub async fn restart(&mut self, mode: ShutdownMode) -> Result<()> {
        self.stop_server(mode)?;
        self.start_server().await
    }

    /// Writes a file into the data directory (a TLS key, `pg_hba.conf`), owned by the
    /// server's user, with `mode` permissions (e.g. `0o600` for a key).
    pub fn write_data_file(&self, name: &str, contents: &[u8], mode: u32) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.layout.data_dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| TestkitError::io(format!("writing {}", path.display()), e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| TestkitError::io(format!("chmod {}", path.display()), e))?;
        if let Some(run_as) = &self.layout.run_as {
            run_as.chown(&path)?;
        }
        Ok(path)
    }

    /// Stops the server (immediate shutdown) and deletes the temp dir, reporting failures.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(server) = self.server.take() {
            server.stop().map_err(|e| {
                TestkitError::io(format!("stopping postgres (pid {})", self.pid), e)
            })?;
        }
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_owned();
            dir.close()
                .map_err(|e| TestkitError::io(format!("removing {}", path.display()), e))?;
        }
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if std::thread::panicking() && self.server.is_some() {
            eprintln!(
                "cdc-testkit: test panicked; last lines of the PostgreSQL log {}:\n{}",
                self.layout.log_path.display(),
                server::tail(&self.log(), 20)
            );
        }
        if let Err(err) = self.shutdown() {
            eprintln!("cdc-testkit: tearing down the test cluster failed: {err}");
        }
    }
}

/// Finds binaries, creates the temp dir (owned by `postgres` when root) and runs initdb.
/// Blocking; a failure drops the temp dir again.
fn prepare(bindir: Option<PathBuf>, user: &str) -> Result<(Layout, TempDir)> {
    let bins = match bindir {
        Some(dir) => PgBinaries::at(dir)?,
        None => PgBinaries::locate()?,
    };
    let run_as = RunAs::detect()?;
    let base = temp_base(run_as.as_ref());
    let dir = tempfile::Builder::new()
        .prefix("cdc-pg-")
        .tempdir_in(&base)
        .map_err(|e| TestkitError::io(format!("creating a temp dir in {}", base.display()), e))?;
    if let Some(run_as) = &run_as {
        run_as.chown(dir.path())?;
    }
    let root = dir.path().to_owned();
    // The socket path `<root>/.s.PGSQL.<port>` must fit in sun_path (107 bytes).
    if root.as_os_str().len() + "/.s.PGSQL.65535".len() > 107 {
        return Err(TestkitError::InvalidInput {
            what: format!("temp dir {}", root.display()),
            reason: "too long for a unix socket path; set TMPDIR to a shorter directory".to_owned(),
        });
    }
    let layout = Layout {
        bins,
        run_as,
        data_dir: root.join("data"),
        log_path: root.join("postgres.log"),
        root,
    };
    server::initdb(&layout, user)?;
    Ok((layout, dir))
}

/// Quotes an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a libpq key=value value when it needs it.
fn quote_kv(value: &str) -> String {
    if !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\\') {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether the server refused the plugin because `output_plugin_libraries` does not list it.
fn is_not_allowed(err: &tokio_postgres::Error) -> bool {
    err.as_db_error()
        .is_some_and(|db| db.message().contains("may not be used as an output plugin"))
}

/// Whether a server error says a shared library file is missing.
fn is_missing_file(err: &tokio_postgres::Error) -> bool {
    err.as_db_error()
        .is_some_and(|db| db.message().contains("could not access file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_names() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_kv("plain"), "plain");
        assert_eq!(quote_kv("with space"), "'with space'");
        assert_eq!(quote_kv("it's"), "'it\\'s'");
        assert_eq!(percent_encode("db name/1"), "db%20name%2F1");
    }
}
