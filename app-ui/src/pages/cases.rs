//! The case list (`/cases`): the unit's cases (or only mine), searched by a party's name or the
//! title and filtered by status, category, deadline and unsettled conflicts. The list re-runs as
//! any filter changes; links from the today screen arrive with filters in the query string.

use crate::app::use_lang;
use crate::bridge::{self, CaseQuery};
use crate::i18n::{t, tf, Key, Lang};
use crate::labels;
use crate::time;
use crate::widgets::{
    checked_of, loaded, text_of, use_debounced, use_load, value_of, CaseRowView, Load,
};
use app_core::deadline::DueState;
use app_core::workflow::Status;
use serde::Deserialize;
use yew::prelude::*;
use yew_router::prelude::*;

/// Filters carried in the address (`/cases?due=overdue`, `?conflicts=true`…).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CasesUrl {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub mine: Option<String>,
    #[serde(default)]
    pub conflicts: Option<String>,
    /// `?orders=true`: work orders of the 12345 hotline waiting on the centre.
    #[serde(default)]
    pub orders: Option<String>,
    /// `?supervised=true`: open cases under a supervision (督办).
    #[serde(default)]
    pub supervised: Option<String>,
}

impl CasesUrl {
    /// The query these filters ask for.
    pub fn query(&self) -> CaseQuery {
        let yes = |v: &Option<String>| matches!(v.as_deref(), Some("true" | "1"));
        CaseQuery {
            mine: yes(&self.mine),
            status: self.status.as_deref().and_then(labels::status_from),
            category: self.category.clone().filter(|c| !c.is_empty()),
            due: self.due.as_deref().and_then(due_from_code),
            conflicts_only: yes(&self.conflicts),
            orders: yes(&self.orders),
            supervised: yes(&self.supervised),
            ..CaseQuery::default()
        }
    }
}

/// Rows per page of the list.
pub const PAGE_ROWS: u32 = 50;
/// How long typing must pause before the list is searched.
pub const SEARCH_PAUSE_MS: i32 = 250;

fn due_from_code(code: &str) -> Option<DueState> {
    [DueState::Overdue, DueState::DueSoon]
        .into_iter()
        .find(|d| d.code() == code)
}

fn due_label(l: Lang, d: DueState) -> &'static str {
    match d {
        DueState::Overdue => t(l, Key::FilterOverdue),
        _ => t(l, Key::FilterDueSoon),
    }
}

