//! Reading a scenario file (`scenarios/*.toml`), or the built-in one: the text parsed into its
//! sections (checked in `sections.rs`), its requests and corpora, the validated [`Scenario`].
//! Every validation error names the file, line, column and field at fault.

use super::doc::{Doc, ScenarioError, key_at};
use super::request::request_section;
use super::sections::{
    ScenarioFile, checked, cluster_section, expect_section, load_section, local_section,
    tls_section,
};
use super::spec::{ClusterSpec, LiveSpec, LoadSpec, LocalSpec, Scenario, TlsSpec};
use crate::spec::expectations::Expectations;
use crate::spec::values;
use std::path::Path;

/// The default scenario, compiled in so that a bare `scaleproof` works from any directory.
pub const BUILTIN_PREDICT: &str = include_str!("../../scenarios/predict.toml");
/// The corpus the default scenario rotates through.
pub const BUILTIN_CORPUS: &str = include_str!("../../scenarios/corpora/diabetes-instances.jsonl");
const BUILTIN_CORPUS_NAME: &str = "corpora/diabetes-instances.jsonl";

/// Most the weights of a scenario's requests may add up to (the mix holds one entry per unit).
const MAX_TOTAL_WEIGHT: u64 = 100_000;

impl Scenario {
    /// Reads and validates a scenario file; corpus paths are relative to its folder.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = path.display().to_string();
        let mut scenario = Self::parse(&text, &name, &|corpus: &str| {
            std::fs::read_to_string(dir.join(corpus)).map_err(|e| e.to_string())
        })?;
        let tls = &mut scenario.tls;
        for file in [&mut tls.cacert, &mut tls.cert, &mut tls.key]
            .into_iter()
            .flatten()
        {
            *file = dir.join(&*file);
        }
        // A replica command runs in the scenario's folder, as its corpus paths are read there.
        if scenario.local.command.is_some() {
            scenario.local.dir = Some(dir);
        }
        Ok(scenario)
    }

    /// The corpus files a scenario file reads, as its requests name them (relative to its
    /// folder), each once.
    pub fn corpus_files(path: &Path) -> Result<Vec<String>, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let used = std::cell::RefCell::new(Vec::<String>::new());
        Self::parse(&text, &path.display().to_string(), &|corpus: &str| {
            let mut used = used.borrow_mut();
            if !used.iter().any(|u| u == corpus) {
                used.push(corpus.to_owned());
            }
            std::fs::read_to_string(dir.join(corpus)).map_err(|e| e.to_string())
        })?;
        Ok(used.into_inner())
    }

    /// The compiled-in default scenario (`scenarios/predict.toml`).
    pub fn builtin() -> Self {
        Self::parse(
            BUILTIN_PREDICT,
            "built-in scenarios/predict.toml",
            &|corpus: &str| {
                if corpus == BUILTIN_CORPUS_NAME {
                    Ok(BUILTIN_CORPUS.to_owned())
                } else {
                    Err(format!("the built-in scenario has no corpus {corpus}"))
                }
            },
        )
        .expect("the built-in scenario is validated by the test suite")
    }

    /// Parses scenario text; `read_corpus` resolves corpus file names to their contents.
    pub fn parse(
        text: &str,
        source: &str,
        read_corpus: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Self, ScenarioError> {
        let doc = Doc { name: source, text };
        let file: ScenarioFile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            doc.error(span.clone(), &key_at(text, span.start), e.message().trim())
        })?;
        let name = match &file.name {
            Some(n) if n.get_ref().trim().is_empty() => {
                return Err(doc.error(n.span(), "name", "must not be empty"));
            }
            Some(n) => n.get_ref().clone(),
            None => Path::new(source)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("scenario")
                .to_owned(),
        };
        let load = match &file.load {
            Some(section) => load_section(&doc, section)?,
            None => LoadSpec::default(),
        };
        if file.request.is_empty() {
            return Err(doc.error(0..0, "request", "a scenario needs at least one [[request]]"));
        }
        let mut requests = Vec::new();
        for (i, section) in file.request.iter().enumerate() {
            requests.push(request_section(&doc, i, section, read_corpus)?);
        }
        let total: u64 = requests.iter().map(|r| u64::from(r.weight)).sum();
        if total > MAX_TOTAL_WEIGHT {
            return Err(doc.error(
                0..0,
                "request",
                format!("the weights add up to {total}, more than {MAX_TOTAL_WEIGHT}"),
            ));
        }
        let expect = match &file.expect {
            Some(section) => expect_section(&doc, section)?,
            None => Expectations::default(),
        };
        let cluster = match &file.cluster {
            Some(section) => cluster_section(&doc, section)?,
            None => ClusterSpec::default(),
        };
        let tls = match &file.tls {
            Some(section) => tls_section(&doc, section)?,
            None => TlsSpec::default(),
        };
        let local = match &file.local {
            Some(section) => local_section(&doc, section)?,
            None => LocalSpec::default(),
        };
        let live = match &file.live {
            Some(s) => LiveSpec {
                enabled: s.enabled,
                port: checked(&doc, &s.port, "live.port", |v: &i64| {
                    u16::try_from(*v)
                        .map_err(|_| format!("{v} is not a port (0 to 65535; 0 picks one)"))
                })?,
                bind: checked(&doc, &s.bind, "live.bind", |v: &String| {
                    values::bind_address(v)
                })?,
                linger: checked(&doc, &s.linger, "live.linger", |v: &String| {
                    values::duration_or_zero(v)
                })?,
            },
            None => LiveSpec::default(),
        };
        Ok(Self {
            name,
            source: source.to_owned(),
            description: file.description.clone(),
            load,
            requests,
            expect,
            cluster,
            tls,
            local,
            live,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::BodySpec;
    use bytes::Bytes;
    use reqwest::Method;
    use std::path::PathBuf;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, "test.toml", &|name: &str| match name {
            "rows.jsonl" => Ok("{\"a\":1}\n\n{\"a\":2}\n".to_owned()),
            "bad.jsonl" => Ok("{\"a\":1}\n{oops\n".to_owned()),
            other => Err(format!("no such file {other}")),
        })
    }

    fn invalid(text: &str) -> (usize, usize, String, String) {
        match parse(text) {
            Err(ScenarioError::Invalid {
                line,
                column,
                field,
                message,
                ..
            }) => (line, column, field, message),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_scenario_parses() {
        let s = parse(
            r#"
name = "demo"
[load]
rate = "10:1s,100:5s"
max_users = 50
max_lag = "500ms"
[[request]]
name = "one"
method = "post"
path = "/predict"
weight = 3
body = { instances = [ { bmi = 0.06 } ] }
[[request]]
name = "rotating"
method = "POST"
path = "/predict"
corpus = "rows.jsonl"
[[request]]
name = "health"
path = "/health"
expect_status = [200, 204]
[expect]
rps = 1000
replicas = 2
p95 = "250ms"
error_rate = "1%"
scale_within = "2m"
new_pod_serves_within = "10s"
scale_in_errors = 0
max_pod_share = "80%"
[cluster]
namespace = "demo"
deployment = "target-service"
service = "target-service"
"#,
        )
        .expect("valid");
        assert_eq!(
            s.cluster,
            ClusterSpec {
                namespace: Some("demo".into()),
                deployment: Some("target-service".into()),
                hpa: None,
                service: Some("target-service".into()),
            }
        );
        assert_eq!(s.name, "demo");
        assert_eq!(s.requests.len(), 3);
        assert_eq!(s.requests[0].method, Method::POST);
        assert_eq!(s.requests[0].weight, 3);
        assert_eq!(
            s.requests[0].body,
            BodySpec::Json(Bytes::from_static(br#"{"instances":[{"bmi":0.06}]}"#))
        );
        assert_eq!(
            s.requests[0].headers[reqwest::header::CONTENT_TYPE],
            "application/json"
        );
        match &s.requests[1].body {
            BodySpec::Corpus { bodies, .. } => assert_eq!(bodies.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.requests[2].method, Method::GET);
        assert_eq!(s.load.max_users, Some(50));
        assert_eq!(s.load.rate.as_ref().map(|p| p.stages().len()), Some(2));
        assert_eq!(s.expect.p95_ms, Some(250.0));
        assert_eq!(s.expect.error_rate, Some(0.01));
        assert_eq!(s.expect.scale_within_s, Some(120.0));
        assert_eq!(s.expect.new_pod_serves_within_s, Some(10.0));
        assert_eq!(s.expect.scale_in_errors, Some(0));
        assert_eq!(s.expect.max_pod_share, Some(0.8));
    }

    #[test]
    fn saturate_at_is_a_share_of_the_peak_and_cannot_stand_beside_a_work_factor() {
        let base = "[[request]]\nname = 'a'\npath = '/'\n[local]\n";
        let s = parse(&format!("{base}saturate_at = '58%'\n")).expect("valid");
        assert_eq!(s.local.saturate_at, Some(0.58));
        assert_eq!(s.local.work_factor, None);
        let (line, column, field, message) = invalid(&format!("{base}saturate_at = '150%'\n"));
        assert_eq!((line, column, field.as_str()), (5, 15, "local.saturate_at"));
        assert!(
            message.contains("share of the peak from 1% to 100%"),
            "{message}"
        );
        let (line, _, field, message) =
            invalid(&format!("{base}work_factor = 300\nsaturate_at = '58%'\n"));
        assert_eq!((line, field.as_str()), (6, "local.saturate_at"));
        assert!(message.contains("give one"), "{message}");
    }

    #[test]
    fn type_errors_name_line_column_and_dotted_field() {
        let (line, column, field, message) =
            invalid("[load]\nusers = \"many\"\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!((line, column, field.as_str()), (2, 9, "load.users"));
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_position() {
        let (line, _, field, message) = invalid("[[request]]\nname='a'\npath='/'\nwieght = 3\n");
        assert_eq!(line, 4);
        assert_eq!(field, "request.wieght");
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn the_live_section_parses_and_a_bad_port_or_address_is_named() {
        let s = parse(
            "[[request]]\nname = \"a\"\npath = \"/\"\n[live]\nenabled = true\nport = 8089\nbind = \"0.0.0.0\"\nlinger = \"30s\"\n",
        )
        .expect("valid");
        assert_eq!(
            s.live,
            LiveSpec {
                enabled: Some(true),
                port: Some(8089),
                bind: Some(std::net::Ipv4Addr::UNSPECIFIED.into()),
                linger: Some(Duration::from_secs(30)),
            }
        );
        let (line, _, field, message) =
            invalid("[[request]]\nname = \"a\"\npath = \"/\"\n[live]\nport = 70000\n");
        assert_eq!((line, field.as_str()), (5, "live.port"));
        assert!(message.contains("not a port"), "{message}");
        let (line, _, field, _) =
            invalid("[[request]]\nname = \"a\"\npath = \"/\"\n[live]\nbind = \"localhost:80\"\n");
        assert_eq!((line, field.as_str()), (5, "live.bind"));
    }

    #[test]
    fn cluster_names_must_be_kubernetes_names() {
        let (line, _, field, message) = invalid(
            "[[request]]\nname = \"a\"\npath = \"/\"\n[cluster]\ndeployment = \"Target_Service\"\n",
        );
        assert_eq!((line, field.as_str()), (5, "cluster.deployment"));
        assert!(message.contains("Kubernetes object name"), "{message}");
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let (line, column, field, _) = invalid("[[request]]\nname='a'\npath='predict'\n");
        assert_eq!((line, column, field.as_str()), (3, 6, "request[0].path"));
        let (line, _, field, message) =
            invalid("[load]\nrate = '100'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!((line, field.as_str()), (2, "load.rate"));
        assert!(message.contains("RATE:DURATION"), "{message}");
        let (line, _, field, _) = invalid("[[request]]\nname='a'\npath='/'\nweight = 0\n");
        assert_eq!((line, field.as_str()), (4, "request[0].weight"));
        let (line, _, field, message) =
            invalid("[[request]]\nname='a'\npath='/'\ncorpus='bad.jsonl'\n");
        assert_eq!((line, field.as_str()), (4, "request[0].corpus"));
        assert!(message.contains("bad.jsonl:2"), "{message}");
        let (line, _, field, _) =
            invalid("[[request]]\nname='a'\npath='/'\n[expect]\np95 = 'fast'\n");
        assert_eq!((line, field.as_str()), (5, "expect.p95"));
        let (_, _, field, _) =
            invalid("[load]\nusers = 3\nrate = '1:1s'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!(field, "load");
    }

    #[test]
    fn missing_and_absurd_request_fields_are_named() {
        let (line, _, field, message) = invalid("[[request]]\npath='/'\n");
        assert_eq!((line, field.as_str()), (1, "request[0].name"));
        assert!(message.contains("missing"), "{message}");
        let (_, _, field, _) = invalid("[[request]]\nname='a'\n");
        assert_eq!(field, "request[0].path");
        let (line, _, field, message) =
            invalid("[[request]]\nname='a'\npath='/'\nweight = 4294967295\n");
        assert_eq!((line, field.as_str()), (4, "request[0].weight"));
        assert!(message.contains("outside 1..=1000"), "{message}");
        let (_, _, field, _) = invalid("[[request]]\nname='a'\npath='/'\nweight = -1\n");
        assert_eq!(field, "request[0].weight");
        let (line, _, field, _) =
            invalid("[load]\nrate = '1e15:1s'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!((line, field.as_str()), (2, "load.rate"));
        let (_, _, field, _) = invalid("[load]\nusers = 0\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!(field, "load.users");
        let (_, _, field, _) =
            invalid("[load]\ntest_plan = 'x'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!(field, "load.test_plan");
        for bad in ["'-5ms'", "'NaNms'", "'infs'"] {
            let (_, _, field, _) = invalid(&format!(
                "[[request]]\nname='a'\npath='/'\n[expect]\np95 = {bad}\n"
            ));
            assert_eq!(field, "expect.p95", "{bad}");
        }
    }

    #[test]
    fn a_scenario_without_requests_is_refused() {
        let (_, _, field, _) = invalid("name = 'empty'\n");
        assert_eq!(field, "request");
    }

    #[test]
    fn error_message_reads_file_line_column_field() {
        let err = parse("[[request]]\nname='a'\npath='x'\n").expect_err("invalid");
        assert!(
            err.to_string()
                .starts_with("test.toml:3:6: request[0].path: "),
            "{err}"
        );
    }

    #[test]
    fn header_values_from_an_unset_variable_and_half_a_client_certificate_are_named() {
        let (line, _, field, message) = invalid(
            "[[request]]\nname='a'\npath='/'\nheaders = { Authorization = 'Bearer ${SCALEPROOF_NEVER_SET_7}' }\n",
        );
        assert_eq!(
            (line, field.as_str()),
            (4, "request[0].headers.Authorization")
        );
        assert_eq!(
            message,
            "environment variable SCALEPROOF_NEVER_SET_7 is not set"
        );
        let (line, _, field, message) =
            invalid("[[request]]\nname='a'\npath='/'\n[tls]\ncert = 'client.pem'\n");
        assert_eq!(
            (line, field.as_str(), message.as_str()),
            (5, "tls.cert", "needs tls.key too")
        );
        let (_, _, field, _) = invalid("[[request]]\nname='a'\npath='/'\n[tls]\nverify = false\n");
        assert_eq!(field, "tls.verify");
    }

    #[test]
    fn tls_paths_are_relative_to_the_scenario_and_literal_secrets_are_marked_sensitive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "[[request]]\nname='a'\npath='/'\nheaders = { Cookie = 'sid=abc', X-Env = 'plain' }\n[tls]\ncacert = 'ca.pem'\ninsecure = true\ncert = '/abs/c.pem'\nkey = 'k.pem'\n",
        )
        .expect("write");
        let s = Scenario::load(&path).expect("valid");
        assert_eq!(
            s.tls,
            TlsSpec {
                cacert: Some(dir.path().join("ca.pem")),
                insecure: Some(true),
                cert: Some(PathBuf::from("/abs/c.pem")),
                key: Some(dir.path().join("k.pem")),
            }
        );
        let h = &s.requests[0].headers;
        assert!(h["cookie"].is_sensitive());
        assert!(!h["x-env"].is_sensitive());
    }
}
