//! Form state behind the screens, separate from rendering so that it is tested natively: the
//! report form validates as the user types, with the core's rules (`app_core::validate`), and
//! says what is wrong in the user's language.

use crate::i18n::Lang;
use app_core::ids::UnitId;
use app_core::model::{NewCase, NewParty, PartyRole, Source};
use app_core::taxonomy::Taxonomy;
use app_core::validate::{self, FieldProblem};

/// One party as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct PartyForm {
    pub name: String,
    pub role: PartyRole,
    pub phone: String,
    pub id_number: String,
}

impl PartyForm {
    pub fn new(role: PartyRole) -> PartyForm {
        PartyForm {
            name: String::new(),
            role,
            phone: String::new(),
            id_number: String::new(),
        }
    }
}

/// The report-a-dispute form as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportForm {
    pub title: String,
    pub category: String,
    pub narrative: String,
    pub address: String,
    pub place_unit: UnitId,
    pub gps: Option<(f64, f64)>,
    pub parties: Vec<PartyForm>,
    pub source: Source,
    /// Fields the user has left (their problems show from then on).
    pub touched: std::collections::BTreeSet<String>,
    /// Whether the user tried to save (every problem shows).
    pub attempted: bool,
}

fn optional(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl ReportForm {
    /// An empty form for a grid worker in `grid`: applicant and respondent rows ready.
    pub fn new(grid: UnitId) -> ReportForm {
        ReportForm {
            title: String::new(),
            category: String::new(),
            narrative: String::new(),
            address: String::new(),
            place_unit: grid,
            gps: None,
            parties: vec![
                PartyForm::new(PartyRole::Applicant),
                PartyForm::new(PartyRole::Respondent),
            ],
            source: Source::GridVisit,
            touched: Default::default(),
            attempted: false,
        }
    }

    /// Marks a field as visited.
    pub fn touch(&mut self, field: &str) {
        self.touched.insert(field.to_owned());
    }

    /// The message to show under a field now: its problem once the field was visited or a save
    /// was attempted, so that an empty form does not open full of red.
    pub fn shown_message(&self, taxonomy: &Taxonomy, field: &str, lang: Lang) -> Option<String> {
        if self.attempted || self.touched.contains(field) {
            self.message(taxonomy, field, lang)
        } else {
            None
        }
    }

    /// The report the form describes (trimmed; empty optional fields left out).
    pub fn to_new_case(&self) -> NewCase {
        NewCase {
            title: self.title.trim().to_owned(),
            category: self.category.clone(),
            narrative: self.narrative.trim().to_owned(),
            place_unit: self.place_unit.clone(),
            address: self.address.trim().to_owned(),
            gps: self.gps,
            parties: self
                .parties
                .iter()
                // A row left entirely empty is not a party.
                .filter(|p| {
                    !(p.name.trim().is_empty()
                        && p.phone.trim().is_empty()
                        && p.id_number.trim().is_empty())
                })
                .map(|p| NewParty {
                    name: p.name.trim().to_owned(),
                    role: p.role,
                    phone: optional(&p.phone),
                    id_number: optional(&p.id_number),
                })
                .collect(),
            source: self.source,
        }
    }

    /// Every problem, as the core would find it on saving.
    pub fn problems(&self, taxonomy: &Taxonomy) -> Vec<FieldProblem> {
        validate::new_case(&self.to_new_case(), taxonomy)
    }

    /// What to show under `field` (e.g. `parties[0].phone`), in `lang`; `None` if it is fine.
    pub fn message(&self, taxonomy: &Taxonomy, field: &str, lang: Lang) -> Option<String> {
        self.problems(taxonomy)
            .into_iter()
            .find(|p| p.field == field)
            .map(|p| match lang {
                Lang::Zh => p.problem.zh(),
                Lang::En => p.problem.en(),
            })
    }

    /// Whether the form may be saved.
    pub fn is_valid(&self, taxonomy: &Taxonomy) -> bool {
        self.problems(taxonomy).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> ReportForm {
        let mut f = ReportForm::new(UnitId::new("haiyan-fengjiang-g1"));
        f.title = " 丰江村排水沟纠纷 ".to_owned();
        f.category = "neighbour".to_owned();
        f.narrative = "两户因排水沟堵塞发生争吵。".to_owned();
        f.parties[0].name = "陈大文".to_owned();
        f.parties[0].phone = "13800138000".to_owned();
        f.parties[1].name = "李秀英".to_owned();
        f
    }

    #[test]
    fn a_filled_form_is_valid_and_becomes_a_report() {
        let f = filled();
        let t = Taxonomy::default();
        assert!(f.is_valid(&t), "{:?}", f.problems(&t));
        let n = f.to_new_case();
        assert_eq!(n.title, "丰江村排水沟纠纷");
        assert_eq!(n.parties.len(), 2);
        assert_eq!(n.parties[0].phone.as_deref(), Some("13800138000"));
        assert_eq!(n.parties[1].phone, None, "an empty phone is no phone");
    }

    #[test]
    fn problems_show_as_you_type_in_the_users_language() {
        let t = Taxonomy::default();
        let mut f = ReportForm::new(UnitId::new("g"));
        assert_eq!(f.message(&t, "title", Lang::Zh).as_deref(), Some("必填"));
        assert_eq!(
            f.message(&t, "title", Lang::En).as_deref(),
            Some("required")
        );
        assert_eq!(
            f.message(&t, "parties", Lang::Zh).as_deref(),
            Some("至少填写一名当事人"),
            "two empty rows are no parties"
        );
        f.title = "纠纷".to_owned();
        assert_eq!(f.message(&t, "title", Lang::Zh), None);
        f.parties[0].name = "张三".to_owned();
        f.parties[0].phone = "1380013".to_owned();
        assert_eq!(
            f.message(&t, "parties[0].phone", Lang::En).as_deref(),
            Some("not a phone number")
        );
        f.parties[0].phone = "13800138000".to_owned();
        assert_eq!(f.message(&t, "parties[0].phone", Lang::En), None);
        f.parties[0].id_number = "110105194912310021".to_owned();
        assert_eq!(
            f.message(&t, "parties[0].id_number", Lang::Zh).as_deref(),
            Some("不是有效的身份证号码")
        );
        assert!(!f.is_valid(&t));
    }

    #[test]
    fn problems_wait_until_a_field_is_visited_or_saving_is_tried() {
        let t = Taxonomy::default();
        let mut f = ReportForm::new(UnitId::new("g"));
        assert_eq!(
            f.shown_message(&t, "title", Lang::Zh),
            None,
            "a fresh form is calm"
        );
        f.touch("title");
        assert_eq!(
            f.shown_message(&t, "title", Lang::Zh).as_deref(),
            Some("必填")
        );
        assert_eq!(f.shown_message(&t, "category", Lang::Zh), None);
        f.attempted = true;
        assert_eq!(
            f.shown_message(&t, "category", Lang::En).as_deref(),
            Some("choose a dispute category")
        );
    }

    #[test]
    fn a_half_filled_party_row_is_checked() {
        let t = Taxonomy::default();
        let mut f = filled();
        f.parties[1].name = String::new();
        f.parties[1].phone = "13900139000".to_owned();
        assert_eq!(
            f.message(&t, "parties[1].name", Lang::Zh).as_deref(),
            Some("必填")
        );
    }
}
