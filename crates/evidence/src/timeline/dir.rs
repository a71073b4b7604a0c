//! The run directory on disk: one [`RunDir`] that knows each file's name, and for each table
//! its row type and columns ([`Table`]), and reads and writes them. Every file is written
//! atomically (a temporary file in the same folder, then a rename), so a reader never sees a
//! half-written file.

use super::errors::{ERROR_COLUMNS, ErrorRow};
use super::meta::{RUN_FORMAT, RunMeta};
use super::pods::{POD_COLUMNS, PodRow};
use super::row::{
    CLUSTER_CHANGE_COLUMNS, ClusterChangeRow, ENDPOINT_COLUMNS, EVENT_COLUMNS, EndpointRow,
    EventRow, TIMELINE_COLUMNS, TimelineRow,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// `run.json`.
pub const RUN_JSON: &str = "run.json";
/// The folder of serialized histograms.
pub const HISTOGRAM_DIR: &str = "histograms";
/// Per-second latency histograms, tagged `raw`, `corrected` and `all_raw`.
pub const PER_SECOND_HLOG: &str = "histograms/per-second.hlog";
/// Whole-run histograms: `raw`, `corrected`, `all_raw`, and `endpoint=<name>` per endpoint.
pub const TOTAL_HLOG: &str = "histograms/total.hlog";

/// One CSV table of a run directory: its file, its row type and its columns.
#[derive(Debug)]
pub struct Table<R> {
    pub file: &'static str,
    pub columns: &'static [&'static str],
    /// Written only by some runs (cluster watched): absent reads as no rows.
    pub optional: bool,
    row: PhantomData<fn() -> R>,
}

