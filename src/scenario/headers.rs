//! Request headers given by the user (`--header`, a scenario's `headers`): `Name: value`
//! parsing, `${VAR}` expansion from the environment, and which values are secret.
//!
//! A secret value is marked sensitive on its [`HeaderValue`] (hyper then keeps it out of its
//! own debug output); everything that writes headers for people — `run.json`, reports, logs —
//! goes through [`redacted`], which shows a sensitive value as [`REDACTED`]. A value is secret
//! when its header is one of [`SECRET_HEADERS`] or when any part of it came from the
//! environment.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;

/// How a secret value is written anywhere a person or a file can read it.
pub const REDACTED: &str = "***";

/// Headers whose values are always secret.
pub const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// A header value after `${VAR}` expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    /// Some of the value came from the environment.
    pub from_env: bool,
}

/// Expands `${NAME}` from `lookup` (`$$` is a literal `$`; a `$` before anything else stays as
/// it is). An unset variable is an error naming it, so that nothing is sent without it.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Expanded, String> {
    let mut out = String::with_capacity(text.len());
    let mut from_env = false;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail.find('}').ok_or_else(|| {
                format!("unterminated ${{ in {text:?} (write $$ for a literal $)")
            })?;
            let name = &tail[..end];
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "${{{name}}} is not an environment variable reference (letters, digits, _)"
                ));
            }
            let value =
                lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
            from_env = true;
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Expanded {
        text: out,
        from_env,
    })
}

/// The process environment, for [`expand`].
pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Builds a header from its name and unexpanded value, marking it sensitive when it is a
/// secret. Errors never contain the expanded value.
pub fn header(
    name: &str,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{:?} is not a valid header name", name.trim()))?;
    let expanded = expand(value.trim(), lookup)?;
    let mut value = HeaderValue::from_str(&expanded.text).map_err(|_| {
        if expanded.from_env {
            "the value (after expanding the environment) is not a valid header value".to_owned()
        } else {
            "not a valid header value (no control characters or line breaks)".to_owned()
        }
    })?;
    if expanded.from_env || SECRET_HEADERS.contains(&name.as_str()) {
        value.set_sensitive(true);
    }
    Ok((name, value))
}

/// Parses `Name: value` (the `--header` flag).
pub fn parse_line(
    line: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| format!("{line:?} is not `Name: value`"))?;
    if name.trim().is_empty() {
        return Err(format!("{line:?} has no header name before the ':'"));
    }
    header(name, value, lookup)
}

/// Headers as written for people and files: secret values replaced by [`REDACTED`].
pub fn redacted(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if value.is_sensitive() {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// The secret strings in `headers`: each sensitive value, and each of its words of 6 or more
/// characters (a bearer token without `Bearer `, a cookie's value), for scrubbing text that
/// may echo them (response bodies, error messages).
pub fn secrets(headers: &HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for value in headers.values().filter(|v| v.is_sensitive()) {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.extend(
            text.split(|c: char| c.is_whitespace() || c == ';' || c == '=' || c == ',')
                .filter(|w| w.len() >= 6)
                .map(str::to_owned),
        );
        out.push(text);
    }
    // Longest first, so a whole value is replaced before its words.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `text` with every secret replaced by [`REDACTED`].
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t-token".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expansion_substitutes_variables_and_names_the_missing_one() {
        let e = expand("Bearer ${TOKEN}", &env).expect("set");
        assert_eq!(e.text, "Bearer s3cr3t-token");
        assert!(e.from_env);
        let plain = expand("costs $5 or $$6, ${EMPTY}.", &env).expect("literal");
        assert_eq!(plain.text, "costs $5 or $6, .");
        assert!(
            plain.from_env,
            "an empty variable is still from the environment"
        );
        let none = expand("no variables", &env).expect("plain");
        assert_eq!(
            none,
            Expanded {
                text: "no variables".to_owned(),
                from_env: false
            }
        );
        assert_eq!(
            expand("Bearer ${NOPE}", &env).expect_err("unset"),
            "environment variable NOPE is not set"
        );
        assert!(
            expand("${TOKEN", &env)
                .expect_err("open")
                .contains("unterminated")
        );
        assert!(
            expand("${1A}", &env)
                .expect_err("bad name")
                .contains("not an environment variable")
        );
    }

    #[test]
    fn secret_headers_and_values_from_the_environment_are_redacted() {
        let mut map = HeaderMap::new();
        for line in [
            "Authorization: Bearer literal-token-1",
            "X-Api-Key: ${TOKEN}",
            "Host: api.example.com",
            "cookie: session=abcdef123",
        ] {
            let (n, v) = parse_line(line, &env).expect("valid");
            map.insert(n, v);
        }
        let shown = redacted(&map);
        assert_eq!(shown["authorization"], REDACTED);
        assert_eq!(shown["x-api-key"], REDACTED);
        assert_eq!(shown["cookie"], REDACTED);
        assert_eq!(shown["host"], "api.example.com");
        let secrets = secrets(&map);
        let text = "echo: Bearer literal-token-1 / literal-token-1 / s3cr3t-token / abcdef123 / api.example.com";
        assert_eq!(
            scrub(text, &secrets),
            "echo: *** / *** / *** / *** / api.example.com"
        );
    }

    #[test]
    fn bad_lines_are_explained_without_the_expanded_value() {
        assert!(
            parse_line("NoColon", &env)
                .expect_err("no colon")
                .contains("Name: value")
        );
        assert!(
            parse_line(": v", &env)
                .expect_err("no name")
                .contains("no header name")
        );
        assert!(
            parse_line("Bad Name: v", &env)
                .expect_err("space")
                .contains("not a valid header name")
        );
        let bad = |name: &str| (name == "NL").then(|| "a\nb-secret".to_owned());
        let e = parse_line("X: ${NL}", &bad).expect_err("newline");
        assert!(!e.contains("secret"), "{e}");
    }
}
