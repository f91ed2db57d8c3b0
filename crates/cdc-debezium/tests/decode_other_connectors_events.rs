//! The records around the row changes, for the connectors other than PostgreSQL, with and
//! without schemas: MongoDB's documents as extended-JSON text (inserts, updates with their
//! `updateDescription`, deletes with the 1.x `filter`), schema changes (MySQL schema
//! history with `tableChanges` and `ddl`, Oracle, SQL Server without DDL text), transaction
//! metadata BEGIN / END and heartbeats. Each decodes to its kind, table, position and
//! transaction.

use cdc_core::Operation;
use serde_json::{Value, json};

mod decode_support;
use decode_support::{decode, position as pos};

/// The `{"schema", "payload"}` form of `payload` with a struct schema named `name`.
fn with_schema(name: &str, fields: Value, payload: Value) -> Value {
    json!({"schema": {"type": "struct", "optional": false, "name": name, "fields": fields},
           "payload": payload})
}

fn mongo_source(ord: i64) -> Value {
    json!({"version": "3.0.7.Final", "connector": "mongodb", "name": "fulfillment",
           "ts_ms": 1_558_965_508_000i64, "snapshot": "false", "db": "inventory",
           "sequence": null, "rs": "rs0", "collection": "customers", "ord": ord,
           "lsid": null, "txnNumber": null, "wallTime": 1_558_965_508_111i64})
}

const DOC: &str = r#"{"_id": {"$oid": "596e275826f08b2730779e1f"}, "first_name": "Anne Marie", "n": {"$numberLong": "5"}, "tags": ["a"]}"#;