#[function_component(CasesPage)]
pub fn cases_page() -> Html {
    let l = use_lang();
    let location = use_location();
    let initial = location
        .and_then(|loc| loc.query::<CasesUrl>().ok())
        .unwrap_or_default()
        .query();
    let query = use_state(|| initial.clone());
    // Links from elsewhere (today's notices) change the address while this page is shown.
    {
        let query = query.clone();
        use_effect_with(initial, move |q| {
            if *query != *q {
                query.set(q.clone());
            }
        });
    }
    let options = use_load((), |_| bridge::form_options());
    // A phone shows a handful of rows at a time: the list comes a page at a time, and a new
    // filter starts again from the first page.
    let limit = use_state_eq(|| PAGE_ROWS);
    {
        let limit = limit.clone();
        use_effect_with((*query).clone(), move |_| limit.set(PAGE_ROWS));
    }
    let search = use_debounced(query.search.clone(), SEARCH_PAUSE_MS);
    let asked = CaseQuery {
        search,
        limit: *limit,
        ..(*query).clone()
    };
    let rows = use_load(asked, |q| async move { bridge::cases(&q).await });
    let on_more = {
        let limit = limit.clone();
        Callback::from(move |_: MouseEvent| limit.set(*limit + PAGE_ROWS))
    };
    let set = |f: fn(&mut CaseQuery, String)| {
        let query = query.clone();
        move |v: String| {
            let mut q = (*query).clone();
            f(&mut q, v);
            query.set(q);
        }
    };
    let on_search = {
        let set = set(|q, v| q.search = Some(v).filter(|s| !s.trim().is_empty()));
        Callback::from(move |e: InputEvent| set(text_of(&e)))
    };
    let on_status = {
        let set = set(|q, v| q.status = labels::status_from(&v));
        Callback::from(move |e: Event| set(value_of(&e)))
    };
    let on_category = {
        let set = set(|q, v| q.category = Some(v).filter(|c| !c.is_empty()));
        Callback::from(move |e: Event| set(value_of(&e)))
    };
    let on_due = {
        let set = set(|q, v| q.due = due_from_code(&v));
        Callback::from(move |e: Event| set(value_of(&e)))
    };
    let on_mine = {
        let query = query.clone();
        Callback::from(move |e: Event| {
            let mut q = (*query).clone();
            q.mine = checked_of(&e);
            query.set(q);
        })
    };
    let on_conflicts = {
        let query = query.clone();
        Callback::from(move |e: Event| {
            let mut q = (*query).clone();
            q.conflicts_only = checked_of(&e);
            query.set(q);
        })
    };
    let on_orders = {
        let query = query.clone();
        Callback::from(move |e: Event| {
            let mut q = (*query).clone();
            q.orders = checked_of(&e);
            query.set(q);
        })
    };
    let on_supervised = {
        let query = query.clone();
        Callback::from(move |e: Event| {
            let mut q = (*query).clone();
            q.supervised = checked_of(&e);
            query.set(q);
        })
    };
    let q = &*query;
    let categories = match &*options {
        Load::Ready(o) => o.categories.clone(),
        _ => Vec::new(),
    };
    let now = time::now_ms();
    html! {
        <div id="cases" class="page">
            <h2 class="page-title">{ t(l, Key::NavCases) }</h2>
            <section class="card filters">
                <label class="search">
                    <span class="visually-hidden">{ t(l, Key::SearchParty) }</span>
                    <input id="cases-search" type="search" placeholder={t(l, Key::SearchParty)}
                        value={q.search.clone().unwrap_or_default()} oninput={on_search} />
                </label>
                <div class="filter-grid">
                    <label>{ t(l, Key::FilterStatus) }
                        <select id="cases-status" onchange={on_status}>
                            <option value="" selected={q.status.is_none()}>{ t(l, Key::FilterAll) }</option>
                            { for Status::ALL.iter().map(|s| html! {
                                <option value={labels::status_value(*s)} selected={q.status == Some(*s)}>{ labels::status(l, *s) }</option>
                            }) }
                        </select>
                    </label>
                    <label>{ t(l, Key::FieldCategory) }
                        <select id="cases-category" onchange={on_category}>
                            <option value="" selected={q.category.is_none()}>{ t(l, Key::FilterAll) }</option>
                            { for categories.iter().map(|c| {
                                let code = c.code.as_str().to_owned();
                                let selected = q.category.as_deref() == Some(code.as_str());
                                html! {
                                    <option value={code} {selected}>
                                        { if l == Lang::Zh { c.zh.clone() } else { c.en.clone() } }
                                    </option>
                                }
                            }) }
                        </select>
                    </label>
                    <label>{ t(l, Key::Deadline) }
                        <select id="cases-due" onchange={on_due}>
                            <option value="" selected={q.due.is_none()}>{ t(l, Key::FilterAll) }</option>
                            { for [DueState::Overdue, DueState::DueSoon].into_iter().map(|d| html! {
                                <option value={d.code()} selected={q.due == Some(d)}>{ due_label(l, d) }</option>
                            }) }
                        </select>
                    </label>
                </div>
                <div class="checks">
                    <label class="check">
                        <input id="cases-mine" type="checkbox" checked={q.mine} onchange={on_mine} />
                        { t(l, Key::FilterMine) }
                    </label>
                    <label class="check">
                        <input id="cases-conflicts" type="checkbox" checked={q.conflicts_only} onchange={on_conflicts} />
                        { t(l, Key::FilterConflicts) }
                    </label>
                    <label class="check">
                        <input id="cases-orders" type="checkbox" checked={q.orders} onchange={on_orders} />
                        { t(l, Key::FilterOrders) }
                    </label>
                    <label class="check">
                        <input id="cases-supervised" type="checkbox" checked={q.supervised} onchange={on_supervised} />
                        { t(l, Key::FilterSupervised) }
                    </label>
                </div>
            </section>
            { loaded(l, &rows, |rows| html! {
                <section class="list-section">
                    <p id="cases-count" class="muted" role="status">{ tf(l, Key::CasesCount, &[&rows.len()]) }</p>
                    if rows.is_empty() {
                        <p class="card muted">{ t(l, Key::NoCases) }</p>
                    } else {
                        <div class="rows card">
                            { for rows.iter().map(|r| html! { <CaseRowView row={r.clone()} {now} /> }) }
                        </div>
                        if rows.len() as u32 >= *limit {
                            <button id="cases-more" class="secondary wide" onclick={on_more.clone()}>
                                { t(l, Key::ShowMore) }
                            </button>
                        }
                    }
                </section>
            }) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_from_the_address() {
        let url = CasesUrl {
            due: Some("overdue".into()),
            conflicts: Some("true".into()),
            status: Some("reported".into()),
            ..CasesUrl::default()
        };
        let q = url.query();
        assert_eq!(q.due, Some(DueState::Overdue));
        assert!(q.conflicts_only && !q.mine);
        assert_eq!(q.status, Some(Status::Reported));
        assert_eq!(CasesUrl::default().query(), CaseQuery::default());
        let odd = CasesUrl {
            due: Some("handled".into()),
            ..CasesUrl::default()
        };
        assert_eq!(odd.query().due, None, "only overdue and due soon filter");
        // Today's 工单 section leads here with `?orders=true`.
        let orders = CasesUrl {
            orders: Some("true".into()),
            ..CasesUrl::default()
        };
        assert!(orders.query().orders && !q.orders);
        // Today's 督办 section leads here with `?supervised=true`.
        let supervised = CasesUrl {
            supervised: Some("true".into()),
            ..CasesUrl::default()
        };
        assert!(supervised.query().supervised && !orders.query().supervised);
        let returned = CasesUrl {
            status: Some("returned".into()),
            ..CasesUrl::default()
        };
        assert_eq!(returned.query().status, Some(Status::Returned));
    }
}
