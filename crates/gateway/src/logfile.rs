//! The optional plain-text request log: one line per completed request, in daily files
//! `switchboard-YYYY-MM-DD.log` (UTC). The proxy formats a line and offers it to a bounded
//! channel; a background task (started by [`crate::maintenance::spawn`]) appends it. A full
//! channel drops the line and counts it: the proxy never waits for the disk.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDate, SecondsFormat};
use parking_lot::Mutex;
use switchboard_store::LogRecord;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Lines waiting for the writer at most.
const CAPACITY: usize = 4096;

/// One line for one day's file.
pub(crate) struct Line {
    dir: PathBuf,
    date: NaiveDate,
    text: String,
}

/// The proxy's end of the channel, and the writer's end until the writer starts.
pub(crate) struct LogFile {
    tx: mpsc::Sender<Line>,
    rx: Mutex<Option<mpsc::Receiver<Line>>>,
    /// Lines the writer could not keep up with or could not write.
    dropped: AtomicU64,
}

impl Default for LogFile {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(CAPACITY);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            dropped: AtomicU64::new(0),
        }
    }
}

/// Where the files go: `dir` from the config (relative to the data directory), else
/// `<data_dir>/logs`.
pub(crate) fn directory(data_dir: &Path, configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(d) => data_dir.join(d),
        None => data_dir.join("logs"),
    }
}

/// The line for a completed record: time, id, method path, status, outcome, endpoint,
/// requested→routed model, tokens, cost, latency.
pub(crate) fn format_line(r: &LogRecord) -> String {
    let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_owned());
    let mut line = format!(
        "{} {} {} {} {} {} {} {}→{} in={} out={} cw={} cr={} cost=",
        r.started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        r.id,
        r.method,
        r.path,
        r.status,
        r.outcome,
        dash(&r.endpoint),
        dash(&r.requested_model),
        dash(&r.routed_model),
        r.input_tokens,
        r.output_tokens,
        r.cache_creation_input_tokens,
        r.cache_read_input_tokens,
    );
    match r.cost_usd {
        Some(c) => {
            let _ = write!(line, "${c:.6}");
        }
        None => line.push_str("unknown"),
    }
    let _ = write!(line, " {}ms", r.latency_ms);
    if let Some(e) = &r.error {
        // One line per request: keep the error on it.
        let _ = write!(line, " error={:?}", e.replace('\n', " "));
    }
    line
}

impl LogFile {
    /// Offers `r`'s line to the writer, for the file in `dir` (relative to `data_dir`; see
    /// [`directory`]). Never waits: a full queue drops the line and counts it.
    pub(crate) fn offer(&self, data_dir: &Path, dir: Option<&Path>, r: &LogRecord) {
        let line = Line {
            dir: directory(data_dir, dir),
            date: r.started_at.date_naive(),
            text: format_line(r),
        };
        if self.tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Appends lines until `shutdown`, then writes what is queued and returns. Runs once: a second
/// call finds no receiver and returns at once.
pub(crate) async fn run(log_file: &LogFile, shutdown: CancellationToken) {
    let Some(mut rx) = log_file.rx.lock().take() else {
        return;
    };
    let mut file: Option<(PathBuf, tokio::io::BufWriter<tokio::fs::File>)> = None;
    let mut lines = Vec::with_capacity(256);
    loop {
        let n = tokio::select! {
            biased;
            n = rx.recv_many(&mut lines, 256) => n,
            () = shutdown.cancelled() => {
                rx.close();
                rx.recv_many(&mut lines, CAPACITY).await
            }
        };
        if n == 0 {
            break;
        }
        for line in lines.drain(..) {
            if let Err(e) = append(&mut file, line).await {
                tracing::warn!(error = %e, "cannot write the request log file");
                log_file.dropped.fetch_add(1, Ordering::Relaxed);
                file = None;
            }
        }
        if let Some((_, w)) = file.as_mut()
            && let Err(e) = w.flush().await
        {
            tracing::warn!(error = %e, "cannot flush the request log file");
            file = None;
        }
        if shutdown.is_cancelled() && rx.is_empty() {
            break;
        }
    }
    if let Some((_, mut w)) = file {
        let _ = w.flush().await;
    }
}

/// Writes one line to its day's file, (re)opening the file when the day or directory changes.
async fn append(
    file: &mut Option<(PathBuf, tokio::io::BufWriter<tokio::fs::File>)>,
    line: Line,
) -> std::io::Result<()> {
    let path = line
        .dir
        .join(format!("switchboard-{}.log", line.date.format("%Y-%m-%d")));
    if file.as_ref().is_none_or(|(p, _)| *p != path) {
        if let Some((_, mut old)) = file.take() {
            old.flush().await?;
        }
        tokio::fs::create_dir_all(&line.dir).await?;
        let f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        *file = Some((path, tokio::io::BufWriter::new(f)));
    }
    if let Some((_, w)) = file.as_mut() {
        w.write_all(line.text.as_bytes()).await?;
        w.write_all(b"\n").await?;
    }
    Ok(())
}
