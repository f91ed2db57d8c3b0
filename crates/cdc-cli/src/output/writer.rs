//! Writing `cdc run`'s records to stdout on a thread of its own.
//!
//! Records were once written synchronously inside the trigger callbacks: with stdout a pipe
//! nobody reads, every runtime worker ended up blocked in `write`, and not even a signal
//! could be handled. Now callbacks hand their lines to a bounded channel (waiting
//! asynchronously when it is full, which holds delivery back like any slow handler), and
//! only the writer thread blocks on stdout.

use std::io::Write;

use tokio::sync::{mpsc, oneshot};

/// How many groups of lines may wait for the writer.
const QUEUED_GROUPS: usize = 1024;

enum Message {
    Lines(Vec<String>),
    Flush(oneshot::Sender<()>),
}

/// The sending side; the thread lives as long as the process (it ends when this is dropped).
#[derive(Debug)]
pub struct StdoutWriter {
    tx: mpsc::Sender<Message>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Lines(_) => "Lines",
            Self::Flush(_) => "Flush",
        })
    }
}

impl StdoutWriter {
    /// Starts the writer thread.
    pub fn start() -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUED_GROUPS);
        std::thread::Builder::new()
            .name("cdc-stdout".into())
            .spawn(move || write_loop(rx))?;
        Ok(Self { tx })
    }

    /// Queues a group of lines, written together; waits (without blocking the runtime)
    /// while the queue is full.
    pub async fn write(&self, lines: Vec<String>) {
        // The thread only goes away with the process.
        let _ = self.tx.send(Message::Lines(lines)).await;
    }

    /// Resolves once everything queued before has been written and flushed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

fn write_loop(mut rx: mpsc::Receiver<Message>) {
    let mut broken = false;
    while let Some(message) = rx.blocking_recv() {
        match message {
            Message::Lines(lines) => {
                if broken {
                    continue; // stdout closed (its reader is gone): drop, never block callers
                }
                let mut out = std::io::stdout().lock();
                let mut result = Ok(());
                for line in &lines {
                    result = result.and_then(|()| writeln!(out, "{line}"));
                }
                broken = result.and_then(|()| out.flush()).is_err();
            }
            Message::Flush(done) => {
                let _ = std::io::stdout().lock().flush();
                let _ = done.send(());
            }
        }
    }
}
