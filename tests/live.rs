//! The live page (`--live`) during a real run against the target-service on loopback: headless
//! Chromium opens it mid-run, and what it shows for its latest second must be what
//! `timeline.csv` holds for that second; its charts are drawn; a client that connects to the
//! event stream and never reads does not hold the run back; the page ends on the verdict and
//! serves report.html.

use crate::common;

use scaleproof::timeline::{self, TimelineRow};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The run, its stderr collected by a thread, and the live page's URL once printed.
struct LiveRun {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl LiveRun {
    fn start(base: &str, out: &Path, linger: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
            .args(["--host", base, "--threads", "1", "--rate", "200:0s,200:40s"])
            .args(["--live", "--live-linger", linger])
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start scaleproof --live");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self { child, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The live page's address, `127.0.0.1:PORT`.
    fn addr(&self) -> String {
        let mut addr = None;
        common::wait_until("the live page's URL", Duration::from_secs(30), || {
            addr = self
                .stderr()
                .lines()
                .find_map(|l| l.strip_prefix("scaleproof: live page http://"))
                .map(|a| a.trim_end_matches('/').to_owned());
            addr.is_some()
        });
        addr.expect("printed")
    }

    /// The number of seconds the terminal has printed.
    fn seconds_printed(&self) -> usize {
        self.stderr().lines().filter(|l| l.starts_with('[')).count()
    }

    fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().expect("wait");
        std::thread::sleep(Duration::from_millis(100));
        (status.code().expect("exit code"), self.stderr())
    }
}

/// `GET path` on the live page; the response's status line and body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

/// Chromium loads `url` and stops loading after `timeout_ms` (the event stream never ends
/// while the run goes on), then dumps or screenshots as `extra` asks.
fn chromium_page(
    browser: &str,
    url: &str,
    profile: &Path,
    timeout_ms: u64,
    extra: &[String],
) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1920,1080",
        ])
        .arg(format!("--timeout={timeout_ms}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium")
}

/// The text of the element with `id` in a DOM dump.
fn element(dom: &str, id: &str) -> String {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &dom[start..];
    let open = rest.find('>').expect("tag end") + 1;
    let close = rest[open..].find('<').expect("text end");
    rest[open..open + close].to_owned()
}

fn attribute(dom: &str, tag_start: &str, name: &str) -> String {
    let at = dom
        .find(tag_start)
        .unwrap_or_else(|| panic!("no {tag_start}"));
    let rest = &dom[at..];
    let key = format!("{name}=\"");
    let v = rest.find(&key).expect("attribute") + key.len();
    rest[v..v + rest[v..].find('"').expect("quote")].to_owned()
}

/// The page's latency format: 2 decimals under 10 ms, 1 under 100, whole above.
fn ms(us: Option<u64>) -> String {
    match us {
        None => "–".to_owned(),
        Some(us) => {
            let v = us as f64 / 1000.0;
            if v >= 100.0 {
                format!("{} ms", v.round())
            } else if v >= 10.0 {
                format!("{v:.1} ms")
            } else {
                format!("{v:.2} ms")
            }
        }
    }
}

