//! The case screen's action forms, apart from rendering so that they are tested natively: which
//! fields each workflow step asks for, what the person typed, and the [`Action`] it becomes, or
//! what is missing, in both languages.
//!
//! These checks are only about the form being filled in (a difficulty chosen, a note written):
//! whether the person may take the step at all is the core's decision, which arrives as
//! `CaseScreen::allowed` and is enforced again when the shell records it.

use crate::i18n::{t, tf, Key, Lang};
use crate::labels;
use app_core::deadline::{
    DeadlinePolicy, DEFAULT_ASSIGN_DOWN_DAYS, MAX_ASSIGN_DOWN_DAYS, MAX_SUPERVISE_DAYS,
};
use app_core::ids::{EntryId, MatterId, PersonId, UnitId};
use app_core::model::{
    Action, ActionKind, Agreement, Assignee, Difficulty, RiskFlag, SuperviseLevel,
};
use app_core::screens::{CaseScreen, Mediator, SignatureInput};
use app_core::validate::{self, FieldProblem, Problem};
use std::collections::{BTreeMap, BTreeSet};

/// An input of an action form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Difficulty,
    Risks,
    Assignee,
    ChosenByParties,
    Mode,
    Agreement,
    /// 履行方式、时限 of an agreement.
    Performance,
    /// The parties' signatures, drawn on the screen.
    Signatures,
    Court,
    Granted,
    /// Where the case goes: escalate to, assign down to.
    To,
    EscalationReason,
    ReopenReason,
    Method,
    Satisfaction,
    Relapsed,
    DueDays,
    Conflicts,
    /// The level of a supervision (督办级别).
    SuperviseLevel,
    /// The last day of a supervision's new deadline.
    DueDate,
    /// The note; the instructions when assigning down; what a supervision expects; the reply
    /// to a work order; why a work order is returned.
    Note,
}

impl Field {
    /// The element id of the input (the end-to-end tests find fields by these).
    pub fn id(self) -> &'static str {
        match self {
            Field::Difficulty => "act-difficulty",
            Field::Risks => "act-risks",
            Field::Assignee => "act-mediator",
            Field::ChosenByParties => "act-chosen-by-parties",
            Field::Mode => "act-mode",
            Field::Agreement => "act-agreement",
            Field::Performance => "act-performance",
            Field::Signatures => "act-signatures",
            Field::Court => "act-court",
            Field::Granted => "act-granted",
            Field::To => "act-to",
            Field::EscalationReason | Field::ReopenReason => "act-reason",
            Field::Method => "act-method",
            Field::Satisfaction => "act-satisfaction",
            Field::Relapsed => "act-relapsed",
            Field::DueDays => "act-due-days",
            Field::Conflicts => "act-conflicts",
            Field::SuperviseLevel => "act-supervise-level",
            Field::DueDate => "act-due-date",
            Field::Note => "act-note",
        }
    }
}

/// The fields of the form for a kind of step, in order; `None` for a step this screen does not
/// offer (reporting has its own screen; field edits are not workflow steps).
pub fn fields(kind: ActionKind) -> Option<&'static [Field]> {
    use ActionKind as K;
    use Field::*;
    Some(match kind {
        K::Assess => &[Difficulty, Risks, Note],
        K::Assign => &[Assignee, ChosenByParties, Note],
        K::RecordSession => &[Mode, Note],
        K::Resolve => &[Agreement, Performance, Signatures, Note],
        K::RequestJudicialConfirmation => &[Court],
        K::RecordJudicialConfirmation => &[Granted, Note],
        K::Stabilise | K::Fail | K::ReportBack | K::Close => &[Note],
        K::Escalate => &[To, EscalationReason, Note],
        K::AssignDown => &[To, DueDays, Note],
        K::FollowUp => &[Method, Satisfaction, Relapsed, Note],
        K::Reopen => &[ReopenReason],
        K::SettleConflict => &[Conflicts, Note],
        K::EraseContacts | K::UnlinkMatter => &[Note],
        K::Supervise => &[SuperviseLevel, DueDate, Note],
        // 签收 asks for nothing: the button and the submit are the signature.
        K::SignOrder => &[],
        K::ReplyOrder | K::ReturnOrder => &[Note],
        // The report form, field edits, and the possible duplicates, the matter and the alerts
        // sections of the case screen and the 预警 page, which have buttons of their own; a
        // work order is dispatched by another system, never from the app.
        K::Report
        | K::Edit
        | K::LinkMatter
        | K::MarkDistinct
        | K::AcknowledgeAlert
        | K::DispatchOrder => return None,
    })
}

/// The button that opens the form for a kind of step (`None`: the step has no form here).
pub fn button(kind: ActionKind) -> Option<Key> {
    use ActionKind as K;
    Some(match kind {
        K::Assess => Key::ActAssess,
        K::Assign => Key::ActAssign,
        K::RecordSession => Key::ActSession,
        K::Resolve => Key::ActResolve,
        K::RequestJudicialConfirmation => Key::ActJudicial,
        K::RecordJudicialConfirmation => Key::ActJudicialResult,
        K::Stabilise => Key::ActStabilise,
        K::Fail => Key::ActFail,
        K::Escalate => Key::ActEscalate,
        K::AssignDown => Key::ActAssignDown,
        K::ReportBack => Key::ActReportBack,
        K::FollowUp => Key::ActFollowUp,
        K::Close => Key::ActClose,
        K::Reopen => Key::ActReopen,
        K::SettleConflict => Key::ActSettle,
        K::EraseContacts => Key::ActEraseContacts,
        K::UnlinkMatter => Key::ActUnlinkMatter,
        K::Supervise => Key::ActSupervise,
        K::SignOrder => Key::ActSignOrder,
        K::ReplyOrder => Key::ActReplyOrder,
        K::ReturnOrder => Key::ActReturnOrder,
        K::Report
        | K::Edit
        | K::LinkMatter
        | K::MarkDistinct
        | K::AcknowledgeAlert
        | K::DispatchOrder => return None,
    })
}

