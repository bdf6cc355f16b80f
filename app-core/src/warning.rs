//! Early warning (风险预警): rules a unit configures in TOML, evaluated the same way on a device
//! and on a server over the cases it holds, each case read as a [`WarnCase`] (a summary and its
//! parties' identity keys). An alert is computed, not stored: the same cases give the same alerts
//! with the same keys everywhere. What is recorded is staff's acknowledgement (签收), as a
//! timeline entry in each case the alert names, so that it merges, is attributable, travels up
//! with an escalated case, and an acknowledged alert is not raised again for the same subject.
//!
//! Pure: no I/O and no clock (`now` is an argument; times are UTC milliseconds, a day is
//! [`DAY_MS`]), so that the interface shares it on wasm.
//!
//! # Rules (预警规则)
//! [`WarningRules`] is a list of [`Rule`]s, read from TOML ([`WarningRules::from_toml`], every
//! error naming its line) or from the JSON form a unit carries in the directory (its serde form),
//! and written back with [`WarningRules::to_toml`]. [`DEFAULT_RULES`] is the set a unit has until
//! it writes its own. The kinds ([`RuleKind`]):
//!
//! | kind | Chinese | fires when |
//! |---|---|---|
//! | `repeat_party` | 同一当事人多次纠纷 | one person is a party to `cases` or more cases reported within `days` days |
//! | `many_parties` | 群体性事件风险 | a case, or a matter (cases linked as one), has `parties` or more persons |
//! | `category_spread` | 同类纠纷多村报告 | cases of one category come from `villages` or more villages within `days` days |
//! | `failed_mediation` | 多次调解失败 | mediation failed `times` or more times in one case |
//! | `major_overdue` | 重大纠纷逾期 | a major or extra-major (重大、特大) case is still open past its deadline |
//! | `key_person` | 重点人员 | an open case involves a key person (重点人员) |
//!
//! "Within D days" is inclusive: the last report at most D × 24 h after the first.
//!
//! # The same person (同一当事人)
//! Two parties are one person if they share an `id:` key; or, when not both carry an `id:` key,
//! if they share a `phone:` key or a `name:` key (a name key holds the village, so only the same
//! name in the same village matches). Two different ID numbers are two people, never matched,
//! whatever else they share. The grouping is a union-find over the parties: first by ID numbers,
//! then by phone numbers, then by names, a union refused when both groups already hold an ID
//! number. Parties are taken in the order of their cases (by report time, then case id) and a
//! key's first holder anchors it, so a party without an ID number whose phone or name matches two
//! people with different ID numbers joins the one reported first. A party without keys is a
//! person of its own.
//!
//! # Alerts and their keys
//! An alert's [`Alert::key`] is its subject: it stays the same as later cases join it, so that an
//! acknowledgement recorded under it keeps holding. The formats:
//!
//! | rule kind | key | subject |
//! |---|---|---|
//! | `repeat_party` | `repeat-party:<rule id>:<case id>:<party index>` | the person, named by their party (0-based index) in the first case of their first qualifying window |
//! | `many_parties` | `many-parties:<rule id>:matter:<matter id>` or `many-parties:<rule id>:case:<case id>` | the matter, or a case linked to none |
//! | `category_spread` | `category-spread:<rule id>:<category>:<case id>` | one cluster of qualifying windows, named by its earliest case |
//! | `failed_mediation` | `failed-mediation:<rule id>:<case id>` | the case |
//! | `major_overdue` | `major-overdue:<rule id>:<case id>` | the case |
//! | `key_person` | `key-person:<rule id>:<case id>` | the case |
//!
//! A key changes only when a case reported *earlier* than its subject's first case arrives late
//! (from a device that was offline) and joins it, when two people are found to be one, or when a
//! case is linked to a matter.
//!
//! What an alert lists ([`Alert::cases`], oldest first): for `repeat_party`, every case of the
//! person that lies in some qualifying window (so a case acknowledged once stays listed); for
//! `category_spread`, the cluster's cases (overlapping qualifying windows, together); for
//! `many_parties`, the matter's cases or the case. [`Alert::raised_at`] is the report time of the
//! case that first completed the condition (for `major_overdue`, the deadline). An alert is
//! acknowledged when any case it lists records an [`AlertAck`] with its key (the earliest such
//! acknowledgement is given).
//!
//! [`evaluate`] is deterministic (the cases are sorted by report time and id first; a case id
//! given twice counts once, the earlier report) and near linear: hash maps for keys, sorted
//! two-pointer scans for windows (BENCHMARKS.md: all default rules over 10,000 cases).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, MatterId, UnitId};
use crate::model::{Difficulty, RiskFlag};

/// An alert's level (预警等级), most urgent first: red, orange, yellow, blue. Its serde form is
/// the variant's name (`Red`), as autosurgeon writes it into a case's timeline
/// ([`crate::model::Action::AcknowledgeAlert`]); rules files spell it [`Level::code`] (`red`).
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
    /// Every level, most urgent first.
    pub const ALL: [Level; 4] = [Level::Red, Level::Orange, Level::Yellow, Level::Blue];

    /// The level's code in the rules and in serde (`red`, `orange`, `yellow`, `blue`).
    pub fn code(self) -> &'static str {
        match self {
            Level::Red => "red",
            Level::Orange => "orange",
            Level::Yellow => "yellow",
            Level::Blue => "blue",
        }
    }

    /// The level of a code, if it is one.
    pub fn from_code(code: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The level's name in Chinese (红色预警…).
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

/// One day in milliseconds: the unit of the rules' `days`.
pub const DAY_MS: i64 = 86_400_000;

// ----- rules ----------------------------------------------------------------------------------

/// The rules a unit starts with (默认预警规则), in the TOML form [`WarningRules::from_toml`]
/// reads: [`WarningRules::default_rules`].
pub const DEFAULT_RULES: &str = r#"# 风险预警规则 (early-warning rules). A unit's own rules replace these as a whole.
#
# Each [[rule]] has an `id` (unique; no spaces or colons: it is part of each alert's key), a
# `kind`, a `level` (red 红色, orange 橙色, yellow 黄色, blue 蓝色) and the numbers of its kind.
# "Within N days" counts from the first report to the last, both included.

# 同一当事人多次纠纷: the same person is a party to 3 or more cases reported within 90 days.
[[rule]]
id = "repeat-party"
kind = "repeat_party"
level = "orange"
cases = 3
days = 90

# 群体性事件风险: a case, or a matter of linked cases, with 5 or more parties.
[[rule]]
id = "group-risk"
kind = "many_parties"
level = "red"
parties = 5

# 同类纠纷多村报告: cases of one category reported from 3 or more villages within 7 days.
# `categories = ["agriculture_fishery", "land_acquisition"]` would watch those only; without it,
# every category is watched.
[[rule]]
id = "category-spread"
kind = "category_spread"
level = "red"
villages = 3
days = 7

# 调解失败两次: mediation failed twice in one case.
[[rule]]
id = "failed-twice"
kind = "failed_mediation"
level = "yellow"
times = 2

# 重大纠纷逾期: a major or extra-major case still open past its deadline.
[[rule]]
id = "major-overdue"
kind = "major_overdue"
level = "red"

# 重点人员: an open case involving a key person.
[[rule]]
id = "key-person"
kind = "key_person"
level = "orange"
"#;

/// A unit's early-warning rules (预警规则), in order. Read from TOML with
/// [`WarningRules::from_toml`]; its serde form (the directory's JSON) is
/// `{"rules": [{"id": "repeat-party", "kind": "repeat_party", "level": "orange", "cases": 3,
/// "days": 90}, …]}`, each rule the same fields as a `[[rule]]` table, checked the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarningRules {
    pub rules: Vec<Rule>,
}

/// One rule: what it watches for ([`RuleKind`]) and the level of the alerts it raises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Unique among the unit's rules; part of each alert's key. Not empty, at most
    /// [`RULE_ID_MAX`] characters, no whitespace, colon or control character.
    pub id: String,
    pub level: Level,
    pub kind: RuleKind,
}

/// The longest rule id, in characters.
pub const RULE_ID_MAX: usize = 64;

/// What a rule watches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// 同一当事人多次纠纷: one person in `cases` or more cases reported within `days` days.
    RepeatParty { cases: u32, days: u32 },
    /// 群体性事件风险: a case, or a matter (cases linked by the same `matter`), with `parties` or
    /// more persons.
    ManyParties { parties: u32 },
    /// 同类纠纷多村报告: cases of one category reported from `villages` or more villages within
    /// `days` days. `categories` lists the category codes watched; empty, every category.
    CategorySpread {
        villages: u32,
        days: u32,
        categories: Vec<String>,
    },
    /// 多次调解失败: mediation failed `times` or more times in one case.
    FailedMediation { times: u32 },
    /// 重大纠纷逾期: a major or extra-major (重大、特大) case still open past its deadline.
    MajorOverdue,
    /// 重点人员: an open case with [`RiskFlag::KeyPerson`].
    KeyPerson,
}

impl RuleKind {
    /// Every kind's code, as `kind` takes it.
    pub const CODES: [&'static str; 6] = [
        "repeat_party",
        "many_parties",
        "category_spread",
        "failed_mediation",
        "major_overdue",
        "key_person",
    ];

