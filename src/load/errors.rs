//! The error catalogue as it fills: every failed request's message, normalised so that ports
//! and ids do not make each one unique, counted per (kind, message) with the seconds it was
//! first and last seen and the first response body's start. Bounded: past
//! [`MAX_MESSAGES`] distinct messages, new ones are counted in one [`OTHER_MESSAGES`] row per
//! kind, and each message is cut at [`MAX_MESSAGE_CHARS`].

pub use crate::support::chain::chain;
use crate::timeline::{
    ErrorKind, ErrorRow, MAX_MESSAGE_CHARS, MAX_MESSAGES, OTHER_MESSAGES, SAMPLE_BYTES,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// What is known of one failure besides its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureDetail {
    pub message: String,
    /// The start of the response body, for HTTP errors (at most [`SAMPLE_BYTES`]).
    pub body: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Entry {
    count: u64,
    first_s: u64,
    last_s: u64,
    sample: String,
}

/// Distinct failure messages with counts; cheap to share.
#[derive(Debug, Default)]
pub struct ErrorCatalogue {
    entries: Mutex<HashMap<(ErrorKind, String), Entry>>,
}

impl ErrorCatalogue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one failure of `kind` seen in second `second`.
    pub fn add(&self, second: u64, kind: ErrorKind, detail: &FailureDetail) {
        let mut key = (kind, normalise(&detail.message));
        let mut entries = crate::support::lock::lock(&self.entries);
        // A new message past the cap (the "other" rows are not counted in it) joins its kind's
        // "other" row.
        if !entries.contains_key(&key) && entries.len() - other_rows(&entries) >= MAX_MESSAGES {
            key.1 = OTHER_MESSAGES.to_owned();
        }
        let is_other = key.1 == OTHER_MESSAGES;
        let entry = entries.entry(key).or_insert_with(|| Entry {
            count: 0,
            first_s: second,
            last_s: second,
            sample: match (&detail.body, is_other) {
                (Some(body), false) => sample(body),
                _ => String::new(),
            },
        });
        entry.count += 1;
        entry.first_s = entry.first_s.min(second);
        entry.last_s = entry.last_s.max(second);
    }

    /// The catalogue's rows: by kind (in the `err_*` column order), then most frequent first.
    pub fn rows(&self) -> Vec<ErrorRow> {
        let entries = crate::support::lock::lock(&self.entries);
        let mut rows: Vec<(usize, ErrorRow)> = entries
            .iter()
            .map(|((kind, message), e)| {
                (
                    *kind as usize,
                    ErrorRow {
                        kind: kind.name().to_owned(),
                        message: message.clone(),
                        count: e.count,
                        first_s: e.first_s,
                        last_s: e.last_s,
                        sample: e.sample.clone(),
                    },
                )
            })
            .collect();
        rows.sort_by(|(ka, a), (kb, b)| {
            ka.cmp(kb)
                .then((a.message == OTHER_MESSAGES).cmp(&(b.message == OTHER_MESSAGES)))
                .then(b.count.cmp(&a.count))
                .then(a.message.cmp(&b.message))
        });
        rows.into_iter().map(|(_, r)| r).collect()
    }
}

fn other_rows(entries: &HashMap<(ErrorKind, String), Entry>) -> usize {
    ErrorKind::ALL
        .iter()
        .filter(|k| entries.contains_key(&(**k, OTHER_MESSAGES.to_owned())))
        .count()
}

/// A message with every run of 4 or more digits read as `N` (ports, ids, byte counts) and
/// whitespace runs as one space, cut at [`MAX_MESSAGE_CHARS`].
pub fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS + 4));
    let mut chars = message.chars().peekable();
    let mut kept = 0;
    while let Some(c) = chars.next() {
        if kept >= MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        if c.is_ascii_digit() {
            let mut run = String::from(c);
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                run.push(d);
                chars.next();
            }
            out.push_str(if run.len() >= 4 { "N" } else { &run });
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|d| d.is_whitespace()) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
        kept += 1;
    }
    out.trim().to_owned()
}

