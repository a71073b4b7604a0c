//! HdrHistogram interval logs (V2, deflate) of a run's latency: one entry per second and kind
//! (`raw`, `corrected`, `all_raw`), and the whole run's histograms, so that runs from several
//! machines merge exactly. Closed seconds are kept compact until the run ends.

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use std::time::{Duration, SystemTime};

/// Tags of the per-second log, in the order each second's histograms are written.
pub const HISTOGRAM_TAGS: [&str; 3] = ["raw", "corrected", "all_raw"];

/// A closed second's histograms, V2 + deflate: a few hundred bytes each, so that memory stays
/// flat over long runs (bench/soak.py).
pub fn encode_compact(h: &Histogram<u32>) -> Vec<u8> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serializing a histogram into a Vec cannot fail");
    bytes
}

/// The per-second log: each second's compact histograms, tagged [`HISTOGRAM_TAGS`].
pub fn per_second(started: SystemTime, seconds: &[(u64, [Vec<u8>; 3])]) -> Vec<u8> {
    let mut deserializer = Deserializer::new();
    let entries = seconds.iter().flat_map(|(s, encoded)| {
        HISTOGRAM_TAGS
            .iter()
            .zip(encoded)
            .map(move |(tag, bytes)| (*s, tag.to_string(), bytes))
    });
    let entries = entries.map(|(s, tag, bytes)| {
        let h: Histogram<u64> = deserializer
            .deserialize(&mut bytes.as_slice())
            .expect("bytes written by V2DeflateSerializer read back");
        (Duration::from_secs(s), Duration::from_secs(1), tag, h)
    });
    write(
        started,
        "scaleproof per-second latency, microseconds; tags: raw, corrected, all_raw",
        entries,
    )
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
    for (start, length, tag, h) in entries {
        log.write_histogram(&h, start, length, Tag::new(&tag))
            .expect("writing into a Vec cannot fail");
    }
    drop(log);
    out
}
