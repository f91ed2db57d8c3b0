//! `Debug` (and `Serialize`, where a type has it) of every public config type of every
//! provider, built with one marker secret in every credential field: zero hits. The `cdc`
//! binary's output channels are checked in crates/cdc-cli/tests/secrets.rs.

use cdc::SourceConfig;
use cdc::bento::BentoOptions;
use cdc::bento::generate::{SourceSpec, generate};
use cdc::bento::options::OutputOptions;
use cdc::debezium::config::{DatabaseDsn, DebeziumOptions, DebeziumSource};
use cdc::debezium::connect::{Auth, ClientOptions, KafkaConnectClient};
use cdc::dms::config::{DmsOptions, DmsSource};
use serde_json::json;

const MARK: &str = "zq9MARK";
/// Raw, where nothing parses it as a URL; `ENC` where it is a URL's userinfo.
const RAW: &str = "zq9MARK/?#@:zq9MARK";
const ENC: &str = "zq9MARK%2F%3F%23%40%3Azq9MARK";

fn clean(what: &str, shown: String) {
    assert!(!shown.contains(MARK), "{what} shows the secret: {shown}");
}

fn config(v: serde_json::Value) -> SourceConfig {
    let text = v.to_string().replace("RAW", RAW).replace("ENC", ENC);
    SourceConfig::from_json(&text).unwrap()
}

#[test]
fn core_types() {
    let cfg = config(json!({"provider": "x", "source_id": "a",
        "connection": "postgres://u:RAW@h/db",
        "options": {"password": "RAW", "nested": {"url": "http://u:ENC@h", "token": "RAW"}}}));
    clean("SourceConfig Debug", format!("{cfg:?}"));
    clean(
        "SourceConfig Serialize",
        serde_json::to_string(&cfg).unwrap(),
    );
    let s = cdc::Secret::new(RAW);
    clean("Secret", format!("{s:?} {s}"));
    let d = cdc::SecretString::new(format!("postgres://u:{RAW}@h/db"));
    clean(
        "SecretString",
        format!("{d:?} {d} {}", serde_json::to_string(&d).unwrap()),
    );
}

#[test]
fn debezium_types() {
    let cfg = config(
        json!({"provider": "debezium", "source_id": "a", "source_type": "postgres",
        "connection": "http://admin:ENC@connect:8083", "tables": ["public.t"],
        "options": {
            "database": "postgres://d:ENC@db/shop",
            "auth": {"basic": {"username": "u", "password": "RAW"}},
            "signal": {"table": "public.sig", "database": "postgres://s:ENC@db/shop"},
            "connector_config": {"x.password": "RAW", "aws.secret.access.key": "RAW",
                                 "database.url": "jdbc:postgresql://db/x?password=ENC"}
        }}),
    );
    let src = DebeziumSource::from_config(&cfg).unwrap();
    clean("DebeziumSource", format!("{src:?}"));
    clean("DebeziumOptions", format!("{:?}", src.options));
    clean(
        "DebeziumOptions Serialize",
        serde_json::to_string(&src.options).unwrap(),
    );
    clean("SignalOptions", format!("{:?}", src.options.signal));
    clean("ConnectorSpec", format!("{:?}", src.connector));
    clean("ConnectorSpec masked JSON", src.connector.to_json(false));
    let opts: DebeziumOptions = cfg.typed_options().unwrap();
    clean("DebeziumOptions (typed)", format!("{opts:?}"));
    let auth = Auth::Bearer { token: RAW.into() };
    clean(
        "Auth",
        format!("{auth:?} {}", serde_json::to_string(&auth).unwrap()),
    );
    let dsn = DatabaseDsn::parse(&format!("postgres://d:{ENC}@db/shop")).unwrap();
    clean("DatabaseDsn", format!("{dsn:?}"));
    let mut client = ClientOptions::new(src.connect_url.clone());
    client.auth = Some(auth);
    clean("ClientOptions", format!("{client:?}"));
    let kc = KafkaConnectClient::new(client).unwrap();
    clean("KafkaConnectClient", format!("{kc:?}"));
}

