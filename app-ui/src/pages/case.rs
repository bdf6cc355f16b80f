//! One case (`/cases/:id`): what it is about, where it stands, its whole history, and the steps
//! this person may take now. The steps offered are exactly the core's `allowed` codes; each opens
//! its form ([`crate::actions`]), and the screen re-renders from the case the core answers with.
//! Beside the case: its early-warning alerts, other disputes of the same parties (centre staff
//! decide here whether a possible duplicate is the same matter) and the matter it is linked into
//! ([`crate::prevention`]).

use crate::actions::{self, ActionForm, Field};
use crate::app::{use_lang, use_shell, Route};
use crate::bridge::{self, ActInput, CaseScreen};
use crate::i18n::{self, t, tf, Key, Lang};
use crate::labels;
use crate::orders;
use crate::pages::photos::Photos;
use crate::prevention;
use crate::signature_pad::SignaturePad;
use crate::time;
use crate::widgets::{
    checked_of, error_text, level_badge, loaded, text_of, use_load, value_of, CaseRowView, Load,
    RouteLink,
};
use app_core::deadline::{MAX_ASSIGN_DOWN_DAYS, MAX_SUPERVISE_DAYS};
use app_core::ids::{CaseId, UnitId};
use app_core::model::{Action, ActionKind, Difficulty, TimelineEntry};
use app_core::screens::{SignedInput, TimelineRow};
use app_core::summary::OrderSummary;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct CaseProps {
    pub id: String,
}

/// The name of a unit the screen knows, else its id.
fn unit_name(s: &CaseScreen, id: &UnitId) -> String {
    let units = s
        .escalate_to
        .iter()
        .chain(&s.assign_down_to)
        .chain(&s.committees);
    if let Some(u) = units.clone().find(|u| &u.id == id) {
        return u.name.clone();
    }
    if id == &s.row.summary.responsible_unit {
        return s.row.responsible_name.clone();
    }
    if id == &s.row.summary.place_unit {
        return s.row.place_name.clone();
    }
    id.to_string()
}

/// "难度：简单" / "Difficulty: Simple".
fn labelled(l: Lang, key: Key, value: &str) -> String {
    i18n::labelled(l, t(l, key), value)
}

/// What a timeline entry says beyond its name.
fn details(l: Lang, e: &TimelineEntry, s: &CaseScreen, now: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |n: &str| {
        if !n.trim().is_empty() {
            out.push(n.to_owned());
        }
    };
    match &e.action {
        Action::Report { source, .. } => note(labels::source(l, *source)),
        Action::Assess {
            difficulty,
            risks,
            note: n,
        } => {
            note(&labelled(
                l,
                Key::Difficulty,
                labels::difficulty(l, *difficulty),
            ));
            if !risks.is_empty() {
                let r: Vec<&str> = risks.iter().map(|r| labels::risk(l, *r)).collect();
                note(&labelled(l, Key::Risks, &i18n::join(l, &r)));
            }
            note(n);
        }
        Action::Assign {
            to,
            chosen_by_parties,
            note: n,
        } => {
            let mut who = to.label();
            if *chosen_by_parties {
                who = i18n::aside(l, &who, t(l, Key::ChosenByParties));
            }
            note(&who);
            note(n);
        }
        Action::RecordSession { mode, note: n } => {
            note(labels::mode(l, *mode));
            note(n);
        }
        Action::Resolve { agreement, note: n } => {
            if let Some(a) = agreement {
                note(&labelled(l, Key::Agreement, &a.summary));
            }
            note(n);
        }
        Action::RequestJudicialConfirmation { court } => note(court),
        Action::RecordJudicialConfirmation { granted, note: n } => {
            note(t(
                l,
                if *granted {
                    Key::Granted
                } else {
                    Key::NotGranted
                },
            ));
            note(n);
        }
        Action::Stabilise { note: n }
        | Action::Fail { note: n }
        | Action::ReportBack { note: n }
        | Action::Close { note: n } => note(n),
        Action::EraseContacts { reason } => note(reason),
        Action::Escalate {
            to,
            reason,
            note: n,
        } => {
            note(&format!("→ {}", unit_name(s, to)));
            note(labels::reason(l, *reason));
            note(n);
        }
        Action::AssignDown {
            to,
            person,
            instructions,
            due_at,
        } => {
            let mut whom = unit_name(s, to);
            if let Some(p) = person {
                whom = format!("{whom} · {}", p.label());
            }
            note(&format!("→ {whom}"));
            note(&tf(l, Key::DueOn, &[&time::deadline(*due_at, now, l)]));
            note(instructions);
        }
        Action::FollowUp {
            method,
            satisfaction,
            relapsed,
            note: n,
        } => {
            note(&format!(
                "{} · {}",
                labels::method(l, *method),
                labels::satisfaction(l, *satisfaction)
            ));
            if *relapsed {
                note(t(l, Key::ActRelapsed));
            }
            note(n);
        }
        Action::Reopen { reason } => note(reason),
        Action::SettleConflict { note: n, .. } => note(n),
        Action::Edit { fields } => note(&i18n::join(l, fields)),
        Action::Supervise {
            level,
            due_at,
            note: n,
        } => {
            note(labels::supervise_level(l, *level));
            note(&tf(l, Key::DueOn, &[&time::deadline(*due_at, now, l)]));
            note(n);
        }
        Action::DispatchOrder { .. }
        | Action::SignOrder
        | Action::ReplyOrder { .. }
        | Action::ReturnOrder { .. } => {
            for d in orders::details(l, &e.action, now).unwrap_or_default() {
                note(&d);
            }
        }
        Action::LinkMatter { .. }
        | Action::UnlinkMatter { .. }
        | Action::MarkDistinct { .. }
        | Action::AcknowledgeAlert { .. } => {
            let title = |id: &CaseId| prevention::title_of(s, id);
            for d in prevention::details(l, &e.action, &title).unwrap_or_default() {
                note(&d);
            }
        }
    }
    out
}