/// The label of the note field for a kind of step.
pub fn note_label(kind: ActionKind) -> Key {
    match kind {
        ActionKind::AssignDown => Key::ActInstructions,
        ActionKind::Supervise => Key::ActSuperviseNote,
        ActionKind::ReplyOrder => Key::OrderReply,
        ActionKind::ReturnOrder => Key::ReturnReason,
        _ => Key::ActNote,
    }
}

/// The label of the "to" field for a kind of step.
pub fn to_label(kind: ActionKind) -> Key {
    if kind == ActionKind::AssignDown {
        Key::ActAssignDownTo
    } else {
        Key::ActEscalateTo
    }
}

/// The value of a committee in the assignee select (a mediator's value is their person id).
pub fn committee_value(unit: &UnitId) -> String {
    format!("committee:{unit}")
}

/// The roster as select options (value, label): mediators good at the case's category first,
/// marked ★, each with their unit.
pub fn roster_options(roster: &[Mediator]) -> Vec<(String, String)> {
    let mut sorted: Vec<&Mediator> = roster.iter().collect();
    sorted.sort_by_key(|m| !m.matches);
    sorted
        .into_iter()
        .map(|m| {
            let star = if m.matches { "★ " } else { "" };
            let unit = if m.unit_name.is_empty() {
                String::new()
            } else {
                format!("（{}）", m.unit_name)
            };
            (m.id.to_string(), format!("{star}{}{unit}", m.name))
        })
        .collect()
}

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActProblem {
    pub field: Field,
    pub key: Key,
    /// The number the message quotes (a limit), if any.
    pub limit: Option<usize>,
}

impl ActProblem {
    fn new(field: Field, key: Key) -> ActProblem {
        ActProblem {
            field,
            key,
            limit: None,
        }
    }

    fn limit(field: Field, key: Key, limit: usize) -> ActProblem {
        ActProblem {
            field,
            key,
            limit: Some(limit),
        }
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self.limit {
            Some(n) => tf(lang, self.key, &[&n]),
            None => t(lang, self.key).to_owned(),
        }
    }
}

/// The summary shown above the submit button: "请检查：请选择难度；请填写说明".
pub fn summary(problems: &[ActProblem], lang: Lang) -> String {
    let sep = match lang {
        Lang::Zh => "；",
        Lang::En => "; ",
    };
    let list: Vec<String> = problems.iter().map(|p| p.message(lang)).collect();
    tf(lang, Key::ProblemCheckFields, &[&list.join(sep)])
}

/// An action form as filled in. Choices are kept as the select's value (`""`: not chosen yet),
/// so that the form shows exactly what the person picked.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionForm {
    pub kind: ActionKind,
    /// How the responsible centre counts days (an assignment down's deadline).
    pub policy: DeadlinePolicy,
    /// A [`Difficulty::code`].
    pub difficulty: String,
    pub risks: BTreeSet<RiskFlag>,
    pub note: String,
    /// A mediator's person id, or [`committee_value`].
    pub assignee: String,
    pub chosen_by_parties: bool,
    /// A [`labels::mode_code`].
    pub mode: String,
    pub agreement: String,
    pub performance: String,
    /// Each party's signature as drawn (party id → the canvas's PNG as a data URL).
    pub signatures: BTreeMap<String, String>,
    pub court: String,
    /// `"true"` or `"false"`.
    pub granted: String,
    /// A unit id.
    pub to: String,
    /// A [`labels::reason_code`] when escalating; the reason itself when reopening.
    pub reason: String,
    /// A [`labels::method_code`].
    pub method: String,
    /// A [`labels::satisfaction_code`].
    pub satisfaction: String,
    pub relapsed: bool,
    pub due_days: String,
    /// A [`SuperviseLevel::code`].
    pub supervise_level: String,
    /// The last day of a supervision's new deadline, as a date input gives it (`2026-06-30`);
    /// `""`: not chosen yet.
    pub due_date: String,
    /// The conflicts to settle.
    pub conflicts: BTreeSet<EntryId>,
    /// The matter the case is in (taking it out of its matter names it); `""`: none.
    pub matter: String,
    /// Whether the person tried to submit (every problem shows from then on).
    pub attempted: bool,
    /// When the form was opened (UTC milliseconds): the problems it shows are as at then (a
    /// supervision's last day counts from today); the action is built as at its submission.
    pub now: i64,
}

/// What a case offers the forms to choose from, and what it already holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Choices {
    /// The current assessment, when re-assessing.
    pub difficulty: Option<Difficulty>,
    pub risks: BTreeSet<RiskFlag>,
    /// Assignee values in the order the select lists them (mediators, ★ first; committees).
    pub assignees: Vec<String>,
    pub escalate_to: Vec<UnitId>,
    pub assign_down_to: Vec<UnitId>,
    /// The unsettled conflicts.
    pub conflicts: Vec<EntryId>,
    /// How the responsible centre counts days.
    pub policy: DeadlinePolicy,
    /// The matter the case is linked into, if any.
    pub matter: Option<MatterId>,
    /// Now (UTC milliseconds), when the case screen offers the forms.
    pub now: i64,
}

