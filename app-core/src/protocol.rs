//! The sync protocol's messages, shared by the sync client (devices, child servers) and the
//! sync server. `docs/protocol.md` describes the exchange; these types are its JSON.
//!
//! Binary values (automerge changes and saved documents) travel as standard base64 strings
//! inside JSON, so that any HTTP client can speak the protocol; bodies may be gzip-compressed
//! in both directions (`Content-Encoding: gzip`).

use crate::ids::{DeviceId, PersonId, UnitId};
use crate::org::{Role, Tier};
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks; the server refuses requests of other versions.
pub const PROTOCOL_VERSION: u32 = 1;

/// `POST /v1/enrol`: a device (or a child server) exchanges a one-time code for a credential.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// The one-time code an administrator issued for a person (or a child server).
    pub code: String,
    /// A name for the device, shown in the device list (e.g. "关国栋的手机").
    pub device_name: String,
    /// The automerge actor id (hex) this device writes with. Every change the device uploads
    /// must carry it.
    pub actor: String,
}

/// `POST /v1/tier/figures`: a lower tier's server sends the figures of its unit, by local day
/// (逐级汇总). Counts only (see [`crate::figures::Cell`]); each day replaces the one sent
/// before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowerFigures {
    /// The unit the sending server serves; its credential must be that unit's.
    pub unit: UnitId,
    /// When the figures were counted (epoch milliseconds): open and overdue are as at then.
    pub as_of: i64,
    pub days: Vec<crate::figures::DayCells>,
}

/// The most days one [`LowerFigures`] may carry.
pub const MAX_FIGURE_DAYS: usize = 400;

/// One day of a lower tier's figures as a server keeps it, with the order it was kept in
/// (`seq`): what a county's server hands its staff's devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowerDay {
    pub unit: UnitId,
    pub as_of: i64,
    pub seq: i64,
    pub day: crate::figures::DayCells,
}

/// `GET /v1/figures/lower?after=<seq>`: the days of the figures of the units below the
/// device's that the server kept after `after`, in order; ask again from `next` while `more`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowerDays {
    pub days: Vec<LowerDay>,
    pub next: i64,
    pub more: bool,
}

/// The most days one [`LowerDays`] holds.
pub const MAX_LOWER_DAYS_DOWN: usize = 500;

/// The answer to [`LowerFigures`]: how many days were taken (a day the server holds newer
/// figures of is not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowerFiguresTaken {
    pub days: usize,
}

/// The credential and who the device acts for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device: DeviceId,
    /// The bearer token (`Authorization: Bearer <token>`). Shown once; the server keeps a hash.
    pub token: String,
    pub person: PersonId,
    pub name: String,
    /// The roles the person holds, with the unit of each.
    pub roles: Vec<(Role, UnitId)>,
    /// The unit (and tier) the server serves.
    pub server_unit: UnitId,
    pub server_tier: Tier,
}

/// `POST /v1/sync`: upload what the device has, receive what it lacks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The cursor of the last response the device applied completely (0 at first).
    #[serde(default)]
    pub cursor: u64,
    /// Changes the device has not had acknowledged, grouped by document.
    #[serde(default)]
    pub upload: Vec<DocChanges>,
    /// At most this many documents in the answer (the server may send fewer).
    #[serde(default)]
    pub max_docs: Option<u32>,
}

/// Some changes of one document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocChanges {
    /// The document's key: `case:<id>`, `contacts:<id>` or `household:<id>`.
    pub doc: String,
    /// Encoded automerge changes, base64, in any order.
    #[serde(with = "b64_list")]
    pub changes: Vec<Vec<u8>>,
}

/// The answer to a sync request. Everything uploaded is stored durably before this is sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// How many uploaded changes were new to the server (the rest it already had).
    pub stored: u32,
    /// What the device lacks, in scope: changes of documents it has, whole documents it does not.
    pub docs: Vec<DocUpdate>,
    /// The cursor to send next time, once `docs` are applied.
    pub cursor: u64,
    /// Whether more documents are waiting (ask again straight away with the new cursor).
    pub more: bool,
    /// The version of the server's directory (units and people); when it differs from the one
    /// the device holds, the device fetches `GET /v1/directory`.
    pub directory: u64,
}

/// `GET /v1/directory`: the units and people a device needs (the roster, the tier tree).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectoryResponse {
    pub version: u64,
    pub units: Vec<crate::org::Unit>,
    pub people: Vec<crate::org::Person>,
}

/// One document's update for a device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DocUpdate {
    /// Changes the device lacks of a document it holds.
    Changes {
        doc: String,
        #[serde(with = "b64_list")]
        changes: Vec<Vec<u8>>,
    },
    /// A whole document, saved: it has just come into the device's scope.
    Document {
        doc: String,
        #[serde(with = "b64")]
        bytes: Vec<u8>,
    },
}