/// The early-warning alerts concerning the case, acknowledged ones with by whom, when and what
/// was done; centre staff go to the 预警 page to acknowledge the open ones.
fn alerts_section(l: Lang, s: &CaseScreen, at_centre: bool, now: i64) -> Html {
    html! {
        <section class="card" id="case-alerts">
            <h3>{ t(l, Key::AlertsTitle) }</h3>
            <ul class="alert-list">
                { for s.alerts.iter().map(|a| html! {
                    <li class={classes!("alert-row", a.acknowledged.is_some().then_some("acknowledged"))}
                        data-id={a.key.clone()}>
                        <span class="case-line">
                            { level_badge(l, a.level) }
                            <span class="alert-cases muted">{ tf(l, Key::AlertCaseCount, &[&a.cases.len()]) }</span>
                        </span>
                        <span class="alert-words">{ a.words.clone() }</span>
                        if let Some(ack) = &a.acknowledged {
                            <span class="alert-ack muted">{ prevention::acknowledged(l, ack, now) }</span>
                            if !ack.note.trim().is_empty() {
                                <span class="alert-ack-note">{ ack.note.clone() }</span>
                            }
                        }
                    </li>
                }) }
            </ul>
            if at_centre {
                <RouteLink to={Route::Alerts} id="case-alerts-all" class="see-all">{ t(l, Key::AlertsSeeAll) }</RouteLink>
            }
        </section>
    }
}

/// Other cases of the same parties (同一当事人既往纠纷 N 件): each with its status and how the
/// parties match; possible duplicates are marked, and centre staff decide them here (`decide`:
/// the other case, and whether it is the same matter).
fn matches_section(
    l: Lang,
    s: &CaseScreen,
    at_centre: bool,
    busy: bool,
    failed: Option<String>,
    decide: Callback<(CaseId, bool)>,
) -> Html {
    html! {
        <section class="card" id="matches">
            <h3>{ tf(l, Key::MatchesTitle, &[&s.earlier_cases]) }</h3>
            <ul class="match-list">
                { for s.matches.iter().map(|m| {
                    let other = m.row.summary.id.clone();
                    let mark = prevention::mark(m);
                    let buttons = prevention::may_decide(m, at_centre);
                    let on = |same: bool| {
                        let (decide, other) = (decide.clone(), other.clone());
                        Callback::from(move |_: MouseEvent| decide.emit((other.clone(), same)))
                    };
                    html! {
                        <li class={classes!("match-row", m.possible_duplicate.then_some("possible-duplicate"),
                                m.same_matter.then_some("same-matter"), m.distinct.then_some("distinct"))}
                            data-id={other.to_string()}>
                            <span class="case-line">
                                <RouteLink to={Route::Case { id: other.to_string() }} class="match-title">
                                    { m.row.summary.title.clone() }
                                </RouteLink>
                                <span class={classes!("case-status", format!("status-{}", m.row.summary.status.code()))}>
                                    { labels::status(l, m.row.summary.status) }
                                </span>
                            </span>
                            <span class="match-how muted">{ prevention::how(l, m) }</span>
                            if let Some(k) = mark {
                                <span class={classes!("match-mark", (k == Key::PossibleDuplicate).then_some("warn-mark"))}>
                                    { t(l, k) }
                                </span>
                            }
                            if buttons {
                                <div class="button-row">
                                    <button type="button" class="secondary same-matter-button" disabled={busy}
                                        onclick={on(true)}>{ t(l, Key::SameMatter) }</button>
                                    <button type="button" class="secondary distinct-button" disabled={busy}
                                        onclick={on(false)}>{ t(l, Key::NotSameMatter) }</button>
                                </div>
                            }
                        </li>
                    }
                }) }
            </ul>
            if let Some(m) = failed { <p class="error" role="alert">{ m }</p> }
        </section>
    }
}

