//! One household (`/households/:id`) and its visits. Recording a visit is the grid worker's most
//! frequent act, so "all safe" (无事报平安) is one tap; a visit with something to note is a note
//! and a save; a dispute found on the visit opens the report form in visit mode, and saving it
//! records the visit and the new case together, then shows the case.

use crate::app::{use_lang, use_shell, Route};
use crate::bridge::{self, HouseholdScreen, VisitInput};
use crate::i18n::{t, tf, Key, Lang};
use crate::pages::report::{Mode, ReportFormView};
use crate::time;
use crate::widgets::{error_text, loaded, text_of, use_load, Load, RouteLink};
use app_core::document::{Visit, VisitOutcome};
use app_core::ids::{CaseId, HouseholdId};
use yew::prelude::*;
use yew_router::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct HouseholdProps {
    pub id: String,
}

fn visit_row(l: Lang, v: &Visit, now: i64) -> Html {
    let (class, outcome) = match &v.outcome {
        VisitOutcome::AllSafe => ("all-safe", t(l, Key::OutcomeAllSafe)),
        VisitOutcome::Noted => ("noted", t(l, Key::OutcomeNoted)),
        VisitOutcome::Dispute { .. } => ("dispute", t(l, Key::OutcomeDispute)),
    };
    html! {
        <li class={classes!("visit-row", class)}>
            <span class="case-line">
                <span class="visit-date">{ time::moment(v.at, now, l) }</span>
                <span class="visit-outcome">{ outcome }</span>
            </span>
            if !v.note.is_empty() {
                <span class="visit-note">{ v.note.clone() }</span>
            }
            <span class="case-line case-meta">
                <span class="visit-actor">{ v.actor.name.clone() }</span>
                if let VisitOutcome::Dispute { case } = &v.outcome {
                    <RouteLink to={Route::Case { id: case.to_string() }} class="visit-case">
                        { t(l, Key::OpenCase) }
                    </RouteLink>
                }
            </span>
        </li>
    }
}