impl DocUpdate {
    pub fn doc(&self) -> &str {
        match self {
            DocUpdate::Changes { doc, .. } | DocUpdate::Document { doc, .. } => doc,
        }
    }
}

/// The answer to `PUT /v1/cases/{id}/attachments/{sha256}`: the bytes are stored durably.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentStored {
    pub sha256: String,
    pub size: u64,
    /// Whether the bytes were new to the server (false for a repeated upload).
    pub stored: bool,
}

/// Every error the server answers with, in the body of a 4xx or 5xx.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (see [`ErrorCode`]).
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// The document the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// The error codes of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not the JSON the endpoint expects.
    BadJson,
    /// A binary value is not valid base64, or a key is not a document key.
    BadEncoding,
    /// The bytes are not automerge changes (or documents).
    CorruptChange,
    /// The body is larger than the server accepts.
    TooLarge,
    /// The batch has more documents or changes than the server accepts at once.
    TooMany,
    /// The device sends faster than the server allows; retry after the `Retry-After` seconds.
    RateLimited,
    /// No credential, or not a valid one.
    Unauthenticated,
    /// The device's credential was revoked.
    Revoked,
    /// The enrolment code is unknown, used or expired.
    BadCode,
    /// Changes refer to a document (or changes) the server does not have.
    UnknownDoc,
    /// A change was written by an actor that is not this device's.
    ForgedActor,
    /// The document is outside what this person may see or change.
    OutOfScope,
    /// A timeline entry claims a person other than the device's, or a role they do not hold.
    WrongAuthor,
    /// The workflow does not allow the move for that person, in the state the author saw.
    WorkflowDenied,
    /// The merged document does not have the shape of a case, contacts or household document,
    /// or a change rewrote history (removed or altered a timeline entry).
    BadDocument,
    /// The client speaks another protocol version.
    Version,
    /// The case lists no attachment with that SHA-256 (or none of that type and size).
    UnknownAttachment,
    /// The case lists the attachment, but its bytes have not reached this server yet (the
    /// device that attached it has not uploaded them): try again later.
    NotUploaded,
    /// An attachment's bytes do not hash to the SHA-256 they were sent under.
    HashMismatch,
    /// An attachment's bytes are not what the case lists: another type (`Content-Type`) or
    /// size, a type that cannot be attached, or empty.
    BadAttachment,
    /// The server cannot take the request now: it is reading as many request bodies as it
    /// allows at once, or the upload's documents kept changing while it was checked. Nothing
    /// was stored: try again after the `Retry-After` seconds.
    Busy,
    /// Anything else; the server logs the details.
    Internal,
    /// An intake request without the `Idempotency-Key` header.
    MissingIdempotencyKey,
    /// The `Idempotency-Key` was used before with another request body.
    IdempotencyKeyReused,
    /// No work order of that number was taken in from this system.
    UnknownOrder,
    /// A work order's address (or unit) names no unit the system may dispatch to.
    Unplaceable,
}

impl ErrorCode {
    /// What the refusal means, in Chinese, for the interface (the server's message is English).
    pub fn zh(self) -> &'static str {
        match self {
            ErrorCode::BadJson | ErrorCode::BadEncoding | ErrorCode::Version => {
                "应用与服务器版本不一致"
            }
            ErrorCode::CorruptChange => "本机数据已损坏",
            ErrorCode::TooLarge => "内容过大",
            ErrorCode::TooMany => "一次提交的修改过多",
            ErrorCode::RateLimited => "同步过于频繁",
            ErrorCode::Unauthenticated | ErrorCode::Revoked | ErrorCode::BadCode => "本机登记无效",
            ErrorCode::UnknownDoc => "服务器没有此案件的先前记录",
            ErrorCode::ForgedActor => "修改并非本机所写",
            ErrorCode::OutOfScope => "超出本人的工作范围",
            ErrorCode::WrongAuthor => "签署人与本机登记人员或其身份不符",
            ErrorCode::WorkflowDenied => "当时的办理流程不允许这一步",
            ErrorCode::BadDocument => "修改不符合案件记录的规则",
            ErrorCode::UnknownAttachment | ErrorCode::NotUploaded => "附件不在案件中",
            ErrorCode::HashMismatch | ErrorCode::BadAttachment => "附件内容有误",
            ErrorCode::Busy => "服务器繁忙",
            ErrorCode::Internal => "服务器出错",
            ErrorCode::MissingIdempotencyKey => "缺少幂等键",
            ErrorCode::IdempotencyKeyReused => "幂等键已用于另一工单",
            ErrorCode::UnknownOrder => "没有此工单",
            ErrorCode::Unplaceable => "无法确定工单所属地区",
        }
    }

    /// The code as it appears in answers (`wrong_author`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The code from its name in answers (or, for rows written by earlier versions, its Rust
    /// name).
    pub fn parse(s: &str) -> Option<ErrorCode> {
        serde_json::from_value(serde_json::Value::String(s.to_owned()))
            .ok()
            .or_else(|| {
                let snake: String = s
                    .chars()
                    .enumerate()
                    .flat_map(|(i, c)| {
                        let lower = c.to_ascii_lowercase();
                        let sep = (c.is_ascii_uppercase() && i > 0).then_some('_');
                        sep.into_iter().chain(std::iter::once(lower))
                    })
                    .collect();
                serde_json::from_value(serde_json::Value::String(snake)).ok()
            })
    }

    /// The HTTP status the server answers with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadJson
            | ErrorCode::BadEncoding
            | ErrorCode::CorruptChange
            | ErrorCode::MissingIdempotencyKey => 400,
            ErrorCode::Unauthenticated | ErrorCode::Revoked | ErrorCode::BadCode => 401,
            ErrorCode::ForgedActor | ErrorCode::OutOfScope | ErrorCode::WrongAuthor => 403,
            ErrorCode::UnknownDoc
            | ErrorCode::UnknownAttachment
            | ErrorCode::NotUploaded
            | ErrorCode::UnknownOrder => 404,
            ErrorCode::WorkflowDenied => 409,
            ErrorCode::TooLarge | ErrorCode::TooMany => 413,
            ErrorCode::BadDocument
            | ErrorCode::Version
            | ErrorCode::HashMismatch
            | ErrorCode::BadAttachment
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::Unplaceable => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Busy => 503,
        }
    }
}

