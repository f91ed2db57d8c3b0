//! A real throwaway PostgreSQL cluster: start, query, logical decoding, teardown.

use std::time::Duration;

use cdc_testkit::{PgCluster, TestkitError, process_alive};

async fn scalar(client: &tokio_postgres::Client, sql: &str) -> String {
    client
        .query_one(sql, &[])
        .await
        .unwrap()
        .get::<_, String>(0)
}

/// Waits briefly for a PID to disappear (it was reaped, but /proc can lag a moment).
fn gone(pid: u32) -> bool {
    for _ in 0..100 {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test]
async fn starts_with_logical_replication_and_tears_down() {
    let pg = PgCluster::start().await.expect("start a throwaway cluster");
    assert_ne!(pg.port(), 5432, "never the system server's port");
    assert!(process_alive(pg.pid()));
    assert!(pg.data_dir().join("PG_VERSION").is_file());

    let client = pg.connect().await.unwrap();
    assert_eq!(scalar(&client, "SHOW wal_level").await, "logical");
    assert_eq!(scalar(&client, "SHOW fsync").await, "off");
    assert_eq!(
        scalar(&client, "SELECT current_database()::text").await,
        "cdc_test"
    );
    assert_eq!(
        scalar(&client, "SELECT current_user::text").await,
        "postgres"
    );
    assert_eq!(
        scalar(&client, "SHOW listen_addresses").await,
        "127.0.0.1",
        "loopback only"
    );
    // The server runs from our temp dir, not the system cluster.
    assert_eq!(
        scalar(&client, "SHOW data_directory").await,
        pg.data_dir().to_string_lossy()
    );

    // A pgoutput slot (what the Bento/Debezium style consumers use) can be created.
    let slot = client
        .query_one(
            "SELECT slot_name::text FROM pg_create_logical_replication_slot('cdc_pgoutput', 'pgoutput')",
            &[],
        )
        .await
        .unwrap()
        .get::<_, String>(0);
    assert_eq!(slot, "cdc_pgoutput");
    let plugin = scalar(
        &client,
        "SELECT plugin::text FROM pg_replication_slots WHERE slot_name = 'cdc_pgoutput'",
    )
    .await;
    assert_eq!(plugin, "pgoutput");

    // And logical decoding really decodes: test_decoding shows the inserted row.
    client
        .batch_execute("SELECT pg_create_logical_replication_slot('cdc_td', 'test_decoding')")
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE TABLE orders (id int PRIMARY KEY, item text);
             INSERT INTO orders VALUES (1, 'widget');",
        )
        .await
        .unwrap();
    let changes: Vec<String> = client
        .query(
            "SELECT data FROM pg_logical_slot_get_changes('cdc_td', NULL, NULL)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    assert!(
        changes
            .iter()
            .any(|c| c.contains("table public.orders: INSERT: id[integer]:1 item[text]:'widget'")),
        "decoded changes: {changes:?}"
    );

    let pid = pg.pid();
    let dir = pg.dir().to_owned();
    drop(client);
    pg.stop().expect("clean stop");
    assert!(gone(pid), "postmaster {pid} still running after stop");
    assert!(!dir.exists(), "{} not removed", dir.display());
}

#[tokio::test]
async fn two_clusters_run_side_by_side() {
    let (a, b) = tokio::join!(
        PgCluster::builder().database("alpha").start(),
        PgCluster::builder().database("beta").start()
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());

    let ca = a.connect().await.unwrap();
    let cb = b.connect().await.unwrap();
    ca.batch_execute("CREATE TABLE only_in_a (x int)")
        .await
        .unwrap();
    assert_eq!(
        scalar(&ca, "SELECT current_database()::text").await,
        "alpha"
    );
    assert_eq!(scalar(&cb, "SELECT current_database()::text").await, "beta");
    let in_b = cb
        .query_one("SELECT to_regclass('only_in_a') IS NULL", &[])
        .await
        .unwrap()
        .get::<_, bool>(0);
    assert!(in_b, "clusters share nothing");

    let (pa, pb) = (a.pid(), b.pid());
    drop(a);
    assert!(gone(pa));
    assert!(
        process_alive(pb),
        "dropping one cluster leaves the other running"
    );
    assert_eq!(scalar(&cb, "SELECT 'still up'").await, "still up");
    drop(b);
    assert!(gone(pb));
}

