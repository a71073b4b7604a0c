//! Sending a scenario's requests: the weighted mix, and one send with its outcome
//! classified.

use super::clients::HttpClient;
use super::recorder::Outcome;
use crate::scenario::{BodySpec, RequestSpec};
use crate::timeline::ErrorKind;
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
        Ok(Self {
            prepared,
            order: smooth_weighted_order(&weights),
            next: AtomicUsize::new(0),
        })
    }

    /// Sends the next request of the mix with `client`, reading the whole response body.
    /// Returns the outcome, the HTTP status if any, and the endpoint header's value.
    pub async fn send_next(
        &self,
        client: &HttpClient,
        endpoint_header: &HeaderName,
        timeout: Duration,
    ) -> (Outcome, Option<u16>, Option<Arc<str>>) {
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
        match client {
            HttpClient::Plain(client) => {
                let mut request = hyper::Request::new(Full::new(body));
                *request.method_mut() = p.method.clone();
                *request.uri_mut() = p.uri.clone();
                *request.headers_mut() = p.headers.clone();
                let exchange = async {
                    let response = client.request(request).await.map_err(|e| {
                        if e.is_connect() {
                            Outcome::Failed(ErrorKind::Connect)
                        } else {
                            Outcome::Failed(ErrorKind::Other)
                        }
                    })?;
                    let status = response.status().as_u16();
                    let endpoint = endpoint_of(response.headers(), endpoint_header);
                    let mut body = response.into_body();
                    while let Some(frame) = body.frame().await {
                        if frame.is_err() {
                            return Ok((Outcome::Failed(ErrorKind::Other), Some(status), endpoint));
                        }
                    }
                    Ok((
                        Outcome::from_status(status, &p.expect_status),
                        Some(status),
                        endpoint,
                    ))
                };
                match tokio::time::timeout(timeout, exchange).await {
                    Err(_) => (Outcome::Failed(ErrorKind::Timeout), None, None),
                    Ok(Err(outcome)) => (outcome, None, None),
                    Ok(Ok(result)) => result,
                }
            }
            HttpClient::Tls(client) => {
                let request = client
                    .request(p.method.clone(), p.url.clone())
                    .headers(p.headers.clone())
                    .body(body);
                let mut response = match request.send().await {
                    Ok(response) => response,
                    Err(e) => return (classify_error(&e), None, None),
                };
                let status = response.status().as_u16();
                let endpoint = endpoint_of(response.headers(), endpoint_header);
                loop {
                    match response.chunk().await {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => return (classify_error(&e), Some(status), endpoint),
                    }
                }
                (
                    Outcome::from_status(status, &p.expect_status),
                    Some(status),
                    endpoint,
                )
            }
        }
    }
}

fn endpoint_of(headers: &HeaderMap, name: &HeaderName) -> Option<Arc<str>> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(Arc::from)
}

fn classify_error(e: &reqwest::Error) -> Outcome {
    if e.is_timeout() {
        Outcome::Failed(ErrorKind::Timeout)
    } else if e.is_connect() {
        Outcome::Failed(ErrorKind::Connect)
    } else {
        Outcome::Failed(ErrorKind::Other)
    }
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
