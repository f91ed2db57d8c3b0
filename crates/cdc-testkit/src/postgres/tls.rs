//! A cluster that takes TLS only, for the roles a test names: what a managed server (Amazon
//! RDS with `rds.force_ssl`, a `hostssl`-only `pg_hba.conf`) does to a client that connects
//! in plain text.

use std::time::Duration;

use rcgen::{CertificateParams, DnType, KeyPair};

use super::cluster::PgCluster;
use crate::error::{Result, TestkitError};

impl PgCluster {
    /// Turns TLS on (a self-signed certificate for `localhost` / `127.0.0.1`) and creates
    /// superuser `role` (no password), which may then connect over TCP with TLS only: a
    /// plain-text connection of that role is refused by `pg_hba.conf`. The cluster's own
    /// user keeps its plain connections, so [`PgCluster::connect`] works as before.
    pub async fn require_tls_for(&self, role: &str) -> Result<()> {
        if !role.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') || role.is_empty() {
            return Err(TestkitError::InvalidInput {
                what: format!("role {role:?}"),
                reason: "use lower-case letters and '_' only".into(),
            });
        }
        let invalid = |e: rcgen::Error| TestkitError::InvalidInput {
            what: "the test server certificate".into(),
            reason: e.to_string(),
        };
        let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .map_err(invalid)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().map_err(invalid)?;
        let cert = params.self_signed(&key).map_err(invalid)?;
        self.write_data_file("server.crt", cert.pem().as_bytes(), 0o644)?;
        self.write_data_file("server.key", key.serialize_pem().as_bytes(), 0o600)?;
        let hba = format!(
            "local all all trust\n\
             host all {me} 127.0.0.1/32 trust\n\
             host replication {me} 127.0.0.1/32 trust\n\
             hostssl all {role} 127.0.0.1/32 trust\n\
             hostssl replication {role} 127.0.0.1/32 trust\n\
             hostnossl all {role} 127.0.0.1/32 reject\n\
             hostnossl replication {role} 127.0.0.1/32 reject\n",
            me = self.user(),
        );
        self.write_data_file("pg_hba.conf", hba.as_bytes(), 0o600)?;
        let client = self.connect().await?;
        let run = async |sql: &str| {
            client
                .batch_execute(sql)
                .await
                .map_err(|e| TestkitError::pg(sql, e))
        };
        run("ALTER SYSTEM SET ssl = on").await?;
        run("ALTER SYSTEM SET ssl_cert_file = 'server.crt'").await?;
        run("ALTER SYSTEM SET ssl_key_file = 'server.key'").await?;
        run(&format!("CREATE ROLE {role} LOGIN SUPERUSER REPLICATION")).await?;
        run("SELECT pg_reload_conf()").await?;
        // The postmaster applies a reload asynchronously: wait until TLS is on and a
        // plain-text connection of the role is refused (the new pg_hba.conf in force).
        let mut plain = self.config_for(self.database());
        plain
            .user(role)
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        for _ in 0..200 {
            let on: String = client
                .query_one("SHOW ssl", &[])
                .await
                .map_err(|e| TestkitError::pg("SHOW ssl", e))?
                .get(0);
            if on == "on" && plain.connect(tokio_postgres::NoTls).await.is_err() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(TestkitError::InvalidInput {
            what: "ssl = on".into(),
            reason: "the server did not take TLS-only connections within 10 s".into(),
        })
    }
}
