//! The generated PostgreSQL SQL against a real PostgreSQL started by this suite (initdb into a
//! temp dir, `wal_level=logical`, a free port, wal2json).
//!
//! Needs the PostgreSQL server binaries and wal2json (Debian: `postgresql-15-wal2json`); when
//! they are missing the suite FAILS with the package to install.

use std::collections::BTreeSet;

use cdc_bento::generate::{SourceSpec, generate};
use cdc_bento::options::BentoOptions;
use cdc_bento::sql::quote_ident;
use cdc_testkit::PgCluster;
use serde_json::{Value, json};
use tokio_postgres::Client;

/// The tables of the run: (schema, table, configured?).
const TABLES: &[(&str, &str, bool)] = &[
    ("public", "orders", true),
    ("public", "we'ird; --x", true), // hostile, but a legal name: escaped, not rejected
    ("sales", "customers", true),    // configured without schema: any schema
    ("audit", "orders", false),      // same name as a configured table, other schema
    ("public", "other", false),
];

const CONFIGURED: &[&str] = &["public.orders", "public.we'ird; --x", "customers"];

fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// A tiny deterministic generator, so the run is the same every time.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

/// One change as the test expects it: (schema, table, action, id).
type Change = (String, String, String, i64);

async fn setup_tables(client: &Client) {
    client
        .batch_execute("CREATE SCHEMA sales; CREATE SCHEMA audit;")
        .await
        .unwrap();
    for (schema, table, _) in TABLES {
        client
            .batch_execute(&format!(
                "CREATE TABLE {} (id bigint PRIMARY KEY, n int NOT NULL, note text)",
                qualified(schema, table)
            ))
            .await
            .unwrap();
    }
}

/// Reads the rows of one run of the generated query (extended protocol, as Bento's driver).
async fn poll(client: &Client, sql: &str) -> Vec<(String, String, Value)> {
    client
        .query(sql, &[])
        .await
        .expect("generated query runs")
        .iter()
        .map(|row| {
            let lsn: String = row.get("lsn");
            let xid: String = row.get("xid");
            let data: String = row.get("data");
            (
                lsn,
                xid,
                serde_json::from_str(&data).expect("wal2json JSON"),
            )
        })
        .collect()
}

