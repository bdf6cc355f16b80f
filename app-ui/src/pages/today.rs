//! Today (`/`): the first screen, the day's work at a glance. A grid worker sees the households
//! to visit next; everyone sees their unit's overdue and due-soon cases and their own open cases;
//! centre staff also see the open early-warning alerts (风险预警), new reports to assess and cases
//! escalated in or assigned down. Cases under supervision (督办) come first, with their level and
//! new deadline; then, for centre staff, the 12345 hotline's work orders (工单) waiting to be
//! signed for or late with their reply. Each section says how many; a notice leads to cases
//! whose concurrent changes need settling.

use crate::app::{use_lang, use_shell, Route};
use crate::bridge::{self, CaseRow, Today};
use crate::i18n::{t, tf, Key, Lang};
use crate::widgets::{level_badge, loaded, use_load, CaseRowView, HouseholdRowView, RouteLink};
use app_core::screens::AlertRow;
use yew::prelude::*;

/// A list section with its heading, its true count, its most urgent rows, and an optional "see
/// all" link to the case list (naming how many when the rows are not all of them).
fn section(
    l: Lang,
    id: &'static str,
    key: Key,
    (count, rows): (usize, &[CaseRow]),
    now: i64,
    all: Option<Vec<(String, String)>>,
) -> Html {
    html! {
        <section class="card list-section" {id}>
            <h2 class="section-title">
                <span>{ t(l, key) }</span>
                <span class={classes!("count", (count > 0).then_some("some"))}>{ count }</span>
            </h2>
            if count == 0 {
                <p class="muted">{ t(l, Key::NothingHere) }</p>
            } else {
                { cases(rows, now) }
                if let Some(q) = all {
                    <RouteLink to={Route::Cases} query={q} class="see-all">
                        if count > rows.len() { { tf(l, Key::SeeAllCount, &[&count]) } } else { { t(l, Key::SeeAll) } }
                    </RouteLink>
                }
            }
        </section>
    }
}

fn cases(rows: &[CaseRow], now: i64) -> Html {
    html! {
        <div class="rows">
            { for rows.iter().map(|r| html! { <CaseRowView row={r.clone()} {now} /> }) }
        </div>
    }
}

/// The open alerts (centre staff): each leads to the 预警 page, where it is acknowledged.
fn alerts(l: Lang, count: usize, rows: &[AlertRow]) -> Html {
    html! {
        <section class="card list-section" id="today-alerts">
            <h2 class="section-title">
                <span>{ t(l, Key::AlertsTitle) }</span>
                <span class={classes!("count", (count > 0).then_some("some"))}>{ count }</span>
            </h2>
            if count == 0 {
                <p class="muted">{ t(l, Key::NoAlerts) }</p>
            } else {
                <div class="rows">
                    { for rows.iter().map(|r| html! {
                        <RouteLink to={Route::Alerts} class="alert-row alert-link"
                            data_id={AttrValue::from(r.alert.key.clone())}>
                            <span class="case-line">
                                { level_badge(l, r.alert.level) }
                                <span class="alert-cases muted">{ tf(l, Key::AlertCaseCount, &[&r.alert.cases.len()]) }</span>
                            </span>
                            <span class="alert-words">{ r.alert.words.clone() }</span>
                        </RouteLink>
                    }) }
                </div>
            }
            <RouteLink to={Route::Alerts} id="today-alerts-all" class="see-all">{ t(l, Key::AlertsSeeAll) }</RouteLink>
        </section>
    }
}

fn query(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

#[function_component(TodayPage)]
pub fn today_page() -> Html {
    let l = use_lang();
    let shell = use_shell();
    // Reload when the sync brings something new (the waiting count or last sync changes).
    let stamp = shell.sync.as_ref().map(|s| (s.last_synced_at, s.waiting));
    let today = use_load(stamp, |_| bridge::today());
    let body = loaded(l, &today, |d: &Today| {
        let now = d.now;
        let c = &d.counts;
        let nothing = d.households.is_empty()
            && d.overdue.is_empty()
            && d.due_soon.is_empty()
            && d.mine.is_empty()
            && d.to_assess.is_empty()
            && d.escalated_in.is_empty()
            && d.escalated_out.is_empty()
            && d.alerts.is_empty()
            && d.supervised.is_empty()
            && d.orders.is_empty()
            && d.conflicts == 0;
        html! {
            <>
                if d.conflicts > 0 {
                    <RouteLink to={Route::Cases} query={query(&[("conflicts", "true")])}
                        id="today-conflicts" class="notice">
                        { tf(l, Key::ConflictsNotice, &[&d.conflicts]) }
                    </RouteLink>
                }
                if nothing {
                    <p class="card muted" id="today-nothing">{ t(l, Key::NothingToday) }</p>
                }
                if c.supervised > 0 {
                    { section(l, "today-supervised", Key::TodaySupervised, (c.supervised, &d.supervised), now,
                        query(&[("supervised", "true")])) }
                }
                if c.orders > 0 {
                    { section(l, "today-orders", Key::TodayOrders, (c.orders, &d.orders), now,
                        query(&[("orders", "true")])) }
                }
                if !d.me.grids.is_empty() {
                    <section class="card list-section" id="today-households">
                        <h2 class="section-title">
                            <span>{ t(l, Key::TodayVisits) }</span>
                            <span class={classes!("count", (!d.households.is_empty()).then_some("some"))}>
                                { d.households.len() }
                            </span>
                        </h2>
                        <p class="muted" id="today-visited">
                            { tf(l, Key::VisitedToday, &[&d.visited_today, &d.households_total]) }
                        </p>
                        <div class="rows">
                            { for d.households.iter().map(|h| html! { <HouseholdRowView row={h.clone()} {now} /> }) }
                        </div>
                        if d.households_total > d.households.len() {
                            <RouteLink to={Route::Households} class="see-all">{ t(l, Key::SeeAll) }</RouteLink>
                        }
                    </section>
                }
                if d.me.at_centre {
                    { alerts(l, c.alerts.max(d.alerts.len()), &d.alerts) }
                    { section(l, "today-to-assess", Key::TodayToAssess, (c.to_assess, &d.to_assess), now,
                        query(&[("status", "reported")])) }
                    { section(l, "today-escalated", Key::TodayEscalated, (c.escalated_in, &d.escalated_in), now, None) }
                    { section(l, "today-escalated-out", Key::TodayEscalatedOut, (c.escalated_out, &d.escalated_out), now, None) }
                    <RouteLink to={Route::Roster} id="today-roster" class="card notice">{ t(l, Key::RosterLink) }</RouteLink>
                }
                { section(l, "today-overdue", Key::TodayOverdue, (c.overdue, &d.overdue), now,
                    query(&[("due", "overdue")])) }
                { section(l, "today-due-soon", Key::TodayDueSoon, (c.due_soon, &d.due_soon), now,
                    query(&[("due", "due_soon")])) }
                { section(l, "today-mine", Key::TodayMine, (c.mine, &d.mine), now,
                    query(&[("mine", "true")])) }
            </>
        }
    });
    html! {
        <div id="today" class="page">
            <h2 class="page-title">{ t(l, Key::TodayTitle) }</h2>
            { body }
        </div>
    }
}