    /// The kind's code in the rules (`repeat_party`…).
    pub fn code(&self) -> &'static str {
        match self {
            RuleKind::RepeatParty { .. } => "repeat_party",
            RuleKind::ManyParties { .. } => "many_parties",
            RuleKind::CategorySpread { .. } => "category_spread",
            RuleKind::FailedMediation { .. } => "failed_mediation",
            RuleKind::MajorOverdue => "major_overdue",
            RuleKind::KeyPerson => "key_person",
        }
    }

    /// The first part of the keys of the alerts it raises (`repeat-party`…).
    pub fn key_prefix(&self) -> &'static str {
        match self {
            RuleKind::RepeatParty { .. } => "repeat-party",
            RuleKind::ManyParties { .. } => "many-parties",
            RuleKind::CategorySpread { .. } => "category-spread",
            RuleKind::FailedMediation { .. } => "failed-mediation",
            RuleKind::MajorOverdue => "major-overdue",
            RuleKind::KeyPerson => "key-person",
        }
    }

    /// The kind's name in Chinese.
    pub fn zh_name(&self) -> &'static str {
        kind_zh(self.code())
    }
}

fn kind_zh(code: &str) -> &'static str {
    match code {
        "repeat_party" => "同一当事人多次纠纷",
        "many_parties" => "群体性事件风险",
        "category_spread" => "同类纠纷多村报告",
        "failed_mediation" => "多次调解失败",
        "major_overdue" => "重大纠纷逾期",
        "key_person" => "重点人员",
        _ => "预警",
    }
}

impl Rule {
    /// What the rule watches for, in Chinese (e.g. "同一当事人 90 天内涉及 3 件及以上纠纷").
    pub fn zh(&self) -> String {
        match &self.kind {
            RuleKind::RepeatParty { cases, days } => {
                format!("同一当事人 {days} 天内涉及 {cases} 件及以上纠纷")
            }
            RuleKind::ManyParties { parties } => {
                format!("一件纠纷或同一事项涉及 {parties} 名及以上当事人（群体性事件风险）")
            }
            RuleKind::CategorySpread {
                villages,
                days,
                categories,
            } => {
                let which = if categories.is_empty() {
                    "同类纠纷".to_owned()
                } else {
                    format!("{}类纠纷", categories.join("、"))
                };
                format!("{which} {days} 天内在 {villages} 个及以上村（社区）报告")
            }
            RuleKind::FailedMediation { times } => {
                format!("一件纠纷调解失败 {times} 次及以上")
            }
            RuleKind::MajorOverdue => "重大、特大纠纷逾期未办结".to_owned(),
            RuleKind::KeyPerson => "涉及重点人员的纠纷尚未办结".to_owned(),
        }
    }
}

impl WarningRules {
    /// [`DEFAULT_RULES`], read.
    pub fn default_rules() -> WarningRules {
        // The text is a constant, and a test reads it.
        WarningRules::from_toml(DEFAULT_RULES).expect("DEFAULT_RULES is valid")
    }

    /// Reads rules written as `[[rule]]` tables. Every error names its line (and column): TOML
    /// syntax, an unknown `kind` or `level`, a field missing for the kind or foreign to it, a
    /// number out of range (`cases`, `villages`, `parties` at least 2, `times` at least 1, `days`
    /// 1 to 3650), an empty, malformed or repeated `id` (the line of the second).
    pub fn from_toml(text: &str) -> Result<WarningRules, RulesError> {
        let at = |span: Option<Range<usize>>, problem: RulesProblem| {
            let (line, column) = position(text, span.map_or(0, |s| s.start));
            RulesError {
                line,
                column,
                message: problem.en(),
                problem,
            }
        };
        let toml_error =
            |e: toml::de::Error| at(e.span(), RulesProblem::Toml(e.message().to_owned()));
        // The top level holds `rule` only.
        let top: Entries<toml::Spanned<String>, de::IgnoredAny> =
            toml::from_str(text).map_err(toml_error)?;
        if let Some((key, _)) = top.0.iter().find(|(k, _)| k.get_ref() != "rule") {
            return Err(at(
                Some(key.span()),
                RulesProblem::UnknownField {
                    field: key.get_ref().clone(),
                    expected: &["rule"],
                },
            ));
        }
        let file: TomlFile = toml::from_str(text).map_err(toml_error)?;
        let raw = file
            .rule
            .into_iter()
            .map(|table| {
                let span = table.span();
                let fields: Vec<RawField> = table
                    .into_inner()
                    .0
                    .into_iter()
                    .map(|(k, v)| RawField {
                        key_span: Some(k.span()),
                        name: k.into_inner(),
                        span: Some(v.span()),
                        value: v.into_inner(),
                    })
                    .collect();
                // A table's span is its header; should a parser give none, its first key's.
                let span = Some(span)
                    .filter(|s| s.end > s.start)
                    .or_else(|| fields.first().and_then(|f| f.key_span.clone()));
                RawRule { span, fields }
            })
            .collect();
        check(raw)
            .map(|rules| WarningRules { rules })
            .map_err(|e| at(e.span, e.problem))
    }

    /// The rules as TOML that [`WarningRules::from_toml`] reads back to the same rules (how a
    /// server stores and ships them).
    pub fn to_toml(&self) -> String {
        let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let mut out = String::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str("[[rule]]\n");
            out.push_str(&format!("id = {}\n", quote(&rule.id)));
            out.push_str(&format!("kind = {}\n", quote(rule.kind.code())));
            out.push_str(&format!("level = {}\n", quote(rule.level.code())));
            let repr = RuleRepr::of(rule);
            for (name, value) in [
                ("cases", repr.cases),
                ("parties", repr.parties),
                ("villages", repr.villages),
                ("days", repr.days),
                ("times", repr.times),
            ] {
                if let Some(value) = value {
                    out.push_str(&format!("{name} = {value}\n"));
                }
            }
            if let Some(categories) = repr.categories.filter(|c| !c.is_empty()) {
                let list = categories
                    .iter()
                    .map(|c| quote(c))
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push_str(&format!("categories = [{list}]\n"));
            }
        }
        out
    }
}

/// A rules file that cannot be used, and where: `line` and `column` are 1-based (the column in
/// characters). Its `Display` is English ("warning rules, line 3: …"), [`RulesError::zh`]
/// Chinese.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("warning rules, line {line}: {message}")]
pub struct RulesError {
    pub line: usize,
    pub column: usize,
    /// What is wrong, in English ([`RulesProblem::en`]).
    pub message: String,
    pub problem: RulesProblem,
}

impl RulesError {
    /// What to tell a Chinese-speaking user ("预警规则第 3 行：…").
    pub fn zh(&self) -> String {
        format!("预警规则第 {} 行：{}", self.line, self.problem.zh())
    }
}

/// What a value should have been.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// 文字
    Text,
    /// 整数
    WholeNumber,
    /// 类别代码列表
    CategoryList,
}

impl Expected {
    fn en(self) -> &'static str {
        match self {
            Expected::Text => "text in quotes",
            Expected::WholeNumber => "a whole number",
            Expected::CategoryList => "a list of category codes in quotes",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Expected::Text => "带引号的文字",
            Expected::WholeNumber => "整数",
            Expected::CategoryList => "带引号的类别代码列表",
        }
    }
}

/// Why a rules file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RulesProblem {
    /// Not TOML, or not its expected shape (the TOML reader's own words).
    Toml(String),
    /// A field no rule of this kind has (or, at the top, anything but `rule`).
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    /// A field the rule needs (`kind`: the rule's kind, once known).
    MissingField {
        field: &'static str,
        kind: Option<&'static str>,
    },
    /// A value of the wrong type.
    WrongType { field: String, expected: Expected },
    /// A `kind` that is none of [`RuleKind::CODES`].
    UnknownKind(String),
    /// A `level` that is none of red, orange, yellow, blue.
    UnknownLevel(String),
    /// A number zero, negative or absurd.
    OutOfRange {
        field: &'static str,
        value: i64,
        min: i64,
        max: i64,
    },
    /// `id = ""`.
    EmptyId,
    /// An id with whitespace, a colon or a control character, or longer than [`RULE_ID_MAX`].
    BadId(String),
    /// An id an earlier rule has.
    DuplicateId(String),
    /// An empty code in `categories`.
    EmptyCategory,
}

fn field_zh(field: &str) -> &'static str {
    match field {
        "id" => "规则编号",
        "kind" => "规则类型",
        "level" => "预警等级",
        "cases" => "纠纷件数",
        "days" => "天数",
        "parties" => "当事人数",
        "villages" => "村（社区）数",
        "times" => "调解失败次数",
        "categories" => "纠纷类别",
        "rule" => "规则",
        _ => "字段",
    }
}

