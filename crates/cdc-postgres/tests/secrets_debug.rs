//! `Debug` of the PostgreSQL provider's config types with a marker secret in the
//! connection's password (as a URL, raw in key=value form): zero hits.

use cdc_core::SourceConfig;
use cdc_postgres::config::{ConnParams, PostgresSource};

const MARK: &str = "zq9MARK";

fn clean(what: &str, shown: String) {
    assert!(!shown.contains(MARK), "{what} shows the secret: {shown}");
}

#[test]
fn config_types_never_show_the_password() {
    for connection in [
        "postgres://app:zq9MARK%2F%3F%23%40%3Azq9MARK@db:5432/shop",
        "host=db port=5432 user=app password='zq9MARK/?#@:zq9MARK' dbname=shop",
    ] {
        let cfg = SourceConfig::from_value(serde_json::json!({
            "provider": "postgres", "source_id": "pg", "connection": connection,
            "tables": ["public.orders"]
        }))
        .unwrap();
        clean("SourceConfig", format!("{cfg:?}"));
        let src = PostgresSource::from_config(&cfg).unwrap();
        clean("PostgresSource", format!("{src:?}"));
        clean("ConnParams", format!("{:?}", src.conn));
        let password = src.conn.password.as_ref().unwrap();
        clean("the password field", format!("{password:?} {password}"));
        assert!(password.expose().starts_with(MARK), "parsed for real");
        clean("cdc render", cdc_postgres::render::render(&src));
        let conn: ConnParams = src.conn.clone();
        clean("ConnParams display", conn.display());
    }
}
