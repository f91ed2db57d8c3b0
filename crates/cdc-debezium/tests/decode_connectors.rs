//! Records of every Debezium connector, as each writes them (source blocks from the
//! connectors' documentation, Debezium 2.x and 3.x): each decodes to its operation, table,
//! row, transaction and position. The source block differs by connector in the type of the
//! same field (a transaction id is a number for PostgreSQL and a string for Oracle), and
//! MongoDB writes its documents as JSON text: none of that may make a record undecodable.

use cdc_core::{ChangeEvent, Operation};
use cdc_debezium::decode::Decoder;
use serde_json::{Value, json};

mod decode_support;
use decode_support::{decode, position};

/// The error a record decodes to, as text.
fn decode_err(topic: &str, value: Value, why: &str) -> String {
    let value = value.to_string();
    Decoder::new("s")
        .decode(topic, None, Some(value.as_bytes()))
        .expect_err(why)
        .to_string()
}

fn after(e: &ChangeEvent) -> Value {
    e.after.as_ref().expect("an after image").value().clone()
}

#[test]
fn sql_server_changes_and_snapshot_reads() {
    let source = |change_lsn: Value| {
        json!({"version": "3.0.0.Final", "connector": "sqlserver", "name": "server1",
               "ts_ms": 1559729468470i64, "snapshot": "false", "db": "testDB", "sequence": null,
               "schema": "dbo", "table": "customers", "change_lsn": change_lsn,
               "commit_lsn": "00000027:00000758:0005", "event_serial_no": "1"})
    };
    let e = decode(
        "server1.testDB.dbo.customers",
        Some(json!({"id": 1005})),
        json!({"before": null, "after": {"id": 1005, "first_name": "john"},
               "source": source(json!("00000027:00000758:0003")), "op": "c",
               "ts_ms": 1559729471739i64, "transaction": null}),
    );
    assert_eq!(e.operation, Operation::Insert);
    assert_eq!(e.qualified_table(), "dbo.customers");
    assert_eq!(after(&e)["first_name"], "john");
    // Debezium's order: commit LSN, change LSN, the event's number in it.
    assert_eq!(
        position(&e),
        Some("00000027:00000758:0005:00000027:00000758:0003:1")
    );
    // A primary key update is a delete and a create at one change LSN, told apart by their
    // serial numbers: their positions differ.
    let pk_update = |op: &str, serial: Value| {
        let mut source = source(json!("00000027:00000758:0003"));
        source["event_serial_no"] = serial;
        let e = decode(
            "server1.testDB.dbo.customers",
            Some(json!({"id": 1005})),
            json!({"before": {"id": 1005}, "after": null, "source": source, "op": op, "ts_ms": 1}),
        );
        position(&e).map(str::to_owned)
    };
    let (delete, create) = (pk_update("d", json!(1)), pk_update("c", json!("2")));
    assert_eq!(
        delete.as_deref(),
        Some("00000027:00000758:0005:00000027:00000758:0003:1")
    );
    assert_eq!(
        create.as_deref(),
        Some("00000027:00000758:0005:00000027:00000758:0003:2")
    );
    // A snapshot read has no change LSN: the commit LSN is its position.
    let e = decode(
        "server1.testDB.dbo.customers",
        None,
        json!({"before": null, "after": {"id": 1}, "source": source(Value::Null), "op": "r",
               "ts_ms": 1}),
    );
    assert_eq!(e.operation, Operation::SnapshotRead);
    assert_eq!(position(&e), Some("00000027:00000758:0005"));
}