impl Choices {
    /// The choices a case screen offers at `now`.
    pub fn of(screen: &CaseScreen, now: i64) -> Choices {
        let state = screen.state.as_ref();
        Choices {
            difficulty: state.and_then(|s| s.difficulty),
            risks: state.map(|s| s.risks.clone()).unwrap_or_default(),
            assignees: roster_options(&screen.roster)
                .into_iter()
                .map(|(v, _)| v)
                .chain(screen.committees.iter().map(|u| committee_value(&u.id)))
                .collect(),
            escalate_to: screen.escalate_to.iter().map(|u| u.id.clone()).collect(),
            assign_down_to: screen.assign_down_to.iter().map(|u| u.id.clone()).collect(),
            conflicts: state
                .map(|s| s.conflicts.iter().map(|c| c.entry.clone()).collect())
                .unwrap_or_default(),
            policy: screen.policy.clone(),
            matter: state.and_then(|s| s.matter.clone()),
            now,
        }
    }
}

impl ActionForm {
    /// A form for `kind` with nothing chosen or typed.
    pub fn blank(kind: ActionKind) -> ActionForm {
        ActionForm {
            kind,
            policy: DeadlinePolicy::default(),
            difficulty: String::new(),
            risks: BTreeSet::new(),
            note: String::new(),
            assignee: String::new(),
            chosen_by_parties: false,
            mode: String::new(),
            agreement: String::new(),
            performance: String::new(),
            signatures: BTreeMap::new(),
            court: String::new(),
            granted: String::new(),
            to: String::new(),
            reason: String::new(),
            method: String::new(),
            satisfaction: String::new(),
            relapsed: false,
            due_days: String::new(),
            supervise_level: String::new(),
            due_date: String::new(),
            conflicts: BTreeSet::new(),
            matter: String::new(),
            attempted: false,
            now: 0,
        }
    }

    /// A fresh form for `kind`. Every select starts on its first option, so that what the form
    /// shows is what it sends: the current difficulty when re-assessing (else 简单), the
    /// best-matching mediator, the first unit, 满意, on site, by phone; every open conflict is
    /// ticked. The person changes what is not so.
    pub fn new(kind: ActionKind, choices: &Choices) -> ActionForm {
        let first = |v: &[UnitId]| v.first().map(|u| u.to_string()).unwrap_or_default();
        ActionForm {
            policy: choices.policy.clone(),
            difficulty: choices
                .difficulty
                .unwrap_or(Difficulty::Simple)
                .code()
                .to_owned(),
            risks: choices.risks.clone(),
            assignee: choices.assignees.first().cloned().unwrap_or_default(),
            mode: labels::mode_code(labels::MODES[0]).to_owned(),
            granted: "true".to_owned(),
            to: match kind {
                ActionKind::Escalate => first(&choices.escalate_to),
                ActionKind::AssignDown => first(&choices.assign_down_to),
                _ => String::new(),
            },
            reason: match kind {
                ActionKind::Escalate => labels::reason_code(labels::REASONS[0]).to_owned(),
                _ => String::new(),
            },
            method: labels::method_code(labels::METHODS[0]).to_owned(),
            satisfaction: labels::satisfaction_code(labels::SATISFACTIONS[0]).to_owned(),
            due_days: DEFAULT_ASSIGN_DOWN_DAYS.to_string(),
            supervise_level: SuperviseLevel::General.code().to_owned(),
            conflicts: choices.conflicts.iter().cloned().collect(),
            matter: choices
                .matter
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default(),
            now: choices.now,
            ..ActionForm::blank(kind)
        }
    }

    fn has(&self, field: Field) -> bool {
        fields(self.kind).is_some_and(|f| f.contains(&field))
    }

    /// Every problem of the form, in the order of its fields.
    pub fn problems(&self) -> Vec<ActProblem> {
        self.build(self.now).err().unwrap_or_default()
    }

    /// The message under `field` now: its problem once a submit was tried.
    pub fn shown_message(&self, field: Field, lang: Lang) -> Option<String> {
        if !self.attempted {
            return None;
        }
        self.problems()
            .into_iter()
            .find(|p| p.field == field)
            .map(|p| p.message(lang))
    }

    /// The action the form describes, as at `now` (UTC milliseconds; deadlines count from it),
    /// or every problem.
    pub fn action(&self, now: i64) -> Result<Action, Vec<ActProblem>> {
        self.build(now)
    }

