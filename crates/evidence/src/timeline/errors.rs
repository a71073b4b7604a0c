//! `errors.csv`: the error catalogue — for each error kind, the distinct failure messages with
//! counts, the first and last second each was seen, and a sample of the first response body —
//! and the hint that names the likely cause and the fix of each.

use super::row::ErrorKind;
use serde::{Deserialize, Serialize};

/// Most distinct messages a run keeps; later new messages are counted in one
/// [`OTHER_MESSAGES`] row per kind, so the catalogue has at most `MAX_MESSAGES + 6` rows
/// whatever the failures look like.
pub const MAX_MESSAGES: usize = 64;
/// The message of the row that counts every message past [`MAX_MESSAGES`].
pub const OTHER_MESSAGES: &str = "(other messages)";
/// Longest message kept, in characters (longer ones are cut and end in `…`).
pub const MAX_MESSAGE_CHARS: usize = 300;
/// Longest response-body sample kept, in bytes.
pub const SAMPLE_BYTES: usize = 256;

/// One distinct failure message of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRow {
    /// The error kind's name (`connect`, `timeout`, `4xx`, `5xx`, `backpressure`, `other`): the
    /// `err_<kind>` column this message is counted in.
    pub kind: String,
    /// The message, normalised: numbers of 4 or more digits (ports, ids) read `N`.
    pub message: String,
    pub count: u64,
    /// Seconds of the run clock (as `timeline.csv`'s `t_s`) it was first and last seen.
    pub first_s: u64,
    pub last_s: u64,
    /// The start of the first response body with this message (HTTP errors only), secrets
    /// redacted, control characters replaced; empty when there was none.
    pub sample: String,
}

/// Columns of `errors.csv`.
pub const ERROR_COLUMNS: &[&str] = &["kind", "message", "count", "first_s", "last_s", "sample"];

impl ErrorRow {
    /// The likely cause and fix, when the message is a common one.
    pub fn hint(&self) -> Option<&'static str> {
        hint(&self.kind, &self.message)
    }
}

/// The likely cause and fix of a failure of `kind` (its name) with `message`.
pub fn hint(kind: &str, message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["certificaterequired", "certificate required"]) {
        return Some("the server asks for a client certificate: see --cert / --key");
    }
    if has(&["notvalidforname", "not valid for name"]) {
        return Some(
            "the server's certificate does not name the host in --host: use the name it was issued for, or --insecure",
        );
    }
    if has(&[
        "certificate expired",
        "not valid yet",
        "notvalidyet",
        "expired",
    ]) && has(&["certificate"])
    {
        return Some(
            "the server's certificate is outside its validity period (--cacert cannot fix that): renew it, or check this machine's clock; --insecure skips verification",
        );
    }
    if has(&["causedasendentity"]) {
        return Some(
            "the server's certificate is marked as a CA (CA:TRUE): pass that very certificate to --cacert, or issue the server one with CA:FALSE; --insecure skips verification",
        );
    }
    if has(&["certificate", "unknownissuer", "unknown issuer"]) {
        return Some(
            "the server's certificate is not trusted: see --cacert (trust its CA) / --insecure (no verification)",
        );
    }
    if kind == ErrorKind::Connect.name() {
        if has(&["refused"]) {
            return Some(
                "nothing listens at the target's host:port: is the service up, and the port right?",
            );
        }
        if has(&[
            "dns error",
            "lookup address",
            "name or service not known",
            "nodename nor servname",
        ]) {
            return Some("the target's host name does not resolve: check --host");
        }
        if has(&["reset", "closed", "broken pipe"]) {
            return Some(
                "the server closed connections mid-request: pods restarting, draining or overloaded",
            );
        }
        if has(&["timed out", "timeout"]) {
            return Some(
                "no TCP connection within --timeout: a firewall, a wrong address, or a saturated server",
            );
        }
        return None;
    }
    if kind == ErrorKind::Timeout.name() {
        return Some(
            "no complete answer within --timeout: the service is overloaded or stalled (raise --timeout only if slow answers are acceptable)",
        );
    }
    let status = message
        .strip_prefix("HTTP ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(400 | 422) => Some(
            "the service rejected the request body: check the scenario's body against what the model expects",
        ),
        Some(401 | 403) => {
            Some("not authorised: pass credentials, e.g. --header 'Authorization: Bearer ${TOKEN}'")
        }
        Some(404) => Some(
            "the path does not exist on the target: check the request's path (and any prefix in --host; an Ingress host rule needs --header 'Host: …')",
        ),
        Some(405) => Some("the endpoint does not accept this method: check the request's method"),
        Some(413) => Some(
            "the body is too large for the service or a proxy in front of it (an Ingress's body-size limit)",
        ),
        Some(429) => Some(
            "rate-limited: a limit in front of the service (gateway, ingress) is below the load",
        ),
        Some(503) => {
            Some("no capacity: no ready endpoint behind the Service, or the service shedding load")
        }
        Some(502 | 504) => Some(
            "a proxy in front of the service got no good answer in time: pods restarting or overloaded",
        ),
        Some(500) => Some("the service failed internally: see its logs"),
        Some(300..=399) => Some(
            "the target redirects (e.g. http → https): put the final URL in --host, or list the status in expect_status",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_causes_have_a_hint_naming_the_fix() {
        let cases = [
            (
                "connect",
                "client error (Connect): tcp connect error: Connection refused (os error 111)",
                "nothing listens",
            ),
            (
                "connect",
                "client error (Connect): invalid peer certificate: UnknownIssuer",
                "--cacert",
            ),
            (
                "connect",
                "client error (Connect): invalid peer certificate: certificate expired: verification time N (UNIX), but certificate is not valid after N (N seconds ago)",
                "renew it",
            ),
            (
                "connect",
                "client error (Connect): invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))",
                "pass that very certificate to --cacert",
            ),
            (
                "connect",
                "client error (Connect): received fatal alert: CertificateRequired",
                "--cert",
            ),
            (
                "connect",
                "client error (Connect): dns error: failed to lookup address information",
                "--host",
            ),
            ("timeout", "no complete response within 30s", "--timeout"),
            ("4xx", "HTTP 404 Not Found", "path"),
            ("4xx", "HTTP 405 Method Not Allowed", "method"),
            ("4xx", "HTTP 413 Payload Too Large", "too large"),
            ("backpressure", "HTTP 429 Too Many Requests", "rate-limited"),
            (
                "backpressure",
                "HTTP 503 Service Unavailable",
                "no ready endpoint",
            ),
            ("other", "HTTP 301 Moved Permanently", "redirects"),
        ];
        for (kind, message, word) in cases {
            let h = hint(kind, message).unwrap_or_else(|| panic!("no hint for {message}"));
            assert!(h.contains(word), "{message}: {h}");
        }
        assert_eq!(hint("5xx", "HTTP 599 Whatever"), None);
        assert_eq!(hint("other", "body cut short"), None);
    }
}