#[test]
fn oracle_transaction_ids_and_scns_are_strings() {
    let e = decode(
        "server1.INVENTORY.CUSTOMERS",
        Some(json!({"ID": 1004})),
        json!({"before": null,
               "after": {"ID": 1004, "FIRST_NAME": "Anne", "EMAIL": "annek@noanswer.org"},
               "source": {"version": "3.0.0.Final", "connector": "oracle", "name": "server1",
                          "ts_ms": 1520085154000i64, "ts_us": 1520085154000000i64,
                          "ts_ns": 1520085154000000000i64, "txId": "6.28.807",
                          "scn": "2122185", "commit_scn": "2122185",
                          "rs_id": "001234.00012345.0124", "ssn": 0, "redo_thread": 1,
                          "user_name": "user", "snapshot": "false", "db": "ORCLPDB1",
                          "sequence": null, "schema": "INVENTORY", "table": "CUSTOMERS",
                          "row_id": "AAASgjAAMAAAACnAAA"},
               "op": "c", "ts_ms": 1532592105975i64, "transaction": null}),
    );
    assert_eq!(e.operation, Operation::Insert);
    assert_eq!(e.qualified_table(), "INVENTORY.CUSTOMERS");
    assert_eq!(e.transaction_id.as_deref(), Some("6.28.807"));
    assert_eq!(position(&e), Some("2122185"));
    assert_eq!(after(&e)["EMAIL"], "annek@noanswer.org");
}

/// Rows of one Oracle statement share an SCN: Debezium 3.2+ numbers each change within its
/// transaction (LogMiner's `txSeq`), and XStream gives each its LCR position.
#[test]
fn oracle_changes_at_one_scn_have_positions_of_their_own() {
    let oracle = |extra: Value| {
        let mut source = json!({"version": "3.2.0.Final", "connector": "oracle",
                                "name": "server1", "ts_ms": 1, "snapshot": "false",
                                "db": "ORCLPDB1", "schema": "INVENTORY", "table": "CUSTOMERS",
                                "txId": "6.28.807", "scn": "2122185", "commit_scn": "2122190"});
        source
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let e = decode(
            "server1.INVENTORY.CUSTOMERS",
            None,
            json!({"before": null, "after": {"ID": 1}, "source": source, "op": "c",
                   "ts_ms": 1}),
        );
        position(&e).map(str::to_owned)
    };
    assert_eq!(
        oracle(json!({"txSeq": 1})).as_deref(),
        Some("2122185:6.28.807:1")
    );
    assert_eq!(
        oracle(json!({"txSeq": 2})).as_deref(),
        Some("2122185:6.28.807:2")
    );
    assert_eq!(
        oracle(json!({"lcr_position": "0000000000206154000000010000000100000000002061530000000100000002"}))
            .as_deref(),
        Some("0000000000206154000000010000000100000000002061530000000100000002")
    );
    // Before 3.2 (no txSeq, no LCR position): the SCN alone, shared by the statement's rows.
    assert_eq!(oracle(json!({})).as_deref(), Some("2122185"));
}

#[test]
fn db2_and_informix_lsns_as_strings_or_numbers() {
    for (connector, change, commit, expect) in [
        (
            "db2",
            json!("00000000:00000000:0000000000047a8f"),
            json!("00000000:00000000:0000000000047a91"),
            "00000000:00000000:0000000000047a8f",
        ),
        (
            "informix",
            json!(25769811832u64),
            json!(25769812088u64),
            "25769811832",
        ),
    ] {
        let e = decode(
            "myconnector.mydatabase.MYSCHEMA.CUSTOMERS",
            None,
            json!({"before": null, "after": {"ID": 1},
                   "source": {"version": "3.0.0.Final", "connector": connector,
                              "name": "myconnector", "ts_ms": 1559729468470i64,
                              "snapshot": "false", "db": "mydatabase", "schema": "MYSCHEMA",
                              "table": "CUSTOMERS", "change_lsn": change, "commit_lsn": commit,
                              "begin_lsn": commit, "txId": 7},
                   "op": "u", "ts_ms": 1}),
        );
        assert_eq!(e.operation, Operation::Update, "{connector}");
        assert_eq!(e.qualified_table(), "MYSCHEMA.CUSTOMERS", "{connector}");
        assert_eq!(position(&e), Some(expect), "{connector}");
        assert_eq!(e.transaction_id.as_deref(), Some("7"), "{connector}");
    }
}