/// The other cases of the matter the case is linked into, and the way to the matter.
fn matter_section(l: Lang, s: &CaseScreen, now: i64) -> Html {
    let Some(matter) = s.state.as_ref().and_then(|st| st.matter.clone()) else {
        return html! {};
    };
    html! {
        <section class="card list-section" id="matter-cases">
            <h3 class="section-title">
                <span>{ t(l, Key::MatterSection) }</span>
                <span class="muted">{ tf(l, Key::MatterTitle, &[&prevention::short_id(matter.as_str())]) }</span>
            </h3>
            <div class="rows">
                { for s.matter.iter().map(|r| html! { <CaseRowView row={r.clone()} {now} /> }) }
            </div>
            <RouteLink to={Route::Matter { id: matter.to_string() }} id="matter-link" class="see-all">
                { t(l, Key::MatterOpen) }
            </RouteLink>
        </section>
    }
}

fn timeline_row(l: Lang, r: &TimelineRow, s: &CaseScreen, now: i64) -> Html {
    let e = &r.entry;
    html! {
        <li class={classes!("timeline-row", r.not_applied.is_some().then_some("not-applied"),
                r.conflict.then_some("conflict"))}
            data-id={e.id.to_string()}>
            <span class="case-line">
                <span class="timeline-action">{ labels::step(l, &e.action) }</span>
                <time class="timeline-time">{ time::moment(e.at, now, l) }</time>
            </span>
            <span class="timeline-actor">
                { format!("{} · {}", e.actor.name, labels::role(l, e.actor.role)) }
            </span>
            { for details(l, e, s, now).into_iter().map(|d| html! { <span class="timeline-detail">{ d }</span> }) }
            if let Some(why) = &r.not_applied {
                <span class="not-applied-reason">{ tf(l, Key::NotApplied, &[why]) }</span>
            }
            if r.conflict {
                <span class="conflict-mark">{ t(l, Key::ConflictMark) }</span>
            }
        </li>
    }
}

/// The facts of the case.
fn facts(l: Lang, s: &CaseScreen, now: i64) -> Html {
    let sum = &s.row.summary;
    let doc = &s.document;
    let state = s.state.as_ref();
    let difficulty = match sum.difficulty {
        Some(d) => labels::difficulty(l, d).to_owned(),
        None => t(l, Key::NotAssessed).to_owned(),
    };
    let risks: Vec<&str> = state
        .map(|st| st.risks.iter().map(|r| labels::risk(l, *r)).collect())
        .unwrap_or_default();
    let assignee = match &sum.assignee {
        Some(a) if state.is_some_and(|st| st.chosen_by_parties) => {
            i18n::aside(l, a, t(l, Key::ChosenByParties))
        }
        Some(a) => a.clone(),
        None => t(l, Key::NotAssigned).to_owned(),
    };
    let row = |id: &'static str, key: Key, value: String| {
        html! {
            <div class="fact">
                <dt>{ t(l, key) }</dt>
                <dd {id}>{ value }</dd>
            </div>
        }
    };
    let address = doc.place.address.as_str();
    let place = if address.is_empty() {
        s.row.place_name.clone()
    } else {
        format!("{} · {address}", s.row.place_name)
    };
    html! {
        <section class="card case-card">
            <h2 id="case-title">{ sum.title.clone() }</h2>
            <p class="case-line">
                <span id="case-status" class={classes!("case-status", format!("status-{}", sum.status.code()))}>
                    { labels::status(l, sum.status) }
                </span>
                <span id="case-due" class={classes!("case-due", format!("due-{}", s.row.due.code()))}>
                    { labels::due(l, s.row.due) }
                    if !matches!(s.row.due, app_core::deadline::DueState::Handled) {
                        { " · " }{ tf(l, Key::DueOn, &[&time::deadline(sum.due_at, now, l)]) }
                    }
                </span>
            </p>
            <dl class="facts">
                { row("case-category", Key::FieldCategory, labels::category(l, &sum.category, &s.row.category_name)) }
                { row("case-place", Key::FieldAddress, place) }
                { row("case-responsible", Key::Responsible, s.row.responsible_name.clone()) }
                { row("case-assignee", Key::AssignedTo, assignee) }
                { row("case-difficulty", Key::Difficulty, difficulty) }
                if !risks.is_empty() {
                    { row("case-risks", Key::Risks, i18n::join(l, &risks)) }
                }
                { row("case-reporter", Key::ReportedBy,
                    format!("{} · {}", sum.reporter_name, time::moment(sum.reported_at, now, l))) }
                if let Some(a) = state.and_then(|st| st.agreement.as_ref()) {
                    { row("case-agreement", Key::Agreement, a.summary.clone()) }
                }
                if let Some(sup) = &sum.supervised {
                    { row("case-supervised", Key::Supervision, format!("{} · {} · {}",
                        labels::supervise_level(l, sup.level),
                        tf(l, Key::DueOn, &[&time::deadline(sup.due_at, now, l)]),
                        tf(l, Key::SupervisedBy, &[&sup.by]))) }
                }
            </dl>
            <h3>{ t(l, Key::FieldParties) }</h3>
            <ul id="case-parties" class="parties">
                { for doc.parties.iter().map(|p| {
                    let contact = s.contacts.as_ref().and_then(|c| c.parties.get(p.id.as_str()));
                    html! {
                        <li class="party-row">
                            <span class="party-name">{ p.name.clone() }</span>
                            <span class="party-role">{ labels::party_role(l, p.role) }</span>
                            if let Some(phone) = contact.and_then(|c| c.phone.clone()) {
                                <a class="party-phone" href={format!("tel:{phone}")}>{ phone }</a>
                            }
                            if let Some(idn) = contact.and_then(|c| c.id_number.clone()) {
                                <span class="party-id">{ idn }</span>
                            }
                        </li>
                    }
                }) }
            </ul>
            <h3>{ t(l, Key::FieldNarrative) }</h3>
            <p id="case-narrative" class="narrative">{ doc.narrative.as_str().to_owned() }</p>
        </section>
    }
}

