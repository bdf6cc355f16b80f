//! Validation of what people type, shared by the store (which refuses bad input) and the
//! interface (which shows every problem as it is typed, in the user's language). A problem is a
//! field and a code; the words are [`Problem::zh`] and [`Problem::en`].

use crate::identity::{Phone, ResidentId};
use crate::model::{Action, NewCase, WorkOrder};
use crate::taxonomy::{CategoryCode, Taxonomy};
use serde::{Deserialize, Serialize};

/// The longest title (案由) accepted, in characters.
pub const TITLE_MAX: usize = 100;
/// The longest narrative accepted, in characters.
pub const NARRATIVE_MAX: usize = 5_000;
/// How and by when an agreement's terms are performed (履行方式、时限), in characters.
pub const PERFORMANCE_MAX: usize = 500;
/// The longest work order number (工单号) accepted, in characters.
pub const ORDER_NUMBER_MAX: usize = 40;
/// The longest channel name of a work order (`12345`, `110`), in characters.
pub const ORDER_CHANNEL_MAX: usize = 20;
/// The longest reply to a work order (答复), in characters: what the hotline platforms take.
pub const ORDER_REPLY_MAX: usize = 2_000;
/// How far after the step that records it a work order may say it was dispatched (a day: the
/// platform's clock and the device's may disagree, but not by more).
pub const ORDER_FUTURE_MS: i64 = 24 * 3_600_000;

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The field must be filled in.
    Required,
    /// Longer than `max` characters.
    TooLong { max: usize },
    /// The category is not in the taxonomy.
    UnknownCategory,
    /// A case needs at least one party.
    NoParties,
    /// Not a mainland mobile or landline number ([`Phone::parse`]).
    NotAPhone,
    /// Not a resident ID number: 18 characters with a real birth date and a valid check
    /// character, or 15 digits issued before 1999 ([`ResidentId::parse`]).
    NotAResidentId,
    /// Coordinates outside the globe.
    GpsOutOfRange,
    /// A visit that is not all safe and reports no dispute says nothing.
    NothingFound,
    /// An all-safe visit (无事报平安) cannot also report a dispute.
    SafeWithDispute,
    /// A deadline outside `1..=max` days.
    DueDays { max: u32 },
    /// A supervision's new deadline (督办期限) that is not after the supervision, or more than
    /// `max` calendar days after it.
    SuperviseDue { max: u32 },
    /// A work order number with a character other than a letter, a digit or `-`.
    OrderNumberChars,
    /// A work order's signing deadline (签收期限) before it was dispatched.
    SignByBeforeDispatch,
    /// A work order's reply deadline (答复期限) before its signing deadline.
    ReplyByBeforeSignBy,
    /// A work order dispatched more than a day after the step that records it.
    DispatchedInFuture,
}

impl Problem {
    /// What to tell a Chinese-speaking user.
    pub fn zh(&self) -> String {
        match self {
            Problem::Required => "必填".to_owned(),
            Problem::TooLong { max } => format!("不超过{max}字"),
            Problem::UnknownCategory => "请选择纠纷类型".to_owned(),
            Problem::NoParties => "至少填写一名当事人".to_owned(),
            Problem::NotAPhone => "不是有效的电话号码".to_owned(),
            Problem::NotAResidentId => "不是有效的身份证号码".to_owned(),
            Problem::GpsOutOfRange => "坐标超出范围".to_owned(),
            Problem::NothingFound => "请记录走访情况，或选择“无事报平安”".to_owned(),
            Problem::SafeWithDispute => "报平安的走访不能同时上报纠纷".to_owned(),
            Problem::DueDays { max } => format!("办理期限为1至{max}天"),
            Problem::SuperviseDue { max } => {
                format!("督办期限须晚于督办时间，且不超过{max}天")
            }
            Problem::OrderNumberChars => "工单号只能包含字母、数字和“-”".to_owned(),
            Problem::SignByBeforeDispatch => "签收期限不能早于派单时间".to_owned(),
            Problem::ReplyByBeforeSignBy => "答复期限不能早于签收期限".to_owned(),
            Problem::DispatchedInFuture => "派单时间不能晚于当前时间一天以上".to_owned(),
        }
    }

