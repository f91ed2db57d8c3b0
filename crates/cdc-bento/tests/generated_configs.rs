//! Golden tests of every generated Bento config, parse-back of each YAML, validation of
//! hostile input, and `bento lint` when a real Bento is on PATH.
//!
//! Golden files live in `tests/golden/`; after an intended change, regenerate them with
//! `CDC_BLESS_GOLDEN=1 cargo test -p cdc-bento --test generated_configs` and review the diff.

use std::path::PathBuf;

use cdc_bento::error::BentoError;
use cdc_bento::generate::{GeneratedStream, SourceSpec, generate};
use cdc_bento::options::BentoOptions;
use cdc_bento::stream::{Input, Output, Processor, Reveal, StreamConfig};
use serde_json::json;

fn spec(source_type: &str, connection: &str, tables: &[&str]) -> SourceSpec {
    SourceSpec {
        source_id: "shop".into(),
        source_type: source_type.into(),
        connection: connection.into(),
        tables: tables.iter().map(|t| t.to_string()).collect(),
        slot_read: Default::default(),
    }
}

fn options(value: serde_json::Value) -> BentoOptions {
    serde_json::from_value(value).expect("valid options")
}

const PG_DSN: &str = "postgres://cdc:s3cr3t-pw@db.internal:5432/shop?sslmode=disable";

fn cases() -> Vec<(&'static str, GeneratedStream)> {
    let gen_ok = |s: SourceSpec, o: BentoOptions| generate(&s, &o).expect("generates");
    vec![
        (
            "postgres",
            gen_ok(
                spec("postgres", PG_DSN, &["public.orders", "customers"]),
                options(json!({"poll_interval": "500ms", "slot_name": "cdc_shop"})),
            ),
        ),
        (
            // What the provider runs itself: the slot is peeked and advanced by the provider.
            "postgres_managed",
            gen_ok(
                SourceSpec {
                    slot_read: cdc_bento::sql::SlotRead::Peek,
                    ..spec("postgres", PG_DSN, &["public.orders", "customers"])
                },
                options(json!({"poll_interval": "500ms", "slot_name": "cdc_shop"})),
            ),
        ),
        (
            "postgres_http_output",
            gen_ok(
                spec("postgres", PG_DSN, &["public.orders"]),
                options(
                    json!({"output": {"type": "http_client", "url": "http://sink:8080/events",
                    "headers": {"Content-Type": "application/json"}}}),
                ),
            ),
        ),
        (
            "postgres_nats_output",
            gen_ok(
                spec("postgres", PG_DSN, &["public.orders"]),
                options(
                    json!({"output": {"type": "nats", "urls": ["nats://127.0.0.1:4222"],
                    "subject": "cdc.shop"}}),
                ),
            ),
        ),
        (
            "dynamodb",
            gen_ok(
                spec("dynamodb", "", &[]),
                options(
                    json!({"stream_arn": "arn:aws:kinesis:eu-west-1:123456789012:stream/orders-changes",
                    "checkpoint_table": "shop_checkpoints", "start_position": "latest"}),
                ),
            ),
        ),
        (
            "kafka",
            gen_ok(
                spec(
                    "kafka",
                    "kafka-1:9092,kafka-2:9092",
                    &["public.orders", "public.customers"],
                ),
                options(json!({"topic_prefix": "shopdb"})),
            ),
        ),
        (
            "redpanda_postgres",
            gen_ok(
                spec("postgres", PG_DSN, &["public.orders", "public.customers"]),
                options(json!({"flavor": "redpanda_connect", "stream_snapshot": true})),
            ),
        ),
        (
            "redpanda_mysql",
            gen_ok(
                spec("mysql", "cdc:s3cr3t-pw@tcp(mysql:3306)/shop", &["orders"]),
                options(
                    json!({"flavor": "redpanda_connect", "checkpoint_dir": "/var/lib/cdc/shop"}),
                ),
            ),
        ),
    ]
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.yaml"))
}

