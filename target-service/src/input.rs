//! Request bodies for `/predict`: the two JSON shapes clients send, turned into feature rows.
//!
//! * rows: `{"instances": [{"age": 0.03, "bmi": 0.06, ...}, ...]}` (objects keyed by feature),
//!   or `{"instances": [[0.03, 0.05, ...], ...]}` (values in the model's feature order);
//! * pandas column form, as Flask + scikit-learn services take `DataFrame.to_json()`:
//!   `{"age": {"0": 0.03, "1": -0.01}, "bmi": {"0": 0.06, "1": -0.05}, ...}`; rows are ordered
//!   by their integer index, not by the keys as strings.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Most rows one request may carry.
pub const MAX_ROWS: usize = 10_000;

/// What is wrong with a `/predict` body. Every variant maps to a JSON 4xx response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("body is not valid JSON: {message} (line {line}, column {column})")]
    NotJson {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("body must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("no rows to predict")]
    Empty,
    #[error("\"instances\" must be an array, found {found}")]
    InstancesNotArray { found: &'static str },
    #[error("instance {row} must be an object or an array, found {found}")]
    BadInstance { row: usize, found: &'static str },
    #[error("instance {row} has {found} values, the model takes {expected}")]
    WrongArity {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("row {row} is missing feature {feature:?}")]
    MissingFeature { row: String, feature: String },
    #[error("unknown feature {feature:?} (the model takes: {expected})")]
    UnknownFeature { feature: String, expected: String },
    #[error("row {row}, feature {feature:?}: expected a number, found {found}")]
    NotANumber {
        row: String,
        feature: String,
        found: &'static str,
    },
    #[error("column {feature:?} must be an object of row index to value, found {found}")]
    ColumnNotObject {
        feature: String,
        found: &'static str,
    },
    #[error("column {feature:?} has row index {index:?}, which is not a non-negative integer")]
    BadRowIndex { feature: String, index: String },
    #[error("columns disagree on row indexes: {feature:?} does not have the rows of {first:?}")]
    RaggedColumns { feature: String, first: String },
    #[error("too many rows: {found} (at most {MAX_ROWS} per request)")]
    TooManyRows { found: usize },
}

impl InputError {
    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotJson { .. } => "invalid_json",
            Self::NotAnObject { .. }
            | Self::InstancesNotArray { .. }
            | Self::BadInstance { .. }
            | Self::ColumnNotObject { .. } => "invalid_shape",
            Self::Empty => "empty_input",
            Self::WrongArity { .. } => "wrong_arity",
            Self::MissingFeature { .. } => "missing_feature",
            Self::UnknownFeature { .. } => "unknown_feature",
            Self::NotANumber { .. } => "not_a_number",
            Self::BadRowIndex { .. } => "bad_row_index",
            Self::RaggedColumns { .. } => "ragged_columns",
            Self::TooManyRows { .. } => "too_many_rows",
        }
    }
}

/// Parses a `/predict` body into rows of feature values in the order of `features`.
pub fn parse_rows(body: &[u8], features: &[String]) -> Result<Vec<Vec<f64>>, InputError> {
    if let Some(rows) = crate::input_fast::parse_rows_fast(body, features)
        && rows.len() <= MAX_ROWS
    {
        return Ok(rows);
    }
    parse_rows_detailed(body, features)
}

/// The detailed parser: builds a JSON value and names exactly what is wrong with it.
fn parse_rows_detailed(body: &[u8], features: &[String]) -> Result<Vec<Vec<f64>>, InputError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| InputError::NotJson {
        message: strip_position(&e.to_string()),
        line: e.line(),
        column: e.column(),
    })?;
    let Value::Object(object) = value else {
        return Err(InputError::NotAnObject {
            found: kind(&value),
        });
    };
    let rows = match object.get("instances") {
        Some(instances) if object.len() == 1 => from_instances(instances, features)?,
        _ => from_columns(&object, features)?,
    };
    if rows.is_empty() {
        return Err(InputError::Empty);
    }
    if rows.len() > MAX_ROWS {
        return Err(InputError::TooManyRows { found: rows.len() });
    }
    Ok(rows)
}

fn from_instances(instances: &Value, features: &[String]) -> Result<Vec<Vec<f64>>, InputError> {
    let Value::Array(items) = instances else {
        return Err(InputError::InstancesNotArray {
            found: kind(instances),
        });
    };
    if items.len() > MAX_ROWS {
        return Err(InputError::TooManyRows { found: items.len() });
    }
    items
        .iter()
        .enumerate()
        .map(|(row, item)| match item {
            Value::Object(map) => {
                reject_unknown(map.keys(), features)?;
                features
                    .iter()
                    .map(|feature| match map.get(feature) {
                        Some(v) => number(v, &row.to_string(), feature),
                        None => Err(InputError::MissingFeature {
                            row: row.to_string(),
                            feature: feature.clone(),
                        }),
                    })
                    .collect()
            }
            Value::Array(values) => {
                if values.len() != features.len() {
                    return Err(InputError::WrongArity {
                        row,
                        expected: features.len(),
                        found: values.len(),
                    });
                }
                values
                    .iter()
                    .zip(features)
                    .map(|(v, feature)| number(v, &row.to_string(), feature))
                    .collect()
            }
            other => Err(InputError::BadInstance {
                row,
                found: kind(other),
            }),
        })
        .collect()
}

