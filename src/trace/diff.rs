//! What a step changed: a readable JSON view of the whole system, and the difference between
//! two views as a list of the fields that changed.

use crate::model::World;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One changed field. `path` names it (`consumers.consumer-1.phase`); an element that appeared
/// in or left a list (a message sent or delivered, a member added) has `from` or `to` null.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    pub from: Value,
    pub to: Value,
}

/// The whole system as JSON, named the way the trace talks about it: brokers and consumers by
/// name, messages in flight as one line each, bookkeeping under its own names.
pub fn view(w: &World) -> Value {
    let brokers: Map<String, Value> = w
        .brokers
        .iter()
        .map(|b| {
            let mut v = to_value(b);
            // Members by id, so that a member's change is named by its id.
            if let Some(Value::Array(ms)) = v.pointer_mut("/group/members") {
                let by_id: Map<String, Value> = ms
                    .drain(..)
                    .map(|mut m| {
                        let id = m
                            .as_object_mut()
                            .and_then(|o| o.remove("id"))
                            .and_then(|id| id.as_str().map(String::from))
                            .unwrap_or_default();
                        (id, m)
                    })
                    .collect();
                v["group"]["members"] = Value::Object(by_id);
            }
            (format!("broker-{}", b.broker), v)
        })
        .collect();
    let consumers: Map<String, Value> = w
        .consumers
        .iter()
        .enumerate()
        .map(|(c, consumer)| {
            let mut v = to_value(consumer);
            if let Value::Object(o) = &mut v {
                o.insert("started".into(), Value::Bool(w.is_started(c)));
            }
            (format!("consumer-{c}"), v)
        })
        .collect();
    let acked: Map<String, Value> = w
        .acked
        .iter()
        .enumerate()
        .map(|(p, o)| (format!("p{p}"), json!(o)))
        .collect();
    json!({
        "brokers": brokers,
        "offsets_log": to_value(&w.log),
        "consumers": consumers,
        "network": w.network.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        "faults_used": to_value(&w.used),
        "acknowledged_offsets": acked,
        "observed": observed_names(w),
    })
}

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("model state serializes to JSON")
}

fn observed_names(w: &World) -> Vec<&'static str> {
    use crate::model::Observed;
    [
        (Observed::UNDURABLE_ACK, "undurable_ack"),
        (Observed::FETCH_BELOW_ACK, "fetch_below_ack"),
        (Observed::ZOMBIE_COMMIT, "zombie_commit"),
        (Observed::GENERATION_REGRESSED, "generation_regressed"),
    ]
    .into_iter()
    .filter(|(bit, _)| w.observed.has(*bit))
    .map(|(_, name)| name)
    .collect()
}

/// The fields that differ between two views, in a stable order: objects key by key; lists of
/// plain values (positions, partition sets) as a whole; lists of messages or records as the
/// elements that left and the ones that came.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff_into(String::new(), before, after, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn is_plain(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(_) | Value::Number(_))
}

fn diff_into(path: String, a: &Value, b: &Value, out: &mut Vec<Change>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (u, v) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff_into(join(&path, k), u, v, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if !x.iter().chain(y).all(is_plain) => {
            let mut added: Vec<&Value> = y.iter().collect();
            for v in x {
                match added.iter().position(|a| *a == v) {
                    Some(i) => {
                        added.remove(i);
                    }
                    None => out.push(Change {
                        path: path.clone(),
                        from: v.clone(),
                        to: Value::Null,
                    }),
                }
            }
            for v in added {
                out.push(Change {
                    path: path.clone(),
                    from: Value::Null,
                    to: v.clone(),
                });
            }
        }
        _ => out.push(Change {
            path,
            from: a.clone(),
            to: b.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_different_length_report_what_left_and_what_came() {
        let a = json!({"net": ["x", "y"], "n": 1});
        let b = json!({"net": ["y", "z", "w"], "n": 1});
        let d = diff(&a, &b);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].from, json!("x"));
        assert_eq!(d[1].to, json!("z"));
        assert_eq!(d[2].to, json!("w"));
        // Lists of plain values change as a whole.
        let d = diff(&json!({"owned": [1]}), &json!({"owned": [0, 1]}));
        assert_eq!(d[0].to, json!([0, 1]));
    }

    #[test]
    fn nested_fields_are_named_by_path() {
        let a = json!({"c": {"consumer-0": {"phase": "Stable", "owned": [0]}}});
        let b = json!({"c": {"consumer-0": {"phase": "Joining", "owned": [0]}}});
        assert_eq!(
            diff(&a, &b),
            vec![Change {
                path: "c.consumer-0.phase".into(),
                from: json!("Stable"),
                to: json!("Joining")
            }]
        );
    }
}
