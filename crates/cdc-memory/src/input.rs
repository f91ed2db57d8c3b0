//! Reading events from a JSON Lines file or stdin into a memory source.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cdc_core::event::parse_event_json;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

use crate::source::{MemorySource, TaskGuard};

/// Reads `path` (`-` = stdin) line by line and injects each event, waiting for room.
/// A bad line is reported (status `error`, with its line number) and skipped.
/// `shutdown` is the source's input-stop signal (set by `close_input` and by disconnect).
pub(crate) async fn read_events(
    source: Arc<MemorySource>,
    path: PathBuf,
    shutdown: watch::Receiver<bool>,
    _guard: TaskGuard,
) {
    let id = source.config.source_id.clone();
    if path.as_os_str() == "-" {
        read_from(&source, tokio::io::stdin(), "stdin", shutdown).await;
    } else {
        match tokio::fs::File::open(&path).await {
            Ok(f) => read_from(&source, f, &path.display().to_string(), shutdown).await,
            Err(e) => {
                let msg = format!("options.events_file {}: {e}", path.display());
                tracing::error!(source_id = %id, "{msg}");
                source.observed().error = Some(msg);
            }
        }
    }
    source.counters.input_running.store(false, Ordering::SeqCst);
    source.counters.progress.notify_waiters();
}

async fn read_from<R: AsyncRead + Unpin>(
    source: &MemorySource,
    input: R,
    name: &str,
    mut shutdown: watch::Receiver<bool>,
) {
    let id = &source.config.source_id;
    let mut lines = BufReader::new(input).lines();
    let mut line_no = 0usize;
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        let line = tokio::select! {
            l = lines.next_line() => l,
            _ = shutdown.changed() => return,
        };
        line_no += 1;
        let text = match line {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                let msg = format!("{name}: read error at line {line_no}: {e}");
                source.observed().error = Some(msg);
                return;
            }
        };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_event_json(id, trimmed) {
            Ok(mut event) => {
                event.source_id.clone_from(id);
                source.counters.injected.fetch_add(1, Ordering::SeqCst);
                if source.tx.send(Arc::new(event)).await.is_err() {
                    source.counters.injected.fetch_sub(1, Ordering::SeqCst);
                    return; // source disconnected
                }
            }
            Err(e) => {
                let msg = format!("{name}: {}", e.at_line(line_no));
                tracing::warn!(source_id = %id, "bad event skipped: {msg}");
                source.observed().error = Some(msg);
            }
        }
    }
}