fn ticked(list: &[&str]) -> String {
    list.iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RulesProblem {
    /// What is wrong, in English.
    pub fn en(&self) -> String {
        match self {
            RulesProblem::Toml(message) => format!("not valid TOML for the rules: {message}"),
            RulesProblem::UnknownField { field, expected } => {
                format!("unknown field `{field}`, expected {}", ticked(expected))
            }
            RulesProblem::MissingField {
                field,
                kind: Some(kind),
            } => format!("a {kind} rule needs `{field}`"),
            RulesProblem::MissingField { field, kind: None } => {
                format!("this rule has no `{field}`")
            }
            RulesProblem::WrongType { field, expected } => {
                format!("`{field}` must be {}", expected.en())
            }
            RulesProblem::UnknownKind(kind) => format!(
                "unknown kind `{kind}`, expected {}",
                ticked(&RuleKind::CODES)
            ),
            RulesProblem::UnknownLevel(level) => {
                format!("unknown level `{level}`, expected `red`, `orange`, `yellow` or `blue`")
            }
            RulesProblem::OutOfRange {
                field,
                value,
                min,
                max,
            } => format!("`{field}` is {value}; it must be from {min} to {max}"),
            RulesProblem::EmptyId => "the rule's `id` is empty".to_owned(),
            RulesProblem::BadId(id) => format!(
                "the id `{id}` must have no space, colon or control character and at most \
                 {RULE_ID_MAX} characters (it is part of each alert's key)"
            ),
            RulesProblem::DuplicateId(id) => {
                format!("the id `{id}` is already an earlier rule's")
            }
            RulesProblem::EmptyCategory => "`categories` holds an empty code".to_owned(),
        }
    }

    /// What is wrong, in Chinese.
    pub fn zh(&self) -> String {
        match self {
            RulesProblem::Toml(message) => format!("TOML 格式有误（{message}）"),
            RulesProblem::UnknownField { field, expected } => format!(
                "无法识别的字段 `{field}`，此处可用：{}",
                ticked(expected)
            ),
            RulesProblem::MissingField {
                field,
                kind: Some(kind),
            } => format!(
                "“{}”规则缺少 `{field}`（{}）",
                kind_zh(kind),
                field_zh(field)
            ),
            RulesProblem::MissingField { field, kind: None } => {
                format!("规则缺少 `{field}`（{}）", field_zh(field))
            }
            RulesProblem::WrongType { field, expected } => format!(
                "`{field}`（{}）应为{}",
                field_zh(field),
                expected.zh()
            ),
            RulesProblem::UnknownKind(kind) => format!(
                "未知的规则类型 `{kind}`，可用：{}",
                ticked(&RuleKind::CODES)
            ),
            RulesProblem::UnknownLevel(level) => format!(
                "未知的预警等级 `{level}`，可用：red（红色）、orange（橙色）、yellow（黄色）、blue（蓝色）"
            ),
            RulesProblem::OutOfRange {
                field,
                value,
                min,
                max,
            } => format!(
                "`{field}`（{}）为 {value}，应在 {min} 到 {max} 之间",
                field_zh(field)
            ),
            RulesProblem::EmptyId => "规则编号 `id` 不能为空".to_owned(),
            RulesProblem::BadId(id) => format!(
                "规则编号 `{id}` 不能含空格、冒号或控制字符，且不超过 {RULE_ID_MAX} 个字符（它是预警编号的一部分）"
            ),
            RulesProblem::DuplicateId(id) => format!("规则编号 `{id}` 与前面的规则重复"),
            RulesProblem::EmptyCategory => "`categories`（纠纷类别）中有空的类别代码".to_owned(),
        }
    }
}

/// A byte offset as a 1-based line and column (in characters).
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

// The fields of each kind, and their ranges.
const COMMON_FIELDS: [&str; 3] = ["id", "kind", "level"];
const ALL_FIELDS: &[&str] = &[
    "id",
    "kind",
    "level",
    "cases",
    "days",
    "parties",
    "villages",
    "times",
    "categories",
];

fn fields_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "repeat_party" => &["id", "kind", "level", "cases", "days"],
        "many_parties" => &["id", "kind", "level", "parties"],
        "category_spread" => &["id", "kind", "level", "villages", "days", "categories"],
        "failed_mediation" => &["id", "kind", "level", "times"],
        _ => &COMMON_FIELDS,
    }
}

fn range_of(field: &str) -> (i64, i64) {
    match field {
        "days" => (1, 3650),
        "times" => (1, 100),
        "cases" => (2, 1000),
        _ => (2, 10_000),
    }
}

/// A field's value as read, before it is checked.
#[derive(Debug)]
enum Scalar {
    Str(String),
    Int(i64),
    List(Vec<Scalar>),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rule's value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Int(i64::try_from(v).unwrap_or(i64::MAX)))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Scalar>()? {
            items.push(item);
        }
        Ok(Scalar::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Scalar::Other)
    }
}

/// A table's entries in their order.
struct Entries<K, V>(Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Entries<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<K, V> {
            type Value = Entries<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<K, V>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

type SpannedTable = toml::Spanned<Entries<toml::Spanned<String>, toml::Spanned<Scalar>>>;

#[derive(Deserialize)]
struct TomlFile {
    #[serde(default)]
    rule: Vec<SpannedTable>,
}

/// The directory's JSON form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRules {
    rules: Vec<Entries<String, Scalar>>,
}

#[derive(Serialize)]
struct JsonRulesOut<'a> {
    rules: Vec<RuleRepr<'a>>,
}

/// A rule as its fields, for writing.
#[derive(Serialize)]
struct RuleRepr<'a> {
    id: &'a str,
    kind: &'static str,
    /// [`Level::code`], as rules files spell it.
    level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cases: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parties: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    villages: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    categories: Option<&'a [String]>,
}

