//! A matter (`/matters/:id`, 事项): the cases staff linked as one (one group complaint reported
//! from several villages, the same dispute reported twice), oldest report first, each with its
//! status, place, reporter and deadline.

use crate::app::{use_lang, Route};
use crate::bridge;
use crate::i18n::{self, t, tf, Key};
use crate::prevention;
use crate::time;
use crate::widgets::{loaded, use_load, CaseRowView, RouteLink};
use app_core::ids::MatterId;
use app_core::screens::MatterScreen;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct MatterProps {
    pub id: String,
}

#[function_component(MatterPage)]
pub fn matter_page(p: &MatterProps) -> Html {
    let l = use_lang();
    let screen = use_load(p.id.clone(), |id| async move {
        bridge::matter(&MatterId::new(id)).await
    });
    let now = time::now_ms();
    html! {
        <div id="matter" class="page">
            <RouteLink to={Route::Cases} class="back">{ format!("‹ {}", t(l, Key::Back)) }</RouteLink>
            <h2 class="page-title">
                { tf(l, Key::MatterTitle, &[&prevention::short_id(&p.id)]) }
            </h2>
            { loaded(l, &screen, |m: &MatterScreen| html! {
                <section class="card list-section" id="matter-cases-all">
                    <h3 class="section-title">
                        <span>{ t(l, Key::MatterSection) }</span>
                        <span class="count some">{ tf(l, Key::CasesCount, &[&m.cases.len()]) }</span>
                    </h3>
                    <div class="rows">
                        { for m.cases.iter().map(|c| html! {
                            <div class="matter-case" data-id={c.summary.id.to_string()}>
                                <CaseRowView row={c.clone()} {now} />
                                <span class="matter-reporter muted">
                                    { i18n::labelled(l, t(l, Key::ReportedBy), &format!("{} · {}",
                                        c.summary.reporter_name, time::moment(c.summary.reported_at, now, l))) }
                                </span>
                            </div>
                        }) }
                    </div>
                </section>
            }) }
        </div>
    }
}
