//! HdrHistogram interval logs (V2, deflate) of a run's latency: one entry per second and kind
//! (`raw`, `corrected`, `all_raw`, `send_late`, and `endpoint=<name>` per serving endpoint),
//! and the whole run's histograms, so that runs from several machines merge exactly
//! (`scaleproof merge`). Closed seconds are kept compact until the run ends.

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use std::time::{Duration, SystemTime};

/// Tags of the per-second log, in the order each second's histograms are written (then one
/// [`endpoint_tag`] per endpoint that answered in that second).
pub const HISTOGRAM_TAGS: [&str; 4] = ["raw", "corrected", "all_raw", "send_late"];

/// A closed second's histograms, V2 + deflate: a few hundred bytes each, so that memory stays
/// flat over long runs (bench/soak.py).
pub fn encode_compact<T: hdrhistogram::Counter>(h: &Histogram<T>) -> Vec<u8> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serializing a histogram into a Vec cannot fail");
    bytes
}

/// One closed second's compact histograms, each with its tag.
pub type CompactSecond = (u64, Vec<(String, Vec<u8>)>);

/// The per-second log: each second's compact histograms with their tags, decoded one at a
/// time as they are written.
pub fn per_second(started: SystemTime, seconds: &[CompactSecond]) -> Vec<u8> {
    let mut decoder = Decoder::default();
    let written: Result<_, std::convert::Infallible> = per_second_with(started, |put| {
        for (s, encoded) in seconds {
            for (tag, bytes) in encoded {
                let h = decoder
                    .decode(bytes)
                    .expect("bytes written by V2DeflateSerializer read back");
                put(*s, tag, &h);
            }
        }
        Ok(())
    });
    match written {
        Ok(log) => log,
    }
}

/// The whole-run log: `raw`, `corrected`, `all_raw`, then `endpoint=<name>` per endpoint.
pub fn whole_run<'a>(
    started: SystemTime,
    span: Duration,
    histograms: impl IntoIterator<Item = (String, &'a Histogram<u64>)>,
) -> Vec<u8> {
    write(
        started,
        "scaleproof whole-run latency, microseconds; tags: raw, corrected, all_raw, endpoint=<name>",
        histograms
            .into_iter()
            .map(|(tag, h)| (Duration::ZERO, span, tag, h.clone())),
    )
}

/// One entry of an interval log as read back: its start (from the log's base time), tag and
/// histogram, still serialized (V2 + deflate: a few hundred bytes, where a decoded histogram
/// of millisecond latencies takes ~100 KB — decode with a [`Decoder`] when needed).
pub type Entry = (Duration, String, Vec<u8>);

/// Why an interval log could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(String);

/// Decodes serialized histograms (as [`read`] returns them), reusing one buffer.
pub struct Decoder(Deserializer);

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoder")
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self(Deserializer::new())
    }
}

impl Decoder {
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Histogram<u64>, ReadError> {
        self.0
            .deserialize(&mut &bytes[..])
            .map_err(|e| ReadError(format!("a histogram does not decode: {e:?}")))
    }
}

/// Reads every histogram of an interval log written by [`per_second`] or [`whole_run`], kept
/// serialized.
pub fn read(log: &[u8]) -> Result<Vec<Entry>, ReadError> {
    use base64::Engine;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(log) {
        let entry = entry.map_err(|e| ReadError(format!("malformed interval log: {e:?}")))?;
        if let LogEntry::Interval(h) = entry {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.encoded_histogram())
                .map_err(|e| ReadError(format!("a histogram is not base64: {e}")))?;
            let tag = h.tag().map(|t| t.as_str().to_owned()).unwrap_or_default();
            out.push((h.start_timestamp(), tag, bytes));
        }
    }
    Ok(out)
}

/// An endpoint's tag: interval-log tags may not hold commas or white space.
pub fn endpoint_tag(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c == ',' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("endpoint={safe}")
}

/// Writes an interval log of `(start, length, tag, histogram)` entries.
fn write(
    started: SystemTime,
    comment: &str,
    entries: impl IntoIterator<Item = (Duration, Duration, String, Histogram<u64>)>,
) -> Vec<u8> {
    let filled: Result<_, std::convert::Infallible> = write_with(started, comment, |put| {
        for (start, length, tag, h) in entries {
            put(start, length, &tag, &h);
        }
        Ok(())
    });
    match filled {
        Ok(out) => out,
    }
}

/// Writes a per-second log whose histograms `fill` hands over one at a time, as it makes
/// them: `put(second, tag, histogram)` (nothing is kept but the log itself).
pub fn per_second_with<E>(
    started: SystemTime,
    fill: impl FnOnce(&mut dyn FnMut(u64, &str, &Histogram<u64>)) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    write_with(started, PER_SECOND_COMMENT, |put| {
        fill(&mut |s, tag, h| put(Duration::from_secs(s), Duration::from_secs(1), tag, h))
    })
}

/// Appends the entries of `other`, an interval log written like `log` (same start and base
/// time), to `log`: its header lines (`#…` and the column legend `"…`) are left out, and
/// entry lines never start with either.
pub fn append_entries(log: &mut Vec<u8>, other: &[u8]) {
    for line in other.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"#") && !line.starts_with(b"\"") {
            log.extend_from_slice(line);
        }
    }
}

/// The per-second log's header comment.
const PER_SECOND_COMMENT: &str = "scaleproof per-second latency, microseconds; tags: raw, corrected, all_raw, send_late, endpoint=<name>";

/// Writes an interval log whose entries `fill` puts in one at a time.
fn write_with<E>(
    started: SystemTime,
    comment: &str,
    fill: impl FnOnce(&mut dyn FnMut(Duration, Duration, &str, &Histogram<u64>)) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(comment)
        .with_start_time(started)
        .with_base_time(started);
    let mut log = builder
        .begin_log_with(&mut out, &mut serializer)
        .expect("writing an interval log header into a Vec cannot fail");
    fill(&mut |start, length, tag, h| {
        log.write_histogram(h, start, length, Tag::new(tag))
            .expect("writing into a Vec cannot fail");
    })?;
    drop(log);
    Ok(out)
}