impl<'a> RuleRepr<'a> {
    fn of(rule: &'a Rule) -> RuleRepr<'a> {
        let mut repr = RuleRepr {
            id: &rule.id,
            kind: rule.kind.code(),
            level: rule.level.code(),
            cases: None,
            parties: None,
            villages: None,
            days: None,
            times: None,
            categories: None,
        };
        match &rule.kind {
            RuleKind::RepeatParty { cases, days } => {
                repr.cases = Some(*cases);
                repr.days = Some(*days);
            }
            RuleKind::ManyParties { parties } => repr.parties = Some(*parties),
            RuleKind::CategorySpread {
                villages,
                days,
                categories,
            } => {
                repr.villages = Some(*villages);
                repr.days = Some(*days);
                repr.categories = Some(categories)
                    .filter(|c| !c.is_empty())
                    .map(Vec::as_slice);
            }
            RuleKind::FailedMediation { times } => repr.times = Some(*times),
            RuleKind::MajorOverdue | RuleKind::KeyPerson => {}
        }
        repr
    }
}

impl Serialize for WarningRules {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonRulesOut {
            rules: self.rules.iter().map(RuleRepr::of).collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for WarningRules {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = JsonRules::deserialize(deserializer)?;
        let raw = json
            .rules
            .into_iter()
            .map(|entries| RawRule {
                span: None,
                fields: entries
                    .0
                    .into_iter()
                    .map(|(name, value)| RawField {
                        name,
                        key_span: None,
                        span: None,
                        value,
                    })
                    .collect(),
            })
            .collect();
        check(raw).map(|rules| WarningRules { rules }).map_err(|e| {
            de::Error::custom(format!("warning rule {}: {}", e.rule + 1, e.problem.en()))
        })
    }
}

struct RawField {
    name: String,
    key_span: Option<Range<usize>>,
    span: Option<Range<usize>>,
    value: Scalar,
}

struct RawRule {
    span: Option<Range<usize>>,
    fields: Vec<RawField>,
}

impl RawRule {
    fn field(&self, name: &str) -> Option<&RawField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A problem, where it is, and in which rule (0-based).
struct Located {
    problem: RulesProblem,
    span: Option<Range<usize>>,
    rule: usize,
}

/// Checks rules as read and makes them [`Rule`]s.
fn check(raw: Vec<RawRule>) -> Result<Vec<Rule>, Located> {
    let mut ids: HashSet<String> = HashSet::new();
    let mut rules = Vec::with_capacity(raw.len());
    for (n, rule) in raw.iter().enumerate() {
        let fail = |problem: RulesProblem, span: Option<Range<usize>>| Located {
            problem,
            span,
            rule: n,
        };
        let text = |name: &'static str| -> Result<(&str, &RawField), Located> {
            let field = rule.field(name).ok_or_else(|| {
                fail(
                    RulesProblem::MissingField {
                        field: name,
                        kind: None,
                    },
                    rule.span.clone(),
                )
            })?;
            match &field.value {
                Scalar::Str(s) => Ok((s.as_str(), field)),
                _ => Err(fail(
                    RulesProblem::WrongType {
                        field: name.to_owned(),
                        expected: Expected::Text,
                    },
                    field.span.clone(),
                )),
            }
        };
        // Fields no rule has, in the order written.
        if let Some(field) = rule
            .fields
            .iter()
            .find(|f| !ALL_FIELDS.contains(&f.name.as_str()))
        {
            return Err(fail(
                RulesProblem::UnknownField {
                    field: field.name.clone(),
                    expected: ALL_FIELDS,
                },
                field.key_span.clone(),
            ));
        }
        // The id.
        let (id, id_field) = text("id")?;
        if id.is_empty() {
            return Err(fail(RulesProblem::EmptyId, id_field.span.clone()));
        }
        if id.chars().count() > RULE_ID_MAX
            || id
                .chars()
                .any(|c| c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err(fail(
                RulesProblem::BadId(id.to_owned()),
                id_field.span.clone(),
            ));
        }
        if !ids.insert(id.to_owned()) {
            return Err(fail(
                RulesProblem::DuplicateId(id.to_owned()),
                id_field.span.clone(),
            ));
        }
        // The kind, and fields that are not the kind's.
        let (kind, kind_field) = text("kind")?;
        let Some(kind) = RuleKind::CODES.into_iter().find(|k| *k == kind) else {
            return Err(fail(
                RulesProblem::UnknownKind(kind.to_owned()),
                kind_field.span.clone(),
            ));
        };
        let allowed = fields_of(kind);
        if let Some(field) = rule
            .fields
            .iter()
            .find(|f| !allowed.contains(&f.name.as_str()))
        {
            return Err(fail(
                RulesProblem::UnknownField {
                    field: field.name.clone(),
                    expected: allowed,
                },
                field.key_span.clone(),
            ));
        }
        // The level.
        let (level, level_field) = text("level")?;
        let level = Level::from_code(level).ok_or_else(|| {
            fail(
                RulesProblem::UnknownLevel(level.to_owned()),
                level_field.span.clone(),
            )
        })?;
        // The kind's numbers.
        let number = |name: &'static str| -> Result<u32, Located> {
            let field = rule.field(name).ok_or_else(|| {
                fail(
                    RulesProblem::MissingField {
                        field: name,
                        kind: Some(kind),
                    },
                    rule.span.clone(),
                )
            })?;
            let Scalar::Int(value) = field.value else {
                return Err(fail(
                    RulesProblem::WrongType {
                        field: name.to_owned(),
                        expected: Expected::WholeNumber,
                    },
                    field.span.clone(),
                ));
            };
            let (min, max) = range_of(name);
            if value < min || value > max {
                return Err(fail(
                    RulesProblem::OutOfRange {
                        field: name,
                        value,
                        min,
                        max,
                    },
                    field.span.clone(),
                ));
            }
            u32::try_from(value).map_err(|_| {
                fail(
                    RulesProblem::OutOfRange {
                        field: name,
                        value,
                        min,
                        max,
                    },
                    field.span.clone(),
                )
            })
        };
        let kind = match kind {
            "repeat_party" => RuleKind::RepeatParty {
                cases: number("cases")?,
                days: number("days")?,
            },
            "many_parties" => RuleKind::ManyParties {
                parties: number("parties")?,
            },
            "category_spread" => {
                let villages = number("villages")?;
                let days = number("days")?;
                let mut categories = Vec::new();
                if let Some(field) = rule.field("categories") {
                    let wrong = || {
                        fail(
                            RulesProblem::WrongType {
                                field: "categories".to_owned(),
                                expected: Expected::CategoryList,
                            },
                            field.span.clone(),
                        )
                    };
                    let Scalar::List(items) = &field.value else {
                        return Err(wrong());
                    };
                    for item in items {
                        match item {
                            Scalar::Str(code) if code.is_empty() => {
                                return Err(fail(RulesProblem::EmptyCategory, field.span.clone()))
                            }
                            Scalar::Str(code) => categories.push(code.clone()),
                            _ => return Err(wrong()),
                        }
                    }
                }
                RuleKind::CategorySpread {
                    villages,
                    days,
                    categories,
                }
            }
            "failed_mediation" => RuleKind::FailedMediation {
                times: number("times")?,
            },
            "major_overdue" => RuleKind::MajorOverdue,
            _ => RuleKind::KeyPerson,
        };
        rules.push(Rule {
            id: id.to_owned(),
            level,
            kind,
        });
    }
    Ok(rules)
}

// ----- evaluation -----------------------------------------------------------------------------

/// The alerts `rules` raise over `cases` at `now` (UTC milliseconds): unacknowledged first, then
/// by level (red first), then the most recently raised first, then by key. Deterministic: the
/// same cases in any order give the same alerts. See the module's documentation for what each
/// rule fires on and the keys.
pub fn evaluate(rules: &WarningRules, cases: &[WarnCase], now: i64) -> Vec<Alert> {
    let mut sorted: Vec<&WarnCase> = cases.iter().collect();
    sorted.sort_by(|a, b| (a.reported_at, &a.id).cmp(&(b.reported_at, &b.id)));
    let mut seen: HashSet<&CaseId> = HashSet::with_capacity(sorted.len());
    sorted.retain(|c| seen.insert(&c.id));
    let cases = sorted;

    let needs_persons = rules.rules.iter().any(|r| {
        matches!(
            r.kind,
            RuleKind::RepeatParty { .. } | RuleKind::ManyParties { .. }
        )
    });
    let persons = needs_persons.then(|| Persons::of(&cases));

    let mut raised = Vec::new();
    for rule in &rules.rules {
        let mut alerts = Raised {
            rule,
            cases: &cases,
            out: &mut raised,
        };
        match (&rule.kind, &persons) {
            (RuleKind::RepeatParty { cases: n, days }, Some(persons)) => {
                repeat_party(&mut alerts, persons, *n, *days)
            }
            (RuleKind::ManyParties { parties }, Some(persons)) => {
                many_parties(&mut alerts, persons, *parties)
            }
            (
                RuleKind::CategorySpread {
                    villages,
                    days,
                    categories,
                },
                _,
            ) => category_spread(&mut alerts, *villages, *days, categories),
            (RuleKind::FailedMediation { times }, _) => per_case(&mut alerts, |c| {
                (c.failures >= *times && *times > 0).then(|| {
                    (
                        c.reported_at,
                        format!("{}：调解失败 {} 次", c.title, c.failures),
                    )
                })
            }),
            (RuleKind::MajorOverdue, _) => per_case(&mut alerts, |c| {
                let difficulty = c.difficulty.filter(|d| d.needs_leader())?;
                (c.handled_at.is_none() && now > c.due_at).then(|| {
                    let days = now.saturating_sub(c.due_at) / DAY_MS;
                    let late = if days > 0 {
                        format!("逾期 {days} 天未办结")
                    } else {
                        "已逾期未办结".to_owned()
                    };
                    (
                        c.due_at,
                        format!("{}纠纷{late}：{}", difficulty.zh(), c.title),
                    )
                })
            }),
            (RuleKind::KeyPerson, _) => per_case(&mut alerts, |c| {
                (c.handled_at.is_none() && c.risks.contains(&RiskFlag::KeyPerson)).then(|| {
                    (
                        c.reported_at,
                        format!("涉及重点人员，尚未办结：{}", c.title),
                    )
                })
            }),
            // The persons are made whenever a rule needs them.
            (RuleKind::RepeatParty { .. } | RuleKind::ManyParties { .. }, None) => {}
        }
    }

    // Acknowledgements by key, with the case that records each.
    let mut acks: HashMap<&str, Vec<(u32, &AlertAck)>> = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        for ack in &case.acknowledged {
            acks.entry(ack.key.as_str())
                .or_default()
                .push((i as u32, ack));
        }
    }
    let mut alerts: Vec<Alert> = raised
        .into_iter()
        .map(|r| {
            let acknowledged = acks.get(r.key.as_str()).and_then(|found| {
                found
                    .iter()
                    .filter(|(i, _)| r.cases.binary_search(i).is_ok())
                    .map(|(_, ack)| *ack)
                    .min_by(|a, b| (a.at, &a.by, &a.note).cmp(&(b.at, &b.by, &b.note)))
                    .cloned()
            });
            Alert {
                key: r.key,
                rule: r.rule.to_owned(),
                level: r.level,
                words: r.words,
                cases: r
                    .cases
                    .iter()
                    .map(|&i| cases[i as usize].id.clone())
                    .collect(),
                raised_at: r.raised_at,
                acknowledged,
            }
        })
        .collect();
    // Keys are unique when rule ids are; rule and words settle rules built by hand with one id
    // twice.
    alerts.sort_by(|a, b| {
        let order = |x: &Alert| {
            (
                x.acknowledged.is_some(),
                x.level,
                std::cmp::Reverse(x.raised_at),
            )
        };
        order(a)
            .cmp(&order(b))
            .then_with(|| (&a.key, &a.rule, &a.words).cmp(&(&b.key, &b.rule, &b.words)))
    });
    alerts
}

/// An alert before its acknowledgement is looked up; cases as indices into the sorted cases,
/// ascending.
struct Pending<'r> {
    key: String,
    rule: &'r str,
    level: Level,
    words: String,
    cases: Vec<u32>,
    raised_at: i64,
}

/// Where one rule's alerts go.
struct Raised<'r, 'c, 'o> {
    rule: &'r Rule,
    cases: &'c [&'c WarnCase],
    out: &'o mut Vec<Pending<'r>>,
}

impl<'r> Raised<'r, '_, '_> {
    fn raise(&mut self, subject: String, words: String, cases: Vec<u32>, raised_at: i64) {
        self.out.push(Pending {
            key: format!("{}:{}:{subject}", self.rule.kind.key_prefix(), self.rule.id),
            rule: &self.rule.id,
            level: self.rule.level,
            words,
            cases,
            raised_at,
        });
    }

    fn time(&self, case: u32) -> i64 {
        self.cases[case as usize].reported_at
    }
}

/// A rule about one case at a time: `fires` gives the alert's time and words.
fn per_case(alerts: &mut Raised<'_, '_, '_>, fires: impl Fn(&WarnCase) -> Option<(i64, String)>) {
    for (i, case) in alerts.cases.iter().enumerate() {
        if let Some((at, words)) = fires(case) {
            alerts.raise(case.id.to_string(), words, vec![i as u32], at);
        }
    }
}

/// 同一当事人多次纠纷: per person, a two-pointer scan over their cases by report time.
fn repeat_party(alerts: &mut Raised<'_, '_, '_>, persons: &Persons, n: u32, days: u32) {
    let n = n.max(1) as usize;
    let span = i64::from(days) * DAY_MS;
    for (person, cases) in persons.cases.iter().enumerate() {
        if cases.len() < n {
            continue;
        }
        let mut start = 0;
        // The first qualifying window (its first case, and the case that completed it).
        let mut first: Option<(u32, u32)> = None;
        let mut most = 0;
        let mut listed: Vec<u32> = Vec::new();
        let mut next_unlisted = 0;
        for end in 0..cases.len() {
            while alerts
                .time(cases[end])
                .saturating_sub(alerts.time(cases[start]))
                > span
            {
                start += 1;
            }
            let count = end - start + 1;
            if count >= n {
                first.get_or_insert((cases[start], cases[end]));
                most = most.max(count);
                listed.extend_from_slice(&cases[next_unlisted.max(start)..=end]);
                next_unlisted = end + 1;
            }
        }
        let Some((first_case, completed)) = first else {
            continue;
        };
        let case = alerts.cases[first_case as usize];
        let party = persons.party_of(first_case, person as u32);
        let name = case
            .parties
            .get(party)
            .map(|p| p.name.trim())
            .filter(|n| !n.is_empty())
            .unwrap_or("同一当事人");
        let raised_at = alerts.time(completed);
        alerts.raise(
            format!("{}:{party}", case.id),
            format!("{name} {days} 天内涉及 {most} 件纠纷"),
            listed,
            raised_at,
        );
    }
}