/// The case's work order (工单) of the 12345 hotline: its number, kind, where it stands, the
/// platform's two deadlines (with who signed for it and when), and the reply given or why it
/// was returned. Nothing about the caller: a confidential order says only that it is.
fn order_section(l: Lang, o: &OrderSummary, now: i64) -> Html {
    let row = |id: &'static str, key: Key, value: String| {
        html! {
            <div class="fact">
                <dt>{ t(l, key) }</dt>
                <dd {id}>{ value }</dd>
            </div>
        }
    };
    html! {
        <section class="card" id="case-order">
            <h3>{ t(l, Key::WorkOrder) }</h3>
            <dl class="facts">
                { row("case-order-number", Key::OrderNumber, o.number.clone()) }
                { row("case-order-kind", Key::OrderKindLabel, orders::kind(l, o.kind, o.confidential)) }
                <div class="fact">
                    <dt>{ t(l, Key::OrderStateLabel) }</dt>
                    <dd id="case-order-state">
                        <span class={classes!("order-badge", labels::order_state_class(o.state))}>
                            { labels::order_state(l, o.state) }
                        </span>
                        if o.overdue(now) {
                            <span class="order-overdue" id="case-order-overdue">{ t(l, Key::OrderOverdue) }</span>
                        }
                    </dd>
                </div>
                { row("case-order-channel", Key::OrderChannel, orders::channel(l, o)) }
                { row("case-order-sign-by", Key::SignBy, orders::sign_by(l, o, now)) }
                { row("case-order-reply-by", Key::ReplyBy, time::moment(o.reply_by, now, l)) }
                if let Some(reply) = orders::reply(l, o, now) {
                    { row("case-order-reply", Key::OrderReply, reply) }
                }
                if let Some(reason) = &o.return_reason {
                    { row("case-order-return", Key::ReturnReason, reason.clone()) }
                }
            </dl>
        </section>
    }
}

