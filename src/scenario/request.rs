//! The requests of a scenario: what each sends (method, path, headers, body, weight,
//! expected statuses), read and checked from its `[[request]]` table.

use super::doc::{Doc, ScenarioError};
use crate::spec::values;
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use std::ops::Range;
use std::sync::Arc;
use toml::Spanned;

/// Body of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum BodySpec {
    None,
    /// One fixed JSON body.
    Json(Bytes),
    /// Bodies that rotate, one per request, from a corpus file (one JSON document a line).
    Corpus {
        file: String,
        bodies: Arc<[Bytes]>,
    },
}

impl BodySpec {
    /// Short description for `run.json`.
    pub fn describe(&self) -> String {
        match self {
            Self::None => "none".to_owned(),
            Self::Json(_) => "json".to_owned(),
            Self::Corpus { file, bodies } => format!("corpus:{file} ({} bodies)", bodies.len()),
        }
    }
}

/// One named request of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub name: String,
    pub method: Method,
    /// Path (with query) relative to the host.
    pub path: String,
    pub headers: HeaderMap,
    pub body: BodySpec,
    pub weight: u32,
    /// Statuses that count as success; empty means any 2xx.
    pub expect_status: Vec<u16>,
}

/// One `[[request]]` table as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestSection {
    name: Option<Spanned<String>>,
    method: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    weight: Option<Spanned<i64>>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, Spanned<String>>,
    body: Option<Spanned<toml::Value>>,
    json: Option<Spanned<String>>,
    corpus: Option<Spanned<String>>,
    expect_status: Option<Spanned<Vec<u16>>>,
}

/// Checks request `index` of the scenario.
pub(super) fn request_section(
    doc: &Doc<'_>,
    index: usize,
    spanned: &Spanned<RequestSection>,
    read_corpus: &dyn Fn(&str) -> Result<String, String>,
) -> Result<RequestSpec, ScenarioError> {
    let s = spanned.get_ref();
    let field = |name: &str| format!("request[{index}].{name}");
    let missing = |name: &str| {
        doc.error(
            spanned.span(),
            &field(name),
            format!("missing: every [[request]] needs a `{name}`"),
        )
    };
    let name = s.name.as_ref().ok_or_else(|| missing("name"))?;
    if name.get_ref().trim().is_empty() {
        return Err(doc.error(name.span(), &field("name"), "must not be empty"));
    }
    let path = s.path.as_ref().ok_or_else(|| missing("path"))?;

    let method = match &s.method {
        Some(m) => {
            Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()).map_err(|_| {
                doc.error(
                    m.span(),
                    &field("method"),
                    format!("{:?} is not an HTTP method", m.get_ref()),
                )
            })?
        }
        None => Method::GET,
    };
    if !path.get_ref().starts_with('/') {
        return Err(doc.error(
            path.span(),
            &field("path"),
            "must start with '/' (the host comes from --host)",
        ));
    }
    let weight = match &s.weight {
        Some(w) => values::check_weight(*w.get_ref())
            .map_err(|e| doc.error(w.span(), &field("weight"), e))?,
        None => 1,
    };
    let mut headers = HeaderMap::new();
    for (key, value) in &s.headers {
        // `${VAR}` takes the value from the environment (a token need not be in the file).
        let (name, v) =
            super::headers::header(key, value.get_ref(), &super::headers::env_lookup)
                .map_err(|e| doc.error(value.span(), &field(&format!("headers.{key}")), e))?;
        headers.insert(name, v);
    }
    let given: Vec<(&str, Range<usize>)> = [
        s.body.as_ref().map(|b| ("body", b.span())),
        s.json.as_ref().map(|b| ("json", b.span())),
        s.corpus.as_ref().map(|b| ("corpus", b.span())),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(doc.error(
            given[1].1.clone(),
            &field(given[1].0),
            "give only one of `body`, `json` and `corpus`",
        ));
    }
    let body = if let Some(b) = &s.body {
        let json = serde_json::to_vec(b.get_ref()).map_err(|e| {
            doc.error(
                b.span(),
                &field("body"),
                format!("cannot be sent as JSON: {e}"),
            )
        })?;
        BodySpec::Json(Bytes::from(json))
    } else if let Some(j) = &s.json {
        serde_json::from_str::<serde_json::Value>(j.get_ref())
            .map_err(|e| doc.error(j.span(), &field("json"), format!("is not valid JSON: {e}")))?;
        BodySpec::Json(Bytes::from(j.get_ref().clone().into_bytes()))
    } else if let Some(c) = &s.corpus {
        let text = read_corpus(c.get_ref()).map_err(|e| {
            doc.error(
                c.span(),
                &field("corpus"),
                format!("cannot read {:?}: {e}", c.get_ref()),
            )
        })?;
        let mut bodies = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            serde_json::from_str::<serde_json::Value>(line).map_err(|e| {
                doc.error(
                    c.span(),
                    &field("corpus"),
                    format!("{}:{}: not valid JSON: {e}", c.get_ref(), n + 1),
                )
            })?;
            bodies.push(Bytes::from(line.to_owned()));
        }
        if bodies.is_empty() {
            return Err(doc.error(
                c.span(),
                &field("corpus"),
                format!("{:?} holds no request bodies", c.get_ref()),
            ));
        }
        BodySpec::Corpus {
            file: c.get_ref().clone(),
            bodies: Arc::from(bodies),
        }
    } else {
        BodySpec::None
    };
    if !matches!(body, BodySpec::None) && !headers.contains_key(reqwest::header::CONTENT_TYPE) {
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let expect_status = match &s.expect_status {
        Some(list) => {
            if let Some(bad) = list.get_ref().iter().find(|s| !(100..=599).contains(*s)) {
                return Err(doc.error(
                    list.span(),
                    &field("expect_status"),
                    format!("{bad} is not an HTTP status"),
                ));
            }
            list.get_ref().clone()
        }
        None => Vec::new(),
    };
    Ok(RequestSpec {
        name: name.get_ref().clone(),
        method,
        path: path.get_ref().clone(),
        headers,
        body,
        weight,
        expect_status,
    })
}