/// A work order another system (the 12345 hotline platform, police linkage) dispatches to
/// the centres: the body of `POST /v1/intake/work-orders` (docs/intake.md). Times are UTC
/// milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeOrder {
    /// The platform's order number (工单号): with the system's source, unique.
    pub number: String,
    /// The line it came in on ("12345"); the system's own if absent.
    #[serde(default)]
    pub channel: Option<String>,
    /// 咨询/求助/投诉举报/意见建议, as a code (`consultation`, `help`, `complaint`,
    /// `suggestion`) or in Chinese.
    pub kind: String,
    /// What the call is about, in a line, and what the caller said.
    pub title: String,
    pub content: String,
    /// Where: the address as the caller gave it; `unit`, if the platform knows the unit.
    pub address: String,
    #[serde(default)]
    pub unit: Option<crate::ids::UnitId>,
    /// The dispute category's code, if the platform maps its own; `other` if absent (the
    /// centre sets it at assessment).
    #[serde(default)]
    pub category: Option<String>,
    pub caller: IntakeCaller,
    /// The caller asked for secrecy (保密): the caller's name and phone are not kept.
    pub confidential: bool,
    /// Others the call names (the party complained about, say).
    #[serde(default)]
    pub parties: Vec<IntakeParty>,
    pub dispatched_at: i64,
    /// 签收期限 and 答复期限.
    pub sign_by: i64,
    pub reply_by: i64,
}

/// The caller (来电人) of a work order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeCaller {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// Another person a work order names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeParty {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// Where a work order stands, as the platform reads it (`POST` and `GET` answers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntakeAnswer {
    pub number: String,
    /// The case it became, and the centre that has it.
    pub case: crate::ids::CaseId,
    pub centre: crate::ids::UnitId,
    pub centre_name: String,
    /// `dispatched` (待签收), `signed` (签收), `handling` (办理中), `replied` (已回复),
    /// `concluded` (办结) or `returned` (退单), and in Chinese.
    pub state: crate::workflow::OrderState,
    pub state_zh: String,
    #[serde(default)]
    pub signed_at: Option<i64>,
    /// The centre's latest reply and when it was given.
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub replied_at: Option<i64>,
    /// Why it was returned as not this centre's, and when.
    #[serde(default)]
    pub return_reason: Option<String>,
    #[serde(default)]
    pub returned_at: Option<i64>,
    /// How many times the platform dispatched it (more than once: 重派).
    pub dispatches: u32,
}

/// base64 for one binary value.
pub mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

/// base64 for a list of binary values.
pub mod b64_list {
    use base64::Engine;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&base64::engine::general_purpose::STANDARD.encode(bytes))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let strings = <Vec<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        strings
            .iter()
            .enumerate()
            .map(|(i, s)| {
                base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| serde::de::Error::custom(format!("change {i} is not base64: {e}")))
            })
            .collect()
    }
}

/// The media type of a `Content-Type` value, without parameters and in lower case
/// (`"Image/JPEG; q=1"` → `"image/jpeg"`); empty if there is none.
pub fn media_type(content_type: Option<&str>) -> String {
    content_type
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// How long to wait before retrying a request the server answered with 429, from its
/// `Retry-After` seconds: 1 s when absent or unreadable, never more than 10 s.
pub fn retry_after(header: Option<&str>) -> std::time::Duration {
    let secs = header
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, 10);
    std::time::Duration::from_secs(secs)
}