#[function_component(CasePage)]
pub fn case_page(p: &CaseProps) -> Html {
    let l = use_lang();
    let shell = use_shell();
    let screen = use_load(p.id.clone(), |id| async move {
        bridge::case(&CaseId::new(id)).await
    });
    let form = use_state(|| None::<ActionForm>);
    let busy = use_state(|| false);
    let failed = use_state(|| None::<String>);
    let done = use_state(|| false);
    let deciding = use_state(|| false);
    let decide_failed = use_state(|| None::<String>);
    // A different case: no form from the last one.
    {
        let (form, failed, done, decide_failed) = (
            form.clone(),
            failed.clone(),
            done.clone(),
            decide_failed.clone(),
        );
        use_effect_with(p.id.clone(), move |_| {
            form.set(None);
            failed.set(None);
            done.set(false);
            decide_failed.set(None);
        });
    }
    let at_centre = shell.me().is_some_and(|me| me.at_centre);
    let now = time::now_ms();
    let on_photo = {
        let screen = screen.clone();
        Callback::from(move |next: CaseScreen| screen.set(Load::Ready(next)))
    };
    let body = loaded(l, &screen, |s: &CaseScreen| {
        let choices = Rc::new(actions::Choices::of(s, now));
        let open = |kind: ActionKind| {
            let (form, failed, done, choices) =
                (form.clone(), failed.clone(), done.clone(), choices.clone());
            Callback::from(move |_: MouseEvent| {
                failed.set(None);
                done.set(false);
                let same = form.as_ref().is_some_and(|f| f.kind == kind);
                form.set((!same).then(|| ActionForm::new(kind, &choices)));
            })
        };
        // Each offered step with the button that opens its form.
        let offered: Vec<(ActionKind, Key)> = s
            .allowed
            .iter()
            .filter_map(|&k| Some((k, actions::button(k)?)))
            .collect();
        let edit = {
            let form = form.clone();
            Rc::new(move |change: &dyn Fn(&mut ActionForm)| {
                if let Some(mut f) = (*form).clone() {
                    change(&mut f);
                    form.set(Some(f));
                }
            })
        };
        let submit = {
            let (form, busy, failed, done, screen, refresh) = (
                form.clone(),
                busy.clone(),
                failed.clone(),
                done.clone(),
                screen.clone(),
                shell.refresh_sync.clone(),
            );
            let case = s.row.summary.id.clone();
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                let Some(mut f) = (*form).clone() else { return };
                if *busy {
                    return;
                }
                let action = match f.action(time::now_ms()) {
                    Ok(a) => a,
                    Err(_) => {
                        f.attempted = true;
                        form.set(Some(f));
                        return;
                    }
                };
                busy.set(true);
                failed.set(None);
                let signatures = f.signature_inputs();
                let input = ActInput {
                    case: case.clone(),
                    action,
                };
                let (form, busy, failed, done, screen, refresh) = (
                    form.clone(),
                    busy.clone(),
                    failed.clone(),
                    done.clone(),
                    screen.clone(),
                    refresh.clone(),
                );
                wasm_bindgen_futures::spawn_local(async move {
                    let answer = if signatures.is_empty() {
                        bridge::act(&input).await
                    } else {
                        // Signed on the spot: the drawings go with the step, in one go.
                        let signed = SignedInput {
                            case: input.case,
                            action: input.action,
                            signatures,
                        };
                        bridge::resolve_signed(&signed).await
                    };
                    match answer {
                        Ok(next) => {
                            form.set(None);
                            done.set(true);
                            screen.set(Load::Ready(next));
                        }
                        Err(e) => failed.set(Some(error_text(l, &e))),
                    }
                    busy.set(false);
                    refresh.emit(());
                });
            })
        };
        let cancel = {
            let form = form.clone();
            Callback::from(move |_: MouseEvent| form.set(None))
        };
        // A possible duplicate decided: the same matter (both linked, then the case again) or
        // a different one (判定非重复, recorded in this case).
        let decide = {
            let (screen, deciding, decide_failed, refresh) = (
                screen.clone(),
                deciding.clone(),
                decide_failed.clone(),
                shell.refresh_sync.clone(),
            );
            let case = s.row.summary.id.clone();
            Callback::from(move |(other, same): (CaseId, bool)| {
                if *deciding {
                    return;
                }
                deciding.set(true);
                decide_failed.set(None);
                let (screen, deciding, decide_failed, refresh, case) = (
                    screen.clone(),
                    deciding.clone(),
                    decide_failed.clone(),
                    refresh.clone(),
                    case.clone(),
                );
                wasm_bindgen_futures::spawn_local(async move {
                    let answer = if same {
                        let cases = vec![case.clone(), other];
                        match bridge::link_cases(&cases, &String::new()).await {
                            Ok(_) => bridge::case(&case).await,
                            Err(e) => Err(e),
                        }
                    } else {
                        let input = ActInput {
                            case,
                            action: Action::MarkDistinct {
                                other,
                                note: String::new(),
                            },
                        };
                        bridge::act(&input).await
                    };
                    match answer {
                        Ok(next) => screen.set(Load::Ready(next)),
                        Err(e) => decide_failed.set(Some(error_text(l, &e))),
                    }
                    deciding.set(false);
                    refresh.emit(());
                });
            })
        };
        html! {
            <>
                { facts(l, s, now) }
                if let Some(o) = &s.row.summary.order {
                    { order_section(l, o, now) }
                }
                if !s.alerts.is_empty() {
                    { alerts_section(l, s, at_centre, now) }
                }
                if !s.matches.is_empty() {
                    { matches_section(l, s, at_centre, *deciding, (*decide_failed).clone(), decide) }
                }
                { matter_section(l, s, now) }
                <section class="card" id="case-actions">
                    <h3>{ t(l, Key::ActionsHeading) }</h3>
                    if offered.is_empty() {
                        <p class="muted">{ t(l, Key::NoActions) }</p>
                    } else {
                        <div class="action-buttons">
                            { for offered.iter().map(|&(kind, button)| {
                                let active = form.as_ref().is_some_and(|f| f.kind == kind);
                                html! {
                                    <button type="button" id={format!("action-{}", kind.code())}
                                        class={classes!("action", active.then_some("active"))}
                                        aria-expanded={active.to_string()}
                                        onclick={open(kind)}>
                                        { t(l, button) }
                                    </button>
                                }
                            }) }
                        </div>
                    }
                    if *done { <p class="ok" role="status" id="act-done">{ t(l, Key::Recorded) }</p> }
                    if let Some(f) = &*form {
                        <form class="action-form" id="act-form" onsubmit={submit} novalidate=true>
                            <h3>{ actions::button(f.kind).map(|k| t(l, k)).unwrap_or_default() }</h3>
                            { for actions::fields(f.kind).unwrap_or_default().iter().map(|field| action_field(l, s, f, *field, edit.clone())) }
                            if f.attempted && !f.problems().is_empty() {
                                <p class="error" role="alert">{ actions::summary(&f.problems(), l) }</p>
                            }
                            if let Some(m) = &*failed { <p class="error" role="alert">{ m.clone() }</p> }
                            <div class="button-row">
                                <button type="button" class="secondary" onclick={cancel}>{ t(l, Key::Cancel) }</button>
                                <button type="submit" class="primary" id="act-submit" disabled={*busy}>
                                    { t(l, if *busy { Key::Submitting } else { Key::Submit }) }
                                </button>
                            </div>
                        </form>
                    }
                </section>
                <Photos case={s.row.summary.id.clone()} attachments={s.document.attachments.clone()}
                    on_changed={on_photo.clone()} />
                <section class="card">
                    <h3>{ t(l, Key::Timeline) }</h3>
                    <ol id="case-timeline" class="timeline">
                        { for s.timeline.iter().map(|r| timeline_row(l, r, s, now)) }
                    </ol>
                </section>
            </>
        }
    });
    html! {
        <div id="case" class="page">
            <RouteLink to={Route::Cases} class="back">{ format!("‹ {}", t(l, Key::Back)) }</RouteLink>
            { body }
        </div>
    }
}

