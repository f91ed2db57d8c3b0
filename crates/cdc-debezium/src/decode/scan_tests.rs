//! The fast path against serde: on every text it accepts it must give serde's envelope.
//! Texts: every fixture record (wrapped and bare), source blocks of the other connectors,
//! values at the edges of each field's type, and tens of thousands of byte-level mutations
//! of them (a deterministic generator), where most texts are broken JSON.

use super::Envelope;

/// `Some(true)` when the fast path took the text (and agreed with serde), `Some(false)`
/// when it gave up; a panic when it took a text serde refuses or read it otherwise.
fn agrees(text: &str) -> bool {
    let Some(fast) = Envelope::<true>::scan(text) else {
        return false;
    };
    match serde_json::from_str::<Envelope<'_, true>>(text) {
        Ok(slow) => assert_eq!(
            format!("{fast:?}"),
            format!("{slow:?}"),
            "the fast path read {text:?} otherwise than serde"
        ),
        Err(e) => panic!("the fast path took {text:?}, which serde refuses: {e}"),
    }
    true
}

fn fixture_values() -> Vec<String> {
    let mut out = Vec::new();
    for file in [
        include_str!("../../tests/fixtures/debezium/debezium-postgres-plain.jsonl"),
        include_str!("../../tests/fixtures/debezium/debezium-postgres-schemas.jsonl"),
    ] {
        for line in file.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let value = &v["value"];
            if value.is_null() {
                continue;
            }
            out.push(value.to_string());
            // The payload of the wrapped form is read on its own too.
            if let Some(p) = value.get("payload") {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// Source blocks of the other connectors and values at the edges of the fields' types.
fn edge_values() -> Vec<String> {
    let sources = [
        r#"{"version":"3.6.3.Final","connector":"mysql","name":"m","ts_ms":1,"snapshot":"false","db":"inventory","table":"customers","server_id":223344,"gtid":null,"file":"mysql-bin.000003","pos":1234,"row":0,"thread":7,"query":null}"#,
        r#"{"connector":"sqlserver","db":"testDB","schema":"dbo","table":"t","change_lsn":"00000027:00000758:0003","commit_lsn":"00000027:00000758:0005","event_serial_no":1}"#,
        r#"{"connector":"oracle","txId":"02000a0037030000","scn":"2122184","commit_scn":"2122185","schema":"DEBEZIUM","table":"T"}"#,
        r#"{"connector":"mongodb","db":"inventory","collection":"customers","ord":1,"lsid":null,"txnNumber":null}"#,
        r#"{"connector":"vitess","keyspace":"ks","table":"t","vgtid":"[{\"keyspace\":\"ks\",\"shard\":\"0\",\"gtid\":\"MySQL56/x:1-5\"}]"}"#,
        r#"{"db":"d\u00e9j\u00e0","table":"t\"q","schema":"s\\s","file":"a\/b"}"#,
        r#"{"table":"\ud800"}"#,
        r#"{"table":"\ud83d\ude00"}"#,
    ];
    let scalars = [
        "0",
        "-0",
        "-0.0",
        "1",
        "-1",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "1.5",
        "1e3",
        "1E400",
        "-1e400",
        "1e-400",
        "true",
        "false",
        "null",
        "[]",
        "[1,\"a\"]",
        "{}",
        "{\"a\":1}",
        "\"\"",
        "\"x\"",
        "\"a\\nb\"",
        "\"\\u0041\"",
        "\"\\udc00\"",
    ];
    let mut out: Vec<String> = sources
        .iter()
        .map(|s| format!(r#"{{"op":"c","after":{{"id":1}},"source":{s}}}"#))
        .collect();
    for field in [
        "ts_ms",
        "ts_us",
        "snapshot",
        "db",
        "schema",
        "table",
        "collection",
        "keyspace",
        "txId",
        "lsn",
        "file",
        "pos",
        "row",
        "gtid",
        "change_lsn",
        "commit_lsn",
        "scn",
        "vgtid",
        "ord",
        "other",
    ] {
        for v in scalars {
            out.push(format!(r#"{{"op":"u","source":{{"{field}":{v}}}}}"#));
        }
        // Twice: serde refuses a duplicate field it knows.
        out.push(format!(
            r#"{{"op":"u","source":{{"{field}":1,"{field}":1}}}}"#
        ));
    }
    for field in [
        "schema",
        "payload",
        "before",
        "after",
        "source",
        "op",
        "ts_ms",
        "transaction",
        "updateDescription",
        "message",
        "ddl",
        "tableChanges",
        "databaseName",
        "schemaName",
        "status",
        "id",
        "event_count",
        "data_collections",
        "unknown",
    ] {
        for v in scalars {
            out.push(format!(r#"{{"{field}":{v},"op":"c"}}"#));
        }
        out.push(format!(r#"{{"{field}":null,"{field}":{{}}}}"#));
    }
    out.extend(
        [
            r#"{"\u006fp":"c"}"#,
            r#"["c"]"#,
            r#" {"op" : "c" , "source" : null } "#,
            "{\"op\":\"c\"}\n",
            r#"{"op":"c"} x"#,
            r#"{"op":"c"}{}"#,
            r#"{"after":{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
        ]
        .map(str::to_owned),
    );
    out
}

#[test]
fn the_fast_path_reads_every_fixture_record() {
    for text in fixture_values() {
        assert!(
            agrees(&text),
            "the fast path gave up on a fixture record: {text}"
        );
    }
}

#[test]
fn values_at_the_edges_of_each_type_read_as_serde_reads_them() {
    let values = edge_values();
    let taken = values.iter().filter(|t| agrees(t)).count();
    // Most of them are taken (the rest are serde's errors, or left to it).
    assert!(taken > values.len() / 2, "{taken} of {}", values.len());
}

#[test]
fn mutated_records_are_read_as_serde_reads_them_or_left_to_it() {
    // xorshift: the same texts on every run.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    const BYTES: &[u8] = b"{}[]\",:\\ 0-.eE+nultrfase\x01\x1fuA\n";
    let mut seeds = fixture_values();
    seeds.extend(edge_values());
    let (mut tried, mut taken) = (0, 0);
    for seed in &seeds {
        for _ in 0..150 {
            let mut b = seed.clone().into_bytes();
            for _ in 0..=next(3) {
                let at = next(b.len() + 1);
                match next(3) {
                    0 if at < b.len() => {
                        b.remove(at);
                    }
                    1 => b.insert(at, BYTES[next(BYTES.len())]),
                    _ if at < b.len() => b[at] = BYTES[next(BYTES.len())],
                    _ => {}
                }
            }
            // Only UTF-8 reaches the decoder (the value is checked first).
            let Ok(text) = String::from_utf8(b) else {
                continue;
            };
            tried += 1;
            taken += usize::from(agrees(&text));
        }
    }
    assert!(
        tried > 20_000 && taken > 1_000,
        "tried {tried}, taken {taken}"
    );
}
