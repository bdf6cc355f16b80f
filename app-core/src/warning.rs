//! Early warning (风险预警): rules a unit configures in TOML, evaluated the same way on a device
//! and on a server over the cases it holds, each case read as a [`WarnCase`] (a summary and its
//! parties' identity keys). An alert is computed, not stored: the same cases give the same alerts
//! with the same keys everywhere. What is recorded is staff's acknowledgement (签收), as a
//! timeline entry in each case the alert names, so that it merges, is attributable, travels up
//! with an escalated case, and an acknowledged alert is not raised again for the same subject.
//!
//! SKELETON: the parser and the evaluation are being written.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, MatterId, UnitId};
use crate::model::{Difficulty, RiskFlag};

/// An alert's level (预警等级), most urgent first: red, orange, yellow, blue.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 红色预警
    Red,
    /// 橙色预警
    Orange,
    /// 黄色预警
    Yellow,
    /// 蓝色预警
    Blue,
}

impl Level {
    pub fn zh(self) -> &'static str {
        match self {
            Level::Red => "红色预警",
            Level::Orange => "橙色预警",
            Level::Yellow => "黄色预警",
            Level::Blue => "蓝色预警",
        }
    }
}

/// Staff's acknowledgement of an alert, as recorded in a case's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertAck {
    /// The alert's key ([`Alert::key`]).
    pub key: String,
    /// Who acknowledged it (their name when they did) and when.
    pub by: String,
    pub at: i64,
    pub note: String,
}

/// One party of a case as the rules read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarnParty {
    pub name: String,
    /// The party's identity keys: `id:<18 characters>`, `phone:<digits>`, and
    /// `name:<village unit id>:<pinyin key>` (every key of [`crate::identity::NameKey::all_keys`]).
    pub keys: Vec<String>,
}

/// A case as the rules read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarnCase {
    pub id: CaseId,
    pub title: String,
    pub category: String,
    /// The village (村/社区) the dispute happened in, if the place is in one.
    pub village: Option<UnitId>,
    pub reported_at: i64,
    /// The deadline of the current tier, and when the case was handled (`None`: still open).
    pub due_at: i64,
    pub handled_at: Option<i64>,
    pub difficulty: Option<Difficulty>,
    pub risks: BTreeSet<RiskFlag>,
    /// How many times mediation failed (调解失败).
    pub failures: u32,
    pub parties: Vec<WarnParty>,
    pub matter: Option<MatterId>,
    /// Alerts acknowledged in this case's timeline.
    pub acknowledged: Vec<AlertAck>,
}

/// An alert raised by a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable for the same rule and subject, whatever else joins it later.
    pub key: String,
    /// The rule's id.
    pub rule: String,
    pub level: Level,
    /// What the alert says, in Chinese (e.g. "张三 90 天内涉及 3 件纠纷").
    pub words: String,
    /// The cases it concerns, oldest first.
    pub cases: Vec<CaseId>,
    /// When its condition was first met (the report that completed it).
    pub raised_at: i64,
    /// Staff's acknowledgement, if any case it concerns records one for its key.
    pub acknowledged: Option<AlertAck>,
}
