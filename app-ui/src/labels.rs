//! Names of the core's enumerations (status, deadline state, difficulty, roles, timeline steps…)
//! in the interface's two languages, and the stable codes the forms use for them.
//!
//! The Chinese names come from the core's own `zh()` methods wherever it has them, so the words
//! on a phone, in the ledger and in error messages are the same words; the English names, and
//! the Chinese of the few enumerations the core does not name, live here. They are kept out of
//! the [`crate::i18n`] table because several coincide with its texts on purpose (调解成功 is both
//! the status and the button that leads to it) and that table insists every text is unique.

use crate::i18n::Lang;
use app_core::deadline::DueState;
use app_core::identity::PartyMatch;
use app_core::model::{
    Action, Difficulty, EscalationReason, FollowUpMethod, OrderKind, PartyRole, RiskFlag,
    Satisfaction, SessionMode, Source, SuperviseLevel,
};
use app_core::org::{Role, Tier};
use app_core::taxonomy::{CategoryCode, Taxonomy};
use app_core::warning::Level;
use app_core::workflow::{OrderState, Status};

/// A category's name: the name the core gave (Chinese, from the centre's taxonomy), or in English
/// the default taxonomy's English name for the code when it has one.
pub fn category(lang: Lang, code: &str, name: &str) -> String {
    static DEFAULT: std::sync::OnceLock<Taxonomy> = std::sync::OnceLock::new();
    match lang {
        Lang::Zh => name.to_owned(),
        Lang::En => DEFAULT
            .get_or_init(Taxonomy::default)
            .get(&CategoryCode::from(code))
            .map_or_else(|| name.to_owned(), |c| c.en.clone()),
    }
}

fn pick(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// A case's status.
pub fn status(lang: Lang, s: Status) -> &'static str {
    let en = match s {
        Status::Reported => "To assess",
        Status::Escalated => "Escalated",
        Status::Assessed => "To assign",
        Status::Assigned => "Assigned",
        Status::Mediating => "Mediating",
        Status::Resolved => "Resolved",
        Status::Stabilised => "Stabilised",
        Status::Failed => "Mediation failed",
        Status::Closed => "Closed",
        Status::Returned => "Order returned",
    };
    pick(lang, s.zh(), en)
}

/// A status as a select's value: its serde name (`Resolved`), the name the shell's commands use.
pub fn status_value(s: Status) -> &'static str {
    match s {
        Status::Reported => "Reported",
        Status::Escalated => "Escalated",
        Status::Assessed => "Assessed",
        Status::Assigned => "Assigned",
        Status::Mediating => "Mediating",
        Status::Resolved => "Resolved",
        Status::Stabilised => "Stabilised",
        Status::Failed => "Failed",
        Status::Closed => "Closed",
        Status::Returned => "Returned",
    }
}

/// A status from a select's value or an address: its serde name or its code (`resolved`).
pub fn status_from(value: &str) -> Option<Status> {
    Status::ALL
        .into_iter()
        .find(|&s| status_value(s) == value || s.code() == value)
}

/// Where a case stands against its deadline.
pub fn due(lang: Lang, d: DueState) -> &'static str {
    let en = match d {
        DueState::Handled => "Handled",
        DueState::OnTrack => "On track",
        DueState::DueSoon => "Due soon",
        DueState::Overdue => "Overdue",
    };
    pick(lang, d.zh(), en)
}

/// A difficulty.
pub fn difficulty(lang: Lang, d: Difficulty) -> &'static str {
    let en = match d {
        Difficulty::Simple => "Simple",
        Difficulty::General => "General",
        Difficulty::Major => "Major",
        Difficulty::ExtraMajor => "Extra-major",
    };
    pick(lang, d.zh(), en)
}

/// Every risk flag, in the order the assessment form lists them.
pub const RISKS: [RiskFlag; 4] = [
    RiskFlag::GroupIncident,
    RiskFlag::RepeatPetition,
    RiskFlag::KeyPerson,
    RiskFlag::Extreme,
];