#[test]
fn generated_configs_match_their_golden_files() {
    let bless = std::env::var_os("CDC_BLESS_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (name, stream) in cases() {
        let yaml = stream.config.to_yaml(Reveal::Masked).unwrap();
        let path = golden_path(name);
        if bless {
            std::fs::write(&path, &yaml).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "golden file {} missing ({e}); run with CDC_BLESS_GOLDEN=1",
                path.display()
            )
        });
        if want != yaml {
            mismatches.push(format!(
                "--- {name} (golden {})\n{want}\n+++ generated\n{yaml}",
                path.display()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatch:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn every_generated_yaml_parses_back_to_the_same_config() {
    for (name, stream) in cases() {
        for reveal in [Reveal::Masked, Reveal::Secrets] {
            let yaml = stream.config.to_yaml(reveal).unwrap();
            let back =
                StreamConfig::from_yaml(&yaml).unwrap_or_else(|e| panic!("{name}: {e}\n{yaml}"));
            let want = match reveal {
                Reveal::Masked => stream.config.masked().unwrap(),
                Reveal::Secrets => stream.config.clone(),
            };
            assert_eq!(back, want, "{name} {reveal:?}");
        }
    }
}

#[test]
fn the_dsn_is_masked_unless_secrets_are_asked_for() {
    for (name, stream) in cases() {
        let masked = stream.config.to_yaml(Reveal::Masked).unwrap();
        assert!(
            !masked.contains("s3cr3t-pw"),
            "{name} leaks the password:\n{masked}"
        );
        assert!(!format!("{:?}", stream.config).contains("s3cr3t-pw"));
    }
    let (_, pg) = cases().into_iter().next().unwrap();
    let raw = pg.config.to_yaml(Reveal::Secrets).unwrap();
    assert!(raw.contains(PG_DSN), "{raw}");
    assert!(
        pg.config
            .to_yaml(Reveal::Masked)
            .unwrap()
            .contains("postgres://cdc:***@db.internal:5432/shop")
    );
}

#[test]
fn postgres_stream_polls_forever_and_consumes_the_slot() {
    let (_, pg) = cases().into_iter().next().unwrap();
    let Input::Generate(g) = &pg.config.input else {
        panic!("not a generate input")
    };
    assert_eq!((g.interval.as_str(), g.count), ("500ms", 0));
    let [
        Processor::SqlRaw(sql),
        Processor::Catch(failed_poll),
        Processor::Unarchive(split),
        Processor::Mapping(map),
    ] = pg.config.pipeline.processors.as_slice()
    else {
        panic!("unexpected processors {:?}", pg.config.pipeline.processors)
    };
    // A failed query's tick is dropped, never printed as if it were a row.
    assert!(
        matches!(failed_poll.as_slice(), [Processor::Mapping(m)] if m == "root = deleted()"),
        "{failed_poll:?}"
    );
    assert!(
        sql.query
            .contains("pg_logical_slot_get_changes(E'cdc_shop'")
    );
    assert!(!sql.query.contains("peek"));
    assert!(sql.query.contains("E'format-version', E'2'"));
    assert!(
        sql.query.contains(r"E'public.orders,*.customers'"),
        "{}",
        sql.query
    );
    assert_eq!(split.format, "json_array");
    assert!(map.contains("\"source_id\": \"shop\""));
    assert!(matches!(pg.config.output, Output::Stdout(_)));
    let slot = pg.postgres.expect("slot setup");
    assert!(
        slot.create_slot_sql
            .contains("pg_create_logical_replication_slot(E'cdc_shop', 'wal2json')")
    );
    // The default interval is one second.
    let g = generate(&spec("postgres", PG_DSN, &["t"]), &BentoOptions::default()).unwrap();
    let Input::Generate(g) = g.config.input else {
        panic!()
    };
    assert_eq!(g.interval, "1s");
}

#[test]
fn hostile_table_and_slot_names_are_escaped_or_rejected() {
    // Escaped: quotes, `;`, `--` and spaces end up inside one E'' literal.
    let s = spec(
        "postgres",
        PG_DSN,
        &["public.x'); DROP TABLE orders; --", "a\\b.c,d"],
    );
    let g = generate(&s, &BentoOptions::default()).unwrap();
    let q = g.postgres.unwrap().changes.sql();
    assert!(
        q.contains(r"E'public.x'');\\ DROP\\ TABLE\\ orders;\\ --,a\\\\b.c\\,d'"),
        "{q}"
    );
    // Rejected, naming the field: newline, NUL, `${`, empty parts.
    for (bad, field) in [
        ("public.orders\n; DROP TABLE x", "tables[0]"),
        ("public.a\0b", "tables[0]"),
        ("public.${HOME}", "tables[0]"),
        (".orders", "tables[0]"),
    ] {
        let err =
            generate(&spec("postgres", PG_DSN, &[bad]), &BentoOptions::default()).unwrap_err();
        assert!(
            matches!(&err, BentoError::InvalidConfig { field: f, .. } if f == field),
            "{bad:?}: {err}"
        );
    }
    for slot in ["x'; DROP TABLE t; --", "a\nb", "Slot", "a--b"] {
        let err = generate(
            &spec("postgres", PG_DSN, &["t"]),
            &options(json!({"slot_name": slot})),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("options.slot_name"),
            "{slot:?}: {err}"
        );
    }
    let err = generate(
        &spec("postgres", PG_DSN, &["t"]),
        &options(json!({"poll_interval": "1s\nrm -rf /"})),
    )
    .unwrap_err();
    assert!(err.to_string().contains("options.poll_interval"), "{err}");
}

#[test]
fn mysql_on_bento_is_a_clear_error_pointing_elsewhere() {
    let err = generate(
        &spec("mysql", "u:p@tcp(h:3306)/d", &["orders"]),
        &BentoOptions::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, BentoError::UnsupportedSource { .. }));
    for needle in ["binlog", "debezium", "dms", "redpanda_connect"] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert!(!text.contains("u:p@"));
}

#[test]
fn dynamodb_needs_a_real_kinesis_stream_arn() {
    let s = spec("dynamodb", "", &[]);
    let err = generate(&s, &BentoOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("options.stream_arn") && err.to_string().contains("required"),
        "{err}"
    );
    for (arn, needle) in [
        ("arn:aws:kinesis:eu-west-1:*:stream/orders", "12 digits"),
        (
            "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000",
            "DynamoDB Streams ARN",
        ),
        (
            "arn:aws:kinesis:eu-west-1:123456789012:table/orders",
            "stream/<name>",
        ),
        ("not-an-arn", "not an ARN"),
    ] {
        let err = generate(&s, &options(json!({"stream_arn": arn}))).unwrap_err();
        assert!(err.to_string().contains(needle), "{arn}: {err}");
    }
    let ok = generate(
        &s,
        &options(json!({"stream_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/t"})),
    )
    .unwrap();
    let Input::AwsKinesis(k) = ok.config.input else {
        panic!()
    };
    assert_eq!(k.region.as_deref(), Some("us-east-1"));
    assert!(k.start_from_oldest);
}

#[test]
fn kafka_needs_brokers_and_known_topics() {
    let err = generate(
        &spec("kafka", "", &["public.orders"]),
        &BentoOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("options.brokers"), "{err}");
    let err = generate(
        &spec("kafka", "k:9092", &["orders"]),
        &BentoOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("tables[0]"), "{err}");
    let err = generate(
        &spec("kafka", "k:9092", &[]),
        &options(json!({"topics": ["bad topic"]})),
    )
    .unwrap_err();
    assert!(err.to_string().contains("options.topics"), "{err}");
    let g = generate(
        &spec("kafka", "k:9092", &["public.orders"]),
        &BentoOptions::default(),
    )
    .unwrap();
    let Input::KafkaFranz(k) = g.config.input else {
        panic!()
    };
    assert_eq!(k.topics, vec!["shop.public.orders"]);
    assert_eq!(k.consumer_group, "cdc-shop");
}

#[test]
fn unknown_options_and_source_types_are_rejected() {
    assert!(serde_json::from_value::<BentoOptions>(json!({"poll_intervall": "1s"})).is_err());
    let err = generate(&spec("oracle", "x", &[]), &BentoOptions::default()).unwrap_err();
    assert!(err.to_string().contains("valid source types"), "{err}");
}

/// `bento lint` on every generated config when a real Bento is on PATH.
#[test]
fn bento_lint_accepts_every_generated_config() {
    let Some(bento) = cdc_bento::provider::find_on_path("bento") else {
        // Written past the test harness's capture, so that the skip is visible in every run.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "cdc-bento: SKIPPED the `bento lint` check: no `bento` binary on PATH \
             (Bento is not in the package registries CI reaches)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, stream) in cases() {
        if name.starts_with("redpanda") {
            // postgres_cdc / mysql_cdc exist only in Redpanda Connect.
            continue;
        }
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, stream.config.to_yaml(Reveal::Secrets).unwrap()).unwrap();
        let out = std::process::Command::new(&bento)
            .arg("lint")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bento lint {name}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
