//! Values as run flags give them, beyond the shared parsers of [`crate::spec::values`]: the target
//! URL, header names, rate stages and connection recycling.

use crate::scenario::RatePlan;
use crate::spec::values;
use reqwest::Url;
use reqwest::header::HeaderName;
use std::time::Duration;

/// How often connections are reopened, as `--recycle-connections` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recycle(pub Option<Duration>);

pub(super) fn recycle(text: &str) -> Result<Recycle, String> {
    values::recycle(text).map(Recycle)
}

pub(super) fn rate_plan(text: &str) -> Result<RatePlan, String> {
    RatePlan::parse(text).map_err(|e| e.to_string())
}

pub(super) fn header_name(text: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(text.trim().as_bytes())
        .map_err(|_| format!("{text:?} is not a header name"))
}

/// An http(s) base URL with a host; the path gets a trailing `/` so that request paths join
/// under it.
pub fn parse_host(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text)
        .map_err(|e| format!("{text:?} is not a URL ({e}); e.g. http://10.0.0.5:8080"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{text:?} must be an http:// or https:// URL with a host"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}