/// A risk flag's code (the suffix of its checkbox's id).
pub fn risk_code(r: RiskFlag) -> &'static str {
    match r {
        RiskFlag::GroupIncident => "group_incident",
        RiskFlag::RepeatPetition => "repeat_petition",
        RiskFlag::KeyPerson => "key_person",
        RiskFlag::Extreme => "extreme",
    }
}

/// A risk flag.
pub fn risk(lang: Lang, r: RiskFlag) -> &'static str {
    let en = match r {
        RiskFlag::GroupIncident => "Risk of a group incident",
        RiskFlag::RepeatPetition => "Long-standing petition",
        RiskFlag::KeyPerson => "Key person involved",
        RiskFlag::Extreme => "Risk of violence or self-harm",
    };
    pick(lang, r.zh(), en)
}

/// Every source, in the order the report form lists them.
pub const SOURCES: [Source; 6] = Source::ALL;

/// A source's code (an option's value): the core's.
pub fn source_code(s: Source) -> &'static str {
    s.code()
}

/// Where a case came from.
pub fn source(lang: Lang, s: Source) -> &'static str {
    let en = match s {
        Source::GridVisit => "Grid worker's visit",
        Source::WalkIn => "Walk-in",
        Source::Hotline12345 => "12345 hotline",
        Source::Police => "Passed on by the police",
        Source::HigherAssignment => "Assigned from above",
        Source::Other => "Other",
    };
    pick(lang, s.zh(), en)
}

/// Every party role, in the order the report form lists them.
pub const PARTY_ROLES: [PartyRole; 3] = [
    PartyRole::Applicant,
    PartyRole::Respondent,
    PartyRole::ThirdParty,
];

/// A party role's code (an option's value).
pub fn party_role_code(r: PartyRole) -> &'static str {
    match r {
        PartyRole::Applicant => "applicant",
        PartyRole::Respondent => "respondent",
        PartyRole::ThirdParty => "third_party",
    }
}

/// A party's role.
pub fn party_role(lang: Lang, r: PartyRole) -> &'static str {
    let en = match r {
        PartyRole::Applicant => "Applicant",
        PartyRole::Respondent => "Respondent",
        PartyRole::ThirdParty => "Third party",
    };
    pick(lang, r.zh(), en)
}

/// Every session mode, in the order the form lists them.
pub const MODES: [SessionMode; 3] = [
    SessionMode::OnSite,
    SessionMode::MediationRoom,
    SessionMode::Online,
];

/// A session mode's code (an option's value).
pub fn mode_code(m: SessionMode) -> &'static str {
    match m {
        SessionMode::OnSite => "on_site",
        SessionMode::MediationRoom => "mediation_room",
        SessionMode::Online => "online",
    }
}

/// Where a mediation session took place.
pub fn mode(lang: Lang, m: SessionMode) -> &'static str {
    match m {
        SessionMode::OnSite => pick(lang, "现场调解", "On site"),
        SessionMode::MediationRoom => pick(lang, "调解室调解", "In the mediation room"),
        SessionMode::Online => pick(lang, "线上调解", "Online"),
    }
}

/// Every escalation reason, in the order the form lists them.
pub const REASONS: [EscalationReason; 5] = [
    EscalationReason::Unresolved,
    EscalationReason::PartyDissatisfied,
    EscalationReason::CrossDepartment,
    EscalationReason::CrossRegion,
    EscalationReason::MajorDifficulty,
];

/// An escalation reason's code (an option's value).
pub fn reason_code(r: EscalationReason) -> &'static str {
    match r {
        EscalationReason::Unresolved => "unresolved",
        EscalationReason::PartyDissatisfied => "party_dissatisfied",
        EscalationReason::CrossDepartment => "cross_department",
        EscalationReason::CrossRegion => "cross_region",
        EscalationReason::MajorDifficulty => "major_difficulty",
    }
}

