//! Records of the connectors other than PostgreSQL (MySQL, MariaDB, SQL Server, Oracle, Db2,
//! Informix, MongoDB), with Kafka Connect's JsonConverter with and without schemas, shaped
//! as Debezium 2.x / 3.x documents them: each decodes to its operation, table, position,
//! transaction and the row values after the schema's conversions. The records around the
//! row changes are in `decode_other_connectors_events`, the schema forms beyond flat rows in
//! `decode_other_connectors_schema_forms`, hostile schemas and values in
//! `decode_other_connectors_hostile`.

use cdc_core::Operation;
use serde_json::{Value, json};

mod decode_support;
use decode_support::{col, decode, position as pos, row, wrapped};

fn mysql_source(connector: &str, gtid: &str) -> Value {
    json!({"version": "2.7.3.Final", "connector": connector, "name": "mysql1",
           "ts_ms": 1_529_476_623_000i64, "snapshot": "false", "db": "inventory",
           "sequence": null, "table": "products", "server_id": 223_344, "gtid": gtid,
           "file": "mysql-bin.000003", "pos": 154, "row": 1, "thread": 7, "query": null})
}

fn mysql_columns() -> Vec<Value> {
    let dec = json!({"scale": "2", "connect.decimal.precision": "10"});
    vec![
        col("id", "int32", None, Value::Null),
        col(
            "price",
            "bytes",
            Some("org.apache.kafka.connect.data.Decimal"),
            dec,
        ),
        col("born", "int32", Some("io.debezium.time.Date"), Value::Null),
        col("made", "int32", Some("io.debezium.time.Year"), Value::Null),
        col(
            "at",
            "int64",
            Some("io.debezium.time.MicroTimestamp"),
            Value::Null,
        ),
        col(
            "dt",
            "int64",
            Some("io.debezium.time.Timestamp"),
            Value::Null,
        ),
        col(
            "seen",
            "string",
            Some("io.debezium.time.ZonedTimestamp"),
            Value::Null,
        ),
        col(
            "dur",
            "int64",
            Some("io.debezium.time.MicroTime"),
            Value::Null,
        ),
        col(
            "size",
            "string",
            Some("io.debezium.data.Enum"),
            json!({"allowed": "S,M,L"}),
        ),
        col(
            "tags",
            "string",
            Some("io.debezium.data.EnumSet"),
            json!({"allowed": "a,b,c"}),
        ),
        col("doc", "string", Some("io.debezium.data.Json"), Value::Null),
        col(
            "flags",
            "bytes",
            Some("io.debezium.data.Bits"),
            json!({"length": "3"}),
        ),
        json!({"type": "struct", "optional": true, "field": "geo",
               "name": "io.debezium.data.geometry.Geometry", "version": 1,
               "fields": [{"type": "bytes", "optional": false, "field": "wkb"},
                          {"type": "int32", "optional": true, "field": "srid"}]}),
    ]
}

fn mysql_row() -> Value {
    json!({"id": 101, "price": "AeJA", "born": 19782, "made": 2024,
           "at": 1_529_476_623_123_456i64, "dt": 1_529_476_623_000i64,
           "seen": "2018-06-20T13:37:03Z", "dur": 3_020_399_000_000i64, "size": "M",
           "tags": "a,c", "doc": "{\"k\":[1,2]}", "flags": "BQ==",
           "geo": {"wkb": "AQEAAAAAAAAAAADwPwAAAAAAAPA/", "srid": null}})
}

#[test]
fn mysql_with_schemas_converts_every_documented_type() {
    let payload = json!({"before": null, "after": mysql_row(), "op": "c", "ts_ms": 1,
                         "source": mysql_source("mysql", "c4a7c1b9-4f25-11ee-8d87-0242ac110002:23"),
                         "transaction": null});
    let e = decode(
        "mysql1.inventory.products",
        Some(json!({"id": 101})),
        wrapped(mysql_columns(), payload),
    );
    assert_eq!(e.operation, Operation::Insert);
    assert_eq!(e.qualified_table(), "inventory.products");
    assert_eq!(pos(&e), Some("mysql-bin.000003:154:1"));
    assert_eq!(
        e.transaction_id.as_deref(),
        Some("c4a7c1b9-4f25-11ee-8d87-0242ac110002:23")
    );
    let after = row(&e.after);
    let want = json!({"id": 101, "price": "1234.56", "born": "2024-02-29", "made": 2024,
                      "at": "2018-06-20T06:37:03.123456", "dt": "2018-06-20T06:37:03.000",
                      "seen": "2018-06-20T13:37:03Z", "dur": "838:59:59.000000", "size": "M",
                      "tags": "a,c", "doc": "{\"k\":[1,2]}", "flags": "BQ==",
                      "geo": {"wkb": "AQEAAAAAAAAAAADwPwAAAAAAAPA/", "srid": null}});
    assert_eq!(after, want);
    assert_eq!(e.key.as_ref().unwrap().value(), &json!({"id": 101}));
}