fn mongo_source() -> Value {
    json!({"version": "3.0.0.Final", "connector": "mongodb", "name": "fulfillment",
           "ts_ms": 1558965508000i64, "snapshot": "false", "db": "inventory", "sequence": null,
           "rs": "rs0", "collection": "customers", "ord": 31, "lsid": null,
           "txnNumber": null, "wallTime": null})
}

const OID: &str = r#"{"$oid": "596e275826f08b2730779e1f"}"#;

#[test]
fn mongodb_documents_written_as_json_text_are_the_rows() {
    let doc = format!(
        r#"{{"_id": {OID}, "first_name": "Anne", "tags": ["a", "b"], "addr": {{"zip": "75001"}}}}"#
    );
    let key = json!({"id": OID});
    let e = decode(
        "fulfillment.inventory.customers",
        Some(key.clone()),
        json!({"after": doc, "before": null, "updateDescription": null,
               "source": mongo_source(), "op": "c", "ts_ms": 1558965515240i64,
               "transaction": null}),
    );
    assert_eq!(e.operation, Operation::Insert);
    assert_eq!(e.qualified_table(), "inventory.customers");
    let row = after(&e);
    assert_eq!(row["_id"]["$oid"], "596e275826f08b2730779e1f");
    assert_eq!(row["tags"], json!(["a", "b"]));
    assert_eq!(row["addr"]["zip"], "75001");
    assert_eq!(e.key.as_ref().unwrap().value().clone(), key);
    assert_eq!(
        position(&e),
        Some("1558965508:31"),
        "the oplog timestamp (seconds) and its ordinal"
    );

    // An update without the full document: the changes are in `updateDescription`.
    let e = decode(
        "fulfillment.inventory.customers",
        Some(key.clone()),
        json!({"after": null, "before": null,
               "updateDescription": {"removedFields": ["tags"],
                                     "updatedFields": "{\"first_name\": \"Anne Marie\"}",
                                     "truncatedArrays": null},
               "source": mongo_source(), "op": "u", "ts_ms": 1}),
    );
    assert_eq!(e.operation, Operation::Update);
    assert!(e.after.is_none());
    let d = e.metadata.get("update_description").expect("kept");
    assert_eq!(d["updatedFields"]["first_name"], "Anne Marie", "{d}");
    assert_eq!(d["removedFields"], json!(["tags"]));

    // A delete with a pre-image (also text), then its tombstone.
    let e = decode(
        "fulfillment.inventory.customers",
        Some(key),
        json!({"after": null, "before": format!(r#"{{"_id": {OID}}}"#),
               "source": mongo_source(), "op": "d", "ts_ms": 1}),
    );
    assert_eq!(e.operation, Operation::Delete);
    assert_eq!(
        e.before.as_ref().unwrap().value().clone()["_id"]["$oid"],
        "596e275826f08b2730779e1f"
    );
}

#[test]
fn mongodb_text_that_is_not_a_document_is_an_error_naming_the_field() {
    for bad in [json!("[1, 2]"), json!("{not json"), json!("\"text\"")] {
        let err = decode_err(
            "f.inventory.customers",
            json!({"after": bad, "source": mongo_source(), "op": "c"}),
            "refused",
        );
        assert!(err.contains("after"), "{err}");
    }
}

#[test]
fn vitess_keyspace_names_the_schema_and_the_vgtid_is_the_position() {
    let vgtid = r#"[{"keyspace":"commerce","shard":"0","gtid":"MySQL56/7a8e-11:1-68"}]"#;
    let e = decode(
        "connector.commerce.customer",
        None,
        json!({"before": null, "after": {"customer_id": 1},
               "source": {"version": "3.0.0.Final", "connector": "vitess", "name": "connector",
                          "ts_ms": 1, "snapshot": "false", "db": "", "sequence": null,
                          "keyspace": "commerce", "table": "customer", "shard": "0",
                          "vgtid": vgtid},
               "op": "c", "ts_ms": 2}),
    );
    assert_eq!(e.qualified_table(), "commerce.customer");
    assert_eq!(position(&e), Some(vgtid));
}

#[test]
fn unexpected_types_in_fields_no_connector_relies_on_are_not_fatal() {
    // A connector's own extra fields, of any type, are ignored; the ones the event is built
    // from still name themselves when wrong.
    let e = decode(
        "p.public.t",
        None,
        json!({"before": null, "after": {"id": 1}, "op": "c",
               "source": {"connector": "postgresql", "schema": "public", "table": "t",
                          "txId": "829", "lsn": "40334528", "xmin": {"odd": true},
                          "sequence": ["x", null]}}),
    );
    assert_eq!(e.transaction_id.as_deref(), Some("829"));
    // The LSN's digits as a string are the same LSN as the number: PostgreSQL's form.
    assert_eq!(position(&e), Some("0/26774C0"));
    let err = decode_err(
        "p.public.t",
        json!({"before": null, "after": {"id": 1}, "op": "c",
               "source": {"schema": "public", "table": 7}}),
        "a table that is not a string",
    );
    assert!(err.contains("source"), "{err}");
}

#[test]
fn mongodb_with_schemas_reads_the_same_document() {
    let json_field = |name: &str| {
        json!({"type": "string", "optional": true, "name": "io.debezium.data.Json",
               "version": 1, "field": name})
    };
    let schema = json!({"type": "struct", "optional": false,
        "name": "fulfillment.inventory.customers.Envelope",
        "fields": [json_field("after"), json_field("before"),
                   {"type": "struct", "optional": true, "field": "updateDescription",
                    "fields": [{"type": "array", "optional": true, "field": "removedFields",
                                "items": {"type": "string", "optional": false}},
                               json_field("updatedFields")]},
                   {"type": "struct", "optional": false, "field": "source", "fields": []},
                   {"type": "string", "optional": true, "field": "op"},
                   {"type": "int64", "optional": true, "field": "ts_ms"}]});
    let doc = format!(r#"{{"_id": {OID}, "n": 1}}"#);
    let key = json!({"schema": {"type": "struct", "optional": false,
                                "fields": [{"type": "string", "optional": false, "field": "id"}]},
                     "payload": {"id": OID}});
    let e = decode(
        "fulfillment.inventory.customers",
        Some(key),
        json!({"schema": schema,
               "payload": {"after": doc, "before": null, "updateDescription": null,
                           "source": mongo_source(), "op": "r", "ts_ms": 1}}),
    );
    assert_eq!(e.operation, Operation::SnapshotRead);
    assert_eq!(after(&e)["n"], 1);
    assert_eq!(e.key.as_ref().unwrap().value()["id"], OID);
}

#[test]
fn transaction_ids_as_strings_or_numbers() {
    // The transaction topic's BEGIN / END records, and the block of a change event.
    for id in [json!("5.6.641"), json!(571)] {
        let text = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        let e = decode(
            "server1.transaction",
            None,
            json!({"status": "BEGIN", "id": id, "ts_ms": 1, "event_count": null,
                   "data_collections": null}),
        );
        assert_eq!(e.transaction_id.as_deref(), Some(text.as_str()), "{id}");
        let e = decode(
            "server1.INVENTORY.CUSTOMERS",
            None,
            json!({"before": null, "after": {"ID": 1}, "op": "c", "ts_ms": 1,
                   "source": {"connector": "oracle", "schema": "INVENTORY", "table": "CUSTOMERS"},
                   "transaction": {"id": id, "total_order": 1, "data_collection_order": 1}}),
        );
        assert_eq!(e.transaction_id.as_deref(), Some(text.as_str()), "{id}");
    }
}

/// A row schema field with a logical type.
fn logical(field: &str, ty: &str, name: &str) -> Value {
    json!({"type": ty, "optional": true, "name": name, "version": 1, "field": field})
}

/// A `{"schema", "payload"}` change record whose row has `fields`.
fn with_schema(fields: Vec<Value>, after: Value, source: Value) -> Value {
    let row = json!({"type": "struct", "optional": true, "name": "x.Value", "fields": fields});
    let mut before = row.clone();
    before["field"] = json!("before");
    let mut after_schema = row;
    after_schema["field"] = json!("after");
    json!({"schema": {"type": "struct", "optional": false, "name": "x.Envelope",
                      "fields": [before, after_schema,
                                 {"type": "struct", "optional": false, "field": "source", "fields": []},
                                 {"type": "string", "optional": false, "field": "op"},
                                 {"type": "int64", "optional": true, "field": "ts_ms"}]},
           "payload": {"before": null, "after": after, "source": source, "op": "c", "ts_ms": 1}})
}

/// The temporal values real connectors write for values outside a calendar day or year
/// 1..9999 all decode (a record that does not holds its partition): MySQL `TIME` is an
/// elapsed time (-838:59:59 to 838:59:59, `MicroTime`), MySQL and PostgreSQL dates reach
/// year 9999 and 294276, and Debezium writes PostgreSQL's `infinity` as sentinel numbers.
#[test]
fn temporal_values_beyond_a_day_or_the_common_years_decode() {
    let mysql = json!({"connector": "mysql", "name": "m", "db": "shop", "table": "shifts",
                       "file": "binlog.000003", "pos": 154, "row": 0, "ts_ms": 1});
    let e = decode(
        "m.shop.shifts",
        None,
        with_schema(
            vec![
                logical("long", "int64", "io.debezium.time.MicroTime"),
                logical("back", "int64", "io.debezium.time.MicroTime"),
                logical("ms", "int32", "org.apache.kafka.connect.data.Time"),
                logical("last", "int32", "io.debezium.time.Date"),
            ],
            json!({"long": 3_020_399_000_000i64, "back": -3_020_399_000_000i64,
                   "ms": 86_400_000, "last": 2_932_896}),
            mysql,
        ),
    );
    let row = after(&e);
    assert_eq!(row["long"], "838:59:59.000000");
    assert_eq!(row["back"], "-838:59:59.000000");
    assert_eq!(row["ms"], "24:00:00.000");
    assert_eq!(row["last"], "9999-12-31");

    let pg = json!({"connector": "postgresql", "name": "p", "db": "app", "schema": "public",
                    "table": "spans", "lsn": 1, "txId": 2, "ts_ms": 1});
    let e = decode(
        "p.public.spans",
        None,
        with_schema(
            vec![
                logical("until", "int64", "io.debezium.time.MicroTimestamp"),
                logical("since", "int64", "io.debezium.time.MicroTimestamp"),
                logical("until_ms", "int64", "io.debezium.time.Timestamp"),
                logical("until_ns", "int64", "io.debezium.time.NanoTimestamp"),
                logical("far", "int64", "io.debezium.time.MicroTimestamp"),
                logical("ends", "int32", "io.debezium.time.Date"),
                logical("began", "int32", "io.debezium.time.Date"),
                logical("bc", "int32", "io.debezium.time.Date"),
            ],
            json!({"until": 9_223_372_036_825_200_000i64, "since": -9_223_372_036_832_400_000i64,
                   "until_ms": 9_223_372_036_825_200_000i64, "until_ns": i64::MAX,
                   "far": 253_402_300_800_000_000i64, "ends": 2_146_033_979,
                   "began": -2_147_472_692, "bc": -719_529}),
            pg,
        ),
    );
    let row = after(&e);
    assert_eq!(row["until"], "infinity");
    assert_eq!(row["since"], "-infinity");
    assert_eq!(row["until_ms"], "infinity");
    assert_eq!(row["until_ns"], "infinity");
    assert_eq!(row["far"], "+10000-01-01T00:00:00.000000");
    assert_eq!(row["ends"], "infinity");
    assert_eq!(row["began"], "-infinity");
    assert_eq!(row["bc"], "-0001-12-31");
}