    /// What the person chose, each choice checked; then the action as the core will check it
    /// ([`validate::action`]: the words a step needs, the lengths).
    fn build(&self, now: i64) -> Result<Action, Vec<ActProblem>> {
        let Some(form_fields) = fields(self.kind) else {
            return Err(vec![ActProblem::new(Field::Note, Key::ActUnknown)]);
        };
        let mut problems = Vec::new();
        let mut check = |field: Field, ok: bool, key: Key| {
            if form_fields.contains(&field) && !ok {
                problems.push(ActProblem::new(field, key));
            }
        };
        let difficulty = Difficulty::from_code(&self.difficulty);
        check(
            Field::Difficulty,
            difficulty.is_some(),
            Key::ProblemChooseDifficulty,
        );
        let assignee = self.assignee_choice();
        check(
            Field::Assignee,
            assignee.is_some(),
            Key::ProblemChooseAssignee,
        );
        let mode = labels::MODES
            .into_iter()
            .find(|&m| labels::mode_code(m) == self.mode);
        check(Field::Mode, mode.is_some(), Key::ProblemChooseMode);
        let granted = match self.granted.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        check(Field::Granted, granted.is_some(), Key::ProblemChooseGranted);
        check(
            Field::To,
            !self.to.trim().is_empty(),
            Key::ProblemChooseUnit,
        );
        let reason = labels::REASONS
            .into_iter()
            .find(|&r| labels::reason_code(r) == self.reason);
        check(
            Field::EscalationReason,
            reason.is_some(),
            Key::ProblemChooseReason,
        );
        let method = labels::METHODS
            .into_iter()
            .find(|&m| labels::method_code(m) == self.method);
        check(Field::Method, method.is_some(), Key::ProblemChooseMethod);
        let satisfaction = labels::SATISFACTIONS
            .into_iter()
            .find(|&s| labels::satisfaction_code(s) == self.satisfaction);
        check(
            Field::Satisfaction,
            satisfaction.is_some(),
            Key::ProblemChooseSatisfaction,
        );
        let supervise_level = SuperviseLevel::from_code(&self.supervise_level);
        check(
            Field::SuperviseLevel,
            supervise_level.is_some(),
            Key::ProblemChooseSuperviseLevel,
        );
        let due_at = self
            .due_days
            .trim()
            .parse::<u32>()
            .ok()
            .and_then(|days| self.policy.assign_down_due(now, days));
        if self.has(Field::DueDays) && due_at.is_none() {
            problems.push(ActProblem::limit(
                Field::DueDays,
                Key::ProblemDueDays,
                MAX_ASSIGN_DOWN_DAYS as usize,
            ));
        }
        // The last day chosen, met until its end, as the store and the server check it.
        let new_deadline = chrono::NaiveDate::parse_from_str(self.due_date.trim(), "%Y-%m-%d")
            .ok()
            .map(|day| self.policy.supervise_due_on(day))
            .filter(|&due| self.policy.is_supervise_due(now, due));
        if self.has(Field::DueDate) && new_deadline.is_none() {
            problems.push(ActProblem::limit(
                Field::DueDate,
                Key::ProblemNewDeadline,
                MAX_SUPERVISE_DAYS as usize,
            ));
        }
        // What the form describes; a choice not made stands in as its first value, and the
        // action is returned only when every choice was made.
        let note = self.note.trim().to_owned();
        let action = match self.kind {
            ActionKind::Assess => Action::Assess {
                difficulty: difficulty.unwrap_or(Difficulty::Simple),
                risks: labels::RISKS
                    .into_iter()
                    .filter(|r| self.risks.contains(r))
                    .collect(),
                note,
            },
            ActionKind::Assign => {
                let (to, chosen_by_parties) = match assignee {
                    Some(AssigneeChoice::Mediator(person)) => (
                        Assignee::Mediator {
                            person,
                            name: String::new(),
                        },
                        self.chosen_by_parties,
                    ),
                    Some(AssigneeChoice::Committee(unit)) => (
                        Assignee::Committee {
                            unit,
                            name: String::new(),
                        },
                        false,
                    ),
                    None => (
                        Assignee::Department {
                            name: String::new(),
                        },
                        false,
                    ),
                };
                Action::Assign {
                    to,
                    chosen_by_parties,
                    note,
                }
            }
            ActionKind::RecordSession => Action::RecordSession {
                mode: mode.unwrap_or(labels::MODES[0]),
                note,
            },
            ActionKind::Resolve => {
                let terms = self.agreement.trim();
                if terms.is_empty() {
                    // Performance and signatures belong to written terms.
                    if !self.performance.trim().is_empty() {
                        problems.push(ActProblem::new(
                            Field::Performance,
                            Key::ProblemAgreementFirst,
                        ));
                    }
                    if !self.signatures.is_empty() {
                        problems.push(ActProblem::new(
                            Field::Signatures,
                            Key::ProblemAgreementFirst,
                        ));
                    }
                }
                Action::Resolve {
                    agreement: (!terms.is_empty()).then(|| Agreement {
                        summary: terms.to_owned(),
                        attachment: None,
                        performance: self.performance.trim().to_owned(),
                        signatures: Vec::new(),
                    }),
                    note,
                }
            }
            ActionKind::RequestJudicialConfirmation => Action::RequestJudicialConfirmation {
                court: self.court.trim().to_owned(),
            },
            ActionKind::RecordJudicialConfirmation => Action::RecordJudicialConfirmation {
                granted: granted.unwrap_or(true),
                note,
            },
            ActionKind::Stabilise => Action::Stabilise { note },
            ActionKind::Fail => Action::Fail { note },
            ActionKind::ReportBack => Action::ReportBack { note },
            ActionKind::Close => Action::Close { note },
            ActionKind::EraseContacts => Action::EraseContacts { reason: note },
            ActionKind::Escalate => Action::Escalate {
                to: UnitId::new(self.to.trim()),
                reason: reason.unwrap_or(labels::REASONS[0]),
                note,
            },
            ActionKind::AssignDown => Action::AssignDown {
                to: UnitId::new(self.to.trim()),
                person: None,
                instructions: note,
                due_at: due_at.unwrap_or(now),
            },
            ActionKind::FollowUp => Action::FollowUp {
                method: method.unwrap_or(labels::METHODS[0]),
                satisfaction: satisfaction.unwrap_or(labels::SATISFACTIONS[0]),
                relapsed: self.relapsed,
                note,
            },
            ActionKind::Reopen => Action::Reopen {
                reason: self.reason.trim().to_owned(),
            },
            ActionKind::SettleConflict => Action::SettleConflict {
                entries: self.conflicts.iter().cloned().collect(),
                note,
            },
            ActionKind::UnlinkMatter => {
                if self.matter.trim().is_empty() {
                    problems.push(ActProblem::new(Field::Note, Key::ProblemNoMatter));
                }
                Action::UnlinkMatter {
                    matter: MatterId::new(self.matter.trim()),
                    note,
                }
            }
            ActionKind::Supervise => Action::Supervise {
                level: supervise_level.unwrap_or(SuperviseLevel::General),
                due_at: new_deadline.unwrap_or(now),
                note,
            },
            ActionKind::SignOrder => Action::SignOrder,
            ActionKind::ReplyOrder => Action::ReplyOrder { reply: note },
            ActionKind::ReturnOrder => Action::ReturnOrder { reason: note },
            ActionKind::Report
            | ActionKind::Edit
            | ActionKind::LinkMatter
            | ActionKind::MarkDistinct
            | ActionKind::AcknowledgeAlert
            | ActionKind::DispatchOrder => {
                return Err(vec![ActProblem::new(Field::Note, Key::ActUnknown)])
            }
        };
        problems.extend(
            validate::action(&action)
                .into_iter()
                .map(|p| self.act_problem(p)),
        );
        if !problems.is_empty() {
            // In the order of the form.
            problems.sort_by_key(|p| form_fields.iter().position(|f| *f == p.field));
            return Err(problems);
        }
        Ok(action)
    }