impl<R> Table<R> {
    /// A table written to `file` with `columns` (`optional`: absent reads as no rows).
    pub const fn new(file: &'static str, columns: &'static [&'static str], optional: bool) -> Self {
        Self {
            file,
            columns,
            optional,
            row: PhantomData,
        }
    }
}

/// One row per second of the run.
pub const TIMELINE: Table<TimelineRow> = Table::new("timeline.csv", TIMELINE_COLUMNS, false);
/// One row per second and serving endpoint.
pub const ENDPOINTS: Table<EndpointRow> = Table::new("endpoints.csv", ENDPOINT_COLUMNS, false);
/// Every change of a cluster column (cluster watched only).
pub const CLUSTER: Table<ClusterChangeRow> =
    Table::new("cluster.csv", CLUSTER_CHANGE_COLUMNS, true);
/// Scale-related Kubernetes events (cluster watched only).
pub const EVENTS: Table<EventRow> = Table::new("events.csv", EVENT_COLUMNS, true);
/// The error catalogue: distinct failure messages by kind (absent in runs made before it).
pub const ERRORS: Table<ErrorRow> = Table::new("errors.csv", ERROR_COLUMNS, true);
/// One row per pod or serving endpoint (absent in runs made before it).
pub const PODS: Table<PodRow> = Table::new("pods.csv", POD_COLUMNS, true);

/// Why the run directory could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("cannot create run directory {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialize {path}")]
    Serialize {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} has format {found:?}; this scaleproof reads {RUN_FORMAT:?} (re-run to get a readable run directory)"
    )]
    Format { path: PathBuf, found: String },
    #[error("{path} is not a valid run file")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A run directory: `reports/<UTC start>-<scenario>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// An existing run directory (nothing is read until asked).
    pub fn open(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Creates `root/<UTC timestamp>-<scenario>/`, adding `-2`, `-3`… if it already exists.
    pub fn create(
        root: &Path,
        started_at: DateTime<Utc>,
        scenario: &str,
    ) -> Result<Self, RunDirError> {
        std::fs::create_dir_all(root).map_err(|source| RunDirError::Create {
            path: root.to_path_buf(),
            source,
        })?;
        let slug: String = scenario
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let base = format!("{}-{slug}", started_at.format("%Y%m%dT%H%M%SZ"));
        for n in 1.. {
            let name = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let path = root.join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    let hist = path.join(HISTOGRAM_DIR);
                    std::fs::create_dir(&hist)
                        .map_err(|source| RunDirError::Create { path: hist, source })?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(RunDirError::Create { path, source }),
            }
        }
        unreachable!("an unbounded loop over suffixes returns or errors")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of a file in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `bytes` to the file `name` atomically.
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, RunDirError> {
        let path = self.file(name);
        write_atomic(&path, bytes)?;
        Ok(path)
    }

    /// Writes `value` as pretty JSON to the file `name`.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<PathBuf, RunDirError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| RunDirError::Serialize {
            path: self.file(name),
            source: Box::new(e),
        })?;
        self.write_bytes(name, &bytes)
    }

    /// The text of the file `name`.
    pub fn read_text(&self, name: &str) -> Result<String, RunDirError> {
        let path = self.file(name);
        std::fs::read_to_string(&path).map_err(|source| RunDirError::Read { path, source })
    }

    /// Writes `run.json`.
    pub fn write_meta(&self, meta: &RunMeta) -> Result<(), RunDirError> {
        self.write_json(RUN_JSON, meta).map(drop)
    }

    /// Reads `run.json`: an error, never a default, when it is missing, of another format, or
    /// does not decode (expectations included).
    pub fn read_meta(&self) -> Result<RunMeta, RunDirError> {
        let path = self.file(RUN_JSON);
        let text = self.read_text(RUN_JSON)?;
        let parse = |source: serde_json::Error| RunDirError::Parse {
            path: path.clone(),
            source: Box::new(source),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(parse)?;
        let format = value.get("format").and_then(serde_json::Value::as_str);
        if format != Some(RUN_FORMAT) {
            return Err(RunDirError::Format {
                path,
                found: format.unwrap_or("none").to_owned(),
            });
        }
        serde_json::from_value(value).map_err(parse)
    }

    /// Writes a table (its header even when there are no rows).
    pub fn write<R: Serialize>(&self, table: &Table<R>, rows: &[R]) -> Result<(), RunDirError> {
        let path = self.file(table.file);
        let bytes = to_csv(rows, table.columns).map_err(|e| RunDirError::Serialize {
            path: path.clone(),
            source: Box::new(e),
        })?;
        write_atomic(&path, &bytes)
    }

    /// Reads a table; an optional table that is absent has no rows.
    pub fn read<R: DeserializeOwned>(&self, table: &Table<R>) -> Result<Vec<R>, RunDirError> {
        let path = self.file(table.file);
        if table.optional && !path.is_file() {
            return Ok(Vec::new());
        }
        let parse = |source: csv::Error| RunDirError::Parse {
            path: path.clone(),
            source: Box::new(source),
        };
        let mut reader = csv::Reader::from_path(&path).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(source) => RunDirError::Read {
                path: path.clone(),
                source,
            },
            other => RunDirError::Parse {
                path: path.clone(),
                source: format!("{other:?}").into(),
            },
        })?;
        reader.deserialize().map(|row| row.map_err(parse)).collect()
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunDirError> {
    let fail = |source| RunDirError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    // Temporary files are created private (0600); run files are meant to be shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
    }
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Serializes rows as CSV with a header from the row type's field names (`columns` when there
/// are no rows to take it from).
fn to_csv<T: Serialize>(rows: &[T], columns: &[&str]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        writer.write_record(columns)?;
    }
    for row in rows {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::ClusterSample;

    fn header(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec())
            .expect("utf-8")
            .lines()
            .next()
            .expect("header")
            .to_owned()
    }

    #[test]
    fn every_table_is_written_with_its_documented_columns_rows_or_not() {
        fn check<R: Serialize + Default>(table: &Table<R>) {
            let with_row = to_csv(&[R::default()], table.columns).expect("csv");
            assert_eq!(header(&with_row), table.columns.join(","), "{}", table.file);
            let empty = to_csv::<R>(&[], table.columns).expect("csv");
            assert_eq!(header(&empty), table.columns.join(","), "{}", table.file);
        }
        check(&TIMELINE);
        check(&ENDPOINTS);
        check(&CLUSTER);
        check(&EVENTS);
        check(&ERRORS);
    }

    #[test]
    fn timelines_without_the_cluster_columns_read_as_unknown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let columns = &TIMELINE_COLUMNS[..TIMELINE_COLUMNS.len() - 15];
        assert_eq!(columns.last(), Some(&"send_late_max_us"));
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| match *c {
                "time" => "2026-11-26T00:00:00Z",
                "endpoints" => "2",
                _ => "1",
            })
            .collect();
        std::fs::write(
            dir.path().join(TIMELINE.file),
            format!("{}\n{}\n", columns.join(","), cells.join(",")),
        )
        .expect("write");
        let rows = RunDir::open(dir.path()).read(&TIMELINE).expect("read");
        assert_eq!(rows[0].endpoints, Some(2));
        assert_eq!(rows[0].cluster(), ClusterSample::default());
    }

    #[test]
    fn rows_round_trip_with_empty_cells_for_no_data_and_optional_tables_may_be_absent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = RunDir::open(dir.path());
        let rows = vec![
            TimelineRow {
                t_s: 0,
                p95_raw_us: None,
                target_rps: Some(10.0),
                ..Default::default()
            },
            TimelineRow {
                t_s: 1,
                requests: 5,
                ok: 5,
                p95_raw_us: Some(1234),
                endpoints: None,
                gen_cpu_pct: Some(12.5),
                span_s: 1.0,
                ..Default::default()
            },
        ];
        run.write(&TIMELINE, &rows).expect("write");
        assert_eq!(run.read(&TIMELINE).expect("read"), rows);
        assert!(run.read(&EVENTS).expect("absent").is_empty());
        assert!(matches!(
            run.read(&ENDPOINTS),
            Err(RunDirError::Read { .. })
        ));
    }

    #[test]
    fn run_dirs_never_collide() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = Utc::now();
        let a = RunDir::create(dir.path(), at, "ramp 1k").expect("first");
        let b = RunDir::create(dir.path(), at, "ramp 1k").expect("second");
        assert_ne!(a, b);
        assert!(
            a.path()
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("-ramp-1k"))
        );
        assert!(b.file(HISTOGRAM_DIR).is_dir());
    }
}
