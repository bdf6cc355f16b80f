//! The early-warning list (`/alerts`, 风险预警): the alerts the unit's rules raise over its cases,
//! open ones first, then those acknowledged (here or at another tier), then the rules in force.
//! Centre staff acknowledge an alert with what was done (预警签收, the note required), and link
//! its cases as one matter (关联为同一事项) when they are the same dispute.

use crate::app::{use_lang, use_shell};
use crate::bridge::{self, BridgeError};
use crate::i18n::{t, tf, Key, Lang};
use crate::prevention;
use crate::time;
use crate::widgets::{error_text, level_badge, loaded, text_of, use_load, CaseRowView, Load};
use app_core::screens::{AlertRow, AlertsScreen};
use yew::prelude::*;

/// A command run for an alert, its answer already used.
type Work = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BridgeError>>>>;

#[derive(Properties, PartialEq, Debug)]
struct AlertProps {
    row: AlertRow,
    now: i64,
    /// Called with the list as it stands after the alert was acknowledged.
    on_acknowledged: Callback<AlertsScreen>,
    /// Called once the alert's cases are linked (the list is read again).
    on_linked: Callback<()>,
}

/// One alert: its level, words, rule and cases; for those who may act on it, the note and the
/// buttons.
#[function_component(AlertView)]
fn alert_view(p: &AlertProps) -> Html {
    let l = use_lang();
    let shell = use_shell();
    let note = use_state(String::new);
    let attempted = use_state(|| false);
    let busy = use_state(|| false);
    let failed = use_state(|| None::<String>);
    let linked = use_state(|| false);
    let r = &p.row;
    let a = &r.alert;
    let problem = (*attempted)
        .then(|| prevention::ack_problem(l, &note))
        .flatten();
    let oninput = {
        let note = note.clone();
        Callback::from(move |e: InputEvent| note.set(text_of(&e)))
    };
    // Runs a command for the alert, with the busy flag and the error shown under the buttons.
    let run = {
        let (busy, failed, refresh) = (busy.clone(), failed.clone(), shell.refresh_sync.clone());
        move |work: Work| {
            if *busy {
                return;
            }
            busy.set(true);
            failed.set(None);
            let (busy, failed, refresh) = (busy.clone(), failed.clone(), refresh.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = work.await {
                    failed.set(Some(error_text(l, &e)));
                }
                busy.set(false);
                refresh.emit(());
            });
        }
    };
    let acknowledge = {
        let (note, attempted, run, on_acknowledged) = (
            note.clone(),
            attempted.clone(),
            run.clone(),
            p.on_acknowledged.clone(),
        );
        let key = a.key.clone();
        Callback::from(move |_: MouseEvent| {
            attempted.set(true);
            if prevention::ack_problem(l, &note).is_some() {
                return;
            }
            let (key, text, on_acknowledged) =
                (key.clone(), note.trim().to_owned(), on_acknowledged.clone());
            run(Box::pin(async move {
                let next = bridge::acknowledge_alert(&key, &text).await?;
                on_acknowledged.emit(next);
                Ok(())
            }));
        })
    };
    let link = {
        let (note, run, on_linked, linked) = (
            note.clone(),
            run.clone(),
            p.on_linked.clone(),
            linked.clone(),
        );
        let cases = prevention::alert_cases(r);
        Callback::from(move |_: MouseEvent| {
            let (cases, text, on_linked, linked) = (
                cases.clone(),
                note.trim().to_owned(),
                on_linked.clone(),
                linked.clone(),
            );
            run(Box::pin(async move {
                bridge::link_cases(&cases, &text).await?;
                linked.set(true);
                on_linked.emit(());
                Ok(())
            }));
        })
    };
    let open = a.acknowledged.is_none();
    html! {
        <li class={classes!("alert-row", "card", (!open).then_some("acknowledged"))} data-id={a.key.clone()}>
            <span class="case-line">
                { level_badge(l, a.level) }
                <span class="alert-cases muted">{ tf(l, Key::AlertCaseCount, &[&a.cases.len()]) }</span>
            </span>
            <strong class="alert-words">{ a.words.clone() }</strong>
            if !r.rule.is_empty() {
                <span class="alert-rule muted">{ r.rule.clone() }</span>
            }
            if let Some(ack) = &a.acknowledged {
                <span class="alert-ack muted">{ prevention::acknowledged(l, ack, p.now) }</span>
                if !ack.note.trim().is_empty() {
                    <span class="alert-ack-note">{ ack.note.clone() }</span>
                }
            }
            <div class="rows">
                { for r.cases.iter().map(|c| html! { <CaseRowView row={c.clone()} now={p.now} /> }) }
            </div>
            if r.more > 0 {
                <span class="alert-more muted">{ tf(l, Key::AlertMoreCases, &[&r.more]) }</span>
            }
            if r.may_acknowledge && open {
                <label class={classes!(problem.is_some().then_some("invalid"))}>
                    { t(l, Key::AlertAckNote) }
                    <textarea class="alert-note" value={(*note).clone()} {oninput} required=true />
                    if let Some(m) = problem { <span class="problem">{ m }</span> }
                </label>
            }
            if r.may_acknowledge {
                <div class="button-row">
                    if open {
                        <button type="button" class="primary ack-alert" disabled={*busy} onclick={acknowledge}>
                            { t(l, if *busy { Key::Submitting } else { Key::AlertAck }) }
                        </button>
                    }
                    if prevention::may_link(r) && !*linked {
                        <button type="button" class="secondary link-alert-cases" disabled={*busy} onclick={link}>
                            { t(l, Key::AlertLinkCases) }
                        </button>
                    }
                </div>
            }
            if *linked { <p class="ok" role="status">{ t(l, Key::LinkedSameMatter) }</p> }
            if let Some(m) = &*failed { <p class="error" role="alert">{ m.clone() }</p> }
        </li>
    }
}