    /// The signatures drawn, as the shell takes them (the PNG without its data-URL prefix).
    pub fn signature_inputs(&self) -> Vec<SignatureInput> {
        if self.kind != ActionKind::Resolve {
            return Vec::new();
        }
        self.signatures
            .iter()
            .map(|(party, url)| SignatureInput {
                party: party.as_str().into(),
                png_base64: url
                    .strip_prefix("data:image/png;base64,")
                    .unwrap_or(url)
                    .to_owned(),
            })
            .collect()
    }

    /// The core's problem with the action as this form's field and words.
    fn act_problem(&self, p: FieldProblem) -> ActProblem {
        let field = match (p.field.as_str(), self.kind) {
            ("court", _) => Field::Court,
            ("agreement", _) => Field::Agreement,
            ("agreement.performance", _) => Field::Performance,
            ("entries", _) => Field::Conflicts,
            ("reason", ActionKind::Reopen) => Field::ReopenReason,
            // The note, the instructions of an assignment down, the reason of an erasure or of a
            // returned work order, the reply to a work order.
            _ => Field::Note,
        };
        match p.problem {
            Problem::TooLong { max } => ActProblem::limit(field, Key::ProblemTooLong, max),
            Problem::Required => ActProblem::new(
                field,
                match field {
                    Field::Court => Key::ProblemCourtRequired,
                    Field::Conflicts => Key::ProblemChooseConflicts,
                    Field::ReopenReason => Key::ProblemReasonRequired,
                    _ if self.kind == ActionKind::AssignDown => Key::ProblemInstructionsRequired,
                    _ if self.kind == ActionKind::Supervise => Key::ProblemSuperviseNote,
                    _ if self.kind == ActionKind::ReplyOrder => Key::ProblemReplyRequired,
                    _ if self.kind == ActionKind::ReturnOrder => Key::ProblemReturnReason,
                    _ => Key::ProblemNoteRequired,
                },
            ),
            _ => ActProblem::new(field, Key::ActUnknown),
        }
    }

    fn assignee_choice(&self) -> Option<AssigneeChoice> {
        let v = self.assignee.trim();
        if v.is_empty() {
            None
        } else if let Some(unit) = v.strip_prefix("committee:") {
            (!unit.is_empty()).then(|| AssigneeChoice::Committee(UnitId::new(unit)))
        } else {
            Some(AssigneeChoice::Mediator(PersonId::new(v)))
        }
    }
}

