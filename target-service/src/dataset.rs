//! The training data: a CSV of numeric feature columns followed by one target column.

use std::path::{Path, PathBuf};

/// Why a dataset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file could not be opened or read.
    #[error("cannot read dataset {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The CSV itself is malformed.
    #[error("malformed CSV at line {line}")]
    Csv {
        line: u64,
        #[source]
        source: csv::Error,
    },
    /// A cell is not a number.
    #[error("line {line}, column {column:?}: {value:?} is not a number")]
    NotANumber {
        line: u64,
        column: String,
        value: String,
    },
    /// Too few columns or rows to train on.
    #[error(
        "dataset needs at least 2 columns and 10 rows, found {columns} columns and {rows} rows"
    )]
    TooSmall { columns: usize, rows: usize },
}

/// Feature matrix (row-major) and target vector with their column names.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Names of the feature columns, in order.
    pub features: Vec<String>,
    /// Name of the target column.
    pub target: String,
    /// One entry per row, each `features.len()` long.
    pub rows: Vec<Vec<f64>>,
    /// One target value per row.
    pub y: Vec<f64>,
}

impl Dataset {
    /// Reads a dataset from a CSV file.
    pub fn from_path(path: &Path) -> Result<Self, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_csv(&text)
    }

    /// Parses a dataset from CSV text: a header, then numeric rows; the last column is the target.
    pub fn from_csv(text: &str) -> Result<Self, DatasetError> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|source| DatasetError::Csv { line: 1, source })?
            .clone();
        let names: Vec<String> = header.iter().map(str::to_owned).collect();
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|source| DatasetError::Csv {
                line: source.position().map_or(0, |p| p.line()),
                source,
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let mut values = Vec::with_capacity(record.len());
            for (cell, name) in record.iter().zip(&names) {
                let value = cell
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| DatasetError::NotANumber {
                        line,
                        column: name.clone(),
                        value: cell.to_owned(),
                    })?;
                values.push(value);
            }
            let target = values.pop().unwrap_or(f64::NAN);
            y.push(target);
            rows.push(values);
        }
        if names.len() < 2 || rows.len() < 10 {
            return Err(DatasetError::TooSmall {
                columns: names.len(),
                rows: rows.len(),
            });
        }
        let mut features = names;
        let target = features.pop().unwrap_or_default();
        Ok(Self {
            features,
            target,
            rows,
            y,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_dataset_has_ten_features_and_442_rows() {
        let data = Dataset::from_csv(crate::BUNDLED_DATASET_CSV).expect("bundled CSV parses");
        assert_eq!(data.features.len(), 10);
        assert_eq!(data.features[2], "bmi");
        assert_eq!(data.target, "target");
        assert_eq!(data.len(), 442);
        assert!(data.rows.iter().all(|r| r.len() == 10));
    }

    #[test]
    fn non_numeric_cell_names_line_and_column() {
        let mut text = String::from("a,b,target\n");
        for i in 0..12 {
            text.push_str(&format!("{i},1,2\n"));
        }
        text.push_str("1,oops,3\n");
        let err = Dataset::from_csv(&text).expect_err("bad cell must fail");
        let msg = err.to_string();
        assert!(msg.contains("line 14"), "{msg}");
        assert!(msg.contains("\"b\""), "{msg}");
    }
}