#[test]
fn mysql_without_schemas_keeps_the_values_as_debezium_wrote_them() {
    let value = json!({"before": null, "after": mysql_row(), "op": "r", "ts_ms": 1,
                       "source": mysql_source("mysql", "")});
    let e = decode("mysql1.inventory.products", None, value);
    assert_eq!(e.operation, Operation::SnapshotRead);
    assert_eq!(row(&e.after), mysql_row());
    assert_eq!(e.transaction_id, None);
}

#[test]
fn mariadb_update_takes_its_transaction_from_the_transaction_block() {
    let mut before = mysql_row();
    before["price"] = json!("/2o=");
    let payload = json!({"before": before, "after": mysql_row(), "op": "u", "ts_ms": 2,
                         "source": mysql_source("mariadb", "0-1-3"),
                         "transaction": {"id": "0-1-3", "total_order": 2,
                                         "data_collection_order": 1}});
    let e = decode(
        "mysql1.inventory.products",
        None,
        wrapped(mysql_columns(), payload),
    );
    assert_eq!(e.operation, Operation::Update);
    assert_eq!(row(&e.before)["price"], "-1.50");
    assert_eq!(row(&e.after)["price"], "1234.56");
    assert_eq!(e.transaction_id.as_deref(), Some("0-1-3"));
    assert_eq!(e.metadata.get("transaction").unwrap()["total_order"], 2);
}

#[test]
fn sql_server_money_datetimeoffset_and_datetime2() {
    let columns = vec![
        col("id", "int32", None, Value::Null),
        col(
            "amount",
            "bytes",
            Some("org.apache.kafka.connect.data.Decimal"),
            json!({"scale": "4", "connect.decimal.precision": "19"}),
        ),
        col(
            "changed",
            "string",
            Some("io.debezium.time.ZonedTimestamp"),
            Value::Null,
        ),
        col(
            "dt2",
            "int64",
            Some("io.debezium.time.NanoTimestamp"),
            Value::Null,
        ),
        col(
            "t7",
            "int64",
            Some("io.debezium.time.NanoTime"),
            Value::Null,
        ),
        col(
            "small",
            "int64",
            Some("io.debezium.time.Timestamp"),
            Value::Null,
        ),
        col("day", "int32", Some("io.debezium.time.Date"), Value::Null),
    ];
    let image = |amount: &str| {
        json!({"id": 1, "amount": amount, "changed": "2019-01-01T10:00:00.1234567+02:00",
               "dt2": 1_529_476_623_123_456_700i64, "t7": 45_296_789_000_000i64,
               "small": 1_529_452_800_000i64, "day": 19722})
    };
    let source = json!({"version": "3.0.7.Final", "connector": "sqlserver", "name": "server1",
                        "ts_ms": 1_559_729_468_470i64, "snapshot": "false", "db": "testDB",
                        "sequence": null, "schema": "dbo", "table": "orders",
                        "change_lsn": "00000027:00000758:0003",
                        "commit_lsn": "00000027:00000758:0005", "event_serial_no": 2});
    let payload = json!({"before": image("ew=="), "after": image("AeII"), "source": source,
                         "op": "u", "ts_ms": 1_559_729_471_739i64, "transaction": null});
    let e = decode("server1.testDB.dbo.orders", None, wrapped(columns, payload));
    assert_eq!(e.operation, Operation::Update);
    assert_eq!(e.qualified_table(), "dbo.orders");
    // The change LSN and the event's serial number in it.
    assert_eq!(
        pos(&e),
        Some("00000027:00000758:0005:00000027:00000758:0003:2")
    );
    assert_eq!(row(&e.before)["amount"], "0.0123");
    let after = row(&e.after);
    assert_eq!(after["amount"], "12.3400");
    assert_eq!(after["changed"], "2019-01-01T10:00:00.1234567+02:00");
    assert_eq!(after["dt2"], "2018-06-20T06:37:03.123456700");
    assert_eq!(after["t7"], "12:34:56.789000000");
    assert_eq!(after["small"], "2018-06-20T00:00:00.000");
    assert_eq!(after["day"], "2023-12-31");
}

