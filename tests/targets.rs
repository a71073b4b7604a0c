//! Real targets, on loopback: HTTPS with a private CA (untrusted, trusted with --cacert,
//! unverified with --insecure, mutual TLS), an Ingress-like Host-routed target, a token from
//! the environment that must never be written anywhere, and the error catalogue that explains
//! each failure once instead of a log line per request.

use crate::common::tls::{Pki, TlsTarget};
use crate::common::{self, one_attack_at_a_time};
use axum::http::{HeaderMap, StatusCode};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const SMOKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/smoke.toml");
/// 100 requests/s for 2 s: exactly 200 planned requests.
const RATE: &str = "100:0s,100:2s";

/// Runs the binary at `host` with the smoke scenario's requests at [`RATE`].
fn run(out: &Path, host: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args([
            "--quiet",
            "--host",
            host,
            "--scenario",
            SMOKE,
            "--rate",
            RATE,
        ])
        .args(args)
        .arg("--out")
        .arg(out)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .expect("run scaleproof")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(dir: &Path, file: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(file)).expect(file)).expect("json")
}

/// Runs at `host` and checks that every one of the 200 planned requests succeeded; returns the
/// run directory, stderr and `summary.json`.
fn clean_run(out: &Path, host: &str, args: &[&str]) -> (PathBuf, String, serde_json::Value) {
    let o = run(out, host, args, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let dir = common::only_run_dir(out);
    let s = json(&dir, "summary.json");
    assert_eq!(
        (
            s["totals"]["requests"].as_u64(),
            s["totals"]["errors"].as_u64()
        ),
        (Some(200), Some(0)),
        "{err}"
    );
    (dir, err, s)
}

#[test]
fn an_untrusted_certificate_is_explained_once_and_cacert_or_insecure_fix_it() {
    let _one = one_attack_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let pki = Pki::create(tmp.path());
    let target = TlsTarget::start(&pki, "pod-tls", false);

    let untrusted = tmp.path().join("untrusted");
    let o = run(&untrusted, &target.base, &[], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let dir = common::only_run_dir(&untrusted);
    let s = json(&dir, "summary.json");
    assert_eq!(s["totals"]["requests"], 200, "{err}");
    assert_eq!(s["totals"]["err_connect"], 200, "{err}");
    let errors = s["errors"].as_array().expect("catalogue");
    assert_eq!(errors.len(), 1, "one message for 200 failures: {errors:?}");
    assert_eq!(errors[0]["kind"], "connect");
    assert_eq!(errors[0]["count"], 200);
    let message = errors[0]["message"].as_str().expect("message");
    assert!(message.contains("invalid peer certificate"), "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(
        errors[0]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("--cacert")),
        "{errors:?}"
    );
    let csv = std::fs::read_to_string(dir.join("errors.csv")).expect("errors.csv");
    assert!(
        csv.starts_with("kind,message,count,first_s,last_s,sample\n"),
        "{csv}"
    );
    assert!(csv.contains("UnknownIssuer"), "{csv}");
    // The terminal gets one explained line, not one library log line per handshake.
    assert!(
        err.contains("200 connect errors:") && err.contains("see --cacert"),
        "{err}"
    );
    assert!(!err.contains("rustls"), "library logs leaked: {err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes on a non-terminal: {err}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(html.contains("<h2>Errors</h2>") && html.contains("UnknownIssuer"));
    assert_eq!(target.state.metrics().requests_total("/predict"), 0);

    let trusted = tmp.path().join("trusted");
    let ca = pki.ca_pem.to_str().expect("utf-8");
    let (dir, err, s) = clean_run(&trusted, &target.base, &["--cacert", ca]);
    assert_eq!(s["errors"], serde_json::json!([]));
    assert_eq!(
        s["totals"]["endpoints"], 1,
        "X-Served-By is read over HTTPS too"
    );
    let meta = json(&dir, "run.json");
    assert_eq!(meta["tls"]["insecure"], false);
    assert_eq!(meta["tls"]["cacert"], ca);
    assert!(!err.contains("WARNING"), "{err}");

    let insecure = tmp.path().join("insecure");
    let (dir, err, s) = clean_run(&insecure, &target.base, &["--insecure"]);
    assert!(err.contains("WARNING: --insecure"), "{err}");
    assert_eq!(json(&dir, "run.json")["tls"]["insecure"], true);
    assert_eq!(s["tls"]["insecure"], true);
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(html.contains("TLS not verified (--insecure)"));
    assert_eq!(target.state.metrics().requests_total("/predict"), 2 * 160);
}

#[test]
fn mutual_tls_is_accepted_only_with_the_client_certificate() {
    let _one = one_attack_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let pki = Pki::create(tmp.path());
    let target = TlsTarget::start(&pki, "pod-mtls", true);
    let ca = pki.ca_pem.to_str().expect("utf-8");

    let without = tmp.path().join("without");
    let o = run(&without, &target.base, &["--cacert", ca], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let dir = common::only_run_dir(&without);
    let s = json(&dir, "summary.json");
    assert_eq!(
        (s["totals"]["requests"].as_u64(), s["totals"]["ok"].as_u64()),
        (Some(200), Some(0)),
        "{err}"
    );
    assert!(
        s["errors"]
            .as_array()
            .expect("catalogue")
            .iter()
            .any(|e| e["hint"].as_str().is_some_and(|h| h.contains("--cert"))),
        "{}",
        s["errors"]
    );

    let with = tmp.path().join("with");
    let args = [
        "--cacert",
        ca,
        "--cert",
        pki.client_cert.to_str().expect("utf-8"),
        "--key",
        pki.client_key.to_str().expect("utf-8"),
    ];
    let (dir, _, _) = clean_run(&with, &target.base, &args);
    assert_eq!(
        json(&dir, "run.json")["tls"]["client_cert"],
        pki.client_cert.to_str().expect("utf-8")
    );
}

/// Two virtual hosts on one port, as an Ingress with host rules: `api.test` is the real
/// service, anything else the default backend's 404.
fn virtual_hosts() -> (common::Target, Arc<AtomicU64>) {
    let misrouted = Arc::new(AtomicU64::new(0));
    let counter = misrouted.clone();
    let layer = axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let counter = counter.clone();
            async move {
                let host = request
                    .headers()
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if host == "api.test" {
                    next.run(request).await
                } else {
                    counter.fetch_add(1, Ordering::Relaxed);
                    axum::response::IntoResponse::into_response((
                        StatusCode::NOT_FOUND,
                        "default backend - 404",
                    ))
                }
            }
        },
    );
    (
        common::Target::start_with("pod-vhost", move |app| app.layer(layer)),
        misrouted,
    )
}

#[test]
fn a_host_routed_target_is_reached_only_with_the_host_header() {
    let _one = one_attack_at_a_time();
    let (target, misrouted) = virtual_hosts();
    let tmp = tempfile::tempdir().expect("tempdir");

    let bare = tmp.path().join("bare");
    let o = run(&bare, &target.base, &[], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let s = json(&common::only_run_dir(&bare), "summary.json");
    assert_eq!(s["totals"]["err_4xx"], 200, "{err}");
    let errors = s["errors"].as_array().expect("catalogue");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["message"], "HTTP 404 Not Found");
    assert_eq!(errors[0]["sample"], "default backend - 404");
    assert!(
        errors[0]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("--header 'Host:")),
        "{errors:?}"
    );
    assert!(err.contains("200 4xx errors: HTTP 404 Not Found"), "{err}");
    assert_eq!(misrouted.load(Ordering::Relaxed), 200);

    let routed = tmp.path().join("routed");
    let (dir, _, _) = clean_run(&routed, &target.base, &["-H", "Host: api.test"]);
    assert_eq!(
        misrouted.load(Ordering::Relaxed),
        200,
        "no request misrouted"
    );
    let meta = json(&dir, "run.json");
    assert_eq!(meta["requests"][0]["headers"]["host"], "api.test");
}

