//! Headers added to every request and the TLS flags, merged with the scenario's `[tls]`.

use super::resolve::{ConfigError, flag};
use crate::config::TlsConfig;
use crate::scenario::{TlsSpec, headers};
use clap::Args;
use reqwest::header::HeaderMap;
use std::path::PathBuf;

/// Headers added to every request, and how an `https://` target is trusted; each TLS flag
/// overrides the scenario's `[tls]` field.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "HTTP headers and TLS")]
pub struct HttpArgs {
    /// Add a header to every request, e.g. -H 'Host: api.example.com' (repeatable; a
    /// scenario request's own header of the same name wins). ${VAR} takes a value from the
    /// environment: -H 'Authorization: Bearer ${TOKEN}'. Authorization, Cookie,
    /// Proxy-Authorization and values from the environment are written as *** everywhere.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// Also trust the certificates of this PEM bundle (a private CA, a self-signed server).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do not verify the server's certificate at all (recorded in run.json and the report).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}

impl HttpArgs {
    /// The `--header` flags, parsed and expanded.
    pub(super) fn headers(&self) -> Result<HeaderMap, ConfigError> {
        let mut map = HeaderMap::new();
        for line in &self.headers {
            let (name, value) =
                headers::parse_line(line, &headers::env_lookup).map_err(|e| flag("--header", e))?;
            map.append(name, value);
        }
        Ok(map)
    }

    /// Flags over the scenario's `[tls]` section, files read.
    pub(super) fn tls(&self, spec: &TlsSpec) -> Result<TlsConfig, ConfigError> {
        let cacert = self.cacert.clone().or(spec.cacert.clone());
        let insecure = self.insecure || spec.insecure.unwrap_or(false);
        let pair = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => spec.cert.clone().zip(spec.key.clone()),
        };
        let which = if self.cacert.is_some() || self.cert.is_some() {
            "--cacert/--cert/--key"
        } else {
            "[tls] of the scenario"
        };
        TlsConfig::load(cacert, insecure, pair).map_err(|e| flag(which, e))
    }
}