/// Why a case went up a tier.
pub fn reason(lang: Lang, r: EscalationReason) -> &'static str {
    let en = match r {
        EscalationReason::Unresolved => "Could not be resolved at this tier",
        EscalationReason::PartyDissatisfied => "A party is dissatisfied with the result",
        EscalationReason::CrossDepartment => "Involves several departments",
        EscalationReason::CrossRegion => "Spans regions",
        EscalationReason::MajorDifficulty => "Major and difficult",
    };
    pick(lang, r.zh(), en)
}

/// Every follow-up method, in the order the form lists them.
pub const METHODS: [FollowUpMethod; 2] = [FollowUpMethod::Phone, FollowUpMethod::Visit];

/// A follow-up method's code (an option's value).
pub fn method_code(m: FollowUpMethod) -> &'static str {
    match m {
        FollowUpMethod::Phone => "phone",
        FollowUpMethod::Visit => "visit",
    }
}

/// How a follow-up was made.
pub fn method(lang: Lang, m: FollowUpMethod) -> &'static str {
    match m {
        FollowUpMethod::Phone => pick(lang, "电话回访", "By phone"),
        FollowUpMethod::Visit => pick(lang, "入户回访", "In person"),
    }
}

/// Every satisfaction level, in the order the form lists them.
pub const SATISFACTIONS: [Satisfaction; 3] = [
    Satisfaction::Satisfied,
    Satisfaction::Basically,
    Satisfaction::Dissatisfied,
];

/// A satisfaction level's code (an option's value).
pub fn satisfaction_code(s: Satisfaction) -> &'static str {
    match s {
        Satisfaction::Satisfied => "satisfied",
        Satisfaction::Basically => "basically",
        Satisfaction::Dissatisfied => "dissatisfied",
    }
}

/// The parties' satisfaction.
pub fn satisfaction(lang: Lang, s: Satisfaction) -> &'static str {
    let en = match s {
        Satisfaction::Satisfied => "Satisfied",
        Satisfaction::Basically => "Basically satisfied",
        Satisfaction::Dissatisfied => "Dissatisfied",
    };
    pick(lang, s.zh(), en)
}

/// A person's role.
pub fn role(lang: Lang, r: Role) -> &'static str {
    let en = match r {
        Role::GridWorker => "Grid worker",
        Role::HouseholdHead => "Household-group head",
        Role::Mediator => "Mediator",
        Role::CentreStaff => "Centre staff",
        Role::CentreLeader => "Centre leader",
        Role::Intake => "Another system (intake)",
    };
    pick(lang, r.zh(), en)
}

/// A tier of the unit tree.
pub fn tier(lang: Lang, t: Tier) -> &'static str {
    let en = match t {
        Tier::Province => "Province",
        Tier::City => "City",
        Tier::County => "County",
        Tier::Township => "Township",
        Tier::District => "District",
        Tier::Village => "Village",
        Tier::Group => "Group",
        Tier::Grid => "Grid",
    };
    pick(lang, t.zh(), en)
}

/// Every alert level, most urgent first.
pub const LEVELS: [Level; 4] = [Level::Red, Level::Orange, Level::Yellow, Level::Blue];

/// An alert's level (预警等级).
pub fn level(lang: Lang, l: Level) -> &'static str {
    let en = match l {
        Level::Red => "Red alert",
        Level::Orange => "Orange alert",
        Level::Yellow => "Yellow alert",
        Level::Blue => "Blue alert",
    };
    pick(lang, l.zh(), en)
}

/// The class of an alert level's badge (`level-red`…), coloured in the style sheet.
pub fn level_class(l: Level) -> &'static str {
    match l {
        Level::Red => "level-red",
        Level::Orange => "level-orange",
        Level::Yellow => "level-yellow",
        Level::Blue => "level-blue",
    }
}

/// Every level of supervision (督办级别), the least first, as the form lists them.
pub const SUPERVISE_LEVELS: [SuperviseLevel; 3] = SuperviseLevel::ALL;

/// A level of supervision.
pub fn supervise_level(lang: Lang, s: SuperviseLevel) -> &'static str {
    let en = match s {
        SuperviseLevel::General => "General supervision",
        SuperviseLevel::Priority => "Priority supervision",
        SuperviseLevel::Listed => "Listed supervision",
    };
    pick(lang, s.zh(), en)
}