#[test]
fn the_live_page_shows_each_second_as_timeline_csv_records_it_and_ends_on_the_verdict() {
    let Some(browser) = common::chromium() else {
        return;
    };
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("live", None);
    let work = tempfile::tempdir().expect("tempdir");
    let run = LiveRun::start(&target.base, &work.path().join("out"), "4s");
    let addr = run.addr();
    // A client that opens the event stream and never reads it.
    let mut stuck = TcpStream::connect(&addr).expect("connect");
    write!(stuck, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
    common::wait_until("3 seconds of load", Duration::from_secs(30), || {
        run.seconds_printed() >= 3
    });
    let url = format!("http://{addr}/");
    // Chromium dumps the page when loading stops, which on a loaded machine may come before
    // the first event has been drawn: ask again, waiting longer, until a second is shown.
    const WAITS_MS: [u64; 4] = [2500, 4000, 6000, 8000];
    let mut dom = String::new();
    for (attempt, wait) in WAITS_MS.iter().enumerate() {
        let out = chromium_page(
            browser,
            &url,
            &work.path().join(format!("p1-{attempt}")),
            *wait,
            &["--dump-dom".to_owned()],
        );
        dom = String::from_utf8_lossy(&out.stdout).into_owned();
        if !dom.contains("data-second=\"\"") {
            break;
        }
    }
    // The same for the screenshot: until the ok-rps line (Okabe–Ito blue) is drawn.
    let shot = work.path().join("mid.png");
    let mut shot_err = String::new();
    let mut blue = 0;
    for (attempt, wait) in WAITS_MS.iter().enumerate() {
        let out = chromium_page(
            browser,
            &url,
            &work.path().join(format!("p2-{attempt}")),
            *wait,
            &[format!("--screenshot={}", shot.display())],
        );
        shot_err = String::from_utf8_lossy(&out.stderr).into_owned();
        if !shot.exists() {
            continue;
        }
        let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("open"));
        let mut reader = decoder.read_info().expect("png");
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).expect("frame");
        assert_eq!((frame.width, frame.height), (1920, 1080));
        let step = frame.color_type.samples();
        blue = buf[..frame.buffer_size()]
            .chunks(step)
            .filter(|p| p[..3] == [0x00, 0x72, 0xB2])
            .count();
        if blue > 200 {
            break;
        }
    }
    assert!(
        !dom.contains("data-ended=\"true\""),
        "the page was read after the run ended: not mid-run"
    );
    let second: u64 = attribute(&dom, "<body", "data-second")
        .parse()
        .unwrap_or_else(|_| panic!("no second shown: {}", &dom[..dom.len().min(2000)]));
    let rps = element(&dom, "fig-rps");
    let p95 = element(&dom, "fig-p95");
    let points: u64 = attribute(&dom, "id=\"c-rps\"", "data-points")
        .parse()
        .expect("points");

    let (code, stderr) = run.wait();
    // The built-in scenario expects ≥ 1,000 ok rps; this run sustains 200.
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("shows the verdict for 4s more"), "{stderr}");
    let dir = common::only_run_dir(&work.path().join("out"));
    let rows: Vec<TimelineRow> = timeline::RunDir::open(&dir)
        .read(&timeline::TIMELINE)
        .expect("timeline.csv");
    let row = rows
        .iter()
        .find(|r| r.t_s == second)
        .unwrap_or_else(|| panic!("second {second} is not in timeline.csv"));
    assert_eq!(
        rps,
        format!("{}", row.ok_rps.round()),
        "ok rps of second {second}"
    );
    assert_eq!(
        p95,
        ms(row.p95_corrected_us),
        "p95 corrected of second {second}"
    );
    // The throughput chart had a point per second shown, for each of its three lines.
    assert_eq!(points, 3 * (second + 1), "points drawn by second {second}");
    assert!(shot.exists(), "no screenshot: {shot_err}");
    assert!(
        blue > 200,
        "the ok-rps line is not on screen ({blue} pixels)"
    );
    // The stuck client held nothing back: every planned request was sent.
    let meta = timeline::RunDir::open(&dir).read_meta().expect("run.json");
    assert_eq!(meta.totals.requests + meta.totals.dropped, 8000);
    assert_eq!(meta.totals.dropped, 0);
    drop(stuck);
}

#[test]
fn after_the_run_the_page_serves_the_verdict_and_the_report() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("live-end", None);
    let work = tempfile::tempdir().expect("tempdir");
    let run = LiveRun::start(&target.base, &work.path().join("out"), "60s");
    let addr = run.addr();
    let (status, page) = get(&addr, "/");
    assert!(status.contains("200"), "{status}");
    assert!(
        [
            "src=\"http",
            "href=\"http",
            "url(http",
            "EventSource(\"http",
            "fetch(\"http"
        ]
        .iter()
        .all(|p| !page.contains(p)),
        "the page loads nothing from elsewhere"
    );
    let (status, _) = get(&addr, "/report.html");
    assert!(status.contains("404"), "no report before the end: {status}");
    common::wait_until("the end of the run", Duration::from_secs(120), || {
        run.stderr().contains("shows the verdict for")
    });
    let (status, report) = get(&addr, "/report.html");
    assert!(status.contains("200"), "{status}");
    assert!(report.contains("<html"), "report.html");
    let (_, events) = {
        // The event stream replays the run and its end, then closes.
        let mut stream = TcpStream::connect(&addr).expect("connect");
        write!(stream, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        ((), text)
    };
    let dir = common::only_run_dir(&work.path().join("out"));
    let rows: Vec<TimelineRow> = timeline::RunDir::open(&dir)
        .read(&timeline::TIMELINE)
        .expect("timeline.csv");
    assert_eq!(events.matches("event: hello").count(), 1);
    // Every second of timeline.csv, the last (closed at the end) included.
    assert_eq!(events.matches("event: second").count(), rows.len());
    assert!(events.contains("event: end"), "{events}");
    assert!(
        events.contains("\"state\":\"fail\""),
        "the built-in rps expectation fails"
    );
    let mut child = run.child;
    let _ = child.kill();
    let _ = child.wait();
}
