//! Sending a scenario's requests: the weighted mix, and one send with its outcome
//! classified.

use super::clients::HttpClient;
use super::errors::{self, FailureDetail};
use super::recorder::Outcome;
use crate::scenario::headers;
use crate::scenario::{BodySpec, RequestSpec};
use crate::timeline::{ErrorKind, SAMPLE_BYTES};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use reqwest::header::{HeaderMap, HeaderName};
use reqwest::{Method, Url};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug)]
struct PreparedRequest {
    url: Url,
    uri: hyper::Uri,
    method: Method,
    headers: HeaderMap,
    body: BodySpec,
    expect_status: Vec<u16>,
    rotation: AtomicUsize,
}

/// The scenario's requests, interleaved by weight (smooth weighted round-robin) so that any
/// stretch of the run sends them in their proportions.
#[derive(Debug)]
pub struct RequestMix {
    prepared: Vec<PreparedRequest>,
    order: Vec<usize>,
    next: AtomicUsize,
    /// Secret header values, scrubbed from failure messages and body samples.
    secrets: Vec<String>,
}

impl RequestMix {
    /// Resolves every path against `base`.
    pub fn new(base: &Url, specs: &[RequestSpec]) -> Result<Self, url::ParseError> {
        let prepared = specs
            .iter()
            .map(|s| {
                let url = base.join(s.path.trim_start_matches('/'))?;
                let uri = url
                    .as_str()
                    .parse::<hyper::Uri>()
                    .map_err(|_| url::ParseError::InvalidDomainCharacter)?;
                let mut headers = s.headers.clone();
                headers.entry(reqwest::header::USER_AGENT).or_insert(
                    reqwest::header::HeaderValue::from_static(concat!(
                        "scaleproof/",
                        env!("CARGO_PKG_VERSION")
                    )),
                );
                Ok(PreparedRequest {
                    url,
                    uri,
                    method: s.method.clone(),
                    headers,
                    body: s.body.clone(),
                    expect_status: s.expect_status.clone(),
                    rotation: AtomicUsize::new(0),
                })
            })
            .collect::<Result<Vec<_>, url::ParseError>>()?;
        let weights: Vec<u32> = specs.iter().map(|s| s.weight.max(1)).collect();
        let mut secrets: Vec<String> = specs
            .iter()
            .flat_map(|s| headers::secrets(&s.headers))
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Ok(Self {
            secrets,
            prepared,
            order: smooth_weighted_order(&weights),
            next: AtomicUsize::new(0),
        })
    }

    /// Sends the next request of the mix with `client`, reading the whole response body.
    pub async fn send_next(
        &self,
        client: &HttpClient,
        endpoint_header: &HeaderName,
        timeout: Duration,
    ) -> Answer {
        let i = self.order[self.next.fetch_add(1, Ordering::Relaxed) % self.order.len()];
        let p = &self.prepared[i];
        let body = match &p.body {
            BodySpec::None => Bytes::new(),
            BodySpec::Json(bytes) => bytes.clone(),
            BodySpec::Corpus { bodies, .. } => {
                let k = p.rotation.fetch_add(1, Ordering::Relaxed) % bodies.len();
                bodies[k].clone()
            }
        };
        let mut answer = match client {
            HttpClient::Plain(client) => {
                let mut request = hyper::Request::new(Full::new(body));
                *request.method_mut() = p.method.clone();
                *request.uri_mut() = p.uri.clone();
                *request.headers_mut() = p.headers.clone();
                let exchange = async {
                    let response = match client.request(request).await {
                        Ok(response) => response,
                        Err(e) => {
                            let kind = if e.is_connect() {
                                ErrorKind::Connect
                            } else {
                                ErrorKind::Other
                            };
                            return Answer::failed(kind, None, None, errors::chain(&e));
                        }
                    };
                    let status = response.status().as_u16();
                    let endpoint = endpoint_of(response.headers(), endpoint_header);
                    let outcome = Outcome::from_status(status, &p.expect_status);
                    let mut sample = BodySample::for_outcome(outcome);
                    let mut body = response.into_body();
                    while let Some(frame) = body.frame().await {
                        match frame {
                            Ok(frame) => sample.push(frame.data_ref().map(|b| &b[..])),
                            Err(e) => {
                                return Answer::failed(
                                    ErrorKind::Other,
                                    Some(status),
                                    endpoint,
                                    format!("response body cut short: {}", errors::chain(&e)),
                                );
                            }
                        }
                    }
                    Answer::of_status(outcome, status, endpoint, sample)
                };
                match tokio::time::timeout(timeout, exchange).await {
                    Err(_) => Answer::timed_out(timeout),
                    Ok(answer) => answer,
                }
            }
            HttpClient::Tls(client) => {
                let request = client
                    .request(p.method.clone(), p.url.clone())
                    .headers(p.headers.clone())
                    .body(body);
                match request.send().await {
                    Err(e) => Answer::of_reqwest(&e, None, None, timeout),
                    Ok(mut response) => {
                        let status = response.status().as_u16();
                        let endpoint = endpoint_of(response.headers(), endpoint_header);
                        let outcome = Outcome::from_status(status, &p.expect_status);
                        let mut sample = BodySample::for_outcome(outcome);
                        loop {
                            match response.chunk().await {
                                Ok(Some(chunk)) => sample.push(Some(&chunk[..])),
                                Ok(None) => {
                                    break Answer::of_status(outcome, status, endpoint, sample);
                                }
                                Err(e) => {
                                    break Answer::of_reqwest(&e, Some(status), endpoint, timeout);
                                }
                            }
                        }
                    }
                }
            }
        };
        if let Some(detail) = &mut answer.failure
            && !self.secrets.is_empty()
        {
            detail.message = headers::scrub(&detail.message, &self.secrets);
            if let Some(body) = &mut detail.body {
                *body = headers::scrub(&String::from_utf8_lossy(body), &self.secrets).into_bytes();
            }
        }
        answer
    }
}