#[test]
fn a_token_from_the_environment_is_sent_but_written_nowhere() {
    let _one = one_attack_at_a_time();
    const TOKEN: &str = "tok-9f8e7d6c5b4a-secret";
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    // A gateway that checks the token, then refuses the request echoing the credentials in its
    // body (as careless error pages do): the body sample must come out redacted.
    let layer = axum::middleware::from_fn(
        move |headers: HeaderMap,
              _request: axum::extract::Request,
              _next: axum::middleware::Next| {
            let counter = counter.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if auth == format!("Bearer {TOKEN}") {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                axum::response::IntoResponse::into_response((
                    StatusCode::FORBIDDEN,
                    format!("credentials {auth} are not allowed here"),
                ))
            }
        },
    );
    let target = common::Target::start_with("pod-gateway", move |app| app.layer(layer));
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("runs");
    let log = tmp.path().join("runs/requests.csv");
    std::fs::create_dir_all(&out).expect("out");
    let args = [
        "-H",
        "Authorization: Bearer ${SCALEPROOF_TEST_TOKEN}",
        "--request-log",
        log.to_str().expect("utf-8"),
    ];
    let o = run(
        &out,
        &target.base,
        &args,
        &[("SCALEPROOF_TEST_TOKEN", TOKEN)],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        seen.load(Ordering::Relaxed),
        200,
        "the token was sent with every request"
    );
    assert!(!err.contains(TOKEN), "stderr shows the token: {err}");
    let dir = common::only_run_dir(&out);
    let mut files = Vec::new();
    collect_files(&out, &mut files);
    assert!(files.len() >= 10, "{files:?}");
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(TOKEN), "{} holds the token", file.display());
    }
    let s = json(&dir, "summary.json");
    assert_eq!(
        s["errors"][0]["sample"],
        "credentials *** are not allowed here"
    );
    assert_eq!(
        json(&dir, "run.json")["requests"][0]["headers"]["authorization"],
        "***"
    );

    // An unset variable: a clear error naming it, and nothing sent.
    let unset = tmp.path().join("unset");
    let o = run(
        &unset,
        &target.base,
        &["-H", "X-Key: ${SCALEPROOF_UNSET_VAR}"],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--header") && err.contains("SCALEPROOF_UNSET_VAR is not set"),
        "{err}"
    );
    assert!(
        !unset.exists(),
        "no run directory for a run that never started"
    );
    assert_eq!(seen.load(Ordering::Relaxed), 200);
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn a_self_signed_certificate_marked_ca_is_trusted_as_the_servers_own_with_cacert() {
    use crate::common::tls::SelfSigned;
    let _one = one_attack_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    // As `openssl req -x509 … -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`.
    let cert = SelfSigned::create(tmp.path(), "c", &["localhost", "127.0.0.1"], 1);
    let target = TlsTarget::serve(cert.chain.clone(), cert.key.clone_key(), None, "pod-self");
    let pem = cert.pem.to_str().expect("utf-8");
    for (i, host) in [
        target.base.clone(),
        target.base.replace("127.0.0.1", "localhost"),
    ]
    .iter()
    .enumerate()
    {
        let (_, err, s) = clean_run(&tmp.path().join(format!("ok{i}")), host, &["--cacert", pem]);
        assert_eq!(s["errors"], serde_json::json!([]), "{err}");
    }
    // --insecure and a token header work with it as well.
    let (_, err, _) = clean_run(
        &tmp.path().join("insecure"),
        &target.base,
        &["--insecure", "-H", "Authorization: Bearer t0ken"],
    );
    assert!(err.contains("WARNING: --insecure"), "{err}");
    assert_eq!(target.state.metrics().requests_total("/predict"), 3 * 160);

    // The exception is for that certificate, for the names it holds, while it is valid.
    let refused = |name: &str, cert: &SelfSigned, host: &str| {
        let target = TlsTarget::serve(cert.chain.clone(), cert.key.clone_key(), None, name);
        let out = tmp.path().join(name);
        let o = run(
            &out,
            &host.replace("HOST", target.base.trim_start_matches("https://")),
            &["--cacert", cert.pem.to_str().expect("utf-8")],
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let s = json(&common::only_run_dir(&out), "summary.json");
        assert_eq!(s["totals"]["err_connect"], 200, "{}", stderr(&o));
        assert_eq!(target.state.metrics().requests_total("/predict"), 0);
        s["errors"][0].clone()
    };
    let expired = SelfSigned::create(tmp.path(), "expired", &["localhost", "127.0.0.1"], -2);
    let e = refused("expired", &expired, "https://HOST");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("certificate expired")),
        "{e}"
    );
    assert!(
        e["hint"].as_str().is_some_and(|h| h.contains("renew it")),
        "{e}"
    );
    let other = SelfSigned::create(tmp.path(), "other", &["other.example"], 1);
    let e = refused("other", &other, "https://HOST");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("not valid for name")),
        "{e}"
    );
    assert!(
        e["hint"]
            .as_str()
            .is_some_and(|h| h.contains("does not name the host")),
        "{e}"
    );
    // A certificate that is not the server's and not its issuer is still an unknown issuer.
    let target = TlsTarget::serve(expired.chain.clone(), expired.key.clone_key(), None, "x");
    let o = run(
        &tmp.path().join("wrong"),
        &target.base,
        &["--cacert", cert.pem.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}