/// The start of a response body as text: lossy UTF-8, control characters as spaces.
fn sample(body: &[u8]) -> String {
    let cut = &body[..body.len().min(SAMPLE_BYTES)];
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(message: &str) -> FailureDetail {
        FailureDetail {
            message: message.to_owned(),
            body: None,
        }
    }

    #[test]
    fn ports_and_ids_do_not_make_messages_distinct() {
        assert_eq!(
            normalise("tcp connect error: 127.0.0.1:54321: Connection refused (os error 111)"),
            "tcp connect error: 127.0.0.1:N: Connection refused (os error 111)"
        );
        assert_eq!(
            normalise("  request   id 123456\n failed "),
            "request id N failed"
        );
        let long = "x".repeat(MAX_MESSAGE_CHARS * 2);
        assert_eq!(normalise(&long).chars().count(), MAX_MESSAGE_CHARS + 1);
        let c = ErrorCatalogue::new();
        c.add(3, ErrorKind::Connect, &detail("refused at 127.0.0.1:40001"));
        c.add(1, ErrorKind::Connect, &detail("refused at 127.0.0.1:40002"));
        c.add(7, ErrorKind::Connect, &detail("refused at 127.0.0.1:40003"));
        let rows = c.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].count, rows[0].first_s, rows[0].last_s), (3, 1, 7));
        assert_eq!(rows[0].message, "refused at 127.0.0.1:N");
    }

    #[test]
    fn rows_come_by_kind_then_count_and_keep_the_first_body() {
        let c = ErrorCatalogue::new();
        let body = |b: &str, m: &str| FailureDetail {
            message: m.to_owned(),
            body: Some(b.as_bytes().to_vec()),
        };
        c.add(
            0,
            ErrorKind::Status4xx,
            &body("{\"error\":\"first\"}\n", "HTTP 404 Not Found"),
        );
        c.add(
            1,
            ErrorKind::Status4xx,
            &body("second", "HTTP 404 Not Found"),
        );
        c.add(1, ErrorKind::Status4xx, &body("x", "HTTP 400 Bad Request"));
        c.add(2, ErrorKind::Connect, &detail("refused"));
        let rows = c.rows();
        let order: Vec<(&str, &str, u64)> = rows
            .iter()
            .map(|r| (r.kind.as_str(), r.message.as_str(), r.count))
            .collect();
        assert_eq!(
            order,
            [
                ("connect", "refused", 1),
                ("4xx", "HTTP 404 Not Found", 2),
                ("4xx", "HTTP 400 Bad Request", 1)
            ]
        );
        assert_eq!(rows[1].sample, "{\"error\":\"first\"}");
        let long = FailureDetail {
            message: "HTTP 500 Internal Server Error".to_owned(),
            body: Some(vec![b'a'; SAMPLE_BYTES * 4]),
        };
        c.add(3, ErrorKind::Status5xx, &long);
        let five = c.rows().into_iter().find(|r| r.kind == "5xx").expect("5xx");
        assert_eq!(five.sample.len(), SAMPLE_BYTES);
    }

    #[test]
    fn a_million_unique_looking_messages_stay_within_the_cap() {
        let c = ErrorCatalogue::new();
        let kinds = [ErrorKind::Connect, ErrorKind::Other];
        for i in 0..1_000_000u64 {
            // Short numbers survive normalisation: each of these is a distinct message.
            let m = format!("failure {} at {}", i % 997, i % 991);
            c.add(i / 10_000, kinds[(i % 2) as usize], &detail(&m));
        }
        let rows = c.rows();
        assert_eq!(
            rows.len(),
            MAX_MESSAGES + 2,
            "the cap plus one other row per kind"
        );
        assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), 1_000_000);
        let others: Vec<&ErrorRow> = rows
            .iter()
            .filter(|r| r.message == OTHER_MESSAGES)
            .collect();
        assert_eq!(others.len(), 2);
        assert!(others.iter().all(|r| r.first_s == 0 && r.last_s == 99));
    }
}
