//! Pieces every screen uses: reading inputs, loading a screen through the bridge, showing an
//! error, links that keep the app a single page, and the two rows that appear on several screens
//! (a case row, a household row). Kept in one place so that a case looks the same on the today
//! screen, in the case list and after a visit.

use crate::app::{use_lang, Route};
use crate::bridge::{BridgeError, CaseRow, HouseholdRow};
use crate::i18n::{self, t, tf, Key, Lang};
use crate::{labels, time};
use app_core::warning::Level;
use std::future::Future;
use wasm_bindgen::JsCast;
use yew::prelude::*;
use yew_router::prelude::*;

/// The text of an `<input>` or `<textarea>` after an input event.
pub fn text_of(e: &InputEvent) -> String {
    let target = e.target();
    if let Some(i) = target
        .clone()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        return i.value();
    }
    target
        .and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
        .map(|t| t.value())
        .unwrap_or_default()
}

/// The value of a `<select>` after a change event.
pub fn value_of(e: &Event) -> String {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        .map(|s| s.value())
        .unwrap_or_default()
}

/// Whether a checkbox is ticked after a change event.
pub fn checked_of(e: &Event) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .is_some_and(|i| i.checked())
}

/// A screen's data as it arrives.
#[derive(Clone, Debug, PartialEq)]
pub enum Load<T> {
    Loading,
    Ready(T),
    Failed(BridgeError),
}

/// Loads through the bridge whenever `deps` change. An answer that arrives after a newer request
/// was made is dropped, so typing in a search box never shows an older list last.
#[hook]
pub fn use_load<T, D, F, Fut>(deps: D, load: F) -> UseStateHandle<Load<T>>
where
    T: 'static,
    D: PartialEq + Clone + 'static,
    F: FnOnce(D) -> Fut + 'static,
    Fut: Future<Output = Result<T, BridgeError>> + 'static,
{
    let state = use_state(|| Load::Loading);
    let generation = use_mut_ref(|| 0u64);
    {
        let state = state.clone();
        use_effect_with(deps, move |deps| {
            *generation.borrow_mut() += 1;
            let mine = *generation.borrow();
            let future = load(deps.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let answer = future.await;
                if *generation.borrow() == mine {
                    state.set(match answer {
                        Ok(v) => Load::Ready(v),
                        Err(e) => Load::Failed(e),
                    });
                }
            });
        });
    }
    state
}

/// `value`, once it has stopped changing for `ms` milliseconds: typing in a search box asks the
/// core once per pause, not once per keystroke.
#[hook]
pub fn use_debounced<T>(value: T, ms: i32) -> T
where
    T: Clone + PartialEq + 'static,
{
    let settled = use_state_eq(|| value.clone());
    let generation = use_mut_ref(|| 0u64);
    {
        let settled = settled.clone();
        use_effect_with(value, move |v| {
            *generation.borrow_mut() += 1;
            let mine = *generation.borrow();
            let v = v.clone();
            wasm_bindgen_futures::spawn_local(async move {
                sleep(ms).await;
                if *generation.borrow() == mine {
                    settled.set(v);
                }
            });
        });
    }
    (*settled).clone()
}

/// Waits `ms` milliseconds (the browser's timer).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// What to tell the person about a failed command.
pub fn error_text(lang: Lang, e: &BridgeError) -> String {
    match e {
        BridgeError::NoShell => t(lang, Key::NoShell).to_owned(),
        BridgeError::Refused { zh, en } => match lang {
            Lang::Zh => zh.clone(),
            Lang::En => en.clone(),
        },
        BridgeError::Garbled(m) => tf(lang, Key::Garbled, &[m]),
    }
}

/// An error, announced to screen readers.
pub fn error_view(lang: Lang, e: &BridgeError) -> Html {
    html! { <p class="error" role="alert">{ error_text(lang, e) }</p> }
}

/// The placeholder while a screen loads.
pub fn loading(lang: Lang) -> Html {
    html! { <p class="loading" aria-busy="true">{ t(lang, Key::Loading) }</p> }
}