enum AssigneeChoice {
    Mediator(PersonId),
    Committee(UnitId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time;
    use app_core::model::{EscalationReason, FollowUpMethod, Satisfaction, SessionMode};
    use app_core::validate::NARRATIVE_MAX;

    /// 2025-06-30 18:00 China Standard Time.
    const NOW: i64 = 1_751_277_600_000;

    fn kind(code: &str) -> ActionKind {
        ActionKind::from_code(code).unwrap_or_else(|| panic!("no kind {code}"))
    }

    fn form(code: &str) -> ActionForm {
        ActionForm {
            mode: "on_site".into(),
            method: "phone".into(),
            due_days: "7".into(),
            ..ActionForm::blank(kind(code))
        }
    }

    fn messages(f: &ActionForm, lang: Lang) -> Vec<String> {
        f.problems().iter().map(|p| p.message(lang)).collect()
    }

    #[test]
    fn assess_needs_a_difficulty_and_keeps_the_risks_in_order() {
        let mut f = form("assess");
        assert_eq!(messages(&f, Lang::Zh), ["请选择难度"]);
        assert_eq!(messages(&f, Lang::En), ["choose a difficulty"]);
        f.difficulty = "extra_major".into();
        f.risks.insert(RiskFlag::KeyPerson);
        f.risks.insert(RiskFlag::GroupIncident);
        f.note = "  涉及二十余户  ".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::Assess {
                difficulty: Difficulty::ExtraMajor,
                risks: vec![RiskFlag::GroupIncident, RiskFlag::KeyPerson],
                note: "涉及二十余户".into(),
            })
        );
    }

    #[test]
    fn assign_to_a_mediator_chosen_by_the_parties_or_to_a_committee() {
        let mut f = form("assign");
        assert_eq!(messages(&f, Lang::Zh), ["请选择调解员或调委会"]);
        f.assignee = "taishan/haiyan/m1".into();
        f.chosen_by_parties = true;
        assert_eq!(
            f.action(NOW),
            Ok(Action::Assign {
                to: Assignee::Mediator {
                    person: PersonId::new("taishan/haiyan/m1"),
                    name: String::new(),
                },
                chosen_by_parties: true,
                note: String::new(),
            })
        );
        f.assignee = committee_value(&UnitId::new("taishan/haiyan/wufeng"));
        assert_eq!(
            f.action(NOW),
            Ok(Action::Assign {
                to: Assignee::Committee {
                    unit: UnitId::new("taishan/haiyan/wufeng"),
                    name: String::new(),
                },
                chosen_by_parties: false,
                note: String::new(),
            }),
            "a committee is not a mediator the parties chose"
        );
    }

    #[test]
    fn steps_that_need_a_note_say_so_in_both_languages() {
        for code in [
            "record_session",
            "stabilise",
            "fail",
            "report_back",
            "settle_conflict",
        ] {
            let mut f = form(code);
            f.conflicts.insert(EntryId::new("e1"));
            assert_eq!(messages(&f, Lang::Zh), ["请填写说明"], "{code}");
            assert_eq!(messages(&f, Lang::En), ["write a note"], "{code}");
        }
        for code in ["resolve", "close"] {
            assert_eq!(form(code).problems(), [], "{code}: the note is optional");
        }
        let mut f = form("record_session");
        f.mode = "online".into();
        f.note = "双方同意视频调解".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::RecordSession {
                mode: SessionMode::Online,
                note: "双方同意视频调解".into(),
            })
        );
    }

    #[test]
    fn resolve_with_and_without_an_agreement() {
        let mut f = form("resolve");
        f.agreement = "   ".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::Resolve {
                agreement: None,
                note: String::new(),
            })
        );
        f.agreement = "李家赔偿陈家修沟费用八百元".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::Resolve {
                agreement: Some(Agreement {
                    summary: "李家赔偿陈家修沟费用八百元".into(),
                    attachment: None,
                    performance: String::new(),
                    signatures: Vec::new(),
                }),
                note: String::new(),
            })
        );
    }

    #[test]
    fn an_agreement_signed_on_the_spot_needs_its_terms_and_sends_each_drawing() {
        let mut f = form("resolve");
        // Signing and performing come after the terms are written.
        f.performance = "三日内履行".into();
        f.signatures
            .insert("p1".into(), "data:image/png;base64,iVBORw0KGgo=".into());
        let problems = f.action(NOW).unwrap_err();
        let fields: Vec<Field> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, vec![Field::Performance, Field::Signatures]);
        assert!(problems
            .iter()
            .all(|p| p.message(Lang::Zh) == "请先写明协议内容"));
        // Too long a performance is the core's limit, said at its field.
        f.agreement = "王家拆除越界围墙".into();
        f.performance = "履".repeat(validate::PERFORMANCE_MAX + 1);
        let problems = f.action(NOW).unwrap_err();
        assert_eq!(problems[0].field, Field::Performance);
        assert_eq!(problems[0].key, Key::ProblemTooLong);
        f.performance = " 三日内履行完毕 ".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::Resolve {
                agreement: Some(Agreement {
                    summary: "王家拆除越界围墙".into(),
                    attachment: None,
                    performance: "三日内履行完毕".into(),
                    signatures: Vec::new(),
                }),
                note: String::new(),
            })
        );
        // The drawings go apart from the step, as PNG base64 without the data-URL prefix.
        f.signatures
            .insert("p2".into(), "data:image/png;base64,AAAA".into());
        let sent = f.signature_inputs();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].party.as_str(), "p1");
        assert_eq!(sent[0].png_base64, "iVBORw0KGgo=");
        assert_eq!(sent[1].png_base64, "AAAA");
        // Another step sends none, whatever the form held.
        f.kind = ActionKind::Fail;
        assert!(f.signature_inputs().is_empty());
    }

    #[test]
    fn escalate_needs_where_and_why() {
        let mut f = form("escalate");
        assert_eq!(messages(&f, Lang::Zh), ["请选择单位", "请选择上报原因"]);
        assert_eq!(
            messages(&f, Lang::En),
            ["choose a unit", "choose why it goes up"]
        );
        assert_eq!(
            summary(&f.problems(), Lang::Zh),
            "请检查：请选择单位；请选择上报原因"
        );
        f.to = "taishan".into();
        f.reason = "party_dissatisfied".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::Escalate {
                to: UnitId::new("taishan"),
                reason: EscalationReason::PartyDissatisfied,
                note: String::new(),
            })
        );
    }

    #[test]
    fn assign_down_sets_a_deadline_in_whole_days() {
        let mut f = form("assign_down");
        f.to = "taishan/haiyan".into();
        f.due_days = "0".into();
        assert_eq!(
            messages(&f, Lang::Zh),
            ["期限须为 1 至 90 天", "请填写交办要求"]
        );
        assert_eq!(
            messages(&f, Lang::En),
            ["between 1 and 90 days", "write the instructions"]
        );
        f.due_days = "3".into();
        f.note = "请三日内反馈".into();
        // Given on 30 June, due by the end of 3 July (China Standard Time).
        assert_eq!(
            f.action(NOW),
            Ok(Action::AssignDown {
                to: UnitId::new("taishan/haiyan"),
                person: None,
                instructions: "请三日内反馈".into(),
                due_at: NOW - 18 * 3_600_000 + 4 * time::DAY_MS,
            })
        );
    }

    #[test]
    fn supervise_names_a_level_a_last_day_within_ninety_days_and_what_is_expected() {
        let choices = Choices {
            now: NOW,
            ..Choices::default()
        };
        let mut f = ActionForm::new(kind("supervise"), &choices);
        assert_eq!(
            f.supervise_level, "general",
            "the select starts on 一般督办"
        );
        assert_eq!(
            messages(&f, Lang::Zh),
            ["请选择今天起 90 天内的日期", "请填写督办要求"]
        );
        assert_eq!(
            messages(&f, Lang::En),
            [
                "choose a date from today to 90 days ahead",
                "write what is expected"
            ]
        );
        f.supervise_level = "listed".into();
        f.note = "  挂牌督办，请限期办结  ".into();
        // Given on 30 June: the last day may be today (met until midnight) or up to 90 days on.
        for (day, ok) in [
            ("2025-06-29", false),
            ("2025-06-30", true),
            ("2025-07-03", true),
            ("2025-09-28", true),
            ("2025-09-29", false),
            ("3 July", false),
        ] {
            f.due_date = day.into();
            assert_eq!(f.action(NOW).is_ok(), ok, "{day}");
        }
        f.due_date = "2025-07-03".into();
        // Due by the end of 3 July (China Standard Time).
        assert_eq!(
            f.action(NOW),
            Ok(Action::Supervise {
                level: SuperviseLevel::Listed,
                due_at: NOW - 18 * 3_600_000 + 4 * time::DAY_MS,
                note: "挂牌督办，请限期办结".into(),
            })
        );
        f.supervise_level = "urgent".into();
        assert_eq!(messages(&f, Lang::Zh), ["请选择督办级别"]);
    }

    #[test]
    fn follow_up_needs_the_satisfaction() {
        let mut f = form("follow_up");
        assert_eq!(messages(&f, Lang::En), ["choose the parties' satisfaction"]);
        f.satisfaction = "basically".into();
        f.method = "visit".into();
        f.relapsed = true;
        assert_eq!(
            f.action(NOW),
            Ok(Action::FollowUp {
                method: FollowUpMethod::Visit,
                satisfaction: Satisfaction::Basically,
                relapsed: true,
                note: String::new(),
            })
        );
    }

    #[test]
    fn judicial_steps_reopen_and_settle() {
        let mut f = form("request_judicial_confirmation");
        assert_eq!(messages(&f, Lang::Zh), ["请填写法院名称"]);
        f.court = " 台山市人民法院海宴人民法庭 ".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::RequestJudicialConfirmation {
                court: "台山市人民法院海宴人民法庭".into()
            })
        );
        let mut f = form("record_judicial_confirmation");
        assert_eq!(messages(&f, Lang::Zh), ["请选择法院结果"]);
        f.granted = "false".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::RecordJudicialConfirmation {
                granted: false,
                note: String::new()
            })
        );
        let mut f = form("reopen");
        assert_eq!(messages(&f, Lang::En), ["give a reason"]);
        f.reason = "回访发现双方再起争执".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::Reopen {
                reason: "回访发现双方再起争执".into()
            })
        );
        let mut f = form("settle_conflict");
        f.note = "以中心分流为准".into();
        assert_eq!(messages(&f, Lang::Zh), ["请选择要处理的冲突"]);
        f.conflicts.insert(EntryId::new("e2"));
        f.conflicts.insert(EntryId::new("e1"));
        assert_eq!(
            f.action(NOW),
            Ok(Action::SettleConflict {
                entries: vec![EntryId::new("e1"), EntryId::new("e2")],
                note: "以中心分流为准".into(),
            })
        );
    }

    #[test]
    fn problems_wait_for_a_submit_and_limits_are_quoted() {
        let mut f = form("fail");
        assert_eq!(f.shown_message(Field::Note, Lang::Zh), None);
        f.attempted = true;
        assert_eq!(
            f.shown_message(Field::Note, Lang::Zh).as_deref(),
            Some("请填写说明")
        );
        f.note = "长".repeat(NARRATIVE_MAX + 1);
        assert_eq!(
            f.shown_message(Field::Note, Lang::En).as_deref(),
            Some("at most 5000 characters")
        );
        assert_eq!(
            form("edit").problems()[0].message(Lang::Zh),
            "此事项请在中心电脑上办理"
        );
    }

    #[test]
    fn every_offered_step_has_a_button_and_a_form() {
        for code in [
            "assess",
            "assign",
            "record_session",
            "resolve",
            "request_judicial_confirmation",
            "record_judicial_confirmation",
            "stabilise",
            "fail",
            "escalate",
            "assign_down",
            "report_back",
            "follow_up",
            "close",
            "reopen",
            "settle_conflict",
            "erase_contacts",
            "unlink_matter",
            "supervise",
        ] {
            assert!(fields(kind(code)).is_some(), "{code}");
            assert!(button(kind(code)).is_some(), "{code}");
        }
        for code in ["edit", "link_matter", "mark_distinct", "acknowledge_alert"] {
            assert_eq!(fields(kind(code)), None, "{code}: not a generic step");
            assert_eq!(button(kind(code)), None, "{code}");
        }
    }

    #[test]
    fn unlinking_names_the_cases_matter_and_needs_a_note() {
        let choices = Choices {
            matter: Some(MatterId::new("m-1")),
            ..Choices::default()
        };
        let mut f = ActionForm::new(kind("unlink_matter"), &choices);
        assert_eq!(messages(&f, Lang::Zh), ["请填写说明"]);
        f.note = "两件并非同一纠纷".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::UnlinkMatter {
                matter: MatterId::new("m-1"),
                note: "两件并非同一纠纷".into(),
            })
        );
        let mut f = ActionForm::new(kind("unlink_matter"), &Choices::default());
        f.note = "说明".into();
        assert_eq!(messages(&f, Lang::En), ["the case is in no matter"]);
    }

    #[test]
    fn a_fresh_form_starts_on_the_first_option_of_every_select() {
        let choices = Choices {
            assignees: vec!["m1".into(), committee_value(&UnitId::new("v1"))],
            escalate_to: vec![UnitId::new("taishan")],
            conflicts: vec![EntryId::new("e1")],
            ..Choices::default()
        };
        let f = ActionForm::new(kind("assess"), &choices);
        assert_eq!(f.difficulty, "simple");
        assert!(f.problems().is_empty());
        let again = ActionForm::new(
            kind("assess"),
            &Choices {
                difficulty: Some(Difficulty::Major),
                ..choices.clone()
            },
        );
        assert_eq!(
            again.difficulty, "major",
            "re-assessing starts from the assessment"
        );
        let f = ActionForm::new(kind("assign"), &choices);
        assert_eq!(f.assignee, "m1");
        assert!(matches!(f.action(NOW), Ok(Action::Assign { .. })));
        let f = ActionForm::new(kind("escalate"), &choices);
        assert_eq!(
            f.action(NOW),
            Ok(Action::Escalate {
                to: UnitId::new("taishan"),
                reason: EscalationReason::Unresolved,
                note: String::new(),
            })
        );
        let f = ActionForm::new(kind("follow_up"), &choices);
        assert_eq!(
            f.action(NOW),
            Ok(Action::FollowUp {
                method: FollowUpMethod::Phone,
                satisfaction: Satisfaction::Satisfied,
                relapsed: false,
                note: String::new(),
            })
        );
        let f = ActionForm::new(kind("record_session"), &choices);
        assert_eq!(f.mode, "on_site");
        assert_eq!(f.problems()[0].message(Lang::Zh), "请填写说明");
        let f = ActionForm::new(kind("settle_conflict"), &choices);
        assert_eq!(f.conflicts.len(), 1);
        let f = ActionForm::new(kind("assign"), &Choices::default());
        assert_eq!(
            f.problems()[0].message(Lang::En),
            "choose a mediator or committee",
            "an empty roster leaves nothing chosen"
        );
    }

    #[test]
    fn the_roster_lists_specialists_first_with_a_star() {
        let m = |id: &str, name: &str, matches: bool| Mediator {
            id: PersonId::new(id),
            name: name.into(),
            unit_name: "海宴镇".into(),
            specialties: vec![],
            matches,
        };
        let options = roster_options(&[
            m("a", "黄志强", false),
            m("b", "陈美玲", true),
            m("c", "李国华", false),
        ]);
        assert_eq!(
            options,
            [
                ("b".to_owned(), "★ 陈美玲（海宴镇）".to_owned()),
                ("a".to_owned(), "黄志强（海宴镇）".to_owned()),
                ("c".to_owned(), "李国华（海宴镇）".to_owned()),
            ]
        );
    }

    #[test]
    fn a_work_order_is_signed_with_a_tap_replied_to_in_words_and_returned_with_a_reason() {
        // 签收: no field, the submit is the signature.
        assert_eq!(fields(kind("sign_order")), Some(&[][..]));
        let f = form("sign_order");
        assert_eq!(messages(&f, Lang::Zh), Vec::<String>::new());
        assert_eq!(f.action(NOW), Ok(Action::SignOrder));
        assert_eq!(button(kind("sign_order")), Some(Key::ActSignOrder));
        // 答复: the reply, required and at most 2,000 characters.
        let mut f = form("reply_order");
        assert_eq!(note_label(f.kind), Key::OrderReply);
        assert_eq!(messages(&f, Lang::Zh), ["请填写答复内容"]);
        assert_eq!(messages(&f, Lang::En), ["write the reply"]);
        f.note = "答".repeat(validate::ORDER_REPLY_MAX + 1);
        assert_eq!(messages(&f, Lang::Zh), ["不超过 2000 字"]);
        f.note = "  已联系来电人，纠纷已调解  ".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::ReplyOrder {
                reply: "已联系来电人，纠纷已调解".into()
            })
        );
        // 退单: why, required.
        let mut f = form("return_order");
        assert_eq!(note_label(f.kind), Key::ReturnReason);
        assert_eq!(messages(&f, Lang::Zh), ["请说明退单原因"]);
        f.note = "不属本镇辖区".into();
        assert_eq!(
            f.action(NOW),
            Ok(Action::ReturnOrder {
                reason: "不属本镇辖区".into()
            })
        );
        // The platform's dispatch has no form and no button here.
        assert_eq!(fields(kind("dispatch_order")), None);
        assert_eq!(button(kind("dispatch_order")), None);
    }
}