/// 群体性事件风险: distinct persons per matter, or per case linked to none.
fn many_parties(alerts: &mut Raised<'_, '_, '_>, persons: &Persons, n: u32) {
    let n = n as usize;
    let mut matters: HashMap<&MatterId, Vec<u32>> = HashMap::new();
    let mut alone: Vec<u32> = Vec::new();
    for (i, case) in alerts.cases.iter().enumerate() {
        match &case.matter {
            Some(matter) => matters.entry(matter).or_default().push(i as u32),
            None => alone.push(i as u32),
        }
    }
    // `seen[person] == stamp`: the person was counted in this group.
    let mut seen = vec![0u32; persons.count];
    let mut stamp = 0u32;
    let mut count_group = |group: &[u32]| -> (usize, Option<u32>) {
        stamp += 1;
        let mut count = 0;
        let mut reached = None;
        for &case in group {
            for &person in persons.of_case(case) {
                if seen[person as usize] != stamp {
                    seen[person as usize] = stamp;
                    count += 1;
                }
            }
            if count >= n && reached.is_none() {
                reached = Some(case);
            }
        }
        (count, reached)
    };
    let mut fired = Vec::new();
    for (matter, group) in &matters {
        if let (count, Some(reached)) = count_group(group) {
            fired.push((
                format!("matter:{matter}"),
                format!("同一事项 {} 件纠纷共涉及 {count} 名当事人", group.len()),
                group.clone(),
                reached,
            ));
        }
    }
    for &case in &alone {
        if let (count, Some(_)) = count_group(&[case]) {
            let c = alerts.cases[case as usize];
            fired.push((
                format!("case:{}", c.id),
                format!("{}：涉及 {count} 名当事人", c.title),
                vec![case],
                case,
            ));
        }
    }
    for (subject, words, group, reached) in fired {
        let at = alerts.time(reached);
        alerts.raise(subject, words, group, at);
    }
}

/// 同类纠纷多村报告: per category, a two-pointer scan keeping the villages in the window;
/// overlapping qualifying windows make one cluster, one alert.
fn category_spread(
    alerts: &mut Raised<'_, '_, '_>,
    villages: u32,
    days: u32,
    categories: &[String],
) {
    let n = villages as usize;
    let span = i64::from(days) * DAY_MS;
    let watched: HashSet<&str> = categories.iter().map(String::as_str).collect();
    let mut by_category: HashMap<&str, Vec<(u32, &UnitId)>> = HashMap::new();
    for (i, case) in alerts.cases.iter().enumerate() {
        let Some(village) = &case.village else {
            continue;
        };
        if watched.is_empty() || watched.contains(case.category.as_str()) {
            by_category
                .entry(case.category.as_str())
                .or_default()
                .push((i as u32, village));
        }
    }
    struct Cluster {
        /// Indices into the category's list: its first and last case.
        first: usize,
        last: usize,
        /// The case that completed its first window, and the most villages in one window.
        completed: u32,
        most: usize,
    }
    let mut fired: Vec<(String, Cluster, Vec<u32>)> = Vec::new();
    for (category, list) in &by_category {
        if list.len() < n {
            continue;
        }
        let mut in_window: HashMap<&UnitId, u32> = HashMap::new();
        let mut start = 0;
        let mut clusters: Vec<Cluster> = Vec::new();
        for end in 0..list.len() {
            *in_window.entry(list[end].1).or_default() += 1;
            while alerts
                .time(list[end].0)
                .saturating_sub(alerts.time(list[start].0))
                > span
            {
                if let Some(count) = in_window.get_mut(list[start].1) {
                    *count -= 1;
                    if *count == 0 {
                        in_window.remove(list[start].1);
                    }
                }
                start += 1;
            }
            let distinct = in_window.len();
            if distinct < n {
                continue;
            }
            match clusters.last_mut() {
                Some(cluster) if start <= cluster.last => {
                    cluster.last = end;
                    cluster.most = cluster.most.max(distinct);
                }
                _ => clusters.push(Cluster {
                    first: start,
                    last: end,
                    completed: list[end].0,
                    most: distinct,
                }),
            }
        }
        for cluster in clusters {
            let cases = list[cluster.first..=cluster.last]
                .iter()
                .map(|(i, _)| *i)
                .collect();
            fired.push((category.to_string(), cluster, cases));
        }
    }
    for (category, cluster, cases) in fired {
        let first = alerts.cases[cases[0] as usize];
        let words = format!(
            "{category} 纠纷 {days} 天内在 {} 个村报告，共 {} 件",
            cluster.most,
            cases.len()
        );
        let at = alerts.time(cluster.completed);
        alerts.raise(format!("{category}:{}", first.id), words, cases, at);
    }
}

// ----- the same person ------------------------------------------------------------------------

/// Every party's person, and every person's cases.
struct Persons {
    /// Where each case's parties begin in `person` (one more entry than cases).
    start: Vec<usize>,
    /// Each party's person, the cases' parties in order.
    person: Vec<u32>,
    /// Each person's cases (indices into the sorted cases), oldest first, each once.
    cases: Vec<Vec<u32>>,
    count: usize,
}

/// Key classes, in the order they are joined on.
const ID_KEY: u8 = 0;
const PHONE_KEY: u8 = 1;
const OTHER_KEY: u8 = 2;
const NONE: u32 = u32::MAX;

impl Persons {
    fn of(cases: &[&WarnCase]) -> Persons {
        let mut start = Vec::with_capacity(cases.len() + 1);
        let mut total = 0;
        for case in cases {
            start.push(total);
            total += case.parties.len();
        }
        start.push(total);

        // Each party's keys, each key once, in the order of their text.
        let mut interned: HashMap<&str, u32> = HashMap::with_capacity(total * 4);
        let mut keys: Vec<(u8, u32, u32)> = Vec::with_capacity(total * 4);
        let mut has_id = vec![false; total];
        let mut party = 0u32;
        let mut own: Vec<&str> = Vec::new();
        for case in cases {
            for p in &case.parties {
                own.clear();
                own.extend(
                    p.keys
                        .iter()
                        .map(String::as_str)
                        .filter(|k| k.split_once(':').is_some_and(|(_, v)| !v.is_empty())),
                );
                own.sort_unstable();
                own.dedup();
                for &key in &own {
                    let class = if key.starts_with("id:") {
                        ID_KEY
                    } else if key.starts_with("phone:") {
                        PHONE_KEY
                    } else {
                        OTHER_KEY
                    };
                    if class == ID_KEY {
                        has_id[party as usize] = true;
                    }
                    let next = interned.len() as u32;
                    let k = *interned.entry(key).or_insert(next);
                    keys.push((class, party, k));
                }
                party += 1;
            }
        }

        // Join: every holder of a key with its first holder; by ID numbers always, by phones
        // and names only when not both groups hold an ID number.
        let mut sets = Sets {
            parent: (0..total as u32).collect(),
            has_id,
        };
        let mut anchor = vec![NONE; interned.len()];
        for class in [ID_KEY, PHONE_KEY, OTHER_KEY] {
            for &(_, party, key) in keys.iter().filter(|k| k.0 == class) {
                match anchor[key as usize] {
                    NONE => anchor[key as usize] = party,
                    first => sets.join(first, party, class == ID_KEY),
                }
            }
        }

        let mut dense = vec![NONE; total];
        let mut person = Vec::with_capacity(total);
        let mut count = 0u32;
        for party in 0..total as u32 {
            let root = sets.find(party) as usize;
            if dense[root] == NONE {
                dense[root] = count;
                count += 1;
            }
            person.push(dense[root]);
        }
        let mut of_person: Vec<Vec<u32>> = vec![Vec::new(); count as usize];
        for case in 0..cases.len() {
            for &p in &person[start[case]..start[case + 1]] {
                let list = &mut of_person[p as usize];
                if list.last() != Some(&(case as u32)) {
                    list.push(case as u32);
                }
            }
        }
        Persons {
            start,
            person,
            cases: of_person,
            count: count as usize,
        }
    }

    /// The persons of a case's parties, in the parties' order.
    fn of_case(&self, case: u32) -> &[u32] {
        let case = case as usize;
        &self.person[self.start[case]..self.start[case + 1]]
    }

    /// The index of a person's first party in a case (0 if none).
    fn party_of(&self, case: u32, person: u32) -> usize {
        self.of_case(case)
            .iter()
            .position(|&p| p == person)
            .unwrap_or(0)
    }
}

/// Union-find over parties; a root knows whether its group holds an ID number.
struct Sets {
    parent: Vec<u32>,
    has_id: Vec<bool>,
}