/// The class of a level of supervision's badge (`supervise-listed`…), coloured in the style
/// sheet.
pub fn supervise_class(s: SuperviseLevel) -> String {
    format!("supervise-{}", s.code())
}

/// Every kind of work order (工单类型), in the hotline's order.
pub const ORDER_KINDS: [OrderKind; 4] = OrderKind::ALL;

/// What a caller asked the hotline for.
pub fn order_kind(lang: Lang, k: OrderKind) -> &'static str {
    let en = match k {
        OrderKind::Consultation => "Consultation",
        OrderKind::Help => "Request for help",
        OrderKind::Complaint => "Complaint or report",
        OrderKind::Suggestion => "Opinion or suggestion",
    };
    pick(lang, k.zh(), en)
}

/// Where a work order stands for the hotline.
pub fn order_state(lang: Lang, s: OrderState) -> &'static str {
    let en = match s {
        OrderState::Dispatched => "Waiting to be signed for",
        OrderState::Signed => "Signed for",
        OrderState::Handling => "Being handled",
        OrderState::Replied => "Replied",
        OrderState::Concluded => "Concluded",
        OrderState::Returned => "Returned",
    };
    pick(lang, s.zh(), en)
}

/// The class of a work order state's badge (`order-dispatched`…), coloured in the style sheet.
pub fn order_state_class(s: OrderState) -> String {
    format!("order-{}", s.code())
}

/// How two parties were found to be the same person.
pub fn party_match(lang: Lang, m: PartyMatch) -> &'static str {
    let en = match m {
        PartyMatch::SameId => "same ID number",
        PartyMatch::SamePhone => "same phone",
        PartyMatch::SameNameAndVillage => "similar name, same village",
        PartyMatch::None => "no match",
    };
    pick(lang, m.zh(), en)
}

