//! TLS (require, verify-ca, verify-full, a client certificate) and SCRAM-SHA-256 on both
//! connections of a source (SQL and replication), against a server that refuses plain TCP.

mod common;

use std::path::{Path, PathBuf};

use cdc_core::{CdcProvider, SourceConfig};
use cdc_postgres::PostgresProvider;
use cdc_testkit::PgCluster;
use common::{Recorder, cluster, id_of, sql};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A CA, a server certificate for localhost / 127.0.0.1 (installed in the cluster), a client
/// certificate for role `certuser`, and an unrelated CA.
fn make_pki(pg: &PgCluster) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = |name: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        (cert, Issuer::new(p, key))
    };
    let (ca_cert, issuer) = ca("cdc test ca");
    let (other_ca, _) = ca("someone else");
    let leaf = |sans: Vec<String>, cn: &str| {
        let mut p = CertificateParams::new(sans).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], "localhost");
    let (client_cert, client_key) = leaf(Vec::new(), "certuser");
    pg.write_data_file("server.crt", server_cert.as_bytes(), 0o644)
        .unwrap();
    pg.write_data_file("server.key", server_key.as_bytes(), 0o600)
        .unwrap();
    pg.write_data_file("root.crt", ca_cert.pem().as_bytes(), 0o644)
        .unwrap();
    for (name, text) in [
        ("ca.pem", ca_cert.pem()),
        ("other-ca.pem", other_ca.pem()),
        ("client.crt", client_cert),
        ("client.key", client_key),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    Pki { dir }
}

fn config(pg: &PgCluster, id: &str, dsn: String, options: serde_json::Value) -> SourceConfig {
    let mut cfg = common::source(pg, id, &["t"], options);
    cfg.connection = dsn.into();
    cfg.options.insert("publication".into(), json!("pub_tls"));
    cfg
}

async fn streams(cfg: &SourceConfig, db: &tokio_postgres::Client, id: i32) {
    let p = PostgresProvider::new();
    p.connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", cfg.source_id));
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, &cfg.source_id);
    sql(db, &format!("insert into t values ({id})")).await;
    rec.wait_until(30, "the insert", |evs| {
        evs.iter().any(|e| id_of(e) == Some(i64::from(id)))
    })
    .await;
    p.disconnect(&cfg.source_id).await.unwrap();
}

fn dsn(pg: &PgCluster, user: &str, host: &str, params: &str) -> String {
    format!(
        "postgres://{user}@{host}:{}/{}?{params}",
        pg.port(),
        pg.database()
    )
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_and_scram_on_both_connections() {
    let pg = cluster().await;
    let pki = make_pki(&pg);
    let db = pg.connect().await.unwrap();
    for setting in [
        "ssl = on",
        "ssl_cert_file = 'server.crt'",
        "ssl_key_file = 'server.key'",
        "ssl_ca_file = 'root.crt'",
    ] {
        sql(&db, &format!("alter system set {setting}")).await;
    }
    pg.write_data_file(
        "pg_hba.conf",
        b"local all all trust
host all postgres 127.0.0.1/32 trust
host replication postgres 127.0.0.1/32 trust
hostssl all app 127.0.0.1/32 scram-sha-256
hostssl replication app 127.0.0.1/32 scram-sha-256
hostssl all certuser 127.0.0.1/32 cert
hostssl replication certuser 127.0.0.1/32 cert
hostnossl all all 127.0.0.1/32 reject
hostnossl replication all 127.0.0.1/32 reject
",
        0o600,
    )
    .unwrap();
    sql(&db, "select pg_reload_conf()").await;
    sql(
        &db,
        "create table t (id int primary key);
         create publication pub_tls for table t;
         set password_encryption = 'scram-sha-256';
         create role app login replication password 'Sc-ram/pw?#';
         create role certuser login replication;
         grant select on t to app, certuser;",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pw = "Sc-ram%2Fpw%3F%23";
    let app = format!("app:{pw}");
    let ca = path(&pki.path("ca.pem"));

    // require: encrypted, SCRAM, no certificate check.
    streams(
        &config(
            &pg,
            "req",
            dsn(&pg, &app, "127.0.0.1", "sslmode=require"),
            json!({}),
        ),
        &db,
        1,
    )
    .await;
    // verify-full against the host name, CA from the connection string.
    streams(
        &config(
            &pg,
            "full",
            dsn(
                &pg,
                &app,
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            json!({}),
        ),
        &db,
        2,
    )
    .await;
    // verify-ca from options, a client certificate instead of a password.
    streams(
        &config(
            &pg,
            "cert",
            dsn(&pg, "certuser", "127.0.0.1", ""),
            json!({"tls": {
                "mode": "verify-ca",
                "ca_file": ca,
                "cert_file": path(&pki.path("client.crt")),
                "key_file": path(&pki.path("client.key")),
            }}),
        ),
        &db,
        3,
    )
    .await;

    let fails = |cfg: SourceConfig| async move {
        let p = PostgresProvider::new();
        let e = p.connect(&cfg).await.expect_err("must fail").to_string();
        assert!(!e.contains("Sc-ram/pw"), "password in error: {e}");
        e
    };
    // A server certificate from another CA is refused.
    let e = fails(config(
        &pg,
        "wrongca",
        dsn(
            &pg,
            &app,
            "localhost",
            &format!(
                "sslmode=verify-full&sslrootcert={}",
                path(&pki.path("other-ca.pem"))
            ),
        ),
        json!({}),
    ))
    .await;
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // Plain TCP is refused by the server.
    let e = fails(config(
        &pg,
        "plain",
        dsn(&pg, &app, "127.0.0.1", "sslmode=disable"),
        json!({}),
    ))
    .await;
    assert!(
        e.contains("pg_hba.conf") || e.contains("no encryption"),
        "{e}"
    );
    // A wrong password over TLS.
    let e = fails(config(
        &pg,
        "badpw",
        dsn(&pg, "app:nope", "127.0.0.1", "sslmode=require"),
        json!({}),
    ))
    .await;
    assert!(e.contains("password authentication failed"), "{e}");
}
