//! The connector config builder: per source type, DSN split, derived names, user overrides,
//! masking, and errors naming the field.

use cdc_core::SourceConfig;
use cdc_debezium::DebeziumProvider;
use cdc_debezium::config::{DebeziumSource, MASKED, derived_server_id};
use serde_json::{Value, json};

fn cfg(source_type: &str, tables: &[&str], options: Value) -> SourceConfig {
    SourceConfig::from_value(json!({
        "provider": "debezium", "source_id": "Orders-DB.eu", "source_type": source_type,
        "connection": "http://connect:8083", "tables": tables, "options": options,
    }))
    .unwrap()
}

fn render(c: &SourceConfig) -> std::collections::BTreeMap<String, String> {
    DebeziumSource::from_config(c).unwrap().connector.config
}

#[test]
fn postgres_config_uses_debezium_3_names() {
    let c = render(&cfg(
        "postgres",
        &["public.orders", "users"],
        json!({"database": "postgres://dbz:s3cret@db:5433/shop"}),
    ));
    let want = [
        (
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        ),
        ("database.hostname", "db"),
        ("database.port", "5433"),
        ("database.user", "dbz"),
        ("database.password", "s3cret"),
        ("database.dbname", "shop"),
        ("topic.prefix", "Orders-DB.eu"),
        ("plugin.name", "pgoutput"),
        ("slot.name", "cdc_orders_db_eu"),
        ("publication.name", "cdc_orders_db_eu_pub"),
        ("publication.autocreate.mode", "filtered"),
        ("table.include.list", "public\\.orders,[^.]+\\.users"),
        ("snapshot.mode", "initial"),
        ("tasks.max", "1"),
    ];
    for (k, v) in want {
        assert_eq!(c.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert!(!c.contains_key("database.server.name"));
    assert!(!c.keys().any(|k| k.starts_with("database.history")));
}

/// The DSN's TLS parameters reach the connector in its own words: left out, the connector
/// would connect at its default (no certificate check), weaker than what the DSN says.
#[test]
fn the_dsns_sslmode_reaches_the_connector() {
    let pg = render(&cfg(
        "postgres",
        &[],
        json!({"database": "postgres://dbz:pw@db/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem"}),
    ));
    assert_eq!(pg["database.sslmode"], "verify-full");
    assert_eq!(pg["database.sslrootcert"], "/etc/ca.pem");
    let my = render(&cfg(
        "mysql",
        &[],
        json!({"database": "mysql://dbz:pw@db/shop?sslmode=require",
               "schema_history": {"kafka_bootstrap_servers": "broker:9092"}}),
    ));
    assert_eq!(my["database.ssl.mode"], "required");
    // The user's connector_config still wins.
    let own = render(&cfg(
        "postgres",
        &[],
        json!({"database": "postgres://dbz:pw@db/shop?sslmode=require",
               "connector_config": {"database.sslmode": "verify-ca"}}),
    ));
    assert_eq!(own["database.sslmode"], "verify-ca");
    let e = DebeziumSource::from_config(&cfg(
        "sqlserver",
        &[],
        json!({"database": "sqlserver://dbz:pw@db:1433/shop?sslmode=require"}),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("options.database") && e.contains("connector_config"),
        "{e}"
    );
    assert!(!e.contains("pw@"), "{e}");
}

#[test]
fn config_provider_reference_passes_through_and_masking() {
    let src = DebeziumSource::from_config(&cfg(
        "postgres",
        &[],
        json!({"database": "postgres://dbz:${file:/secrets.properties:pw}@db/shop"}),
    ))
    .unwrap();
    assert_eq!(
        src.connector.config["database.password"],
        "${file:/secrets.properties:pw}"
    );
    assert_eq!(src.connector.config["database.port"], "5432");
    assert_eq!(
        src.connector.masked()["database.password"],
        "${file:/secrets.properties:pw}"
    );

    let c = cfg(
        "postgres",
        &[],
        json!({"database": "postgres://dbz:hunter2@db/shop"}),
    );
    let masked = DebeziumProvider::render(&c, false).unwrap();
    assert!(
        !masked.contains("hunter2") && masked.contains(MASKED),
        "{masked}"
    );
    let revealed = DebeziumProvider::render(&c, true).unwrap();
    assert!(revealed.contains("hunter2"));
    let src = DebeziumSource::from_config(&c).unwrap();
    assert!(!format!("{src:?}").contains("hunter2"));
}

#[test]
fn mysql_gets_a_stable_server_id_and_schema_history() {
    let c = cfg(
        "mysql",
        &["inventory.customers"],
        json!({"database": "mysql://dbz:pw@mysql/inventory",
               "schema_history": {"kafka_bootstrap_servers": "kafka:9092"}}),
    );
    let a = render(&c);
    assert_eq!(
        a["connector.class"],
        "io.debezium.connector.mysql.MySqlConnector"
    );
    assert_eq!(a["database.port"], "3306");
    assert_eq!(
        a["database.server.id"],
        derived_server_id("Orders-DB.eu").to_string()
    );
    assert_eq!(
        render(&c)["database.server.id"],
        a["database.server.id"],
        "stable"
    );
    assert_ne!(derived_server_id("a"), derived_server_id("b"));
    assert_eq!(
        a["schema.history.internal.kafka.bootstrap.servers"],
        "kafka:9092"
    );
    assert_eq!(
        a["schema.history.internal.kafka.topic"],
        "Orders-DB.eu.schema-history"
    );
    assert_eq!(a["table.include.list"], "inventory\\.customers");
    let given = render(&cfg(
        "mariadb",
        &[],
        json!({"database": "mariadb://u:p@m/db", "server_id": 4242,
               "schema_history": {"kafka_bootstrap_servers": "k:9092", "kafka_topic": "hist"}}),
    ));
    assert_eq!(
        given["connector.class"],
        "io.debezium.connector.mariadb.MariaDbConnector"
    );
    assert_eq!(given["database.server.id"], "4242");
    assert_eq!(given["schema.history.internal.kafka.topic"], "hist");
    assert_eq!(given["database.include.list"], "db");
}

#[test]
fn sqlserver_and_mongodb() {
    let s = render(&cfg(
        "sqlserver",
        &["dbo.orders"],
        json!({"database": "sqlserver://sa:pw@mssql/shop",
               "schema_history": {"kafka_bootstrap_servers": "k:9092"}}),
    ));
    assert_eq!(
        s["connector.class"],
        "io.debezium.connector.sqlserver.SqlServerConnector"
    );
    assert_eq!(s["database.names"], "shop");
    assert_eq!(s["database.port"], "1433");
    let m = DebeziumSource::from_config(&cfg(
        "mongodb",
        &["shop.orders"],
        json!({"database": "mongodb://u:topsecret@mongo:27017/?replicaSet=rs0"}),
    ))
    .unwrap();
    assert_eq!(
        m.connector.config["mongodb.connection.string"],
        "mongodb://u:topsecret@mongo:27017/?replicaSet=rs0"
    );
    assert_eq!(
        m.connector.config["collection.include.list"],
        "shop\\.orders"
    );
    assert!(!m.connector.masked()["mongodb.connection.string"].contains("topsecret"));
}

#[test]
fn connector_config_is_merged_last_and_the_user_wins() {
    let c = render(&cfg(
        "postgres",
        &[],
        json!({"database": "postgres://u:p@db/shop",
               "connector_config": {"snapshot.mode": "no_data", "heartbeat.interval.ms": 10000,
                                    "slot.drop.on.stop": true, "publication.autocreate.mode": null}}),
    ));
    assert_eq!(c["snapshot.mode"], "no_data");
    assert_eq!(c["heartbeat.interval.ms"], "10000");
    assert_eq!(c["slot.drop.on.stop"], "true");
    assert!(!c.contains_key("publication.autocreate.mode"));
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (cfg("oracle", &[], json!({})), "source_type"),
        (cfg("postgres", &[], json!({})), "options.database"),
        (
            cfg("postgres", &[], json!({"database": "nonsense"})),
            "options.database",
        ),
        (
            cfg("postgres", &[], json!({"database": "postgres://u:pw@db"})),
            "names no database",
        ),
        (
            cfg(
                "postgres",
                &[],
                json!({"database": "postgres://u:p@db/x", "bogus": 1}),
            ),
            "bogus",
        ),
        (
            cfg("mysql", &[], json!({"database": "mysql://u:p@m/x"})),
            "options.schema_history",
        ),
        (
            cfg(
                "postgres",
                &[],
                json!({"database": "postgres://u:p@db/x", "connector_config": {"a": [1]}}),
            ),
            "options.connector_config.a",
        ),
        (
            cfg(
                "postgres",
                &[],
                json!({"database": "postgres://u:p@db/x", "topic_prefix": "a b"}),
            ),
            "options.topic_prefix",
        ),
    ];
    for (c, want) in cases {
        let e = DebeziumSource::from_config(&c).unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
        assert!(e.contains("Orders-DB.eu"), "names the source: {e}");
    }
    // every number has a range, checked before anything is rendered
    let db = "postgres://u:p@db/x";
    for (options, field) in [
        (json!({"database": db, "tasks_max": 0}), "options.tasks_max"),
        (
            json!({"database": db, "request_timeout_ms": u64::MAX}),
            "options.request_timeout_ms",
        ),
        (
            json!({"database": db, "request_timeout_ms": 0}),
            "options.request_timeout_ms",
        ),
        (
            json!({"database": db, "retry": {"max_attempts": 0}}),
            "options.retry.max_attempts",
        ),
        (
            json!({"database": db, "retry": {"max_elapsed_ms": u64::MAX}}),
            "options.retry.max_elapsed_ms",
        ),
        (json!({"database": db, "server_id": 0}), "options.server_id"),
        (
            json!({"database": db, "retry": {"initial_backoff_ms": 5000, "max_backoff_ms": 100}}),
            "options.retry.max_backoff_ms: 100 is below options.retry.initial_backoff_ms (5000)",
        ),
    ] {
        let e = DebeziumSource::from_config(&cfg("postgres", &[], options.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{options}: {e}");
    }
    let mut c = cfg("postgres", &[], json!({"database": "postgres://u:p@db/x"}));
    c.connection = "ftp://x".into();
    assert!(
        DebeziumSource::from_config(&c)
            .unwrap_err()
            .to_string()
            .contains("connection")
    );
}

#[test]
fn a_table_name_never_widens_the_capture() {
    let db = json!({"database": "postgres://u:p@db/x"});
    // Regex metacharacters are escaped: the entry matches the table of that name only.
    let c = render(&cfg("postgres", &["x|.*", "s.a+b", "$x"], db.clone()));
    assert_eq!(c["table.include.list"], "x\\|\\.\\*,s\\.a\\+b,[^.]+\\.\\$x");
    // A list separator or a config-provider reference cannot be a table name.
    for (bad, field) in [
        ("a,.*", "tables[0]"),
        ("public.a,b", "tables[0]"),
        ("${file:/etc/kafka/secrets.properties:pw}", "tables[0]"),
    ] {
        let e = DebeziumSource::from_config(&cfg("postgres", &[bad], db.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(field) && e.contains("cannot be a table name"),
            "{bad}: {e}"
        );
    }
    let signal = json!({"database": "postgres://u:p@db/x", "signal": {"table": "s.x,y"}});
    let e = DebeziumSource::from_config(&cfg("postgres", &["t"], signal))
        .unwrap_err()
        .to_string();
    assert!(e.contains("options.signal.table"), "{e}");
    // Patterns stay possible, explicitly: connector_config is passed through as written.
    let explicit = json!({"database": "postgres://u:p@db/x",
                          "connector_config": {"table.include.list": "public\\..*"}});
    let c = render(&cfg("postgres", &["t"], explicit));
    assert_eq!(c["table.include.list"], "public\\..*");
}

#[test]
fn kafka_options_mask_their_secrets_and_refuse_the_consumers_own_keys() {
    let db = "postgres://u:p@db:5432/x";
    let ok = json!({"database": db, "kafka": {"bootstrap_servers": "b:9092",
        "properties": {"security.protocol": "SASL_SSL", "sasl.username": "cdc", "sasl.password": "hunter2",
                       "ssl.key.password": "k3y"}}});
    let src = DebeziumSource::from_config(&cfg("postgres", &["t"], ok)).unwrap();
    let shown = format!("{src:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("k3y"),
        "{shown}"
    );
    assert!(shown.contains("SASL_SSL"), "{shown}");
    let k = src.options.kafka.as_ref().unwrap();
    assert_eq!(k.group_id("Orders-DB.eu"), "cdc-Orders-DB.eu");
    let ser = serde_json::to_string(&src.options).unwrap();
    assert!(!ser.contains("hunter2"), "{ser}");
    // With a transport, heartbeats are on (lag while idle) and on_stop keeps the connector.
    assert_eq!(src.connector.config["heartbeat.interval.ms"], "10000");
    assert_eq!(src.options.on_stop(), cdc_debezium::config::OnStop::Keep);

    for (kafka, field) in [
        (
            json!({"bootstrap_servers": "b:9092", "properties": {"enable.auto.commit": "true"}}),
            "options.kafka.properties.enable.auto.commit",
        ),
        (
            json!({"bootstrap_servers": "b:9092", "properties": {"group.id": "x"}}),
            "options.kafka.properties.group.id",
        ),
        (
            json!({"bootstrap_servers": ""}),
            "options.kafka.bootstrap_servers",
        ),
        (
            json!({"bootstrap_servers": "b:9092", "batch_max": 0}),
            "options.kafka.batch_max",
        ),
        (
            json!({"bootstrap_servers": "b:9092", "retry_max_backoff_ms": 999999999}),
            "options.kafka.retry_max_backoff_ms",
        ),
        (
            json!({"bootstrap_servers": "b:9092", "auto_offset_reset": "middle"}),
            "invalid config: options.kafka.auto_offset_reset: unknown variant",
        ),
        (
            json!({"bootstrap_servers": "b:9092", "batch_max": "many"}),
            "invalid config: options.kafka.batch_max: invalid type",
        ),
        (
            json!({"bootstrap_servers": 9092}),
            "invalid config: options.kafka.bootstrap_servers: invalid type: number",
        ),
        (
            json!({"bootstrap_servers": "b:9092", "retry_initial_backoff_ms": 2000, "retry_max_backoff_ms": 1000}),
            "options.kafka.retry_max_backoff_ms: 1000 is below options.kafka.retry_initial_backoff_ms (2000)",
        ),
    ] {
        let e = DebeziumSource::from_config(&cfg(
            "postgres",
            &["t"],
            json!({"database": db, "kafka": kafka}),
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains(field), "{field}: {e}");
    }
}

/// With the Kafka transport, a connector property that changes the records' shape or
/// topic is refused, naming it (the transport would hold every partition, or see nothing);
/// without the transport the user reads the topics and may transform them as they like.
#[test]
fn transport_refuses_what_it_could_not_read() {
    let db = "postgres://u:p@db:5432/x";
    let kafka = json!({"bootstrap_servers": "b:9092"});
    let unwrap = json!({"transforms": "route,unwrap",
        "transforms.route.type": "io.debezium.transforms.partitions.PartitionRouting",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState"});
    let cases = [
        (
            unwrap.clone(),
            "options.connector_config.transforms.unwrap.type",
            "ExtractNewRecordState",
        ),
        (
            json!({"transforms": "r", "transforms.r.type": "org.apache.kafka.connect.transforms.RegexRouter",
                   "transforms.r.regex": "(.*)", "transforms.r.replacement": "cdc.$1"}),
            "options.connector_config.transforms.r.type",
            "RegexRouter",
        ),
        (
            json!({"value.converter": "io.confluent.connect.avro.AvroConverter"}),
            "options.connector_config.value.converter",
            "AvroConverter",
        ),
        (
            json!({"topic.delimiter": "_"}),
            "options.connector_config.topic.delimiter",
            "\"_\"",
        ),
    ];
    for (connector_config, field, named) in cases {
        let with = json!({"database": db, "kafka": kafka, "connector_config": connector_config});
        let e = DebeziumSource::from_config(&cfg("postgres", &["t"], with))
            .unwrap_err()
            .to_string();
        assert!(e.contains(field) && e.contains(named), "{e}");
        let without = json!({"database": db, "connector_config": connector_config});
        DebeziumSource::from_config(&cfg("postgres", &["t"], without)).unwrap();
    }
    // What leaves the envelope and topics alone passes.
    let fine = json!({"database": db, "kafka": kafka, "connector_config": {
        "transforms": "f", "transforms.f.type": "io.debezium.transforms.Filter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false"}});
    DebeziumSource::from_config(&cfg("postgres", &["t"], fine)).unwrap();
}

/// The heartbeat topic follows `topic.heartbeat.prefix`, and `options.kafka.heartbeat_topic`
/// wins over both: the transport subscribes to it and knows it as the source's.
#[test]
fn heartbeat_topic_follows_the_connector_and_the_option() {
    let db = "postgres://u:p@db:5432/x";
    let plain = json!({"database": db, "topic_prefix": "pg1"});
    let src = DebeziumSource::from_config(&cfg("postgres", &["t"], plain)).unwrap();
    assert_eq!(src.heartbeat_topic(), "__debezium-heartbeat.pg1");
    assert!(src.is_heartbeat_topic("__debezium-heartbeat.pg1"));
    assert!(!src.is_heartbeat_topic("__debezium-heartbeat.pg10"));
    let custom = json!({"database": db, "topic_prefix": "pg1",
                        "connector_config": {"topic.heartbeat.prefix": "hb"}});
    let src = DebeziumSource::from_config(&cfg("postgres", &["t"], custom)).unwrap();
    assert_eq!(src.heartbeat_topic(), "hb.pg1");
    assert!(src.is_heartbeat_topic("hb.pg1"));
    assert!(!src.is_heartbeat_topic("__debezium-heartbeat.pg1"));
    let option = json!({"database": db, "topic_prefix": "pg1",
                        "kafka": {"bootstrap_servers": "b:9092", "heartbeat_topic": "beats"}});
    let src = DebeziumSource::from_config(&cfg("postgres", &["t"], option)).unwrap();
    assert_eq!(src.heartbeat_topic(), "beats");
    assert!(src.is_heartbeat_topic("beats") && !src.is_heartbeat_topic("hb.pg1"));
}