type Edit = Rc<dyn Fn(&dyn Fn(&mut ActionForm))>;

/// One input of an action form, with its problem under it once a submit was tried.
fn action_field(l: Lang, s: &CaseScreen, f: &ActionForm, field: Field, edit: Edit) -> Html {
    let message = f.shown_message(field, l);
    let problem = message
        .clone()
        .map(|m| html! { <span class="problem">{ m }</span> });
    let invalid = message.is_some().then_some("invalid");
    let id = field.id();
    let on_select = |set: fn(&mut ActionForm, String)| {
        let edit = edit.clone();
        Callback::from(move |e: Event| {
            let v = value_of(&e);
            edit(&|f| set(f, v.clone()));
        })
    };
    let on_text = |set: fn(&mut ActionForm, String)| {
        let edit = edit.clone();
        Callback::from(move |e: InputEvent| {
            let v = text_of(&e);
            edit(&|f| set(f, v.clone()));
        })
    };
    let on_check = |set: fn(&mut ActionForm, bool)| {
        let edit = edit.clone();
        Callback::from(move |e: Event| {
            let v = checked_of(&e);
            edit(&|f| set(f, v));
        })
    };
    let select = |key: Key,
                  value: &str,
                  options: Vec<(String, String)>,
                  set: fn(&mut ActionForm, String)| {
        html! {
            <label class={classes!(invalid)}>{ t(l, key) }
                <select {id} onchange={on_select(set)}>
                    { for options.into_iter().map(|(v, label)| {
                        let selected = v == value;
                        html! { <option value={v} {selected}>{ label }</option> }
                    }) }
                </select>
                { problem.clone().unwrap_or_default() }
            </label>
        }
    };
    match field {
        Field::Difficulty => select(
            Key::Difficulty,
            &f.difficulty,
            Difficulty::ALL
                .iter()
                .map(|d| (d.code().to_owned(), labels::difficulty(l, *d).to_owned()))
                .collect(),
            |f, v| f.difficulty = v,
        ),
        Field::Risks => html! {
            <fieldset class="checks" {id}>
                <legend>{ t(l, Key::Risks) }</legend>
                { for labels::RISKS.iter().map(|&r| {
                    let edit = edit.clone();
                    let onchange = Callback::from(move |e: Event| {
                        let on = checked_of(&e);
                        edit(&|f| {
                            if on { f.risks.insert(r); } else { f.risks.remove(&r); }
                        });
                    });
                    html! {
                        <label class="check">
                            <input type="checkbox" id={format!("act-risk-{}", labels::risk_code(r))}
                                checked={f.risks.contains(&r)} {onchange} />
                            { labels::risk(l, r) }
                        </label>
                    }
                }) }
            </fieldset>
        },
        Field::Assignee => {
            let onchange = on_select(|f, v| f.assignee = v);
            html! {
                <label class={classes!(invalid)}>{ t(l, Key::ActMediator) }
                    <select {id} {onchange}>
                        if !s.roster.is_empty() {
                            <optgroup label={t(l, Key::ActMediators)}>
                                { for actions::roster_options(&s.roster).into_iter().map(|(v, label)| {
                                    let selected = v == f.assignee;
                                    html! { <option value={v} {selected}>{ label }</option> }
                                }) }
                            </optgroup>
                        }
                        if !s.committees.is_empty() {
                            <optgroup label={t(l, Key::ActCommittees)}>
                                { for s.committees.iter().map(|u| {
                                    let v = actions::committee_value(&u.id);
                                    let selected = v == f.assignee;
                                    html! { <option value={v} {selected}>{ u.name.clone() }</option> }
                                }) }
                            </optgroup>
                        }
                    </select>
                    { problem.unwrap_or_default() }
                </label>
            }
        }
        Field::ChosenByParties => html! {
            <label class="check">
                <input type="checkbox" {id} checked={f.chosen_by_parties}
                    onchange={on_check(|f, v| f.chosen_by_parties = v)} />
                { t(l, Key::ActPartiesChoose) }
            </label>
        },
        Field::Mode => select(
            Key::ActMode,
            &f.mode,
            labels::MODES
                .iter()
                .map(|&m| {
                    (
                        labels::mode_code(m).to_owned(),
                        labels::mode(l, m).to_owned(),
                    )
                })
                .collect(),
            |f, v| f.mode = v,
        ),
        Field::Agreement => html! {
            <label class={classes!(invalid)}>{ t(l, Key::ActAgreementSummary) }
                <textarea {id} value={f.agreement.clone()} oninput={on_text(|f, v| f.agreement = v)} />
                { problem.unwrap_or_default() }
            </label>
        },
        Field::Performance => html! {
            <label class={classes!(invalid)}>{ t(l, Key::ActPerformance) }
                <textarea {id} rows="2" value={f.performance.clone()}
                    oninput={on_text(|f, v| f.performance = v)} />
                { problem.unwrap_or_default() }
            </label>
        },
        Field::Signatures => html! {
            <fieldset class={classes!("signatures", invalid)} {id}>
                <legend>{ t(l, Key::ActSignatures) }</legend>
                { for s.document.parties.iter().map(|party| {
                    let key = party.id.to_string();
                    let on_change = {
                        let (edit, key) = (edit.clone(), key.clone());
                        Callback::from(move |url: Option<String>| {
                            edit(&|f| match &url {
                                Some(u) => {
                                    f.signatures.insert(key.clone(), u.clone());
                                }
                                None => {
                                    f.signatures.remove(&key);
                                }
                            });
                        })
                    };
                    let who = format!("{} {}", labels::party_role(l, party.role), party.name);
                    html! {
                        <SignaturePad id={format!("sign-{}", party.id)}
                            label={tf(l, Key::ActSignFor, &[&who])}
                            signed={f.signatures.contains_key(&key)}
                            signed_text={t(l, Key::ActSigned)}
                            unsigned_text={t(l, Key::ActNotSigned)}
                            clear_text={t(l, Key::ActSignClear)}
                            {on_change} />
                    }
                }) }
                { problem.unwrap_or_default() }
            </fieldset>
        },
        Field::Court => html! {
            <label class={classes!(invalid)}>{ t(l, Key::ActCourt) }
                <input {id} value={f.court.clone()} oninput={on_text(|f, v| f.court = v)} />
                { problem.unwrap_or_default() }
            </label>
        },
        Field::Granted => select(
            Key::ActGranted,
            &f.granted,
            vec![
                ("true".to_owned(), t(l, Key::Granted).to_owned()),
                ("false".to_owned(), t(l, Key::NotGranted).to_owned()),
            ],
            |f, v| f.granted = v,
        ),
        Field::To => {
            let units = if f.kind == ActionKind::AssignDown {
                &s.assign_down_to
            } else {
                &s.escalate_to
            };
            select(
                actions::to_label(f.kind),
                &f.to,
                units
                    .iter()
                    .map(|u| {
                        (
                            u.id.to_string(),
                            i18n::aside(l, &u.name, labels::tier(l, u.tier)),
                        )
                    })
                    .collect(),
                |f, v| f.to = v,
            )
        }
        Field::EscalationReason => select(
            Key::ActEscalationReason,
            &f.reason,
            labels::REASONS
                .iter()
                .map(|&r| {
                    (
                        labels::reason_code(r).to_owned(),
                        labels::reason(l, r).to_owned(),
                    )
                })
                .collect(),
            |f, v| f.reason = v,
        ),
        Field::ReopenReason => html! {
            <label class={classes!(invalid)}>{ t(l, Key::ActReopenReason) }
                <textarea {id} value={f.reason.clone()} oninput={on_text(|f, v| f.reason = v)} />
                { problem.unwrap_or_default() }
            </label>
        },
        Field::Method => select(
            Key::ActMethod,
            &f.method,
            labels::METHODS
                .iter()
                .map(|&m| {
                    (
                        labels::method_code(m).to_owned(),
                        labels::method(l, m).to_owned(),
                    )
                })
                .collect(),
            |f, v| f.method = v,
        ),
        Field::Satisfaction => select(
            Key::ActSatisfaction,
            &f.satisfaction,
            labels::SATISFACTIONS
                .iter()
                .map(|&v| {
                    (
                        labels::satisfaction_code(v).to_owned(),
                        labels::satisfaction(l, v).to_owned(),
                    )
                })
                .collect(),
            |f, v| f.satisfaction = v,
        ),
        Field::Relapsed => html! {
            <label class="check">
                <input type="checkbox" {id} checked={f.relapsed} onchange={on_check(|f, v| f.relapsed = v)} />
                { t(l, Key::ActRelapsed) }
            </label>
        },
        Field::DueDays => html! {
            <label class={classes!(invalid)}>{ t(l, Key::ActDueDays) }
                <input {id} type="number" inputmode="numeric" min="1" max={MAX_ASSIGN_DOWN_DAYS.to_string()}
                    value={f.due_days.clone()} oninput={on_text(|f, v| f.due_days = v)} />
                { problem.unwrap_or_default() }
            </label>
        },
        Field::SuperviseLevel => select(
            Key::ActSuperviseLevel,
            &f.supervise_level,
            labels::SUPERVISE_LEVELS
                .iter()
                .map(|&v| {
                    (
                        v.code().to_owned(),
                        labels::supervise_level(l, v).to_owned(),
                    )
                })
                .collect(),
            |f, v| f.supervise_level = v,
        ),
        Field::DueDate => {
            // The dates the core accepts: from today to MAX_SUPERVISE_DAYS days on.
            let local = f.policy.local();
            let today = local.date(time::now_ms());
            let last = today + chrono::Duration::days(i64::from(MAX_SUPERVISE_DAYS));
            html! {
                <label class={classes!(invalid)}>{ t(l, Key::ActNewDeadline) }
                    <input {id} type="date" min={today.format("%Y-%m-%d").to_string()}
                        max={last.format("%Y-%m-%d").to_string()} value={f.due_date.clone()}
                        oninput={on_text(|f, v| f.due_date = v)} />
                    { problem.unwrap_or_default() }
                </label>
            }
        }
        Field::Conflicts => {
            let conflicts: Vec<_> = s
                .state
                .as_ref()
                .map(|st| st.conflicts.clone())
                .unwrap_or_default();
            html! {
                <fieldset class={classes!("checks", invalid)} {id}>
                    <legend>{ t(l, Key::ActConflicts) }</legend>
                    { for conflicts.into_iter().enumerate().map(|(i, c)| {
                        let entry = c.entry.clone();
                        let label = s.timeline.iter().find(|r| r.entry.id == entry).map(|r| format!(
                            "{} · {} · {}", labels::step(l, &r.entry.action), r.entry.actor.name,
                            time::moment(r.entry.at, time::now_ms(), l))).unwrap_or_else(|| entry.to_string());
                        let edit = edit.clone();
                        let checked = f.conflicts.contains(&entry);
                        let onchange = Callback::from(move |e: Event| {
                            let on = checked_of(&e);
                            let entry = entry.clone();
                            edit(&|f| {
                                if on { f.conflicts.insert(entry.clone()); } else { f.conflicts.remove(&entry); }
                            });
                        });
                        html! {
                            <label class="check">
                                <input type="checkbox" id={format!("act-conflict-{i}")} {checked} {onchange} />
                                { label }
                            </label>
                        }
                    }) }
                    { problem.unwrap_or_default() }
                </fieldset>
            }
        }
        Field::Note => {
            let required = f.kind.note_required();
            html! {
                <label class={classes!(invalid)}>{ t(l, actions::note_label(f.kind)) }
                    <textarea {id} value={f.note.clone()} required={required}
                        oninput={on_text(|f, v| f.note = v)} />
                    { problem.unwrap_or_default() }
                </label>
            }
        }
    }
}
