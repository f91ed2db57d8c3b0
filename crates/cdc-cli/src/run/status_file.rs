//! The status file `cdc run` writes (every summary interval and at exit) and `cdc status`
//! reads: the run's sources with state, lag and last event.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use cdc::CdcStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::ConfigFile;

/// What `cdc run` reports about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusFile {
    /// The config file run.
    pub config: String,
    /// The process id of the run.
    pub pid: u32,
    /// False once the run has ended.
    pub running: bool,
    /// When this was written (RFC 3339).
    pub updated_at: String,
    /// The run's HTTP endpoint (`127.0.0.1:9464`), when it has one: where `cdc status` asks
    /// first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// Each source's status, with the events counted by the run.
    pub sources: Vec<SourceReport>,
}

/// One source in the status file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceReport {
    /// The provider's status.
    #[serde(flatten)]
    pub status: CdcStatus,
    /// Events delivered during the run.
    pub events: u64,
}

/// Where the status of `config` goes: `settings.status_file`, or a file in the temp folder
/// named after the config file's absolute path.
pub fn path_for(config: &Path, configured: Option<&Path>) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    let abs = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    abs.hash(&mut h);
    std::env::temp_dir().join(format!("cdc-status-{:016x}.json", h.finish()))
}

impl StatusFile {
    /// Whether the run that wrote this still runs: it said so, and (where `/proc` tells)
    /// its process is alive. A run killed without its final write shows as ended.
    pub fn is_live(&self) -> bool {
        let proc_root = Path::new("/proc");
        self.running && (!proc_root.is_dir() || proc_root.join(self.pid.to_string()).exists())
    }

    /// Writes atomically (temp file, then rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }

    /// Reads; `Ok(None)` when there is no file.
    pub fn read(path: &Path) -> Result<Option<Self>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

/// The JSON of `cdc status --output json` (and of the endpoint's `GET /status`): every
/// source of `cfg`, with what `file` says of it (`not_running` when it says nothing).
pub fn document(cfg: &ConfigFile, file: Option<&StatusFile>, path: &Path) -> Value {
    let rows: Vec<Value> = cfg
        .sources
        .iter()
        .map(|s| {
            let report =
                file.and_then(|f| f.sources.iter().find(|r| r.status.source_id == s.source_id));
            match report {
                Some(r) => {
                    let mut v = serde_json::to_value(&r.status).unwrap_or_default();
                    v["events"] = json!(r.events);
                    v
                }
                None => json!({"source_id": s.source_id, "provider": s.provider,
                               "state": "not_running", "last_event": null}),
            }
        })
        .collect();
    let run =
        file.map(|f| json!({"pid": f.pid, "running": f.is_live(), "updated_at": f.updated_at}));
    json!({"config": cfg.path.display().to_string(),
           "status_file": path.display().to_string(),
           "run": run, "sources": rows})
}