fn from_columns(
    object: &Map<String, Value>,
    features: &[String],
) -> Result<Vec<Vec<f64>>, InputError> {
    if object.is_empty() {
        return Err(InputError::Empty);
    }
    reject_unknown(object.keys(), features)?;
    // Every feature's column, keyed by integer row index (BTreeMap keeps them in index order).
    let mut columns: Vec<BTreeMap<u64, f64>> = Vec::with_capacity(features.len());
    for feature in features {
        let column = object
            .get(feature)
            .ok_or_else(|| InputError::MissingFeature {
                row: "all".to_owned(),
                feature: feature.clone(),
            })?;
        let Value::Object(cells) = column else {
            return Err(InputError::ColumnNotObject {
                feature: feature.clone(),
                found: kind(column),
            });
        };
        if cells.len() > MAX_ROWS {
            return Err(InputError::TooManyRows { found: cells.len() });
        }
        let mut parsed = BTreeMap::new();
        for (index, v) in cells {
            let i = index.parse::<u64>().map_err(|_| InputError::BadRowIndex {
                feature: feature.clone(),
                index: index.clone(),
            })?;
            parsed.insert(i, number(v, index, feature)?);
        }
        columns.push(parsed);
    }
    let first = &columns[0];
    for (column, feature) in columns.iter().zip(features).skip(1) {
        if column.len() != first.len() || !column.keys().eq(first.keys()) {
            return Err(InputError::RaggedColumns {
                feature: feature.clone(),
                first: features[0].clone(),
            });
        }
    }
    Ok(first
        .keys()
        .map(|i| columns.iter().map(|column| column[i]).collect())
        .collect())
}

fn reject_unknown<'a>(
    keys: impl Iterator<Item = &'a String>,
    features: &[String],
) -> Result<(), InputError> {
    for key in keys {
        if !features.contains(key) {
            return Err(InputError::UnknownFeature {
                feature: key.clone(),
                expected: features.join(", "),
            });
        }
    }
    Ok(())
}

fn number(v: &Value, row: &str, feature: &str) -> Result<f64, InputError> {
    v.as_f64().ok_or_else(|| InputError::NotANumber {
        row: row.to_owned(),
        feature: feature.to_owned(),
        found: kind(v),
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C"; the position is reported in its own fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Vec<String> {
        ["age", "bmi", "bp"].map(String::from).to_vec()
    }

    #[test]
    fn instances_of_objects_follow_model_feature_order() {
        let body = br#"{"instances":[{"bp":3,"age":1,"bmi":2},{"age":4,"bmi":5,"bp":6}]}"#;
        let rows = parse_rows(body, &features()).expect("valid");
        assert_eq!(rows, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
    }

    #[test]
    fn instances_of_arrays_are_positional() {
        let rows = parse_rows(br#"{"instances":[[1,2,3]]}"#, &features()).expect("valid");
        assert_eq!(rows, vec![vec![1.0, 2.0, 3.0]]);
    }

    #[test]
    fn column_form_orders_rows_by_integer_index_not_string() {
        // As strings "10" < "2"; as integers 2 < 10.
        let body = br#"{"age":{"10":1,"2":4},"bmi":{"2":5,"10":2},"bp":{"10":3,"2":6}}"#;
        let rows = parse_rows(body, &features()).expect("valid");
        assert_eq!(rows, vec![vec![4.0, 5.0, 6.0], vec![1.0, 2.0, 3.0]]);
    }

    #[test]
    fn fast_and_detailed_parsers_agree_on_every_body_either_accepts() {
        let f = features();
        let bodies: &[&[u8]] = &[
            br#"{"instances":[{"bp":3,"age":1,"bmi":2},{"age":4,"bmi":5,"bp":6}]}"#,
            br#"{"instances":[[1,2,3],[4.5,-5,6e2]]}"#,
            br#"{"age":{"10":1,"2":4},"bmi":{"2":5,"10":2},"bp":{"10":3,"2":6}}"#,
            br#"{"instances":[{"age":1,"bmi":2,"bp":3,"age":9}]}"#,
            br#"{"instances":[{"age":1,"bmi":2}]}"#,
            br#"{"instances":[{"age":1,"bmi":2,"bp":"3"}]}"#,
            br#"{"instances":[[1,2]]}"#,
            br#"{"instances":[]}"#,
            br#"{"instances":[1]}"#,
            br#"{"instances":[[1,2,3]],"x":1}"#,
            br#"{"age":{"0":1},"bmi":{"0":2}}"#,
            br#"{"age":{"0":1},"bmi":{"0":2},"bp":{"1":3}}"#,
            br#"{"age":{"a":1},"bmi":{"0":2},"bp":{"0":3}}"#,
            br#"{"age":{"0":null},"bmi":{"0":2},"bp":{"0":3}}"#,
            br#"{"age":{"0":1},"bmi":{"0":2},"bp":{"0":3},"zz":{}}"#,
            br#"{}"#,
            br#"[]"#,
            br#"{"instances":[[1,2,3]]} trailing"#,
        ];
        for body in bodies {
            let fast = crate::input_fast::parse_rows_fast(body, &f);
            let detailed = parse_rows_detailed(body, &f);
            if let Some(rows) = &fast {
                assert_eq!(
                    Ok(rows.clone()),
                    detailed,
                    "{}",
                    String::from_utf8_lossy(body)
                );
            }
            assert_eq!(
                parse_rows(body, &f),
                detailed,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn ragged_columns_are_refused() {
        let body = br#"{"age":{"0":1,"1":2},"bmi":{"0":5},"bp":{"0":3,"1":6}}"#;
        let err = parse_rows(body, &features()).expect_err("ragged");
        assert_eq!(err.code(), "ragged_columns");
    }

    #[test]
    fn position_of_a_json_syntax_error_is_reported() {
        let err = parse_rows(b"{\n  \"instances\": [1,\n}", &features()).expect_err("bad");
        let InputError::NotJson { line, .. } = err else {
            panic!("expected NotJson, got {err:?}");
        };
        assert_eq!(line, 3);
    }
}
