//! Managed mode: which Bento binary a source runs (none for delegated mode), and starting
//! it under a [`Supervisor`] with the stream config in a file only the owner can read. Apart
//! from the provider because this is the part of `connect` that touches files and processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cdc_core::{SourceConfig, Subscribers};

use super::binary::{find_on_path, is_executable};
use super::{BentoProvider, Run};
use crate::error::BentoError;
use crate::generate::GeneratedStream;
use crate::options::{BentoOptions, Mode, OutputOptions};
use crate::sql::SlotRead;
use crate::stream::Reveal;
use crate::supervisor::{Supervisor, SupervisorConfig};

impl BentoProvider {
    pub(super) fn managed_bin(
        &self,
        config: &SourceConfig,
        options: &BentoOptions,
    ) -> Result<Option<PathBuf>, BentoError> {
        let configured = options.bento_bin.clone();
        if let Some(bin) = &configured
            && !is_executable(bin)
        {
            return Err(BentoError::invalid(
                &config.source_id,
                "options.bento_bin",
                format!("{} is not an executable file", bin.display()),
            ));
        }
        match options.mode {
            Mode::Delegated => Ok(None),
            Mode::Auto => Ok(configured.or_else(|| find_on_path("bento"))),
            Mode::Managed => configured.or_else(|| find_on_path("bento")).map(Some).ok_or_else(|| {
                BentoError::invalid(
                    &config.source_id,
                    "options.mode",
                    "managed mode needs a Bento binary: set options.bento_bin or put `bento` on PATH",
                )
            }),
        }
    }

    pub(super) fn start_managed(
        &self,
        config: &SourceConfig,
        options: &BentoOptions,
        stream: &GeneratedStream,
        bin: PathBuf,
        subscribers: &Subscribers,
    ) -> Result<Run, BentoError> {
        let sid = &config.source_id;
        if options.output != OutputOptions::Stdout {
            return Err(BentoError::invalid(
                sid,
                "options.output",
                format!(
                    "managed mode reads events from Bento's stdout, but the output is {}; \
                     use output type stdout, or mode: delegated",
                    options.output.kind()
                ),
            ));
        }
        let io = |message: &str, e: std::io::Error| BentoError::Process {
            source_id: sid.clone(),
            message: message.to_owned(),
            source: Some(e),
        };
        let root = self.work_root.clone().unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&root).map_err(|e| io("cannot create the work directory", e))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("cdc-bento-{sid}-"))
            .tempdir_in(&root)
            .map_err(|e| io("cannot create the source's work directory", e))?;
        let config_path = dir.path().join("stream.yaml");
        let yaml = stream.config.to_yaml(Reveal::Secrets)?;
        write_private(&config_path, &yaml).map_err(|e| io("cannot write the stream config", e))?;
        // The peeking PostgreSQL stream: what the handlers finished moves the slot on.
        let (acks, _acks_rx) = match &stream.postgres {
            Some(pg) if pg.changes.read == SlotRead::Peek => {
                let (tx, rx) = tokio::sync::watch::channel(0u64);
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        #[cfg(feature = "postgres")]
        let advancer = match (&stream.postgres, _acks_rx) {
            (Some(pg), Some(rx)) => Some(super::advance::Advancer::start(
                sid.clone(),
                config.connection.clone(),
                pg.slot.clone(),
                rx,
            )),
            _ => None,
        };
        let supervisor = Supervisor::start(
            SupervisorConfig {
                source_id: sid.clone(),
                bin,
                config_path: config_path.clone(),
                env: options.env.clone(),
                backoff_initial: Duration::from_millis(options.restart_backoff_initial_ms.max(1)),
                backoff_max: Duration::from_millis(
                    options
                        .restart_backoff_max_ms
                        .max(options.restart_backoff_initial_ms)
                        .max(1),
                ),
                stderr_lines: options.stderr_tail_lines,
                acks,
            },
            subscribers.clone(),
        );
        Ok(Run::Managed {
            supervisor,
            #[cfg(feature = "postgres")]
            advancer,
            config_path,
            _dir: dir,
        })
    }
}

/// Writes `text` readable by the owner only: the file holds the DSN with its password.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}