#[function_component(HouseholdPage)]
pub fn household_page(p: &HouseholdProps) -> Html {
    let l = use_lang();
    let shell = use_shell();
    let navigator = use_navigator();
    let tick = use_state(|| 0u32);
    let screen = use_load((p.id.clone(), *tick), |(id, _)| async move {
        bridge::household(&HouseholdId::new(id)).await
    });
    let note = use_state(String::new);
    let busy = use_state(|| false);
    let outcome = use_state(|| None::<Result<(), String>>);
    let reporting = use_state(|| false);
    let household = HouseholdId::new(p.id.clone());
    // Records a visit without a dispute, then shows the household again.
    let record = {
        let (note, busy, outcome, tick, refresh) = (
            note.clone(),
            busy.clone(),
            outcome.clone(),
            tick.clone(),
            shell.refresh_sync.clone(),
        );
        let household = household.clone();
        move |all_safe: bool| {
            let (note, busy, outcome, tick, refresh, household) = (
                note.clone(),
                busy.clone(),
                outcome.clone(),
                tick.clone(),
                refresh.clone(),
                household.clone(),
            );
            Callback::from(move |_: MouseEvent| {
                if *busy {
                    return;
                }
                if app_core::validate::visit(all_safe, false, &note).is_some() {
                    outcome.set(Some(Err(t(l, Key::VisitNoteRequired).to_owned())));
                    return;
                }
                busy.set(true);
                let input = VisitInput {
                    household: household.clone(),
                    all_safe,
                    note: if all_safe {
                        String::new()
                    } else {
                        (*note).clone()
                    },
                    dispute: None,
                };
                let (note, busy, outcome, tick, refresh) = (
                    note.clone(),
                    busy.clone(),
                    outcome.clone(),
                    tick.clone(),
                    refresh.clone(),
                );
                wasm_bindgen_futures::spawn_local(async move {
                    match bridge::record_visit(&input).await {
                        Ok(_) => {
                            if !all_safe {
                                note.set(String::new());
                            }
                            outcome.set(Some(Ok(())));
                            tick.set(*tick + 1);
                        }
                        Err(e) => outcome.set(Some(Err(error_text(l, &e)))),
                    }
                    busy.set(false);
                    refresh.emit(());
                });
            })
        }
    };
    let on_note = {
        let note = note.clone();
        Callback::from(move |e: InputEvent| note.set(text_of(&e)))
    };
    let open_report = {
        let (reporting, outcome) = (reporting.clone(), outcome.clone());
        Callback::from(move |_: MouseEvent| {
            outcome.set(None);
            reporting.set(true);
        })
    };
    let close_report = {
        let reporting = reporting.clone();
        Callback::from(move |()| reporting.set(false))
    };
    let on_saved = Callback::from(move |id: CaseId| {
        if let Some(n) = &navigator {
            n.push(&Route::Case { id: id.to_string() });
        }
    });
    let now = time::now_ms();
    let body = loaded(l, &screen, |s: &HouseholdScreen| {
        let h = &s.household;
        html! {
            <>
                <section class="card household-card">
                    <h2 id="household-head">{ h.head.clone() }</h2>
                    <p class="muted">
                        { format!("{} · {}", s.grid_name, tf(l, Key::Members, &[&h.members])) }
                    </p>
                    <p id="household-address">{ h.address.as_str().to_owned() }</p>
                    if !h.notes.as_str().is_empty() {
                        <h3>{ t(l, Key::HouseholdNotes) }</h3>
                        <p class="notes">{ h.notes.as_str().to_owned() }</p>
                    }
                </section>
            </>
        }
    });
    let visits = match &*screen {
        Load::Ready(s) => {
            let mut visits: Vec<&Visit> = s.household.visits.iter().collect();
            visits.sort_by_key(|v| std::cmp::Reverse(v.at));
            html! {
                <section class="card" id="household-visits">
                    <h3>{ t(l, Key::Visits) }</h3>
                    if visits.is_empty() {
                        <p class="muted">{ t(l, Key::NoVisits) }</p>
                    } else {
                        <ul class="visits">
                            { for visits.iter().map(|v| visit_row(l, v, now)) }
                        </ul>
                    }
                </section>
            }
        }
        _ => Html::default(),
    };
    let actions = if matches!(*screen, Load::Ready(_)) && !*reporting {
        html! {
            <section class="card visit-actions">
                <h3>{ t(l, Key::RecordVisit) }</h3>
                <button type="button" class="primary safe" id="visit-all-safe" disabled={*busy}
                    onclick={record(true)}>
                    { t(l, Key::AllSafeButton) }
                </button>
                <label>{ t(l, Key::VisitNote) }
                    <textarea id="visit-note" value={(*note).clone()} oninput={on_note} />
                </label>
                <div class="button-row">
                    <button type="button" id="visit-save" disabled={*busy} onclick={record(false)}>
                        { t(l, Key::SaveVisit) }
                    </button>
                    <button type="button" class="warn" id="visit-dispute" onclick={open_report}>
                        { t(l, Key::VisitWithDispute) }
                    </button>
                </div>
                { match &*outcome {
                    Some(Ok(())) => html! { <p class="ok" role="status" id="visit-recorded">{ t(l, Key::VisitRecorded) }</p> },
                    Some(Err(m)) => html! { <p class="error" role="alert">{ m.clone() }</p> },
                    None => html! {},
                } }
            </section>
        }
    } else {
        Html::default()
    };
    let report = match (&*screen, *reporting) {
        (Load::Ready(s), true) => html! {
            <ReportFormView
                mode={Mode::Visit {
                    household: household.clone(),
                    grid: s.household.grid.clone(),
                    note: (*note).clone(),
                }}
                {on_saved}
                on_cancel={close_report} />
        },
        _ => Html::default(),
    };
    html! {
        <div id="household" class="page">
            <RouteLink to={Route::Households} class="back">{ format!("‹ {}", t(l, Key::Back)) }</RouteLink>
            { body }
            { actions }
            { report }
            { visits }
        </div>
    }
}