/// A timeline step's name (what was done, as the timeline shows it).
pub fn step(lang: Lang, a: &Action) -> &'static str {
    let en = match a {
        Action::Report { .. } => "Reported",
        Action::Assess { .. } => "Assessed",
        Action::Assign { .. } => "Assigned",
        Action::RecordSession { .. } => "Mediation session",
        Action::Resolve { .. } => "Resolved",
        Action::RequestJudicialConfirmation { .. } => "Judicial confirmation requested",
        Action::RecordJudicialConfirmation { .. } => "Court's answer",
        Action::Stabilise { .. } => "Stabilised",
        Action::Fail { .. } => "Mediation failed",
        Action::Escalate { .. } => "Escalated",
        Action::AssignDown { .. } => "Assigned down",
        Action::ReportBack { .. } => "Reported back",
        Action::FollowUp { .. } => "Followed up",
        Action::Close { .. } => "Closed",
        Action::Reopen { .. } => "Reopened",
        Action::SettleConflict { .. } => "Conflicts settled",
        Action::Edit { .. } => "Edited",
        Action::EraseContacts { .. } => "Contact details erased",
        Action::LinkMatter { .. } => "Linked as one matter",
        Action::UnlinkMatter { .. } => "Unlinked from the matter",
        Action::MarkDistinct { .. } => "Decided not a duplicate",
        Action::AcknowledgeAlert { .. } => "Alert acknowledged",
        Action::Supervise { .. } => "Supervised",
        Action::DispatchOrder { .. } => "Work order dispatched",
        Action::SignOrder => "Work order signed for",
        Action::ReplyOrder { .. } => "Replied to the hotline",
        Action::ReturnOrder { .. } => "Work order returned",
    };
    pick(lang, a.zh(), en)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn has_han(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    /// Every label is in its language, and no two values of one enumeration share a label or a
    /// code (a select would not tell them apart).
    fn distinct<T: Copy>(values: &[T], label: impl Fn(Lang, T) -> &'static str) {
        for lang in [Lang::Zh, Lang::En] {
            let mut seen = HashSet::new();
            for &v in values {
                let l = label(lang, v);
                assert!(!l.is_empty());
                assert_eq!(has_han(l), lang == Lang::Zh, "{l}");
                assert!(seen.insert(l), "{l} twice");
            }
        }
    }

    #[test]
    fn every_label_is_distinct_and_in_its_language() {
        distinct(&Status::ALL, status);
        distinct(
            &[
                DueState::Handled,
                DueState::OnTrack,
                DueState::DueSoon,
                DueState::Overdue,
            ],
            due,
        );
        distinct(&Difficulty::ALL, difficulty);
        distinct(&RISKS, risk);
        distinct(&SOURCES, source);
        distinct(&PARTY_ROLES, party_role);
        distinct(&MODES, mode);
        distinct(&REASONS, reason);
        distinct(&METHODS, method);
        distinct(&SATISFACTIONS, satisfaction);
        distinct(&LEVELS, level);
        distinct(&SUPERVISE_LEVELS, supervise_level);
        distinct(&ORDER_KINDS, order_kind);
        distinct(&OrderState::ALL, order_state);
        distinct(&app_core::org::Role::ALL, role);
        distinct(
            &[
                PartyMatch::SameId,
                PartyMatch::SamePhone,
                PartyMatch::SameNameAndVillage,
                PartyMatch::None,
            ],
            party_match,
        );
        let classes: HashSet<_> = LEVELS.iter().map(|&l| level_class(l)).collect();
        assert_eq!(classes.len(), LEVELS.len());
        let classes: HashSet<_> = SUPERVISE_LEVELS
            .iter()
            .map(|&s| supervise_class(s))
            .collect();
        assert_eq!(classes.len(), SUPERVISE_LEVELS.len());
        let classes: HashSet<_> = OrderState::ALL
            .iter()
            .map(|&s| order_state_class(s))
            .collect();
        assert_eq!(classes.len(), OrderState::ALL.len());
        let codes: [&dyn Fn() -> Vec<&'static str>; 7] = [
            &|| RISKS.iter().map(|&r| risk_code(r)).collect(),
            &|| SOURCES.iter().map(|&s| source_code(s)).collect(),
            &|| PARTY_ROLES.iter().map(|&r| party_role_code(r)).collect(),
            &|| MODES.iter().map(|&m| mode_code(m)).collect(),
            &|| REASONS.iter().map(|&r| reason_code(r)).collect(),
            &|| METHODS.iter().map(|&m| method_code(m)).collect(),
            &|| {
                SATISFACTIONS
                    .iter()
                    .map(|&s| satisfaction_code(s))
                    .collect()
            },
        ];
        for c in codes {
            let c = c();
            assert_eq!(c.iter().collect::<HashSet<_>>().len(), c.len(), "{c:?}");
        }
    }

    #[test]
    fn status_values_are_the_serde_names() {
        for s in Status::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json.as_str(), Some(status_value(s)));
            assert_eq!(status_from(status_value(s)), Some(s));
            assert_eq!(status_from(s.code()), Some(s));
        }
        assert_eq!(status_from(""), None);
    }

    #[test]
    fn categories_in_english_come_from_the_default_taxonomy() {
        assert_eq!(category(Lang::Zh, "neighbour", "邻里纠纷"), "邻里纠纷");
        assert_eq!(category(Lang::En, "neighbour", "邻里纠纷"), "Neighbours");
        assert_eq!(
            category(Lang::En, "oyster_rafts", "蚝排纠纷"),
            "蚝排纠纷",
            "a centre's own category keeps its name"
        );
    }

    #[test]
    fn the_chinese_is_the_cores() {
        assert_eq!(status(Lang::Zh, Status::Reported), "待研判");
        assert_eq!(status(Lang::En, Status::Reported), "To assess");
        assert_eq!(party_role(Lang::Zh, PartyRole::Respondent), "被申请人");
        assert_eq!(due(Lang::Zh, DueState::Overdue), "已超期");
        assert_eq!(
            step(
                Lang::Zh,
                &Action::Close {
                    note: String::new()
                }
            ),
            "办结"
        );
    }
}