/// Renders a loaded screen, or its loading line or error.
pub fn loaded<T>(lang: Lang, state: &Load<T>, ready: impl FnOnce(&T) -> Html) -> Html {
    match state {
        Load::Loading => loading(lang),
        Load::Failed(e) => error_view(lang, e),
        Load::Ready(v) => ready(v),
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct RouteLinkProps {
    pub to: Route,
    #[prop_or_default]
    pub query: Option<Vec<(String, String)>>,
    #[prop_or_default]
    pub id: Option<AttrValue>,
    #[prop_or_default]
    pub class: Classes,
    #[prop_or_default]
    pub data_id: Option<AttrValue>,
    #[prop_or_default]
    pub aria_current: Option<AttrValue>,
    #[prop_or_default]
    pub children: Html,
}

/// An `<a>` to a route of the app (with an optional query), followed without reloading.
#[function_component(RouteLink)]
pub fn route_link(p: &RouteLinkProps) -> Html {
    let navigator = use_navigator();
    let path = p.to.to_path();
    let href = match &p.query {
        Some(q) if !q.is_empty() => {
            let pairs: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        _ => path,
    };
    let onclick = {
        let (to, query) = (p.to.clone(), p.query.clone());
        Callback::from(move |e: MouseEvent| {
            if e.meta_key() || e.ctrl_key() || e.shift_key() || e.alt_key() {
                return;
            }
            let Some(nav) = &navigator else { return };
            e.prevent_default();
            match &query {
                Some(q) => {
                    if nav.push_with_query(&to, q).is_err() {
                        nav.push(&to);
                    }
                }
                None => nav.push(&to),
            }
        })
    };
    html! {
        <a {href} id={p.id.clone()} class={p.class.clone()} data-id={p.data_id.clone()}
           aria-current={p.aria_current.clone()} {onclick}>
            { p.children.clone() }
        </a>
    }
}

fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

#[derive(Properties, PartialEq, Debug)]
pub struct CaseRowProps {
    pub row: CaseRow,
    /// Now (UTC milliseconds), for the dates.
    pub now: i64,
}

/// A case in a list: title, status, deadline (and the supervision that set it, 督办), its 12345
/// work order's state (and whether the centre is late with it), category, place and parties;
/// opens the case.
#[function_component(CaseRowView)]
pub fn case_row(p: &CaseRowProps) -> Html {
    let l = use_lang();
    let s = &p.row.summary;
    let id = s.id.to_string();
    let due = html! {
        <span class={classes!("case-due", format!("due-{}", p.row.due.code()))}>
            { labels::due(l, p.row.due) }
            if !matches!(p.row.due, app_core::deadline::DueState::Handled) {
                { " · " }{ tf(l, Key::DueOn, &[&time::deadline(s.due_at, p.now, l)]) }
            }
        </span>
    };
    html! {
        <RouteLink to={Route::Case { id: id.clone() }} class="case-row" data_id={AttrValue::from(id)}>
            <span class="case-line">
                <span class="case-title">{ s.title.clone() }</span>
                <span class={classes!("case-status", format!("status-{}", s.status.code()))}>
                    { labels::status(l, s.status) }
                </span>
            </span>
            <span class="case-line case-meta">
                <span class="case-category">{ labels::category(l, &s.category, &p.row.category_name) }</span>
                <span class="case-place">{ p.row.place_name.clone() }</span>
                if !s.party_names.is_empty() {
                    <span class="case-parties">{ i18n::join(l, &s.party_names) }</span>
                }
            </span>
            <span class="case-line case-meta">
                { due }
                if let Some(sup) = &s.supervised {
                    <span class={classes!("supervise-badge", labels::supervise_class(sup.level))}>
                        { labels::supervise_level(l, sup.level) }
                    </span>
                }
                if let Some(o) = &s.order {
                    <span class={classes!("order-badge", labels::order_state_class(o.state))}>
                        { format!("{} · {}", t(l, Key::WorkOrder), labels::order_state(l, o.state)) }
                    </span>
                    if o.overdue(p.now) {
                        <span class="order-overdue">{ t(l, Key::OrderOverdue) }</span>
                    }
                }
                if s.conflicts > 0 {
                    <span class="case-conflict">{ t(l, Key::ConflictMark) }</span>
                }
            </span>
        </RouteLink>
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct HouseholdRowProps {
    pub row: HouseholdRow,
    pub now: i64,
}

/// A household in the visit list: head, address, size and when it was last visited.
#[function_component(HouseholdRowView)]
pub fn household_row(p: &HouseholdRowProps) -> Html {
    let l = use_lang();
    let h = &p.row;
    let id = h.id.to_string();
    html! {
        <RouteLink to={Route::Household { id: id.clone() }} class="household-row" data_id={AttrValue::from(id)}>
            <span class="case-line">
                <span class="household-head">{ h.head.clone() }</span>
                <span class="household-members">{ tf(l, Key::Members, &[&h.members]) }</span>
            </span>
            <span class="case-line case-meta">
                <span class="household-address">{ h.address.clone() }</span>
            </span>
            <span class="case-line case-meta">
                <span class={classes!("household-last", h.last_visit_at.is_none().then_some("never"))}>
                    { match h.last_visit_at {
                        Some(at) => format!("{} {}", t(l, Key::LastVisit), time::moment(at, p.now, l)),
                        None => t(l, Key::NeverVisited).to_owned(),
                    } }
                </span>
                <span class="household-visits">{ tf(l, Key::VisitCount, &[&h.visits]) }</span>
            </span>
        </RouteLink>
    }
}

/// An alert's level as a coloured badge (红色预警 on red…).
pub fn level_badge(l: Lang, level: Level) -> Html {
    html! {
        <span class={classes!("level-badge", labels::level_class(level))}>{ labels::level(l, level) }</span>
    }
}
