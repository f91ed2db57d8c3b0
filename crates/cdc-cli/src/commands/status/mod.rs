//! `cdc status FILE`: the sources of a config file with state, lag and last event. Asked of
//! the running process's HTTP endpoint when it has one that answers, else read from the
//! status file its `cdc run` writes; the output says which. `--watch N` looks again every N
//! seconds.

mod fetch;
mod table;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::ConfigFile;
use crate::error::CliError;
use crate::output::Format;
use crate::run::status_file::{self, StatusFile};

/// The largest `--watch` interval: an hour.
pub const MAX_WATCH_SECS: u64 = 3_600;

/// Prints a table (or JSON) of the sources of `cfg`, once or every `watch` seconds.
pub fn run(
    cfg: &ConfigFile,
    output: Option<Format>,
    flag: Option<&Path>,
    watch: Option<u64>,
) -> Result<(), CliError> {
    if let Some(n) = watch
        && !(1..=MAX_WATCH_SECS).contains(&n)
    {
        return Err(CliError::Usage(format!(
            "--watch: {n} is outside 1..={MAX_WATCH_SECS} seconds"
        )));
    }
    let path = status_file::path_for(&cfg.path, flag.or(cfg.settings.status_file.as_deref()));
    let format = Format::resolve(output);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let clear = watch.is_some() && format == Format::Text && std::io::stdout().is_terminal();
        let mut last: Option<(Instant, BTreeMap<String, u64>)> = None;
        loop {
            let mut doc = look(cfg, &path).await?;
            let now = Instant::now();
            let counts = events_by_source(&doc);
            if let Some((then, before)) = &last {
                add_rates(&mut doc, before, &counts, now.duration_since(*then));
            }
            last = Some((now, counts));
            if clear {
                print!("\x1b[2J\x1b[H");
            }
            match format {
                Format::Json => println!("{doc}"),
                Format::Text => table::print(cfg, &doc),
            }
            let Some(secs) = watch else { return Ok(()) };
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(secs)) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    })
}

/// The status document, from the endpoint when it answers, else from the status file;
/// `from` (and `endpoint`, `endpoint_error`) say which.
async fn look(cfg: &ConfigFile, path: &Path) -> Result<Value, CliError> {
    let file = StatusFile::read(path).map_err(CliError::Runtime)?;
    let addr = endpoint_of(cfg, file.as_ref());
    let mut endpoint_error = None;
    if let Some(addr) = &addr {
        match fetch::status(addr, cfg.settings.http.token.as_ref()).await {
            Ok(mut doc) => {
                doc["from"] = json!("endpoint");
                doc["endpoint"] = json!(format!("http://{addr}/status"));
                return Ok(doc);
            }
            Err(e) => {
                eprintln!(
                    "cdc: the endpoint http://{addr}/status did not answer ({e}); reading the status file"
                );
                endpoint_error = Some(e);
            }
        }
    }
    let mut doc = status_file::document(cfg, file.as_ref(), path);
    doc["from"] = json!("status_file");
    if let Some(e) = endpoint_error {
        doc["endpoint_error"] = json!(e);
    }
    Ok(doc)
}

/// Where to ask: the configured address when it names a port; else the address the live
/// run wrote into its status file (`--listen`, or port 0 resolved), but only a loopback one
/// or one on the configured IP: the status file sits in a shared temp folder, and the token
/// must not be sent wherever a file there points.
fn endpoint_of(cfg: &ConfigFile, file: Option<&StatusFile>) -> Option<String> {
    let configured = cfg.settings.http.listen;
    if let Some(a) = configured.filter(|a| a.port() != 0) {
        return Some(a.to_string());
    }
    let written: SocketAddr = file
        .filter(|f| f.is_live())?
        .http
        .as_deref()?
        .parse()
        .ok()?;
    let trusted = written.ip().is_loopback() || configured.is_some_and(|c| c.ip() == written.ip());
    trusted.then(|| written.to_string())
}

fn events_by_source(doc: &Value) -> BTreeMap<String, u64> {
    doc["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| Some((s["source_id"].as_str()?.to_owned(), s["events"].as_u64()?)))
        .collect()
}

/// `events_per_sec` of each source, from its events now and at the look before.
fn add_rates(
    doc: &mut Value,
    before: &BTreeMap<String, u64>,
    now: &BTreeMap<String, u64>,
    elapsed: Duration,
) {
    let secs = elapsed.as_secs_f64().max(0.001);
    for s in doc["sources"].as_array_mut().into_iter().flatten() {
        let Some(id) = s["source_id"].as_str() else {
            continue;
        };
        if let (Some(a), Some(b)) = (before.get(id), now.get(id)) {
            let rate = b.saturating_sub(*a) as f64 / secs;
            s["events_per_sec"] = json!((rate * 10.0).round() / 10.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(http: &str) -> StatusFile {
        StatusFile {
            config: "x.yaml".into(),
            pid: std::process::id(),
            running: true,
            updated_at: String::new(),
            http: Some(http.into()),
            sources: Vec::new(),
        }
    }

    #[test]
    fn the_endpoint_is_the_configured_one_or_a_trusted_one_the_run_wrote() {
        let mut cfg = ConfigFile {
            path: "x.yaml".into(),
            sources: Vec::new(),
            triggers: Vec::new(),
            settings: Default::default(),
        };
        let loopback = file("127.0.0.1:40001");
        let remote = file("203.0.113.9:9464");
        assert_eq!(
            endpoint_of(&cfg, Some(&loopback)).as_deref(),
            Some("127.0.0.1:40001")
        );
        assert_eq!(
            endpoint_of(&cfg, Some(&remote)),
            None,
            "not where a temp file points"
        );
        assert_eq!(endpoint_of(&cfg, None), None);
        cfg.settings.http.listen = Some("127.0.0.1:9464".parse().unwrap());
        assert_eq!(
            endpoint_of(&cfg, Some(&loopback)).as_deref(),
            Some("127.0.0.1:9464")
        );
        cfg.settings.http.listen = Some("0.0.0.0:0".parse().unwrap());
        assert_eq!(endpoint_of(&cfg, Some(&remote)), None);
        cfg.settings.http.listen = Some("203.0.113.9:0".parse().unwrap());
        assert_eq!(
            endpoint_of(&cfg, Some(&remote)).as_deref(),
            Some("203.0.113.9:9464")
        );
    }
}