#[test]
fn oracle_numbers_timestamps_and_precision_modes() {
    let vsd = json!({"type": "struct", "optional": true, "field": "N",
                     "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
                     "doc": "Variable scaled decimal",
                     "fields": [{"type": "int32", "optional": false, "field": "scale"},
                                {"type": "bytes", "optional": false, "field": "value"}]});
    let mut vsd_null = vsd.clone();
    vsd_null["field"] = json!("F");
    let columns = vec![
        col("ID", "int64", None, Value::Null),
        col("QTY", "int16", None, Value::Null),
        vsd,
        vsd_null,
        col(
            "BIG",
            "bytes",
            Some("org.apache.kafka.connect.data.Decimal"),
            json!({"scale": "-2", "connect.decimal.precision": "22"}),
        ),
        col(
            "TS9",
            "int64",
            Some("io.debezium.time.NanoTimestamp"),
            Value::Null,
        ),
        col(
            "TS6",
            "int64",
            Some("io.debezium.time.MicroTimestamp"),
            Value::Null,
        ),
        col(
            "D",
            "int64",
            Some("io.debezium.time.Timestamp"),
            Value::Null,
        ),
        col(
            "DC",
            "int64",
            Some("org.apache.kafka.connect.data.Timestamp"),
            Value::Null,
        ),
        col(
            "TZ",
            "string",
            Some("io.debezium.time.ZonedTimestamp"),
            Value::Null,
        ),
        col(
            "IV",
            "float64",
            Some("io.debezium.time.MicroDuration"),
            Value::Null,
        ),
    ];
    let after = json!({"ID": 1004, "QTY": -7, "N": {"scale": 3, "value": "MDk="}, "F": null,
                       "BIG": "ew==", "TS9": 1_529_476_623_123_456_789i64,
                       "TS6": -1i64, "D": 1_529_452_800_000i64, "DC": 0,
                       "TZ": "2018-06-20T06:37:03.123456-07:00", "IV": 3.6e9});
    let source = json!({"version": "2.7.3.Final", "connector": "oracle", "name": "server1",
                        "ts_ms": 1_520_085_154_000i64, "snapshot": "false", "db": "ORCLPDB1",
                        "sequence": null, "schema": "INVENTORY", "table": "ITEMS",
                        "txId": "6.28.807", "scn": "2122185", "commit_scn": "2122187",
                        "lcr_position": null, "rs_id": "001234.00012345.0124", "ssn": 0,
                        "redo_thread": 1, "user_name": "DEBEZIUM"});
    let payload = json!({"before": null, "after": after, "source": source, "op": "c",
                         "ts_ms": 1_532_592_105_975i64, "transaction": null});
    let e = decode("server1.INVENTORY.ITEMS", None, wrapped(columns, payload));
    assert_eq!(e.qualified_table(), "INVENTORY.ITEMS");
    assert_eq!(pos(&e), Some("2122185"));
    assert_eq!(e.transaction_id.as_deref(), Some("6.28.807"));
    let want = json!({"ID": 1004, "QTY": -7, "N": "12.345", "F": null, "BIG": "12300",
                      "TS9": "2018-06-20T06:37:03.123456789",
                      "TS6": "1969-12-31T23:59:59.999999", "D": "2018-06-20T00:00:00.000",
                      "DC": "1970-01-01T00:00:00.000",
                      "TZ": "2018-06-20T06:37:03.123456-07:00", "IV": 3.6e9});
    assert_eq!(row(&e.after), want);
}

#[test]
fn db2_and_informix_decimals_and_times() {
    for (connector, lsn, want_pos) in [
        (
            "db2",
            json!("00000000:0000150f:0000000000048fca"),
            "00000000:0000150f:0000000000048fca",
        ),
        ("informix", json!(25_769_811_832u64), "25769811832"),
    ] {
        let columns = vec![
            col(
                "PRICE",
                "bytes",
                Some("org.apache.kafka.connect.data.Decimal"),
                json!({"scale": "2", "connect.decimal.precision": "5"}),
            ),
            col("D", "int32", Some("io.debezium.time.Date"), Value::Null),
            col("T", "int32", Some("io.debezium.time.Time"), Value::Null),
            col(
                "TS",
                "int64",
                Some("io.debezium.time.MicroTimestamp"),
                Value::Null,
            ),
        ];
        let source = json!({"version": "3.0.7.Final", "connector": connector, "name": "c",
                            "ts_ms": 1_559_729_468_470i64, "snapshot": "last",
                            "db": "TESTDB", "schema": "DB2INST1", "table": "CUSTOMERS",
                            "change_lsn": lsn, "commit_lsn": lsn, "txId": "0000:0001"});
        let after = json!({"PRICE": "/2o=", "D": 0, "T": 45_296_789,
                           "TS": 1_529_476_623_123_456i64});
        let payload = json!({"before": null, "after": after, "source": source, "op": "r",
                             "ts_ms": 1});
        let e = decode(
            "c.TESTDB.DB2INST1.CUSTOMERS",
            None,
            wrapped(columns, payload),
        );
        assert_eq!(e.operation, Operation::SnapshotRead, "{connector}");
        assert_eq!(e.qualified_table(), "DB2INST1.CUSTOMERS");
        assert_eq!(pos(&e), Some(want_pos), "{connector}");
        assert_eq!(e.transaction_id.as_deref(), Some("0000:0001"));
        assert_eq!(e.metadata.get("snapshot"), Some(&json!("last")));
        let want = json!({"PRICE": "-1.50", "D": "1970-01-01", "T": "12:34:56.789",
                          "TS": "2018-06-20T06:37:03.123456"});
        assert_eq!(row(&e.after), want, "{connector}");
    }
}
