//! Reading events from a JSON Lines file or stdin into a memory source.
//!
//! The reading itself runs on a thread of its own (a blocking read of stdin in tokio's
//! blocking pool would keep the runtime from shutting down until a line arrives); lines come
//! over a small channel to the source's task, which parses them and waits for room in the
//! buffer. When the source goes away the task ends at once; the thread ends at its next line.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cdc_core::event::JsonLinesReader;
use cdc_core::{EventParseError, SharedEvent};
use tokio::sync::{mpsc, watch};

use crate::source::{MemorySource, TaskGuard};

/// What the reading thread hands over.
enum Item {
    /// An event, its `source_id` set to the source's.
    Event(SharedEvent),
    /// A line that is skipped (bad JSON, not an event, not UTF-8, too long).
    Skip(EventParseError),
    /// The input cannot be read any further.
    Failed(String),
}

/// Reads `path` (`-` = stdin) line by line and injects each event, waiting for room.
/// A bad line is reported (a warning and the status `error`, with its line number), counted
/// (`skipped_lines`) and skipped. `shutdown` is the source's input-stop signal (set by
/// `close_input` and by disconnect).
pub(crate) async fn read_events(
    source: Arc<MemorySource>,
    path: PathBuf,
    max_line_bytes: usize,
    mut shutdown: watch::Receiver<bool>,
    _guard: TaskGuard,
) {
    let id = source.config.source_id.clone();
    let name = if path.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let (tx, mut rx) = mpsc::channel(64);
    let spawned = std::thread::Builder::new()
        .name(format!("cdc-memory-input-{id}"))
        .spawn({
            let id = id.clone();
            move || read_lines(&id, &path, max_line_bytes, &tx)
        });
    if let Err(e) = spawned {
        record(&source, format!("{name}: cannot start the reader: {e}"));
        rx.close();
    }
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        let item = tokio::select! {
            item = rx.recv() => item,
            _ = shutdown.changed() => break,
        };
        match item {
            None => break,
            Some(Item::Event(event)) => {
                source.counters.injected.fetch_add(1, Ordering::SeqCst);
                if source.tx.send(event).await.is_err() {
                    source.counters.injected.fetch_sub(1, Ordering::SeqCst);
                    break; // source disconnected
                }
            }
            Some(Item::Skip(e)) => {
                source.counters.skipped.fetch_add(1, Ordering::SeqCst);
                let msg = format!("{name}: {e}");
                tracing::warn!(source_id = %id, "bad event line skipped: {msg}");
                record(&source, msg);
            }
            Some(Item::Failed(e)) => {
                let msg = format!("{name}: {e}");
                tracing::error!(source_id = %id, "events input failed: {msg}");
                record(&source, msg);
                break;
            }
        }
    }
    source.counters.input_running.store(false, Ordering::SeqCst);
    source.counters.progress.notify_waiters();
}

fn record(source: &MemorySource, message: String) {
    source.observed().error = Some(message);
}

/// The reading thread: every line, parsed, until the end of the input or until nobody listens.
fn read_lines(id: &str, path: &PathBuf, max_line_bytes: usize, tx: &mpsc::Sender<Item>) {
    let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                let _ = tx.blocking_send(Item::Failed(format!("cannot open: {e}")));
                return;
            }
        }
    };
    let mut reader = JsonLinesReader::new(id, input).with_max_line_bytes(max_line_bytes);
    while let Some(item) = reader.next() {
        let item = match item {
            Ok(mut event) => {
                if event.source_id != id {
                    event.source_id = id.into();
                }
                Item::Event(Arc::new(event))
            }
            Err(e) if reader.read_failed() => Item::Failed(e.to_string()),
            Err(e) => Item::Skip(e),
        };
        if tx.blocking_send(item).is_err() {
            return; // the source is gone
        }
    }
}
