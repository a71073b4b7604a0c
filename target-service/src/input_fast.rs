//! The fast path of `/predict` body parsing: deserializes the two accepted shapes straight into
//! rows, borrowing keys from the body and building no `serde_json::Value`. It answers only for
//! well-formed bodies; anything else returns `None` and the detailed parser in `input.rs`
//! produces the exact error. Both paths give identical rows for every body they both accept.

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// Rows in `features` order, or `None` when the body needs the detailed parser.
pub(crate) fn parse_rows_fast(body: &[u8], features: &[String]) -> Option<Vec<Vec<f64>>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let rows = de.deserialize_map(BodyVisitor { features }).ok()?;
    de.end().ok()?;
    rows
}

fn position(features: &[String], key: &str) -> Option<usize> {
    features.iter().position(|f| f == key)
}

struct BodyVisitor<'f> {
    features: &'f [String],
}

impl<'de> Visitor<'de> for BodyVisitor<'_> {
    /// `None` means "valid JSON, but let the detailed parser decide".
    type Value = Option<Vec<Vec<f64>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let n = self.features.len();
        let mut columns: Vec<Option<BTreeMap<u64, f64>>> = vec![None; n];
        let mut instances = None;
        let mut keys = 0usize;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            keys += 1;
            if key == "instances" {
                instances = Some(map.next_value_seed(InstancesSeed {
                    features: self.features,
                })?);
            } else if let Some(j) = position(self.features, &key) {
                columns[j] = Some(map.next_value_seed(ColumnSeed)?);
            } else {
                map.next_value::<IgnoredAny>()?;
                return Ok(None);
            }
        }
        match instances {
            Some(rows) if keys == 1 => Ok(rows.filter(|r: &Vec<Vec<f64>>| !r.is_empty())),
            Some(_) => Ok(None),
            None => {
                let Some(columns) = columns.into_iter().collect::<Option<Vec<_>>>() else {
                    return Ok(None);
                };
                let first = &columns[0];
                if first.is_empty()
                    || columns
                        .iter()
                        .any(|c| c.len() != first.len() || !c.keys().eq(first.keys()))
                {
                    return Ok(None);
                }
                Ok(Some(
                    first
                        .keys()
                        .map(|i| columns.iter().map(|c| c[i]).collect())
                        .collect(),
                ))
            }
        }
    }
}

struct InstancesSeed<'f> {
    features: &'f [String],
}

impl<'de> DeserializeSeed<'de> for InstancesSeed<'_> {
    type Value = Option<Vec<Vec<f64>>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for InstancesSeed<'_> {
    type Value = Option<Vec<Vec<f64>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of instances")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::new();
        while let Some(row) = seq.next_element_seed(RowSeed {
            features: self.features,
        })? {
            match row {
                Some(row) => rows.push(row),
                None => {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(None);
                }
            }
        }
        Ok(Some(rows))
    }
}

struct RowSeed<'f> {
    features: &'f [String],
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Option<Vec<f64>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Option<Vec<f64>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array of numbers")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut row = vec![f64::NAN; self.features.len()];
        let mut seen = vec![false; self.features.len()];
        let mut ok = true;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match (ok, position(self.features, &key)) {
                (true, Some(j)) => match map.next_value::<Number>()?.0 {
                    Some(v) => {
                        row[j] = v;
                        seen[j] = true;
                    }
                    None => ok = false,
                },
                _ => {
                    ok = false;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((ok && seen.iter().all(|s| *s)).then_some(row))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut row = Vec::with_capacity(self.features.len());
        let mut ok = true;
        while let Some(Number(v)) = seq.next_element::<Number>()? {
            match v {
                Some(v) => row.push(v),
                None => ok = false,
            }
        }
        Ok((ok && row.len() == self.features.len()).then_some(row))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct ColumnSeed;

impl<'de> DeserializeSeed<'de> for ColumnSeed {
    type Value = BTreeMap<u64, f64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ColumnSeed {
    type Value = BTreeMap<u64, f64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of row index to number")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut column = BTreeMap::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let index = key
                .parse::<u64>()
                .map_err(|_| de::Error::custom("row index"))?;
            let Number(Some(v)) = map.next_value::<Number>()? else {
                return Err(de::Error::custom("not a number"));
            };
            column.insert(index, v);
        }
        Ok(column)
    }
}

/// A JSON number as f64; `None` for any other JSON value (skipped whole).
struct Number(Option<f64>);

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Number, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Number(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Number, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Number(None))
            }
        }
        d.deserialize_any(V)
    }
}
