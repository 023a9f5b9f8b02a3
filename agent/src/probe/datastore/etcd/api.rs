//! Parsers for etcd's answers on the client port: `/health` and the v3 JSON gateway
//! (grpc-gateway), pure functions over bytes.
//!
//! | endpoint | fields read |
//! | --- | --- |
//! | `GET /health` | `health` (`"true"`/`"false"`), `reason` (3.5+; 3.4 sends none) |
//! | `POST /v3/maintenance/status` `{}` | `header.member_id`, `version`, `leader`, `raftTerm`, `raftIndex`, `raftAppliedIndex`, `dbSize`, `dbSizeInUse`, `isLearner`, `errors` |
//! | `POST /v3/maintenance/alarm` `{"action":"GET"}` | `alarms[].alarm` (`NOSPACE`, `CORRUPT`) |
//! | `POST /v3/cluster/member/list` `{}` | `members[]`: `ID`, `name`, `peerURLs[0]`, `isLearner` |
//!
//! proto3 JSON rules, as etcd 3.4 answers (checked against a real etcd 3.4.23): 64-bit
//! integers are JSON strings (numbers are accepted too), fields at their zero value are left
//! out (no `leader` when there is none, no `alarms` when there are none), field names are the
//! proto names, camelCase in `StatusResponse`, snake_case in `header` (`memberId` is also
//! accepted). A present field of the wrong type is an error, never a zero.
//!
//! Invariant: bytes from the network. Never panics (serde_json bounds its recursion), every
//! string is cut to a small size, every list to the wire bound.

use edgeward_proto::Bounded;
use edgeward_proto::datastore::{EtcdHealth, EtcdMember};
use serde_json::Value;

use super::super::error::cut;

/// Longest string kept from an answer, in bytes.
const TEXT_LIMIT: usize = 256;

/// The parts of a status answer the probe reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusAnswer {
    pub version: String,
    pub member_id: u64,
    pub leader_id: u64,
    pub is_learner: bool,
    pub raft_term: u64,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub db_size_bytes: u64,
    pub db_size_in_use_bytes: u64,
    pub errors: Bounded<String, 16>,
}

/// `/health`: 200 and 503 both carry `{"health":"true"|"false"}`.
pub fn health(body: &[u8]) -> Result<EtcdHealth, String> {
    let v = object(body)?;
    let healthy = match v.get("health") {
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(Value::Bool(b)) => *b,
        _ => return Err("no \"health\": \"true\"|\"false\"".into()),
    };
    Ok(EtcdHealth {
        healthy,
        reason: text(&v, "reason")?.unwrap_or_default(),
    })
}

pub fn status(body: &[u8]) -> Result<StatusAnswer, String> {
    let v = object(body)?;
    let header = match v.get("header") {
        Some(h @ Value::Object(_)) => h,
        _ => return Err("no header".into()),
    };
    let member_id = match uint(header, "member_id")? {
        Some(id) => Some(id),
        None => uint(header, "memberId")?,
    };
    let member_id = member_id
        .filter(|id| *id != 0)
        .ok_or("no header.member_id")?;
    let version = text(&v, "version")?.ok_or("no version")?;
    let mut errors = Bounded::new();
    for e in strings(&v, "errors")? {
        if errors.push(e).is_err() {
            break;
        }
    }
    Ok(StatusAnswer {
        version,
        member_id,
        leader_id: uint(&v, "leader")?.unwrap_or(0),
        is_learner: boolean(&v, "isLearner")?,
        raft_term: uint(&v, "raftTerm")?.unwrap_or(0),
        raft_index: uint(&v, "raftIndex")?.unwrap_or(0),
        raft_applied_index: uint(&v, "raftAppliedIndex")?.unwrap_or(0),
        db_size_bytes: uint(&v, "dbSize")?.unwrap_or(0),
        db_size_in_use_bytes: uint(&v, "dbSizeInUse")?.unwrap_or(0),
        errors,
    })
}