#[tokio::test]
async fn connection_strings_work_in_both_forms() {
    let pg = PgCluster::start().await.unwrap();
    let kv = pg.connection_string();
    assert_eq!(
        kv,
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=cdc_test",
            pg.port()
        )
    );
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{}/cdc_test", pg.port())
    );
    for conn in [kv, pg.url()] {
        let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect with {conn}: {e}"));
        tokio::spawn(connection);
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
    }
}

#[tokio::test]
async fn extra_settings_reach_the_server() {
    let pg = PgCluster::builder()
        .setting("max_replication_slots", "7")
        .setting("application_name", "cdc-testkit")
        .start()
        .await
        .unwrap();
    let client = pg.connect().await.unwrap();
    assert_eq!(scalar(&client, "SHOW max_replication_slots").await, "7");
}

#[tokio::test]
async fn a_missing_preload_library_fails_start_naming_the_package() {
    let err = PgCluster::builder()
        .setting("shared_preload_libraries", "cdc_no_such_library")
        .start_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TestkitError::StartFailed { .. }), "{msg}");
    assert!(msg.contains("postgresql-"), "{msg}");
    assert!(msg.contains("cdc-no-such-library"), "{msg}");
}

#[tokio::test]
async fn output_plugin_check_names_the_debian_package() {
    let pg = PgCluster::start().await.unwrap();
    pg.require_output_plugin("test_decoding").await.unwrap();
    pg.require_output_plugin("pgoutput").await.unwrap();
    // wal2json is needed by the Bento suite; .ci/run installs postgresql-<ver>-wal2json.
    pg.require_output_plugin("wal2json")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let major = pg.binaries().major();
    let err = pg
        .require_output_plugin("cdc_missing_plugin")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TestkitError::PluginMissing { .. }), "{msg}");
    assert!(
        msg.contains(&format!("postgresql-{major}-cdc-missing-plugin")),
        "{msg}"
    );

    pg.require_extension("plpgsql").await.unwrap();
    let err = pg.require_extension("cdc_missing_ext").await.unwrap_err();
    assert!(
        matches!(err, TestkitError::ExtensionMissing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("apt-get install"), "{err}");

    // The probe slots are gone again.
    let client = pg.connect().await.unwrap();
    let slots: i64 = client
        .query_one("SELECT count(*) FROM pg_replication_slots", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(slots, 0);
}

#[test]
fn a_panicking_test_still_tears_the_cluster_down() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let pg = PgCluster::start().await.unwrap();
            tx.send((pg.pid(), pg.dir().to_owned())).unwrap();
            panic!("simulated test failure");
        })
    })
    .join();
    assert!(outcome.is_err(), "the thread panicked");
    let (pid, dir) = rx.recv().unwrap();
    assert!(gone(pid), "postmaster {pid} survived the panic");
    assert!(!dir.exists(), "{} survived the panic", dir.display());
}

#[tokio::test]
async fn wal2json_decodes_changes() {
    // The Bento suite's plugin: allowed by default (output_plugin_libraries) and working.
    let pg = PgCluster::start().await.unwrap();
    let client = pg.connect().await.unwrap();
    client
        .batch_execute("SELECT pg_create_logical_replication_slot('cdc_w2j', 'wal2json')")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    client
        .batch_execute(
            "CREATE TABLE items (id int PRIMARY KEY, name text);
             INSERT INTO items VALUES (7, 'seven');",
        )
        .await
        .unwrap();
    let rows = client
        .query(
            "SELECT data FROM pg_logical_slot_get_changes('cdc_w2j', NULL, NULL, 'format-version', '2')",
            &[],
        )
        .await
        .unwrap();
    let data: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(
        data.iter().any(|d| d.contains("\"action\":\"I\"")
            && d.contains("\"table\":\"items\"")
            && d.contains("seven")),
        "wal2json output: {data:?}"
    );
}

#[tokio::test]
async fn a_plugin_left_out_of_output_plugin_libraries_is_reported() {
    let probe = PgCluster::start().await.unwrap();
    if !probe.binaries().has_setting("output_plugin_libraries") {
        // Older minor releases have no such restriction: the plugin is simply usable.
        probe.require_output_plugin("wal2json").await.unwrap();
        return;
    }
    drop(probe);
    let pg = PgCluster::builder()
        .setting("output_plugin_libraries", "pgoutput")
        .start()
        .await
        .unwrap();
    let err = pg.require_output_plugin("test_decoding").await.unwrap_err();
    assert!(
        matches!(err, TestkitError::PluginNotAllowed { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("output_plugin(\"test_decoding\")"),
        "{err}"
    );
}
