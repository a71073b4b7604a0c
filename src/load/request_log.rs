//! Optional per-request log (`--request-log FILE`): one CSV line per finished request, for
//! audits and for checking the recorder's percentiles against exact ones.

use super::clock::StartClock;
use super::recorder::Sample;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Column names of the request log.
pub const COLUMNS: &[&str] = &[
    "due_us",
    "sent_us",
    "done_us",
    "latency_us",
    "corrected_us",
    "status",
    "outcome",
    "endpoint",
];

/// A CSV writer shared by every user.
#[derive(Debug)]
pub struct RequestLog {
    clock: Arc<StartClock>,
    writer: Mutex<csv::Writer<BufWriter<File>>>,
}

impl RequestLog {
    /// Creates (truncates) the file and writes the header; times count from the run clock.
    pub fn create(path: &Path, clock: Arc<StartClock>) -> std::io::Result<Self> {
        let mut writer = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
        writer
            .write_record(COLUMNS)
            .map_err(std::io::Error::other)?;
        Ok(Self {
            clock,
            writer: Mutex::new(writer),
        })
    }

    /// Appends one request.
    pub fn write(&self, s: &Sample) {
        let t0 = self.clock.t0();
        let at = |i: Instant| i.saturating_duration_since(t0).as_micros().to_string();
        let latency = s.done.saturating_duration_since(s.sent).as_micros().max(1);
        // The closed model has no due time: both cells stay empty.
        let corrected = s.due.map(|due| {
            s.done
                .saturating_duration_since(due.min(s.sent))
                .as_micros()
                .max(1)
                .to_string()
        });
        let record = [
            s.due.map(at).unwrap_or_default(),
            at(s.sent),
            at(s.done),
            latency.to_string(),
            corrected.unwrap_or_default(),
            s.status.map(|c| c.to_string()).unwrap_or_default(),
            s.outcome.name().to_owned(),
            s.endpoint.as_deref().unwrap_or_default().to_owned(),
        ];
        let mut writer = crate::support::lock::lock(&self.writer);
        if let Err(e) = writer.write_record(&record) {
            tracing::warn!("request log write failed: {e}");
        }
    }

    /// Flushes buffered lines to disk.
    pub fn flush(&self) -> std::io::Result<()> {
        crate::support::lock::lock(&self.writer).flush()
    }
}
