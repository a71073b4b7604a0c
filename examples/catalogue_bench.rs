//! Benchmark: the error catalogue under millions of failures whose messages look unique —
//! ports and request ids (normalised away) and short numbers (distinct messages, past the cap)
//! — printing, at each checkpoint, the rows kept, the process's resident memory and the cost
//! of one failure. Run by `python3 bench/errors.py` (bench/RESULTS.md records the numbers).

use scaleproof::load::errors::{ErrorCatalogue, FailureDetail};
use scaleproof::timeline::ErrorKind;
use std::time::Instant;

const CHECKPOINTS: [u64; 5] = [10_000, 100_000, 1_000_000, 3_000_000, 10_000_000];

/// Resident set size of this process, KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn message(i: u64) -> (ErrorKind, String) {
    match i % 3 {
        0 => (
            ErrorKind::Connect,
            format!(
                "client error (Connect): tcp connect error: 127.0.0.1:{}: Connection refused (os error 111), request {i}",
                40_000 + i % 20_000
            ),
        ),
        1 => (
            ErrorKind::Other,
            format!(
                "upstream shard {} answered garbage at offset {}",
                i % 997,
                i % 89
            ),
        ),
        _ => (
            ErrorKind::Status5xx,
            format!("HTTP 5{:02} from {}", i % 100, i % 7),
        ),
    }
}

fn main() {
    let catalogue = ErrorCatalogue::new();
    let body = Some(b"{\"error\":\"upstream timed out\"}".to_vec());
    let start_rss = rss_kib();
    let mut done = 0u64;
    println!(
        "{{\"start_rss_kib\":{}}}",
        start_rss.map_or("null".to_owned(), |v| v.to_string())
    );
    for checkpoint in CHECKPOINTS {
        let started = Instant::now();
        let from = done;
        while done < checkpoint {
            let (kind, text) = message(done);
            let detail = FailureDetail {
                message: text,
                body: body.clone(),
            };
            catalogue.add(done / 20_000, kind, &detail);
            done += 1;
        }
        let ns = started.elapsed().as_nanos() as f64 / (done - from) as f64;
        let rows = catalogue.rows();
        println!(
            "{{\"errors\":{done},\"rows\":{},\"counted\":{},\"rss_kib\":{},\"ns_per_error\":{ns:.0}}}",
            rows.len(),
            rows.iter().map(|r| r.count).sum::<u64>(),
            rss_kib().map_or("null".to_owned(), |v| v.to_string()),
        );
    }
}