    /// What to tell an English-speaking user.
    pub fn en(&self) -> String {
        match self {
            Problem::Required => "required".to_owned(),
            Problem::TooLong { max } => format!("at most {max} characters"),
            Problem::UnknownCategory => "choose a dispute category".to_owned(),
            Problem::NoParties => "name at least one party".to_owned(),
            Problem::NotAPhone => "not a phone number".to_owned(),
            Problem::NotAResidentId => "not a valid resident ID number".to_owned(),
            Problem::GpsOutOfRange => "coordinates out of range".to_owned(),
            Problem::NothingFound => "write what you found, or choose all safe".to_owned(),
            Problem::SafeWithDispute => "an all-safe visit cannot also report a dispute".to_owned(),
            Problem::DueDays { max } => format!("between 1 and {max} days"),
            Problem::SuperviseDue { max } => format!(
                "the supervision's new deadline must be after it is issued and at most {max} days later"
            ),
            Problem::OrderNumberChars => {
                "a work order number has only letters, digits and `-`".to_owned()
            }
            Problem::SignByBeforeDispatch => {
                "the signing deadline cannot be before the order was dispatched".to_owned()
            }
            Problem::ReplyByBeforeSignBy => {
                "the reply deadline cannot be before the signing deadline".to_owned()
            }
            Problem::DispatchedInFuture => {
                "the order cannot be dispatched more than a day after now".to_owned()
            }
        }
    }
}

/// A problem with one field (`title`, `parties[1].phone`…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    #[serde(flatten)]
    pub problem: Problem,
}

fn problem(field: impl Into<String>, problem: Problem) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        problem,
    }
}

/// Every problem of a report, in the order of the form.
pub fn new_case(new: &NewCase, taxonomy: &Taxonomy) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    if new.title.trim().is_empty() {
        out.push(problem("title", Problem::Required));
    } else if new.title.chars().count() > TITLE_MAX {
        out.push(problem("title", Problem::TooLong { max: TITLE_MAX }));
    }
    if !taxonomy.contains(&CategoryCode::from(new.category.as_str())) {
        out.push(problem("category", Problem::UnknownCategory));
    }
    if new.narrative.chars().count() > NARRATIVE_MAX {
        out.push(problem(
            "narrative",
            Problem::TooLong { max: NARRATIVE_MAX },
        ));
    }
    if new.parties.is_empty() {
        out.push(problem("parties", Problem::NoParties));
    }
    for (i, p) in new.parties.iter().enumerate() {
        if p.name.trim().is_empty() {
            out.push(problem(format!("parties[{i}].name"), Problem::Required));
        }
        if let Some(phone) = p.phone.as_deref().filter(|s| !s.trim().is_empty()) {
            if !is_phone(phone) {
                out.push(problem(format!("parties[{i}].phone"), Problem::NotAPhone));
            }
        }
        if let Some(id) = p.id_number.as_deref().filter(|s| !s.trim().is_empty()) {
            if !is_resident_id(id) {
                out.push(problem(
                    format!("parties[{i}].id_number"),
                    Problem::NotAResidentId,
                ));
            }
        }
    }
    if let Some((lat, lon)) = new.gps {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            out.push(problem("gps", Problem::GpsOutOfRange));
        }
    }
    out
}