#[test]
fn bento_types() {
    let cfg = config(
        json!({"provider": "bento", "source_id": "b", "source_type": "postgres",
        "connection": "postgres://cdc:RAW@db/shop", "tables": ["public.t"],
        "options": {"mode": "delegated", "env": {"PGPASSWORD": "RAW", "OTHER": "RAW"},
            "output": {"type": "http_client", "url": "http://u:ENC@sink/e",
                       "headers": {"Authorization": "Bearer RAW", "X-Api-Key": "RAW"}}}}),
    );
    let options: BentoOptions = cfg.typed_options().unwrap();
    clean("BentoOptions", format!("{options:?}"));
    clean(
        "BentoOptions Serialize",
        serde_json::to_string(&options).unwrap(),
    );
    clean("OutputOptions", format!("{:?}", options.output));
    let spec = SourceSpec::from_config(&cfg);
    clean("SourceSpec", format!("{spec:?}"));
    let stream = generate(&spec, &options).unwrap();
    clean("GeneratedStream", format!("{stream:?}"));
    clean("StreamConfig", format!("{:?}", stream.config));
    clean(
        "StreamConfig masked YAML",
        stream
            .config
            .to_yaml(cdc::bento::stream::Reveal::Masked)
            .unwrap(),
    );
    let nats = OutputOptions::Nats {
        urls: vec![format!("nats://u:{ENC}@n:4222")],
        subject: "s".into(),
    };
    clean("OutputOptions (nats)", format!("{nats:?}"));
    let mysql = config(
        json!({"provider": "bento", "source_id": "m", "source_type": "mysql",
        "connection": "cdc:RAW@tcp(mysql:3306)/shop", "tables": ["orders"],
        "options": {"mode": "delegated", "flavor": "redpanda_connect"}}),
    );
    let options: BentoOptions = mysql.typed_options().unwrap();
    let stream = generate(&SourceSpec::from_config(&mysql), &options).unwrap();
    clean("StreamConfig (mysql_cdc)", format!("{:?}", stream.config));
}

#[test]
fn dms_types() {
    let cfg = config(
        json!({"provider": "dms", "source_id": "d", "tables": ["public.t"],
        "options": {
            "source_endpoint_arn": "arn:aws:dms:eu-west-1:1:endpoint:S",
            "target_endpoint_arn": "arn:aws:dms:eu-west-1:1:endpoint:T",
            "replication_instance_arn": "arn:aws:dms:eu-west-1:1:rep:I",
            "endpoint_url": "http://127.0.0.1:4566",
            "task_settings": {"Logging": {"token": "RAW"}}
        }}),
    );
    let opts = DmsOptions::from_source(&cfg).unwrap();
    clean("DmsOptions", format!("{opts:?}"));
    let src = DmsSource::from_config(&cfg).unwrap();
    clean("AwsSettings", format!("{:?}", src.aws));
    // An endpoint with userinfo is refused, and the refusal shows no secret.
    let bad = config(json!({"provider": "dms", "source_id": "d",
        "options": {"endpoint_url": "http://u:ENC@127.0.0.1:4566",
            "source_endpoint_arn": "arn:aws:dms:eu-west-1:1:endpoint:S",
            "target_endpoint_arn": "arn:aws:dms:eu-west-1:1:endpoint:T",
            "replication_instance_arn": "arn:aws:dms:eu-west-1:1:rep:I"}}));
    let opts = DmsOptions::from_source(&bad).unwrap();
    clean("DmsOptions (endpoint userinfo)", format!("{opts:?}"));
    clean(
        "DmsOptions Serialize",
        serde_json::to_string(&opts).unwrap(),
    );
    clean(
        "DmsSource error",
        DmsSource::from_config(&bad).unwrap_err().to_string(),
    );
}