/// What one send came to.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: Outcome,
    /// HTTP status when a response arrived.
    pub status: Option<u16>,
    /// Value of the endpoint header, if a response carried one.
    pub endpoint: Option<Arc<str>>,
    /// The message (and body start) of a failure, for the error catalogue.
    pub failure: Option<FailureDetail>,
}

impl Answer {
    fn failed(
        kind: ErrorKind,
        status: Option<u16>,
        endpoint: Option<Arc<str>>,
        message: String,
    ) -> Self {
        Self {
            outcome: Outcome::Failed(kind),
            status,
            endpoint,
            failure: Some(FailureDetail {
                message,
                body: None,
            }),
        }
    }

    fn timed_out(timeout: Duration) -> Self {
        Self::failed(
            ErrorKind::Timeout,
            None,
            None,
            format!(
                "no complete response within {} (--timeout)",
                humantime::format_duration(timeout)
            ),
        )
    }

    fn of_status(
        outcome: Outcome,
        status: u16,
        endpoint: Option<Arc<str>>,
        sample: BodySample,
    ) -> Self {
        let failure = matches!(outcome, Outcome::Failed(_)).then(|| FailureDetail {
            message: status_message(status),
            body: sample.0,
        });
        Self {
            outcome,
            status: Some(status),
            endpoint,
            failure,
        }
    }

    fn of_reqwest(
        e: &reqwest::Error,
        status: Option<u16>,
        endpoint: Option<Arc<str>>,
        timeout: Duration,
    ) -> Self {
        if e.is_timeout() {
            return Self {
                status,
                endpoint,
                ..Self::timed_out(timeout)
            };
        }
        let kind = if e.is_connect() {
            ErrorKind::Connect
        } else {
            ErrorKind::Other
        };
        // reqwest's own line names the URL; the causes below it say what went wrong.
        let message = match std::error::Error::source(e) {
            Some(cause) if e.is_request() || e.is_connect() => errors::chain(cause),
            _ => errors::chain(e),
        };
        let message = if e.is_body() || e.is_decode() {
            format!("response body cut short: {message}")
        } else {
            message
        };
        Self::failed(kind, status, endpoint, message)
    }
}

/// `HTTP 404 Not Found`.
fn status_message(status: u16) -> String {
    match hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("HTTP {status} {reason}"),
        None => format!("HTTP {status}"),
    }
}

/// The start of a failed response's body (nothing is kept for a success).
struct BodySample(Option<Vec<u8>>);

impl BodySample {
    fn for_outcome(outcome: Outcome) -> Self {
        Self(matches!(outcome, Outcome::Failed(_)).then(Vec::new))
    }

    fn push(&mut self, data: Option<&[u8]>) {
        if let (Some(kept), Some(data)) = (&mut self.0, data) {
            let room = SAMPLE_BYTES.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
}

fn endpoint_of(headers: &HeaderMap, name: &HeaderName) -> Option<Arc<str>> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(Arc::from)
}

/// Nginx's smooth weighted round-robin: weights 5,1,1 give a,a,b,a,c,a,a — spread out, not
/// clumped.
fn smooth_weighted_order(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut order = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, &w) in current.iter_mut().zip(weights) {
            *c += i64::from(w);
        }
        let (best, _) = current
            .iter()
            .enumerate()
            .max_by_key(|&(i, &c)| (c, std::cmp::Reverse(i)))
            .expect("at least one request");
        current[best] -= total;
        order.push(best);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_order_keeps_proportions_and_spreads_them() {
        let order = smooth_weighted_order(&[5, 1, 1]);
        assert_eq!(order, vec![0, 0, 1, 0, 2, 0, 0]);
        let order = smooth_weighted_order(&[3, 2]);
        assert_eq!(order.iter().filter(|&&i| i == 0).count(), 3);
        assert_eq!(order.len(), 5);
        assert_eq!(smooth_weighted_order(&[1]), vec![0]);
    }
}