impl Sets {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let up = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = up;
            x = up;
        }
        x
    }

    /// Joins the groups of `a` and `b`, unless both hold an ID number and `by_id` is false.
    /// The earlier party's root stays the root.
    fn join(&mut self, a: u32, b: u32, by_id: bool) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb || (!by_id && self.has_id[ra as usize] && self.has_id[rb as usize]) {
            return;
        }
        let (root, child) = (ra.min(rb), ra.max(rb));
        self.parent[child as usize] = root;
        self.has_id[root as usize] |= self.has_id[child as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NameKey;

    /// 2026-03-02 08:00 Beijing time.
    const T0: i64 = 1_772_409_600_000;
    const DAY: i64 = DAY_MS;
    const WUFENG: &str = "haiyan-wufeng";
    const SHALAN: &str = "haiyan-shalan";
    const HUAFENG: &str = "haiyan-huafeng";
    const FENGJIANG: &str = "haiyan-fengjiang";
    const NACHEN: &str = "haiyan-nachen";

    fn party(name: &str, village: &str, id: Option<&str>, phone: Option<&str>) -> WarnParty {
        let mut keys = Vec::new();
        if let Some(id) = id {
            keys.push(format!("id:{id}"));
        }
        if let Some(phone) = phone {
            keys.push(format!("phone:{phone}"));
        }
        if let Some(key) = NameKey::of(name) {
            keys.extend(
                key.all_keys()
                    .into_iter()
                    .map(|k| format!("name:{village}:{k}")),
            );
        }
        WarnParty {
            name: name.to_owned(),
            keys,
        }
    }

    fn case(
        id: &str,
        title: &str,
        category: &str,
        village: &str,
        reported_at: i64,
        parties: Vec<WarnParty>,
    ) -> WarnCase {
        WarnCase {
            id: CaseId::from(id),
            title: title.to_owned(),
            category: category.to_owned(),
            village: Some(UnitId::from(village)),
            reported_at,
            due_at: reported_at + 7 * DAY,
            handled_at: None,
            difficulty: Some(Difficulty::General),
            risks: BTreeSet::new(),
            failures: 0,
            parties,
            matter: None,
            acknowledged: Vec::new(),
        }
    }

    fn only(kind: RuleKind) -> WarningRules {
        WarningRules {
            rules: vec![Rule {
                id: "r".to_owned(),
                level: Level::Orange,
                kind,
            }],
        }
    }

    fn ids(alert: &Alert) -> Vec<&str> {
        alert.cases.iter().map(CaseId::as_str).collect()
    }

    fn repeat() -> WarningRules {
        only(RuleKind::RepeatParty { cases: 3, days: 90 })
    }

    /// 张建国 (one ID number, his name written three ways) against three different neighbours.
    fn zhang_cases() -> Vec<WarnCase> {
        let id = Some("440781198503120016");
        vec![
            case(
                "c1",
                "宅基地边界纠纷",
                "land_resources",
                WUFENG,
                T0,
                vec![
                    party("张建国", WUFENG, id, Some("13826011234")),
                    party("李秀英", WUFENG, Some("440781197002150027"), None),
                ],
            ),
            case(
                "c2",
                "鱼塘承包费纠纷",
                "agriculture_fishery",
                SHALAN,
                T0 + 30 * DAY,
                vec![
                    party("黄德福", SHALAN, Some("440781196811030035"), None),
                    party("张健国", SHALAN, id, None),
                ],
            ),
            case(
                "c3",
                "借款纠纷",
                "economic_debt",
                WUFENG,
                T0 + 89 * DAY,
                vec![
                    party("张建国", WUFENG, id, None),
                    party("陈美兰", WUFENG, Some("440781199001200048"), None),
                ],
            ),
        ]
    }

    #[test]
    fn the_same_id_number_in_three_cases_raises_one_alert() {
        let cases = zhang_cases();
        let alerts = evaluate(&repeat(), &cases, T0 + 90 * DAY);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert.key, "repeat-party:r:c1:0");
        assert_eq!(alert.rule, "r");
        assert_eq!(alert.level, Level::Orange);
        assert_eq!(ids(alert), ["c1", "c2", "c3"]);
        assert_eq!(alert.raised_at, T0 + 89 * DAY);
        assert_eq!(alert.words, "张建国 90 天内涉及 3 件纠纷");
        assert_eq!(alert.acknowledged, None);

        // Again, and in another order: the same alert.
        assert_eq!(evaluate(&repeat(), &cases, T0 + 90 * DAY), alerts);
        let mut reversed = cases.clone();
        reversed.reverse();
        assert_eq!(evaluate(&repeat(), &reversed, T0 + 90 * DAY), alerts);

        // A fourth case keeps the key and joins the alert.
        let mut more = cases;
        more.insert(
            1,
            case(
                "c4",
                "拖欠工钱",
                "labour",
                WUFENG,
                T0 + 100 * DAY,
                vec![
                    party("刘志强", WUFENG, Some("440781198807070051"), None),
                    party("张建国", WUFENG, Some("440781198503120016"), None),
                ],
            ),
        );
        let later = evaluate(&repeat(), &more, T0 + 101 * DAY);
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].key, alerts[0].key);
        assert_eq!(ids(&later[0]), ["c1", "c2", "c3", "c4"]);
        assert_eq!(later[0].raised_at, T0 + 89 * DAY);
    }

    #[test]
    fn the_same_phone_without_id_numbers_is_one_person() {
        let phone = Some("13902785566");
        let cases = vec![
            case(
                "p1",
                "噪音扰民",
                "neighbour",
                NACHEN,
                T0,
                vec![party("王德福", NACHEN, None, phone)],
            ),
            case(
                "p2",
                "买卖二手农机纠纷",
                "equipment_trade",
                HUAFENG,
                T0 + 10 * DAY,
                vec![party("王得富", HUAFENG, None, phone)],
            ),
            case(
                "p3",
                "赡养老人纠纷",
                "support_maintenance",
                NACHEN,
                T0 + 20 * DAY,
                vec![party("王德福", NACHEN, None, Some("13711112222"))],
            ),
        ];
        let alerts = evaluate(&repeat(), &cases, T0 + 21 * DAY);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].key, "repeat-party:r:p1:0");
        assert_eq!(ids(&alerts[0]), ["p1", "p2", "p3"]);
    }

    #[test]
    fn different_id_numbers_are_different_people_whatever_their_name() {
        let cases: Vec<WarnCase> = [
            "440781198001010011",
            "440781198102020022",
            "440781198203030033",
        ]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            case(
                &format!("w{i}"),
                "邻里纠纷",
                "neighbour",
                WUFENG,
                T0 + i as i64 * DAY,
                vec![party("陈伟", WUFENG, Some(id), Some("13800000000"))],
            )
        })
        .collect();
        assert_eq!(evaluate(&repeat(), &cases, T0 + 5 * DAY), []);
    }

    #[test]
    fn a_party_without_an_id_number_joins_the_first_person_it_matches() {
        // 陈伟 with two different ID numbers, then 陈伟 without one: he joins the first.
        let cases = vec![
            case(
                "a1",
                "相邻通行纠纷",
                "neighbour",
                WUFENG,
                T0,
                vec![party("陈伟", WUFENG, Some("440781198001010011"), None)],
            ),
            case(
                "a2",
                "相邻通行纠纷",
                "neighbour",
                WUFENG,
                T0 + DAY,
                vec![party("陈伟", WUFENG, Some("440781198102020022"), None)],
            ),
            case(
                "a3",
                "排水纠纷",
                "neighbour",
                WUFENG,
                T0 + 2 * DAY,
                vec![party("陈伟", WUFENG, None, None)],
            ),
        ];
        let rules = only(RuleKind::RepeatParty { cases: 2, days: 90 });
        let alerts = evaluate(&rules, &cases, T0 + 3 * DAY);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(ids(&alerts[0]), ["a1", "a3"]);
    }

    #[test]
    fn repeat_party_at_its_boundary() {
        let id = Some("440781197512250018");
        let at = |last: i64| {
            vec![
                case(
                    "b1",
                    "土地纠纷",
                    "land_resources",
                    SHALAN,
                    T0,
                    vec![party("梁桂芳", SHALAN, id, None)],
                ),
                case(
                    "b2",
                    "土地纠纷",
                    "land_resources",
                    SHALAN,
                    T0 + 45 * DAY,
                    vec![party("梁桂芳", SHALAN, id, None)],
                ),
                case(
                    "b3",
                    "土地纠纷",
                    "land_resources",
                    SHALAN,
                    last,
                    vec![party("梁桂芳", SHALAN, id, None)],
                ),
            ]
        };
        assert_eq!(
            evaluate(&repeat(), &at(T0 + 90 * DAY), T0 + 91 * DAY).len(),
            1
        );
        assert_eq!(
            evaluate(&repeat(), &at(T0 + 90 * DAY + 1), T0 + 91 * DAY),
            []
        );
        // Two cases are not three.
        let two = &at(T0 + 10 * DAY)[..2];
        assert_eq!(evaluate(&repeat(), two, T0 + 91 * DAY), []);
    }

    #[test]
    fn an_acknowledgement_in_one_case_marks_the_alert() {
        let mut cases = zhang_cases();
        let key = evaluate(&repeat(), &cases, T0 + 90 * DAY)[0].key.clone();
        cases[1].acknowledged.push(AlertAck {
            key: "key-person:other:c2".to_owned(),
            by: "林小红".to_owned(),
            at: T0 + 89 * DAY + 1000,
            note: String::new(),
        });
        assert_eq!(
            evaluate(&repeat(), &cases, T0 + 90 * DAY)[0].acknowledged,
            None
        );
        let late = AlertAck {
            key: key.clone(),
            by: "林小红".to_owned(),
            at: T0 + 89 * DAY + 7_200_000,
            note: "已约谈当事人".to_owned(),
        };
        let early = AlertAck {
            key: key.clone(),
            by: "周国平".to_owned(),
            at: T0 + 89 * DAY + 3_600_000,
            note: "已签收，转镇综治中心研判".to_owned(),
        };
        cases[1].acknowledged.push(late);
        cases[2].acknowledged.push(early.clone());
        let alerts = evaluate(&repeat(), &cases, T0 + 90 * DAY);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].acknowledged, Some(early));
    }

    /// The crop-insurance complaint: the same day, four villages.
    fn crop_insurance() -> Vec<WarnCase> {
        [
            ("ag1", WUFENG, "吴海生"),
            ("ag2", SHALAN, "甄玉兰"),
            ("ag3", HUAFENG, "伍锦华"),
            ("ag4", FENGJIANG, "李润田"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (id, village, name))| {
            case(
                id,
                "水稻种植保险理赔纠纷",
                "agriculture_fishery",
                village,
                T0 + i as i64 * 3_600_000,
                vec![
                    party(name, village, None, None),
                    party("台山市某保险公司", village, None, None),
                ],
            )
        })
        .collect()
    }

    #[test]
    fn the_crop_insurance_complaint_is_one_alert_of_four_cases() {
        let alerts: Vec<Alert> =
            evaluate(&WarningRules::default_rules(), &crop_insurance(), T0 + DAY)
                .into_iter()
                .filter(|a| a.rule == "category-spread")
                .collect();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(ids(alert), ["ag1", "ag2", "ag3", "ag4"]);
        assert_eq!(
            alert.key,
            "category-spread:category-spread:agriculture_fishery:ag1"
        );
        assert_eq!(alert.level, Level::Red);
        assert_eq!(alert.raised_at, T0 + 2 * 3_600_000);
        assert_eq!(
            alert.words,
            "agriculture_fishery 纠纷 7 天内在 4 个村报告，共 4 件"
        );

        // A fifth village three days later joins the same alert.
        let mut more = crop_insurance();
        more.push(case(
            "ag5",
            "水稻种植保险理赔纠纷",
            "agriculture_fishery",
            NACHEN,
            T0 + 3 * DAY,
            vec![party("谭伯强", NACHEN, None, None)],
        ));
        let rules = only(RuleKind::CategorySpread {
            villages: 3,
            days: 7,
            categories: Vec::new(),
        });
        let alerts = evaluate(&rules, &more, T0 + 4 * DAY);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key, "category-spread:r:agriculture_fishery:ag1");
        assert_eq!(alerts[0].cases.len(), 5);
    }

    #[test]
    fn category_spread_at_its_boundary() {
        let rules = only(RuleKind::CategorySpread {
            villages: 3,
            days: 7,
            categories: Vec::new(),
        });
        let spread = |last: i64, third: &str| {
            vec![
                case("s1", "征地补偿", "land_acquisition", WUFENG, T0, vec![]),
                case(
                    "s2",
                    "征地补偿",
                    "land_acquisition",
                    SHALAN,
                    T0 + DAY,
                    vec![],
                ),
                case("s3", "征地补偿", "land_acquisition", third, last, vec![]),
            ]
        };
        assert_eq!(
            evaluate(&rules, &spread(T0 + 7 * DAY, HUAFENG), T0).len(),
            1
        );
        assert_eq!(evaluate(&rules, &spread(T0 + 7 * DAY + 1, HUAFENG), T0), []);
        // Two villages are not three.
        assert_eq!(evaluate(&rules, &spread(T0 + DAY, WUFENG), T0), []);
        // Another category is watched only if listed.
        let listed = only(RuleKind::CategorySpread {
            villages: 3,
            days: 7,
            categories: vec!["agriculture_fishery".to_owned()],
        });
        assert_eq!(evaluate(&listed, &spread(T0 + DAY, HUAFENG), T0), []);
        assert_eq!(evaluate(&listed, &crop_insurance(), T0).len(), 1);
        // A case without a village is not counted.
        let mut nowhere = spread(T0 + DAY, HUAFENG);
        nowhere[2].village = None;
        assert_eq!(evaluate(&rules, &nowhere, T0), []);
    }

    #[test]
    fn category_spread_a_month_apart_is_two_alerts() {
        let rules = only(RuleKind::CategorySpread {
            villages: 3,
            days: 7,
            categories: Vec::new(),
        });
        let mut cases = crop_insurance();
        cases.extend(crop_insurance().into_iter().map(|mut c| {
            c.id = CaseId::new(format!("{}-later", c.id));
            c.reported_at += 30 * DAY;
            c
        }));
        let alerts = evaluate(&rules, &cases, T0 + 31 * DAY);
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        // The later one first.
        assert_eq!(
            alerts[0].key,
            "category-spread:r:agriculture_fishery:ag1-later"
        );
        assert_eq!(alerts[1].key, "category-spread:r:agriculture_fishery:ag1");
    }

    fn people(n: usize, village: &str) -> Vec<WarnParty> {
        const NAMES: [&str; 6] = ["黄志明", "甄秀珍", "伍国强", "李碧霞", "谭永光", "梁少芬"];
        (0..n)
            .map(|i| {
                // Different people in each village.
                let v = village.bytes().map(u32::from).sum::<u32>() % 100;
                let id = format!("4407811970{v:02}01{i:04}");
                party(NAMES[i], village, Some(&id), None)
            })
            .collect()
    }

    #[test]
    fn many_parties_in_a_case() {
        let rules = only(RuleKind::ManyParties { parties: 5 });
        let five = case(
            "m5",
            "村集体分红纠纷",
            "collective_benefit",
            FENGJIANG,
            T0,
            people(5, FENGJIANG),
        );
        let four = case(
            "m4",
            "村集体分红纠纷",
            "collective_benefit",
            FENGJIANG,
            T0,
            people(4, FENGJIANG),
        );
        let alerts = evaluate(&rules, &[five], T0);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key, "many-parties:r:case:m5");
        assert_eq!(alerts[0].words, "村集体分红纠纷：涉及 5 名当事人");
        assert_eq!(evaluate(&rules, &[four], T0), []);
    }

    #[test]
    fn many_parties_in_a_matter() {
        let rules = only(RuleKind::ManyParties { parties: 5 });
        let all = people(6, HUAFENG);
        let matter = MatterId::from("matter-wages");
        let linked = |shared: usize| {
            let mut first = case("x1", "工地欠薪", "labour", HUAFENG, T0, all[..3].to_vec());
            let mut second = case(
                "x2",
                "工地欠薪",
                "labour",
                SHALAN,
                T0 + DAY,
                all[3 - shared..6 - shared].to_vec(),
            );
            first.matter = Some(matter.clone());
            second.matter = Some(matter.clone());
            vec![first, second]
        };
        // Six parties, one of them in both: five persons.
        let alerts = evaluate(&rules, &linked(1), T0 + DAY);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].key, "many-parties:r:matter:matter-wages");
        assert_eq!(ids(&alerts[0]), ["x1", "x2"]);
        assert_eq!(alerts[0].raised_at, T0 + DAY);
        // Two in both: four persons.
        assert_eq!(evaluate(&rules, &linked(2), T0 + DAY), []);
    }

    #[test]
    fn failed_mediation_at_its_boundary() {
        let rules = only(RuleKind::FailedMediation { times: 2 });
        let mut c = case(
            "f1",
            "婚姻家庭纠纷",
            "marriage_family",
            NACHEN,
            T0,
            people(2, NACHEN),
        );
        c.failures = 1;
        assert_eq!(evaluate(&rules, std::slice::from_ref(&c), T0), []);
        c.failures = 2;
        let alerts = evaluate(&rules, &[c], T0);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key, "failed-mediation:r:f1");
        assert_eq!(alerts[0].words, "婚姻家庭纠纷：调解失败 2 次");
    }

    #[test]
    fn major_overdue_at_its_boundary() {
        let rules = only(RuleKind::MajorOverdue);
        let mut c = case(
            "o1",
            "征地拆迁补偿纠纷",
            "land_acquisition",
            WUFENG,
            T0,
            people(2, WUFENG),
        );
        c.difficulty = Some(Difficulty::Major);
        let due = c.due_at;
        assert_eq!(evaluate(&rules, std::slice::from_ref(&c), due), []);
        let alerts = evaluate(&rules, std::slice::from_ref(&c), due + 1);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key, "major-overdue:r:o1");
        assert_eq!(alerts[0].raised_at, due);
        assert_eq!(alerts[0].words, "重大纠纷已逾期未办结：征地拆迁补偿纠纷");
        c.difficulty = Some(Difficulty::ExtraMajor);
        assert_eq!(
            evaluate(&rules, std::slice::from_ref(&c), due + 3 * DAY)[0].words,
            "特大纠纷逾期 3 天未办结：征地拆迁补偿纠纷"
        );
        c.difficulty = Some(Difficulty::General);
        assert_eq!(evaluate(&rules, std::slice::from_ref(&c), due + 1), []);
        c.difficulty = Some(Difficulty::Major);
        c.handled_at = Some(due + 1);
        assert_eq!(evaluate(&rules, &[c], due + 2), []);
    }

    #[test]
    fn key_person_while_open() {
        let rules = only(RuleKind::KeyPerson);
        let mut c = case("k1", "邻里口角", "neighbour", SHALAN, T0, people(2, SHALAN));
        assert_eq!(evaluate(&rules, std::slice::from_ref(&c), T0), []);
        c.risks.insert(RiskFlag::KeyPerson);
        let alerts = evaluate(&rules, std::slice::from_ref(&c), T0);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key, "key-person:r:k1");
        assert_eq!(alerts[0].raised_at, T0);
        c.handled_at = Some(T0 + DAY);
        assert_eq!(evaluate(&rules, &[c], T0 + DAY), []);
    }

    #[test]
    fn alerts_are_ordered_unacknowledged_then_level_then_latest() {
        let rules = WarningRules::default_rules();
        let mut key_a = case("q1", "邻里纠纷", "neighbour", WUFENG, T0, people(2, WUFENG));
        key_a.risks.insert(RiskFlag::KeyPerson);
        let mut key_b = case(
            "q2",
            "邻里纠纷",
            "neighbour",
            SHALAN,
            T0 + DAY,
            people(2, SHALAN),
        );
        key_b.risks.insert(RiskFlag::KeyPerson);
        let mut failed = case(
            "q3",
            "债务纠纷",
            "economic_debt",
            HUAFENG,
            T0 + 2 * DAY,
            people(2, HUAFENG),
        );
        failed.failures = 2;
        let mut major = case(
            "q4",
            "山林权属纠纷",
            "land_resources",
            NACHEN,
            T0,
            people(2, NACHEN),
        );
        major.difficulty = Some(Difficulty::Major);
        major.acknowledged.push(AlertAck {
            key: "major-overdue:major-overdue:q4".to_owned(),
            by: "周国平".to_owned(),
            at: T0 + 8 * DAY,
            note: String::new(),
        });
        let alerts = evaluate(&rules, &[failed, key_a, major, key_b], T0 + 10 * DAY);
        let keys: Vec<&str> = alerts.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "key-person:key-person:q2",
                "key-person:key-person:q1",
                "failed-mediation:failed-twice:q3",
                "major-overdue:major-overdue:q4",
            ]
        );
    }

    #[test]
    fn default_rules_parse_and_round_trip() {
        let rules = WarningRules::default_rules();
        let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "repeat-party",
                "group-risk",
                "category-spread",
                "failed-twice",
                "major-overdue",
                "key-person"
            ]
        );
        assert_eq!(
            rules.rules[0].kind,
            RuleKind::RepeatParty { cases: 3, days: 90 }
        );
        assert_eq!(rules.rules[0].level, Level::Orange);
        assert_eq!(rules.rules[0].zh(), "同一当事人 90 天内涉及 3 件及以上纠纷");
        assert_eq!(rules.rules[1].kind, RuleKind::ManyParties { parties: 5 });
        assert_eq!(
            rules.rules[2].kind,
            RuleKind::CategorySpread {
                villages: 3,
                days: 7,
                categories: vec![]
            }
        );
        assert_eq!(rules.rules[3].kind, RuleKind::FailedMediation { times: 2 });
        assert_eq!(rules.rules[4].level, Level::Red);
        assert_eq!(rules.rules[5].kind, RuleKind::KeyPerson);

        let text = rules.to_toml();
        assert_eq!(WarningRules::from_toml(&text), Ok(rules.clone()));

        let mut custom = rules;
        custom.rules.push(Rule {
            id: "涉农-spread".to_owned(),
            level: Level::Blue,
            kind: RuleKind::CategorySpread {
                villages: 2,
                days: 30,
                categories: vec![
                    "agriculture_fishery".to_owned(),
                    "land \"acquisition\"".to_owned(),
                ],
            },
        });
        assert_eq!(
            WarningRules::from_toml(&custom.to_toml()),
            Ok(custom.clone())
        );

        // The JSON form.
        let json = serde_json::to_string(&custom).expect("json");
        assert!(json.starts_with(r#"{"rules":[{"id":"repeat-party","kind":"repeat_party","level":"orange","cases":3,"days":90}"#), "{json}");
        let back: WarningRules = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, custom);
        let bad = r#"{"rules":[{"id":"a","kind":"key_person","level":"red"},{"id":"b","kind":"repeat_party","level":"red","cases":0,"days":9}]}"#;
        let e = serde_json::from_str::<WarningRules>(bad).expect_err("cases = 0");
        assert!(
            e.to_string().contains("warning rule 2: `cases` is 0"),
            "{e}"
        );

        assert_eq!(
            WarningRules::from_toml("# none yet\n"),
            Ok(WarningRules { rules: vec![] })
        );
    }

    fn error(text: &str) -> RulesError {
        match WarningRules::from_toml(text) {
            Ok(rules) => panic!("read {rules:?} from {text}"),
            Err(e) => e,
        }
    }

    const GOOD: &str = "[[rule]]\nid = \"repeat-party\"\nkind = \"repeat_party\"\nlevel = \"orange\"\ncases = 3\ndays = 90\n\n";

    #[test]
    fn rules_errors_name_their_line() {
        // Lines 1–7 are a good rule; the next rule's header is line 8.
        let e = error(&format!(
            "{GOOD}[[rule]]\nid = \"k\"\nkind = \"key_person\"\nlevel = \"red\n"
        ));
        assert_eq!(e.line, 11, "{e}");
        assert!(matches!(e.problem, RulesProblem::Toml(_)), "{e:?}");

        let e = error(&format!(
            "{GOOD}[[rule]]\nid = \"k\"\nkind = \"key_persons\"\nlevel = \"red\"\n"
        ));
        assert_eq!((e.line, e.column), (10, 8), "{e}");
        assert_eq!(
            e.problem,
            RulesProblem::UnknownKind("key_persons".to_owned())
        );

        let e = error(&format!(
            "{GOOD}[[rule]]\nid = \"k\"\nkind = \"key_person\"\nlevel = \"purple\"\n"
        ));
        assert_eq!(e.line, 11, "{e}");
        assert_eq!(e.problem, RulesProblem::UnknownLevel("purple".to_owned()));

        let e = error(&format!(
            "{GOOD}[[rule]]\nid = \"r2\"\nkind = \"repeat_party\"\nlevel = \"red\"\ncases = 4\n"
        ));
        assert_eq!(e.line, 8, "{e}");
        assert_eq!(
            e.problem,
            RulesProblem::MissingField {
                field: "days",
                kind: Some("repeat_party")
            }
        );

        let e = error(&format!(
            "{GOOD}[[rule]]\nkind = \"key_person\"\nlevel = \"red\"\n"
        ));
        assert_eq!(e.line, 8, "{e}");
        assert_eq!(
            e.problem,
            RulesProblem::MissingField {
                field: "id",
                kind: None
            }
        );

        let e = error(&format!("{GOOD}[[rule]]\nid = \"k\"\nkind = \"key_person\"\nlevel = \"red\"\ncolour = \"red\"\n"));
        assert_eq!((e.line, e.column), (12, 1), "{e}");
        assert!(
            matches!(&e.problem, RulesProblem::UnknownField { field, .. } if field == "colour")
        );

        let e = error(&format!(
            "{GOOD}[[rule]]\nid = \"k\"\nkind = \"key_person\"\nlevel = \"red\"\nvillages = 3\n"
        ));
        assert_eq!(e.line, 12, "{e}");
        assert_eq!(
            e.problem,
            RulesProblem::UnknownField {
                field: "villages".to_owned(),
                expected: &["id", "kind", "level"]
            }
        );

        let e = error("[[rule]]\nid = \"r\"\nkind = \"repeat_party\"\nlevel = \"red\"\ncases = 0\ndays = 90\n");
        assert_eq!(e.line, 5, "{e}");
        assert_eq!(
            e.problem,
            RulesProblem::OutOfRange {
                field: "cases",
                value: 0,
                min: 2,
                max: 1000
            }
        );

        let e = error("[[rule]]\nid = \"r\"\nkind = \"repeat_party\"\nlevel = \"red\"\ncases = 3\ndays = 36500\n");
        assert_eq!(e.line, 6, "{e}");
        assert!(matches!(
            e.problem,
            RulesProblem::OutOfRange { field: "days", .. }
        ));

        let e =
            error("[[rule]]\nid = \"r\"\nkind = \"many_parties\"\nlevel = \"red\"\nparties = -5\n");
        assert_eq!(e.line, 5, "{e}");

        let e = error(
            "[[rule]]\nid = \"r\"\nkind = \"failed_mediation\"\nlevel = \"red\"\ntimes = 0\n",
        );
        assert_eq!(e.line, 5, "{e}");
        assert!(WarningRules::from_toml(
            "[[rule]]\nid = \"r\"\nkind = \"failed_mediation\"\nlevel = \"red\"\ntimes = 1\n"
        )
        .is_ok());

        let e = error("[[rule]]\nid = \"r\"\nkind = \"repeat_party\"\nlevel = \"red\"\ncases = \"3\"\ndays = 90\n");
        assert_eq!(e.line, 5, "{e}");
        assert_eq!(
            e.problem,
            RulesProblem::WrongType {
                field: "cases".to_owned(),
                expected: Expected::WholeNumber
            }
        );

        let e = error(&format!(
            "{GOOD}[[rule]]\nid = \"repeat-party\"\nkind = \"key_person\"\nlevel = \"red\"\n"
        ));
        assert_eq!(e.line, 9, "{e}");
        assert_eq!(
            e.problem,
            RulesProblem::DuplicateId("repeat-party".to_owned())
        );

        let e = error("[[rule]]\nid = \"\"\nkind = \"key_person\"\nlevel = \"red\"\n");
        assert_eq!(e.line, 2, "{e}");
        assert_eq!(e.problem, RulesProblem::EmptyId);

        let e = error("[[rule]]\nid = \"key:person\"\nkind = \"key_person\"\nlevel = \"red\"\n");
        assert_eq!(e.line, 2, "{e}");
        assert!(matches!(e.problem, RulesProblem::BadId(_)));

        let e = error("\n[[rule]]\nid = \"c\"\nkind = \"category_spread\"\nlevel = \"red\"\nvillages = 3\ndays = 7\ncategories = [\"labour\", \"\"]\n");
        assert_eq!(e.line, 8, "{e}");
        assert_eq!(e.problem, RulesProblem::EmptyCategory);

        let e = error(&format!("{GOOD}[[rules]]\nid = \"k\"\n"));
        assert_eq!(e.line, 8, "{e}");
        assert!(matches!(&e.problem, RulesProblem::UnknownField { field, .. } if field == "rules"));

        // The words.
        let e = error(
            "[[rule]]\nid = \"r\"\nkind = \"failed_mediation\"\nlevel = \"red\"\ntimes = 0\n",
        );
        assert_eq!(
            e.to_string(),
            "warning rules, line 5: `times` is 0; it must be from 1 to 100"
        );
        assert_eq!(
            e.zh(),
            "预警规则第 5 行：`times`（调解失败次数）为 0，应在 1 到 100 之间"
        );
    }
}
