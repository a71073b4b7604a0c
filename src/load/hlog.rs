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

/// Adds serialized histograms (V2, deflate: as [`encode_compact`] and the logs write them)
/// into a histogram without decoding each into one of its own: a decoded histogram of
/// millisecond latencies allocates and zeroes ~50 KB, which dominated merging 10 workers × 1 h.
/// Each non-zero bucket is recorded at its value (`value_from_index` of the serialized
/// histogram's layout), so the sum is exactly what decoding and `add` give.
#[derive(Debug, Default)]
pub struct Adder {
    inflated: Vec<u8>,
}

const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9304 | 0x10;

impl Adder {
    pub fn add(&mut self, bytes: &[u8], into: &mut Histogram<u64>) -> Result<(), ReadError> {
        use std::io::Read;
        let bad = |what: &str| ReadError(format!("a histogram does not decode: {what}"));
        let u32_at = |b: &[u8], at: usize| -> Result<u32, ReadError> {
            b.get(at..at + 4)
                .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
                .ok_or_else(|| bad("truncated"))
        };
        if u32_at(bytes, 0)? != V2_COMPRESSED_COOKIE {
            return Err(bad("not a V2 deflate histogram"));
        }
        let len = u32_at(bytes, 4)? as usize;
        let compressed = bytes.get(8..8 + len).ok_or_else(|| bad("truncated"))?;
        self.inflated.clear();
        flate2::read::ZlibDecoder::new(compressed)
            .read_to_end(&mut self.inflated)
            .map_err(|e| bad(&e.to_string()))?;
        let v2 = &self.inflated[..];
        if u32_at(v2, 0)? != V2_COOKIE {
            return Err(bad("not a V2 histogram"));
        }
        let payload_len = u32_at(v2, 4)? as usize;
        let digits = u32_at(v2, 12)?;
        let low = v2
            .get(16..24)
            .map(|s| u64::from_be_bytes(s.try_into().unwrap_or_default()))
            .ok_or_else(|| bad("truncated"))?;
        let payload = v2
            .get(40..40 + payload_len)
            .ok_or_else(|| bad("truncated"))?;
        if low == 0 || !(1..=5).contains(&digits) {
            return Err(bad("invalid parameters"));
        }
        // The bucket layout of hdrhistogram's `new_with_bounds(low, _, digits)`.
        let unit_magnitude = low.ilog2();
        let largest = 2 * 10_u64.pow(digits);
        let sub_bucket_count_magnitude = largest.next_power_of_two().ilog2();
        let half_magnitude = sub_bucket_count_magnitude - 1;
        let half_count = 1_u64 << half_magnitude;
        let value_of = |index: u64| -> u64 {
            let bucket = (index >> half_magnitude) as i64 - 1;
            let mut sub_bucket = (index & (half_count - 1)) + half_count;
            let bucket = if bucket < 0 {
                sub_bucket -= half_count;
                0
            } else {
                bucket as u32
            };
            sub_bucket << (bucket + unit_magnitude)
        };
        let mut index = 0_u64;
        let mut at = 0;
        while at < payload.len() {
            let (n, read) = varint(&payload[at..]).ok_or_else(|| bad("truncated varint"))?;
            at += read;
            let count_or_zeros = ((n >> 1) as i64) ^ -((n & 1) as i64);
            if count_or_zeros < 0 {
                index += count_or_zeros.unsigned_abs();
            } else {
                if count_or_zeros > 0 {
                    into.record_n(value_of(index), count_or_zeros as u64)
                        .map_err(|e| bad(&format!("{e:?}")))?;
                }
                index += 1;
            }
        }
        Ok(())
    }
}

/// HdrHistogram's LEB128 variant: 7 bits per byte, the 9th byte whole. (value, bytes read).
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0_u64;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        if i == 8 {
            return Some((value | (u64::from(b) << 56), 9));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(h: &Histogram<u64>) -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    #[test]
    fn adding_serialized_histograms_equals_decoding_and_adding_them() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut via_decode = crate::load::histogram::<u64>();
        let mut via_adder = crate::load::histogram::<u64>();
        let (mut decoder, mut adder) = (Decoder::default(), Adder::default());
        for round in 0..50 {
            let mut h = crate::load::histogram::<u64>();
            // From 1 µs to ~10 minutes, counts up to thousands: every bucket size and a
            // multi-byte varint.
            let top = 10_u64.pow(1 + round % 9);
            for _ in 0..(next() % 2000) {
                h.record_n(1 + next() % top, 1 + next() % 3000)
                    .expect("auto-resizing");
            }
            let bytes = encode_compact(&h);
            via_decode
                .add(decoder.decode(&bytes).expect("decodes"))
                .expect("adds");
            adder.add(&bytes, &mut via_adder).expect("adds");
            assert_eq!(recorded(&via_adder), recorded(&via_decode), "round {round}");
            assert_eq!(via_adder.len(), via_decode.len());
        }
        assert!(via_adder.len() > 10_000);
        assert!(adder.add(b"not a histogram", &mut via_adder).is_err());
    }
}