fn change_of(data: &Value) -> Change {
    let cols = data
        .get("columns")
        .or_else(|| data.get("identity"))
        .and_then(Value::as_array)
        .expect("columns or identity");
    let id = cols
        .iter()
        .find(|c| c["name"] == "id")
        .and_then(|c| c["value"].as_i64())
        .expect("id column");
    (
        data["schema"].as_str().unwrap().to_owned(),
        data["table"].as_str().unwrap().to_owned(),
        data["action"].as_str().unwrap().to_owned(),
        id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_sql_returns_each_configured_change_once_in_commit_order() {
    let pg = PgCluster::start().await.expect("start PostgreSQL");
    pg.require_output_plugin("wal2json")
        .await
        .expect("wal2json installed");
    let client = pg.connect().await.unwrap();
    setup_tables(&client).await;

    let spec = SourceSpec {
        source_id: "shop".into(),
        source_type: "postgres".into(),
        connection: pg.url().into(),
        tables: CONFIGURED.iter().map(|t| t.to_string()).collect(),
        slot_read: Default::default(),
    };
    let options: BentoOptions =
        serde_json::from_value(json!({"slot_name": "cdc_shop_test", "max_changes_per_poll": 50}))
            .unwrap();
    let generated = generate(&spec, &options).unwrap();
    let slot = generated.postgres.expect("postgres slot setup");
    let query = slot.changes.sql();

    // The slot is created by the generated SQL; running it again is harmless.
    let created = client.query(&slot.create_slot_sql, &[]).await.unwrap();
    assert_eq!(created.len(), 1, "slot created");
    let again = client.query(&slot.create_slot_sql, &[]).await.unwrap();
    assert!(again.is_empty(), "second run creates nothing");
    let plugin: String = client
        .query_one(
            "SELECT plugin::text FROM pg_replication_slots WHERE slot_name = 'cdc_shop_test'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(plugin, "wal2json");

    // 1 000 mixed changes across configured and other tables, in transactions of 1-5
    // statements; the slot is read every few transactions and at the end.
    let mut rng = Lcg(42);
    let mut live: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); TABLES.len()];
    let mut next_id = 1i64;
    let mut expected: Vec<Change> = Vec::new();
    let mut got: Vec<Change> = Vec::new();
    let mut lsns: Vec<String> = Vec::new();
    let mut changes: usize = 0;
    let mut transactions = 0;
    while changes < 1000 {
        let size = ((1 + rng.next(5)) as usize).min(1000 - changes);
        let mut stmts = Vec::new();
        let mut tx_expected = Vec::new();
        for _ in 0..size {
            let t = rng.next(TABLES.len() as u64) as usize;
            let (schema, table, configured) = TABLES[t];
            let name = qualified(schema, table);
            let roll = rng.next(10);
            let (stmt, action, id) = if live[t].is_empty() || roll < 5 {
                let id = next_id;
                next_id += 1;
                live[t].insert(id);
                (
                    format!("INSERT INTO {name} (id, n, note) VALUES ({id}, 0, 'it''s; -- fine')"),
                    "I",
                    id,
                )
            } else {
                let pick = rng.next(live[t].len() as u64) as usize;
                let id = *live[t].iter().nth(pick).unwrap();
                if roll < 8 {
                    (
                        format!("UPDATE {name} SET n = n + 1 WHERE id = {id}"),
                        "U",
                        id,
                    )
                } else {
                    live[t].remove(&id);
                    (format!("DELETE FROM {name} WHERE id = {id}"), "D", id)
                }
            };
            stmts.push(stmt);
            if configured {
                tx_expected.push((schema.to_owned(), table.to_owned(), action.to_owned(), id));
            }
        }
        client
            .batch_execute(&format!("BEGIN; {}; COMMIT;", stmts.join("; ")))
            .await
            .unwrap();
        expected.extend(tx_expected);
        changes += size;
        transactions += 1;
        if transactions % 7 == 0 {
            for (lsn, _xid, data) in poll(&client, &query).await {
                got.push(change_of(&data));
                lsns.push(lsn);
            }
        }
    }
    // Drain: repeat until a read returns nothing (each read returns at most ~50 changes).
    let mut reads = 0;
    loop {
        let rows = poll(&client, &query).await;
        reads += 1;
        if rows.is_empty() {
            break;
        }
        for (lsn, _xid, data) in rows {
            got.push(change_of(&data));
            lsns.push(lsn);
        }
        assert!(reads < 1000, "the slot never drained");
    }

    assert!(
        expected.len() > 400,
        "enough configured changes: {}",
        expected.len()
    );
    assert!(
        got.iter()
            .all(|(s, t, _, _)| TABLES.iter().any(|(ts, tt, c)| *c && ts == s && tt == t)),
        "a change of a table that is not configured came back"
    );
    assert_eq!(got.len(), expected.len(), "each change exactly once");
    assert_eq!(got, expected, "in commit order");
    // Sequential transactions: positions increase.
    let parsed: Vec<u64> = lsns
        .iter()
        .map(|l| {
            let (hi, lo) = l.split_once('/').unwrap();
            (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
        })
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]), "LSNs increase");
    // Consumed: nothing comes back any more.
    assert!(poll(&client, &query).await.is_empty());

    drop(client);
    pg.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal2json_records_carry_what_the_mapping_reads() {
    // The Bloblang mapping reads action, schema, table, columns/identity, timestamp per
    // record and lsn/xid per row: check that wal2json (format 2, our options) provides them.
    let pg = PgCluster::start().await.expect("start PostgreSQL");
    pg.require_output_plugin("wal2json")
        .await
        .expect("wal2json installed");
    let client = pg.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE public.t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let spec = SourceSpec {
        source_id: "s".into(),
        source_type: "postgres".into(),
        connection: pg.url().into(),
        tables: vec!["public.t".into()],
        slot_read: Default::default(),
    };
    let generated = generate(&spec, &BentoOptions::default()).unwrap();
    let slot = generated.postgres.unwrap();
    client.query(&slot.create_slot_sql, &[]).await.unwrap();
    client
        .batch_execute(
            "INSERT INTO t VALUES (1, 'a'); UPDATE t SET v = 'b' WHERE id = 1; \
             DELETE FROM t WHERE id = 1; TRUNCATE t;",
        )
        .await
        .unwrap();
    let rows = poll(&client, &slot.changes.sql()).await;
    let actions: Vec<&str> = rows
        .iter()
        .map(|(_, _, d)| d["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["I", "U", "D", "T"]);
    for (lsn, xid, d) in &rows {
        assert!(lsn.contains('/') && !xid.is_empty());
        assert_eq!(
            (d["schema"].as_str(), d["table"].as_str()),
            (Some("public"), Some("t"))
        );
        assert!(d["timestamp"].is_string(), "commit timestamp present: {d}");
    }
    assert_eq!(
        rows[0].2["columns"][1],
        json!({"name": "v", "type": "text", "value": "a"})
    );
    assert_eq!(rows[1].2["identity"][0]["value"], json!(1));
    assert_eq!(rows[2].2["identity"][0]["name"], json!("id"));
    drop(client);
    pg.stop().unwrap();
}

/// `create_slot: true`: with the `postgres` feature the provider runs the generated SQL;
/// without it, connect fails saying which feature to enable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_creates_the_slot_when_asked() {
    use cdc_core::CdcProvider;
    let pg = PgCluster::start().await.expect("start PostgreSQL");
    pg.require_output_plugin("wal2json")
        .await
        .expect("wal2json installed");
    let config = |id: &str| {
        cdc_core::SourceConfig::from_value(json!({
            "provider": "bento", "source_id": id, "source_type": "postgres",
            "connection": pg.url(), "tables": ["public.t"],
            "options": {"mode": "delegated", "create_slot": true, "slot_name": "cdc_made_here"}
        }))
        .unwrap()
    };
    let provider = cdc_bento::BentoProvider::new();
    let result = provider.connect(&config("a")).await;
    if cfg!(feature = "postgres") {
        result.expect("slot created");
        // Idempotent: a second source on the same slot connects too.
        provider
            .connect(&config("b"))
            .await
            .expect("existing slot accepted");
        let client = pg.connect().await.unwrap();
        let plugin: String = client
            .query_one(
                "SELECT plugin::text FROM pg_replication_slots WHERE slot_name = 'cdc_made_here'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(plugin, "wal2json");
    } else {
        let err = result.unwrap_err().to_string();
        assert!(err.contains("`postgres` feature"), "{err}");
    }
    pg.stop().unwrap();
}
