//! The log (`LOG_FORMAT`): env_logger's human-readable lines, or one JSON
//! object per line for log shippers — `ts`, `level`, `target`, `msg`, and the
//! record's key-value pairs (the access log's `request_id`, `method`, `route`,
//! `status`, `duration_ms`, `peer`). serde_json writes every line, so a
//! message cannot break out of its object.

use std::io::Write;

use chrono::{SecondsFormat, Utc};
use log::kv::{Error, Key, Value, VisitSource};
use serde_json::{Map, Value as Json};

use crate::config::running::LogFormat;

/// Installs the logger (`RUST_LOG` filters it; `info` by default).
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            serde_json::to_writer(&mut *buf, &json_line(record))?;
            writeln!(buf)
        });
    }
    builder.init();
}

/// One record as a JSON object.
pub fn json_line(record: &log::Record) -> Map<String, Json> {
    let mut line = Map::new();
    line.insert(
        "ts".into(),
        Utc::now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
            .into(),
    );
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    line.insert("msg".into(), record.args().to_string().into());
    let _ = record.key_values().visit(&mut Fields(&mut line));
    line
}

/// Adds key-value pairs, numbers as numbers; never over the four above.
struct Fields<'a>(&'a mut Map<String, Json>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), Error> {
        let key = key.as_str();
        if matches!(key, "ts" | "level" | "target" | "msg") {
            return Ok(());
        }
        let value = if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(n) = value.to_i64() {
            n.into()
        } else if let Some(x) = value.to_f64() {
            serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
        } else if let Some(b) = value.to_bool() {
            b.into()
        } else {
            value.to_string().into()
        };
        self.0.insert(key.to_owned(), value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_becomes_one_object_with_its_fields() {
        let pairs: &[(&str, Value)] = &[
            ("status", Value::from(200u16)),
            ("duration_ms", Value::from(1.25f64)),
            ("route", Value::from("/x/{id}")),
            ("msg", Value::from("not this")),
        ];
        let record = log::Record::builder()
            .level(log::Level::Warn)
            .target("gatehouse::access")
            .args(format_args!("a \"quoted\"\nline"))
            .key_values(&pairs)
            .build();
        let line = Json::Object(json_line(&record));
        let text = serde_json::to_string(&line).unwrap();
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["target"], "gatehouse::access");
        assert_eq!(line["msg"], "a \"quoted\"\nline");
        assert_eq!(line["status"], 200);
        assert_eq!(line["duration_ms"], 1.25);
        assert_eq!(line["route"], "/x/{id}");
        assert!(line["ts"].as_str().unwrap().ends_with('Z'));
    }
}