#[test]
fn mongodb_insert_update_and_delete() {
    let key = json!({"id": "{\"$oid\": \"596e275826f08b2730779e1f\"}"});
    let e = decode(
        "fulfillment.inventory.customers",
        Some(key.clone()),
        json!({"after": DOC, "source": mongo_source(1), "op": "c", "ts_ms": 1}),
    );
    assert_eq!(e.operation, Operation::Insert);
    assert_eq!(e.qualified_table(), "inventory.customers");
    assert_eq!(pos(&e), Some("1558965508:1"));
    let after = e.after.as_ref().unwrap().value().clone();
    assert_eq!(after["_id"]["$oid"], "596e275826f08b2730779e1f");
    assert_eq!(after["n"]["$numberLong"], "5");
    assert_eq!(e.key.as_ref().unwrap().value(), &key);

    // An update of `change_streams_update_full`, with schemas: the after document and
    // what the update set (JSON text in the record, an object in the event).
    let desc = json!({"removedFields": ["nick"], "updatedFields": "{\"first_name\": \"Anne Marie\"}",
                      "truncatedArrays": [{"field": "tags", "size": 1}]});
    let fields = json!([
        {"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1, "field": "before"},
        {"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1, "field": "after"},
        {"type": "struct", "optional": true, "name": "io.debezium.connector.mongodb.changestream.updatedescription",
         "field": "updateDescription", "fields": [
            {"type": "array", "optional": true, "items": {"type": "string"}, "field": "removedFields"},
            {"type": "string", "optional": true, "name": "io.debezium.data.Json", "field": "updatedFields"},
            {"type": "array", "optional": true, "field": "truncatedArrays", "items": {
                "type": "struct", "fields": [{"type": "string", "field": "field"},
                                             {"type": "int32", "field": "size"}]}}]},
        {"type": "struct", "optional": false, "field": "source", "fields": []},
        {"type": "string", "optional": true, "field": "op"},
        {"type": "int64", "optional": true, "field": "ts_ms"}]);
    let payload = json!({"before": null, "after": DOC, "updateDescription": desc,
                         "source": mongo_source(2), "op": "u", "ts_ms": 2});
    let e = decode(
        "fulfillment.inventory.customers",
        None,
        with_schema("fulfillment.inventory.customers.Envelope", fields, payload),
    );
    assert_eq!(e.operation, Operation::Update);
    assert_eq!(pos(&e), Some("1558965508:2"));
    assert_eq!(
        e.after.as_ref().unwrap().value()["first_name"],
        "Anne Marie"
    );
    let d = e.metadata.get("update_description").unwrap();
    assert_eq!(d["updatedFields"], json!({"first_name": "Anne Marie"}));
    assert_eq!(d["removedFields"], json!(["nick"]));
    assert_eq!(d["truncatedArrays"][0]["size"], 1);

    // Debezium 1.x: a delete names its document by a `filter` (and the key); no rows.
    let e = decode(
        "fulfillment.inventory.customers",
        Some(key.clone()),
        json!({"after": null, "patch": null, "source": mongo_source(3), "op": "d", "ts_ms": 3,
               "filter": "{\"_id\": {\"$oid\": \"596e275826f08b2730779e1f\"}}"}),
    );
    assert_eq!(e.operation, Operation::Delete);
    assert!(e.before.is_none() && e.after.is_none());
    assert_eq!(e.key.as_ref().unwrap().value(), &key);
    assert_eq!(pos(&e), Some("1558965508:3"));
}

fn history_source() -> Value {
    json!({"version": "2.7.3.Final", "connector": "mysql", "name": "mysql1",
           "ts_ms": 1_651_535_750_000i64, "snapshot": "false", "db": "inventory",
           "sequence": null, "table": "customers", "server_id": 223_344, "gtid": null,
           "file": "mysql-bin.000003", "pos": 570, "row": 0, "thread": null, "query": null})
}

fn table_changes(id: &str, kind: &str) -> Value {
    json!([{"type": kind, "id": id, "table": {
        "defaultCharsetName": "utf8mb4", "primaryKeyColumnNames": ["id"], "comment": null,
        "columns": [{"name": "id", "jdbcType": 4, "typeName": "INT", "typeExpression": "INT",
                     "charsetName": null, "position": 1, "optional": false,
                     "autoIncremented": true, "generated": true, "comment": null,
                     "hasDefaultValue": false, "enumValues": []}],
        "attributes": []}}])
}

#[test]
fn schema_changes_of_mysql_oracle_and_sql_server() {
    let ddl = "ALTER TABLE customers ADD COLUMN middle_name VARCHAR(255)";
    let key = with_schema(
        "io.debezium.connector.mysql.SchemaChangeKey",
        json!([{"type": "string", "optional": false, "field": "databaseName"}]),
        json!({"databaseName": "inventory"}),
    );
    let payload = json!({"source": history_source(), "ts_ms": 1_651_535_750_123i64,
                         "databaseName": "inventory", "schemaName": null, "ddl": ddl,
                         "tableChanges": table_changes("\"inventory\".\"customers\"", "ALTER")});
    let value = with_schema(
        "io.debezium.connector.mysql.SchemaChangeValue",
        json!([{"type": "string", "optional": false, "field": "databaseName"},
               {"type": "string", "optional": true, "field": "ddl"}]),
        payload,
    );
    let e = decode("mysql1", Some(key), value);
    assert_eq!(e.operation, Operation::SchemaChange);
    assert_eq!(e.qualified_table(), "inventory.customers");
    assert_eq!(pos(&e), Some("mysql-bin.000003:570:0"));
    assert_eq!(e.metadata.get("ddl"), Some(&json!(ddl)));
    assert_eq!(e.metadata.get("ts_ms"), Some(&json!(1_651_535_750_123i64)));
    assert_eq!(
        e.metadata.get("table_changes").unwrap()[0]["table"]["primaryKeyColumnNames"],
        json!(["id"])
    );
    assert_eq!(
        e.key.as_ref().unwrap().value(),
        &json!({"databaseName": "inventory"})
    );

    let oracle = json!({"connector": "oracle", "name": "server1", "ts_ms": 1, "db": "ORCLPDB1",
                        "schema": "DEBEZIUM", "table": "CUSTOMERS", "scn": "2122185",
                        "txId": "6.28.807"});
    let e = decode(
        "server1",
        None,
        json!({"source": oracle, "ts_ms": 2, "databaseName": "ORCLPDB1",
               "schemaName": "DEBEZIUM", "ddl": "CREATE TABLE \"DEBEZIUM\".\"CUSTOMERS\" (ID NUMBER(9))",
               "tableChanges": table_changes("\"ORCLPDB1\".\"DEBEZIUM\".\"CUSTOMERS\"", "CREATE")}),
    );
    assert_eq!(e.operation, Operation::SchemaChange);
    assert_eq!(e.qualified_table(), "DEBEZIUM.CUSTOMERS");
    assert_eq!(pos(&e), Some("2122185"));
    assert_eq!(e.transaction_id.as_deref(), Some("6.28.807"));

    // SQL Server gives no DDL text: `ddl` is null, the table comes from `tableChanges`.
    let mssql = json!({"connector": "sqlserver", "name": "server1", "ts_ms": 1, "db": "testDB",
                       "schema": "dbo", "table": "customers",
                       "change_lsn": "00000025:00000d08:0025", "commit_lsn": null});
    let e = decode(
        "server1",
        None,
        json!({"source": mssql, "ts_ms": 2, "databaseName": "testDB", "schemaName": "dbo",
               "ddl": null, "tableChanges": table_changes("\"testDB\".\"dbo\".\"customers\"", "ALTER")}),
    );
    assert_eq!(e.operation, Operation::SchemaChange);
    assert_eq!(e.qualified_table(), "dbo.customers");
    assert_eq!(e.metadata.get("ddl"), Some(&json!("")));
    assert_eq!(pos(&e), Some("00000025:00000d08:0025"));
}

#[test]
fn transaction_begin_and_end_with_and_without_schemas() {
    let begin = json!({"status": "BEGIN", "id": "00000025:00000d08:0025", "ts_ms": 1_486_500_577_125i64,
                       "event_count": null, "data_collections": null});
    let e = decode(
        "server1.transaction",
        Some(json!({"id": "00000025:00000d08:0025"})),
        begin,
    );
    assert_eq!(e.operation, Operation::Control);
    assert_eq!(e.control.as_deref(), Some("transaction_begin"));
    assert_eq!(e.transaction_id.as_deref(), Some("00000025:00000d08:0025"));
    assert_eq!(e.commit_time.unwrap().unix_timestamp(), 1_486_500_577);

    let fields = json!([
        {"type": "string", "optional": false, "field": "status"},
        {"type": "string", "optional": false, "field": "id"},
        {"type": "int64", "optional": true, "field": "event_count"},
        {"type": "array", "optional": true, "field": "data_collections", "items": {
            "type": "struct", "optional": false, "fields": [
                {"type": "string", "optional": false, "field": "data_collection"},
                {"type": "int64", "optional": false, "field": "event_count"}]}},
        {"type": "int64", "optional": false, "field": "ts_ms"}]);
    let collections = json!([{"data_collection": "ORCLPDB1.DEBEZIUM.CUSTOMERS", "event_count": 2},
                             {"data_collection": "ORCLPDB1.DEBEZIUM.ORDERS", "event_count": 1}]);
    let end = json!({"status": "END", "id": "5.6.641", "ts_ms": 1_486_500_577_691i64,
                     "event_count": 3, "data_collections": collections});
    let e = decode(
        "server1.transaction",
        None,
        with_schema(
            "io.debezium.connector.common.TransactionMetadataValue",
            fields,
            end,
        ),
    );
    assert_eq!(e.control.as_deref(), Some("transaction_end"));
    assert_eq!(e.transaction_id.as_deref(), Some("5.6.641"));
    assert_eq!(e.metadata.get("event_count"), Some(&json!(3)));
    assert_eq!(e.metadata.get("data_collections"), Some(&collections));
}

#[test]
fn heartbeats_with_and_without_schemas() {
    let key = with_schema(
        "io.debezium.connector.common.ServerNameKey",
        json!([{"type": "string", "optional": false, "field": "serverName"}]),
        json!({"serverName": "mysql1"}),
    );
    let value = with_schema(
        "io.debezium.connector.common.Heartbeat",
        json!([{"type": "int64", "optional": false, "field": "ts_ms"}]),
        json!({"ts_ms": 1_571_406_924_000i64}),
    );
    for (key, value) in [
        (key, value),
        (
            json!({"serverName": "mysql1"}),
            json!({"ts_ms": 1_571_406_924_000i64}),
        ),
    ] {
        let e = decode("__debezium-heartbeat.mysql1", Some(key), value);
        assert_eq!(e.operation, Operation::Control);
        assert_eq!(e.control.as_deref(), Some("heartbeat"));
        assert_eq!(e.metadata.get("server_name"), Some(&json!("mysql1")));
        assert_eq!(e.metadata.get("ts_ms"), Some(&json!(1_571_406_924_000i64)));
        assert_eq!(e.commit_time.unwrap().unix_timestamp(), 1_571_406_924);
    }
}
