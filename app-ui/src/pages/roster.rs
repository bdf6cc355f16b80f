//! The mediator roster (`/roster`, 调解员名册): who mediates in this unit and below, what each is
//! good at, and how many open cases each holds now. Staff use it to route a case (and parties to
//! choose a mediator both trust, 点单式调解); the assign form offers the same people.

use crate::app::use_lang;
use crate::bridge::{self, Roster};
use crate::i18n::{t, tf, Key, Lang};
use crate::labels;
use crate::widgets::{loaded, use_load};
use yew::prelude::*;

/// The specialties of a mediator as names, in the interface's language.
pub fn specialties(l: Lang, roster: &Roster, codes: &[String]) -> String {
    let names: Vec<String> = codes
        .iter()
        .map(|c| {
            let zh = roster.categories.get(c).map(String::as_str).unwrap_or(c);
            labels::category(l, c, zh)
        })
        .collect();
    names.join(if l == Lang::Zh { "、" } else { ", " })
}

#[function_component(RosterPage)]
pub fn roster_page() -> Html {
    let l = use_lang();
    let roster = use_load((), |_| bridge::roster());
    html! {
        <div id="roster" class="page">
            <h2 class="page-title">{ t(l, Key::RosterTitle) }</h2>
            { loaded(l, &roster, |r: &Roster| html! {
                if r.mediators.is_empty() {
                    <p class="card muted">{ t(l, Key::RosterEmpty) }</p>
                } else {
                    <div class="rows card">
                        { for r.mediators.iter().map(|m| html! {
                            <div class="roster-row" data-id={m.id.to_string()}>
                                <div class="row-main">
                                    <strong>{ m.name.clone() }</strong>
                                    <span class="muted">{ m.unit_name.clone() }</span>
                                </div>
                                if !m.specialties.is_empty() {
                                    <div class="muted">{ tf(l, Key::RosterGoodAt, &[&specialties(l, r, &m.specialties)]) }</div>
                                }
                                <div class="muted">{ tf(l, Key::RosterCaseload, &[&r.caseload.get(m.id.as_str()).copied().unwrap_or(0)]) }</div>
                            </div>
                        }) }
                    </div>
                }
            }) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn specialties_read_in_the_interface_language() {
        let roster = Roster {
            unit_name: "海宴镇".into(),
            mediators: vec![],
            categories: BTreeMap::from([
                ("neighbour".to_owned(), "邻里纠纷".to_owned()),
                ("labour".to_owned(), "劳动争议".to_owned()),
            ]),
            caseload: BTreeMap::new(),
        };
        let codes = vec!["neighbour".to_owned(), "labour".to_owned()];
        assert_eq!(specialties(Lang::Zh, &roster, &codes), "邻里纠纷、劳动争议");
        let en = specialties(Lang::En, &roster, &codes);
        assert!(en.contains(", "), "{en}");
        assert!(
            !en.contains('纠'),
            "English names where the default taxonomy has them: {en}"
        );
    }
}