/// Every problem of a workflow step's words, in the order of its form: the text a step cannot
/// do without ([`crate::model::ActionKind::note_required`]), the court of a judicial
/// confirmation, the conflicts a settling names, and the length of every text. The store
/// refuses a step with a problem, the server an uploaded entry, and the case screen's forms show
/// them as they are typed.
pub fn action(action: &Action) -> Vec<FieldProblem> {
    let text = |field: &str, text: &str, required: bool, max: usize| {
        if required && text.trim().is_empty() {
            Some(problem(field, Problem::Required))
        } else if text.trim().chars().count() > max {
            Some(problem(field, Problem::TooLong { max }))
        } else {
            None
        }
    };
    let own = match action {
        Action::RequestJudicialConfirmation { court } => text("court", court, true, TITLE_MAX),
        Action::Resolve {
            agreement: Some(a), ..
        } => text("agreement", &a.summary, false, NARRATIVE_MAX).or_else(|| {
            text(
                "agreement.performance",
                &a.performance,
                false,
                PERFORMANCE_MAX,
            )
        }),
        Action::SettleConflict { entries, .. } if entries.is_empty() => {
            Some(problem("entries", Problem::Required))
        }
        _ => None,
    };
    let max = match action {
        Action::ReplyOrder { .. } => ORDER_REPLY_MAX,
        _ => NARRATIVE_MAX,
    };
    let words = action
        .text()
        .and_then(|(field, words)| text(field, words, action.kind().note_required(), max));
    own.into_iter().chain(words).collect()
}

/// Every problem of a work order (工单) as the 12345 platform dispatched it, recorded at `at_ms`,
/// fields named `order.<field>`: its number (1 to [`ORDER_NUMBER_MAX`] letters, digits or `-`),
/// its channel (named, at most [`ORDER_CHANNEL_MAX`] characters), its deadlines in order
/// (dispatched ≤ signing deadline ≤ reply deadline), and its dispatch no more than
/// [`ORDER_FUTURE_MS`] after `at_ms`. The store and the server refuse a dispatch with a problem
/// ([`crate::rules::check_action`]).
pub fn work_order(order: &WorkOrder, at_ms: i64) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    let number = order.number.as_str();
    if number.is_empty() {
        out.push(problem("order.number", Problem::Required));
    } else if number.chars().count() > ORDER_NUMBER_MAX {
        out.push(problem(
            "order.number",
            Problem::TooLong {
                max: ORDER_NUMBER_MAX,
            },
        ));
    } else if !number
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        out.push(problem("order.number", Problem::OrderNumberChars));
    }
    if order.channel.trim().is_empty() {
        out.push(problem("order.channel", Problem::Required));
    } else if order.channel.chars().count() > ORDER_CHANNEL_MAX {
        out.push(problem(
            "order.channel",
            Problem::TooLong {
                max: ORDER_CHANNEL_MAX,
            },
        ));
    }
    if order.dispatched_at > at_ms.saturating_add(ORDER_FUTURE_MS) {
        out.push(problem("order.dispatched_at", Problem::DispatchedInFuture));
    }
    if order.sign_by < order.dispatched_at {
        out.push(problem("order.sign_by", Problem::SignByBeforeDispatch));
    }
    if order.reply_by < order.sign_by {
        out.push(problem("order.reply_by", Problem::ReplyByBeforeSignBy));
    }
    out
}

/// The problem of a door-to-door visit as recorded: all safe (无事报平安), a dispute found, or
/// a note of what was found; not all safe and a dispute at once, and not nothing at all.
pub fn visit(all_safe: bool, dispute: bool, note: &str) -> Option<FieldProblem> {
    match (all_safe, dispute) {
        (true, true) => Some(problem("all_safe", Problem::SafeWithDispute)),
        (false, false) if note.trim().is_empty() => Some(problem("note", Problem::NothingFound)),
        _ => None,
    }
}

/// A mainland mobile (11 digits, `1[3-9]…`) or landline (0, area code, 7–8 digits), written
/// with or without spaces, dashes, brackets, a country code or an extension: whatever
/// [`Phone::parse`] reads.
pub fn is_phone(s: &str) -> bool {
    Phone::parse(s).is_ok()
}