/// Alarm names from an alarm `GET` answer; none when `alarms` is absent.
pub fn alarms(body: &[u8]) -> Result<Bounded<String, 16>, String> {
    let v = object(body)?;
    let mut out = Bounded::new();
    let list = match v.get("alarms") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("alarms is not a list".into()),
    };
    for item in list {
        let name = match item.get("alarm") {
            Some(Value::String(s)) => cut(s.clone(), TEXT_LIMIT),
            Some(Value::Number(n)) => alarm_name(n.as_u64()),
            // The zero value (NONE) is left out.
            None => continue,
            Some(_) => return Err("alarm is neither a name nor a number".into()),
        };
        if !out.contains(&name) && out.push(name).is_err() {
            break;
        }
    }
    Ok(out)
}

/// etcd's `AlarmType` numbers.
fn alarm_name(n: Option<u64>) -> String {
    match n {
        Some(0) => "NONE".into(),
        Some(1) => "NOSPACE".into(),
        Some(2) => "CORRUPT".into(),
        Some(n) => format!("ALARM_{n}"),
        None => "ALARM_UNKNOWN".into(),
    }
}

/// Alarm names from a status answer's `errors`, where etcd lists each active alarm as
/// `memberID:<id> alarm:<NAME> ` (its protobuf text form): the member's own view, used when
/// the alarm `GET` (a raft request) cannot answer, e.g. without a leader.
pub fn alarms_in_errors(errors: &[String]) -> Bounded<String, 16> {
    let mut out = Bounded::new();
    for e in errors {
        let Some((_, rest)) = e.split_once("alarm:") else {
            continue;
        };
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) && out.push(name).is_err() {
            break;
        }
    }
    out
}

pub fn members(body: &[u8]) -> Result<Bounded<EtcdMember, 16>, String> {
    let v = object(body)?;
    let Some(Value::Array(list)) = v.get("members") else {
        return Err("no members list".into());
    };
    let mut out = Bounded::new();
    for (i, m) in list.iter().enumerate() {
        let at = |e: String| format!("member {i}: {e}");
        let id = match uint(m, "ID").map_err(at)? {
            Some(id) => id,
            None => uint(m, "id")
                .map_err(at)?
                .ok_or_else(|| at("no ID".into()))?,
        };
        let peer_url = strings(m, "peerURLs")
            .map_err(at)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let member = EtcdMember {
            id,
            name: text(m, "name").map_err(at)?.unwrap_or_default(),
            peer_url,
            is_learner: boolean(m, "isLearner").map_err(at)?,
        };
        out.push(member).map_err(|_| {
            format!(
                "{} members, more than the {} a sample carries",
                list.len(),
                Bounded::<EtcdMember, 16>::MAX
            )
        })?;
    }
    Ok(out)
}

/// The `error` (grpc-gateway) or `message` text of an error answer, if any.
pub fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    ["error", "message"].iter().find_map(|k| match v.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(cut(s.clone(), TEXT_LIMIT)),
        _ => None,
    })
}

fn object(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// A proto3 64-bit unsigned integer: a decimal string or a number; `None` when absent.
fn uint(v: &Value, key: &str) -> Result<Option<u64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} is not an unsigned integer")),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{key} is not an unsigned integer")),
        Some(_) => Err(format!("{key} is not an unsigned integer")),
    }
}

fn boolean(v: &Value, key: &str) -> Result<bool, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key} is not a boolean")),
    }
}

fn text(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(cut(s.clone(), TEXT_LIMIT))),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

/// A list of strings (at most the wire bound of 16 kept); empty when absent.
fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .take(16)
            .map(|i| match i {
                Value::String(s) => Ok(cut(s.clone(), TEXT_LIMIT)),
                _ => Err(format!("{key} holds a non-string")),
            })
            .collect(),
        Some(_) => Err(format!("{key} is not a list")),
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