fn list(
    l: Lang,
    rows: &[AlertRow],
    now: i64,
    on_ack: &Callback<AlertsScreen>,
    on_linked: &Callback<()>,
) -> Html {
    if rows.is_empty() {
        return html! { <p class="card muted">{ t(l, Key::NoAlerts) }</p> };
    }
    html! {
        <ul class="alert-list">
            { for rows.iter().map(|r| html! {
                <AlertView key={r.alert.key.clone()} row={r.clone()} {now}
                    on_acknowledged={on_ack.clone()} on_linked={on_linked.clone()} />
            }) }
        </ul>
    }
}

#[function_component(AlertsPage)]
pub fn alerts_page() -> Html {
    let l = use_lang();
    let shell = use_shell();
    // Read again after a sync brings something new, and after cases are linked.
    let reloads = use_state(|| 0u32);
    let stamp = shell.sync.as_ref().map(|s| (s.last_synced_at, s.waiting));
    let screen = use_load((stamp, *reloads), |_| bridge::alerts());
    let on_ack = {
        let screen = screen.clone();
        Callback::from(move |next: AlertsScreen| screen.set(Load::Ready(next)))
    };
    let on_linked = {
        let reloads = reloads.clone();
        Callback::from(move |()| reloads.set(*reloads + 1))
    };
    let now = time::now_ms();
    html! {
        <div id="alerts" class="page">
            <h2 class="page-title">{ t(l, Key::AlertsTitle) }</h2>
            { loaded(l, &screen, |s: &AlertsScreen| html! {
                <>
                    <section id="alerts-open">
                        <h3 class="section-title">
                            <span>{ t(l, Key::AlertsOpen) }</span>
                            <span class={classes!("count", (!s.open.is_empty()).then_some("some"))}>{ s.open.len() }</span>
                        </h3>
                        { list(l, &s.open, now, &on_ack, &on_linked) }
                    </section>
                    <section id="alerts-acknowledged">
                        <h3 class="section-title">
                            <span>{ t(l, Key::AlertsAcknowledged) }</span>
                            <span class="count">{ s.acknowledged.len() }</span>
                        </h3>
                        { list(l, &s.acknowledged, now, &on_ack, &on_linked) }
                    </section>
                    if !s.rules.is_empty() {
                        <section class="card" id="alert-rules">
                            <h3>{ t(l, Key::AlertRules) }</h3>
                            <ul class="alert-rules">
                                { for s.rules.iter().map(|r| html! { <li>{ r.clone() }</li> }) }
                            </ul>
                        </section>
                    }
                </>
            }) }
        </div>
    }
}