/// A resident identity number (居民身份证号码, GB 11643-1999): 18 characters with a real birth
/// date and a valid check character, or 15 digits issued before 1999; whatever
/// [`ResidentId::parse`] reads.
pub fn is_resident_id(s: &str) -> bool {
    ResidentId::parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewParty, PartyRole, Source};

    fn report() -> NewCase {
        NewCase {
            title: "宅基地边界纠纷".to_owned(),
            category: "neighbour".to_owned(),
            narrative: "两户因宅基地界址发生争执。".to_owned(),
            place_unit: "g".into(),
            address: String::new(),
            gps: None,
            parties: vec![NewParty {
                name: "张三".to_owned(),
                role: PartyRole::Applicant,
                phone: Some("138 0013 8000".to_owned()),
                id_number: Some("11010519491231002X".to_owned()),
            }],
            source: Source::GridVisit,
        }
    }

    #[test]
    fn a_good_report_has_no_problems() {
        assert_eq!(new_case(&report(), &Taxonomy::default()), vec![]);
    }

    #[test]
    fn every_problem_is_named_with_its_field_in_form_order() {
        let mut r = report();
        r.title = "  ".to_owned();
        r.category = "astrology".to_owned();
        r.parties[0].name = String::new();
        r.parties[0].phone = Some("12345".to_owned());
        r.parties[0].id_number = Some("110105194912310021".to_owned());
        r.gps = Some((95.0, 10.0));
        let got: Vec<(String, Problem)> = new_case(&r, &Taxonomy::default())
            .into_iter()
            .map(|p| (p.field, p.problem))
            .collect();
        assert_eq!(
            got,
            vec![
                ("title".to_owned(), Problem::Required),
                ("category".to_owned(), Problem::UnknownCategory),
                ("parties[0].name".to_owned(), Problem::Required),
                ("parties[0].phone".to_owned(), Problem::NotAPhone),
                ("parties[0].id_number".to_owned(), Problem::NotAResidentId),
                ("gps".to_owned(), Problem::GpsOutOfRange),
            ]
        );
        r.parties.clear();
        r.title = "长".repeat(TITLE_MAX + 1);
        let got = new_case(&r, &Taxonomy::default());
        assert_eq!(got[0].problem, Problem::TooLong { max: TITLE_MAX });
        assert!(got.iter().any(|p| p.problem == Problem::NoParties));
    }

    #[test]
    fn a_step_needs_its_words_and_keeps_to_the_lengths() {
        use crate::model::{Action, ActionKind, Agreement};
        let fields = |a: &Action| -> Vec<(String, Problem)> {
            action(a)
                .into_iter()
                .map(|p| (p.field, p.problem))
                .collect()
        };
        let required = |f: &str| vec![(f.to_owned(), Problem::Required)];
        assert_eq!(fields(&Action::Fail { note: " ".into() }), required("note"));
        assert_eq!(
            fields(&Action::Close {
                note: String::new()
            }),
            []
        );
        assert_eq!(
            fields(&Action::AssignDown {
                to: "hy".into(),
                person: None,
                instructions: String::new(),
                due_at: 0,
            }),
            required("instructions")
        );
        assert_eq!(
            fields(&Action::Reopen {
                reason: String::new()
            }),
            required("reason")
        );
        assert_eq!(
            fields(&Action::RequestJudicialConfirmation {
                court: String::new()
            }),
            required("court")
        );
        assert_eq!(
            fields(&Action::SettleConflict {
                entries: vec![],
                note: String::new()
            }),
            vec![
                ("entries".to_owned(), Problem::Required),
                ("note".to_owned(), Problem::Required)
            ]
        );
        let long = "长".repeat(NARRATIVE_MAX + 1);
        assert_eq!(
            fields(&Action::Resolve {
                agreement: Some(Agreement {
                    summary: long.clone(),
                    attachment: None,
                    performance: String::new(),
                    signatures: Vec::new(),
                }),
                note: long,
            }),
            vec![
                (
                    "agreement".to_owned(),
                    Problem::TooLong { max: NARRATIVE_MAX }
                ),
                ("note".to_owned(), Problem::TooLong { max: NARRATIVE_MAX })
            ]
        );
        // The kinds that need words are exactly those whose text is required.
        for kind in ActionKind::ALL {
            assert_eq!(ActionKind::from_code(kind.code()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", kind.code()),
                "the bridge speaks codes"
            );
        }
    }

    #[test]
    fn a_visit_is_all_safe_a_dispute_or_a_note() {
        assert_eq!(visit(true, false, ""), None);
        assert_eq!(visit(false, true, ""), None);
        assert_eq!(visit(false, false, "邻里口角，已劝解"), None);
        assert_eq!(
            visit(false, false, "  ").map(|p| p.problem),
            Some(Problem::NothingFound)
        );
        assert_eq!(
            visit(true, true, "").map(|p| p.problem),
            Some(Problem::SafeWithDispute)
        );
    }

    #[test]
    fn empty_optional_fields_are_not_problems() {
        let mut r = report();
        r.parties[0].phone = Some(String::new());
        r.parties[0].id_number = Some("  ".to_owned());
        assert_eq!(new_case(&r, &Taxonomy::default()), vec![]);
    }

    #[test]
    fn phones_and_resident_ids() {
        for ok in [
            "13800138000",
            "138-0013-8000",
            "0750-5512345",
            "07505512345",
            "+86 138-0013-8000",
            "(0851) 85521234",
            "0851-8552-1234转8001",
        ] {
            assert!(is_phone(ok), "{ok}");
        }
        for bad in [
            "",
            "1380013800",
            "23800138000",
            "phone",
            "0750",
            // Not a mobile prefix, and not 11 digits.
            "12800138000",
            "138001380001",
        ] {
            assert!(!is_phone(bad), "{bad}");
        }
        for ok in [
            "11010519491231002X",
            "11010519491231002x",
            " 110105 19491231 002X ",
            // A 15-digit number issued before 1999.
            "110105491231002",
        ] {
            assert!(is_resident_id(ok), "{ok}");
        }
        for bad in [
            "110105194912310021",
            "1101051949123100",
            // 29 February 2023, with the right check character.
            "110105202302290022",
            // No province's region code starts with 9.
            "910105194912310029",
        ] {
            assert!(!is_resident_id(bad), "{bad}");
        }
    }

    #[test]
    fn every_problem_speaks_both_languages() {
        let all = [
            Problem::Required,
            Problem::TooLong { max: 7 },
            Problem::UnknownCategory,
            Problem::NoParties,
            Problem::NotAPhone,
            Problem::NotAResidentId,
            Problem::GpsOutOfRange,
            Problem::NothingFound,
            Problem::SafeWithDispute,
            Problem::DueDays { max: 90 },
            Problem::SuperviseDue { max: 90 },
            Problem::OrderNumberChars,
            Problem::SignByBeforeDispatch,
            Problem::ReplyByBeforeSignBy,
            Problem::DispatchedInFuture,
        ];
        for p in all {
            assert!(
                p.zh()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{p:?}"
            );
            assert!(p.en().is_ascii() && !p.en().is_empty(), "{p:?}");
        }
    }

    // Work orders (工单) of the 12345 hotline.

    const AT: i64 = 1_780_279_200_000;
    const HOUR: i64 = 3_600_000;

    fn order() -> WorkOrder {
        WorkOrder {
            number: "GD-12345-20260601-0042".to_owned(),
            channel: "12345".to_owned(),
            kind: crate::model::OrderKind::Complaint,
            confidential: true,
            dispatched_at: AT - HOUR,
            sign_by: AT + 2 * HOUR,
            reply_by: AT + 72 * HOUR,
        }
    }

    fn order_problems(o: &WorkOrder) -> Vec<(String, Problem)> {
        work_order(o, AT)
            .into_iter()
            .map(|p| (p.field, p.problem))
            .collect()
    }

    fn one(field: &str, p: Problem) -> Vec<(String, Problem)> {
        vec![(field.to_owned(), p)]
    }

    #[test]
    fn a_dispatched_order_has_no_problems_even_with_equal_deadlines() {
        assert_eq!(order_problems(&order()), []);
        let mut o = order();
        o.sign_by = o.dispatched_at;
        o.reply_by = o.sign_by;
        assert_eq!(order_problems(&o), [], "deadlines may coincide");
        o.number = "A".to_owned();
        assert_eq!(order_problems(&o), []);
        o.number = "9".repeat(ORDER_NUMBER_MAX);
        assert_eq!(order_problems(&o), []);
    }

    #[test]
    fn an_order_number_is_one_to_forty_letters_digits_or_dashes() {
        let with = |number: &str| {
            let mut o = order();
            o.number = number.to_owned();
            order_problems(&o)
        };
        assert_eq!(with(""), one("order.number", Problem::Required));
        assert_eq!(
            with(&"1".repeat(ORDER_NUMBER_MAX + 1)),
            one("order.number", Problem::TooLong { max: 40 })
        );
        for bad in ["GD 0042", "工单0042", "GD_0042", "0042/1", " GD-0042"] {
            assert_eq!(
                with(bad),
                one("order.number", Problem::OrderNumberChars),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_order_names_its_channel_in_at_most_twenty_characters() {
        let mut o = order();
        o.channel = "  ".to_owned();
        assert_eq!(order_problems(&o), one("order.channel", Problem::Required));
        o.channel = "c".repeat(ORDER_CHANNEL_MAX + 1);
        assert_eq!(
            order_problems(&o),
            one("order.channel", Problem::TooLong { max: 20 })
        );
        o.channel = "110".to_owned();
        assert_eq!(order_problems(&o), []);
    }

    #[test]
    fn an_orders_deadlines_follow_its_dispatch_in_order() {
        let mut o = order();
        o.sign_by = o.dispatched_at - 1;
        assert_eq!(
            order_problems(&o),
            one("order.sign_by", Problem::SignByBeforeDispatch)
        );
        let mut o = order();
        o.reply_by = o.sign_by - 1;
        assert_eq!(
            order_problems(&o),
            one("order.reply_by", Problem::ReplyByBeforeSignBy)
        );
    }

    #[test]
    fn an_order_is_dispatched_at_most_a_day_after_it_is_recorded() {
        let mut o = order();
        o.dispatched_at = AT + ORDER_FUTURE_MS;
        o.sign_by = o.dispatched_at + HOUR;
        o.reply_by = o.sign_by + HOUR;
        assert_eq!(order_problems(&o), [], "a day ahead is a clock's drift");
        o.dispatched_at += 1;
        assert_eq!(
            order_problems(&o),
            one("order.dispatched_at", Problem::DispatchedInFuture)
        );
        // Every problem at once, in the order of the fields.
        let o = WorkOrder {
            number: String::new(),
            channel: String::new(),
            kind: crate::model::OrderKind::Help,
            confidential: false,
            dispatched_at: AT + 2 * ORDER_FUTURE_MS,
            sign_by: AT,
            reply_by: AT - 1,
        };
        let fields: Vec<String> = order_problems(&o).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "order.number",
                "order.channel",
                "order.dispatched_at",
                "order.sign_by",
                "order.reply_by"
            ]
        );
    }

    #[test]
    fn a_reply_and_a_return_need_their_words_and_a_reply_keeps_to_its_length() {
        let fields = |a: &Action| -> Vec<(String, Problem)> {
            action(a)
                .into_iter()
                .map(|p| (p.field, p.problem))
                .collect()
        };
        assert_eq!(
            fields(&Action::ReplyOrder {
                reply: " \n ".to_owned()
            }),
            one("reply", Problem::Required)
        );
        assert_eq!(
            fields(&Action::ReplyOrder {
                reply: "答".repeat(ORDER_REPLY_MAX + 1)
            }),
            one("reply", Problem::TooLong { max: 2_000 })
        );
        assert_eq!(
            fields(&Action::ReplyOrder {
                reply: "答".repeat(ORDER_REPLY_MAX)
            }),
            []
        );
        assert_eq!(
            fields(&Action::ReturnOrder {
                reason: String::new()
            }),
            one("reason", Problem::Required)
        );
        assert_eq!(fields(&Action::SignOrder), []);
        assert_eq!(fields(&Action::DispatchOrder { order: order() }), []);
    }
}
