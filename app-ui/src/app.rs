//! The application shell: language, who is using the device, the routes, the header with the
//! sync line and the bottom tab bar. Phone-sized first (360–414 px), thumb-reachable tabs at the
//! bottom. On a desk (a screen [`crate::desk::DESK_MIN_WIDTH_PX`] wide or more, [`use_desk`])
//! the tabs become a rail on the left, the case list and the open case stand side by side, and
//! centre staff get the ledger (台账). Every screen is a page in [`crate::pages`].

use crate::bridge::{self, BridgeError, Me, SyncState};
use crate::i18n::{t, Key, Lang};
use crate::pages;
use crate::sync_line;
use crate::time;
use crate::widgets::RouteLink;
use std::rc::Rc;
use yew::prelude::*;
use yew_router::prelude::*;

/// The screens.
#[derive(Clone, Debug, PartialEq, Routable)]
pub enum Route {
    #[at("/")]
    Today,
    #[at("/enrol")]
    Enrol,
    #[at("/households")]
    Households,
    #[at("/households/:id")]
    Household { id: String },
    #[at("/report")]
    Report,
    #[at("/cases")]
    Cases,
    #[at("/cases/:id")]
    Case { id: String },
    #[at("/figures")]
    Figures,
    #[at("/sync")]
    Sync,
    #[at("/roster")]
    Roster,
    /// 风险预警: the alerts of the unit (centre staff).
    #[at("/alerts")]
    Alerts,
    /// A matter (事项): cases staff linked as one.
    #[at("/matters/:id")]
    Matter { id: String },
    /// 台账: the centre's ledger as a table, with its exports (the desk's screen).
    #[at("/ledger")]
    Ledger,
    #[not_found]
    #[at("/404")]
    NotFound,
}

/// The current language, shared by every component.
#[derive(Clone, Debug, PartialEq)]
pub struct LangContext {
    pub lang: Lang,
    pub switch: Callback<()>,
}

/// The current language.
#[hook]
pub fn use_lang() -> Lang {
    use_context::<LangContext>()
        .map(|c| c.lang)
        .unwrap_or_default()
}

/// Who uses the device, as far as the shell knows.
#[derive(Clone, Debug, PartialEq)]
pub enum Person {
    Loading,
    Known(Rc<Me>),
    NotEnrolled,
    /// `me` failed for another reason (outside the app: no shell).
    Unknown(BridgeError),
}

/// What the shell shares with every page.
#[derive(Clone, Debug, PartialEq)]
pub struct ShellContext {
    pub person: Person,
    pub sync: Option<SyncState>,
    /// Asks the shell for the sync state again (pages call it after each write).
    pub refresh_sync: Callback<()>,
    /// The device has just been enrolled as this person.
    pub enrolled: Callback<Me>,
}

impl ShellContext {
    /// The enrolled person, once known.
    pub fn me(&self) -> Option<Rc<Me>> {
        match &self.person {
            Person::Known(me) => Some(me.clone()),
            _ => None,
        }
    }
}

/// The shell's context (pages are always inside the shell).
#[hook]
pub fn use_shell() -> ShellContext {
    use_context::<ShellContext>().unwrap_or_else(|| ShellContext {
        person: Person::Loading,
        sync: None,
        refresh_sync: Callback::noop(),
        enrolled: Callback::noop(),
    })
}

/// Whether the window is desk-wide ([`crate::desk::desk_query`]), following it as the window is
/// resized. A phone is never desk-wide, so its screens stay exactly as they are.
#[hook]
pub fn use_desk() -> bool {
    let query = use_memo((), |_| {
        web_sys::window().and_then(|w| w.match_media(&crate::desk::desk_query()).ok().flatten())
    });
    let desk = use_state_eq(|| query.as_ref().as_ref().is_some_and(|q| q.matches()));
    {
        let desk = desk.clone();
        use_effect_with(query, move |query| {
            let listener = query.as_ref().as_ref().map(|q| {
                let q2 = q.clone();
                let handler = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
                    desk.set(q2.matches());
                });
                let _ = q.add_event_listener_with_callback(
                    "change",
                    wasm_bindgen::JsCast::unchecked_ref(handler.as_ref()),
                );
                (q.clone(), handler)
            });
            move || {
                if let Some((q, handler)) = listener {
                    let _ = q.remove_event_listener_with_callback(
                        "change",
                        wasm_bindgen::JsCast::unchecked_ref(handler.as_ref()),
                    );
                }
            }
        });
    }
    *desk
}

const LANG_KEY: &str = "fengqiao.lang";

fn stored_lang() -> Lang {
    let stored = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten());
    match stored.as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

fn apply_lang(lang: Lang) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Some(root) = window.document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", lang.tag());
    }
    if let Ok(Some(storage)) = window.local_storage() {
        let _ = storage.set_item(LANG_KEY, lang.tag());
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let lang = use_state(stored_lang);
    use_effect_with(*lang, |l| apply_lang(*l));
    let switch = {
        let lang = lang.clone();
        Callback::from(move |_| lang.set(lang.other()))
    };
    let ctx = LangContext {
        lang: *lang,
        switch,
    };
    html! {
        <ContextProvider<LangContext> context={ctx}>
            <BrowserRouter>
                <Shell />
            </BrowserRouter>
        </ContextProvider<LangContext>>
    }
}

/// Whether a failed `me` means the device is not enrolled (the core says so in both languages).
pub fn is_not_enrolled(e: &BridgeError) -> bool {
    matches!(e, BridgeError::Refused { zh, en } if en.contains("not enrolled") || zh.contains("尚未登记"))
}

#[function_component(Shell)]
fn shell() -> Html {
    let person = use_state(|| Person::Loading);
    let sync = use_state(|| None::<SyncState>);
    let navigator = use_navigator();
    let route = use_route::<Route>().unwrap_or(Route::Today);
    let refresh_sync = {
        let sync = sync.clone();
        Callback::from(move |()| {
            let sync = sync.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(s) = bridge::sync_state().await {
                    sync.set(Some(s));
                }
            });
        })
    };
    {
        let (person, sync, refresh_sync) = (person.clone(), sync.clone(), refresh_sync.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                person.set(match bridge::me().await {
                    Ok(me) => Person::Known(Rc::new(me)),
                    Err(e) if is_not_enrolled(&e) => Person::NotEnrolled,
                    Err(e) => match bridge::sync_state().await {
                        Ok(s) if !s.enrolled => Person::NotEnrolled,
                        _ => Person::Unknown(e),
                    },
                });
            });
            bridge::on_sync_state(move |s| sync.set(Some(s)));
            bridge::on_network_back();
            refresh_sync.emit(());
        });
    }
    // Enrolled by the shell itself (a code given at start): the sync state says so first.
    {
        let (person, navigator) = (person.clone(), navigator.clone());
        let enrolled_now = sync.as_ref().is_some_and(|s| s.enrolled);
        use_effect_with(enrolled_now, move |enrolled_now| {
            if *enrolled_now && *person == Person::NotEnrolled {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(me) = bridge::me().await {
                        person.set(Person::Known(Rc::new(me)));
                        if let Some(n) = navigator {
                            n.replace(&Route::Today);
                        }
                    }
                });
            }
        });
    }
    // A device that is not enrolled can only enrol.
    {
        let navigator = navigator.clone();
        use_effect_with(
            ((*person).clone(), route.clone()),
            move |(person, route)| {
                if *person == Person::NotEnrolled && *route != Route::Enrol {
                    if let Some(n) = navigator {
                        n.replace(&Route::Enrol);
                    }
                }
            },
        );
    }
    let enrolled = {
        let (person, refresh_sync) = (person.clone(), refresh_sync.clone());
        Callback::from(move |me: Me| {
            person.set(Person::Known(Rc::new(me)));
            refresh_sync.emit(());
        })
    };
    let ctx = ShellContext {
        person: (*person).clone(),
        sync: (*sync).clone(),
        refresh_sync,
        enrolled,
    };
    let show_tabs = !matches!(*person, Person::NotEnrolled) && route != Route::Enrol;
    let desk = use_desk();
    // On a desk the case list and the case scroll on their own, side by side.
    let split = desk && matches!(route, Route::Cases | Route::Case { .. });
    html! {
        <ContextProvider<ShellContext> context={ctx.clone()}>
            <Header />
            <main class={classes!("screen", show_tabs.then_some("with-tabs"), desk.then_some("desk"), split.then_some("split"))}>
                if let Person::Unknown(e) = &*person {
                    if *e == BridgeError::NoShell { <NoShellBanner /> }
                }
                <Switch<Route> render={if desk { render_desk } else { render }} />
            </main>
            if show_tabs { <TabBar /> }
        </ContextProvider<ShellContext>>
    }
}

fn render(route: Route) -> Html {
    match route {
        Route::Today => html! { <pages::today::TodayPage /> },
        Route::Enrol => html! { <pages::enrol::EnrolPage /> },
        Route::Households => html! { <pages::households::HouseholdsPage /> },
        Route::Household { id } => html! { <pages::household::HouseholdPage {id} /> },
        Route::Report => html! { <pages::report::ReportPage /> },
        Route::Cases => html! { <pages::cases::CasesPage /> },
        Route::Case { id } => html! { <pages::case::CasePage {id} /> },
        Route::Figures => html! { <pages::figures::FiguresPage /> },
        Route::Sync => html! { <pages::sync::SyncPage /> },
        Route::Roster => html! { <pages::roster::RosterPage /> },
        Route::Alerts => html! { <pages::alerts::AlertsPage /> },
        Route::Matter { id } => html! { <pages::matter::MatterPage {id} /> },
        Route::Ledger => html! { <pages::ledger::LedgerPage /> },
        Route::NotFound => html! { <Redirect<Route> to={Route::Today} /> },
    }
}

/// The routes on a desk: the case list stays on the left while a case is open on the right
/// (the same list component on both routes, so its search and filters stay as they were).
fn render_desk(route: Route) -> Html {
    match route {
        Route::Cases => html! { <DeskCases case={None::<String>} /> },
        Route::Case { id } => html! { <DeskCases case={Some(id)} /> },
        other => render(other),
    }
}

#[derive(Properties, PartialEq)]
struct DeskCasesProps {
    case: Option<String>,
}

#[function_component(DeskCases)]
fn desk_cases(p: &DeskCasesProps) -> Html {
    let l = use_lang();
    // The open case's row stands out in the list (its `data-id`; an id is letters, digits and
    // hyphens, anything else in the address is left out of the rule).
    let selected = p.case.as_ref().map(|id| {
        let id: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        format!("#desk-list .case-row[data-id=\"{id}\"] {{ background: var(--info-soft); box-shadow: inset 4px 0 0 var(--info); }}")
    });
    html! {
        <div id="desk-cases" class="desk-split">
            if let Some(rule) = selected {
                <style>{ rule }</style>
            }
            <div id="desk-list" class="split-pane split-list">
                <pages::cases::CasesPage />
            </div>
            <div id="desk-case" class="split-pane split-case">
                if let Some(id) = p.case.clone() {
                    <pages::case::CasePage {id} />
                } else {
                    <p id="desk-pick" class="card muted desk-pick">{ t(l, Key::DeskPickCase) }</p>
                }
            </div>
        </div>
    }
}

#[function_component(NoShellBanner)]
fn no_shell_banner() -> Html {
    let l = use_lang();
    html! { <p class="banner" role="status">{ t(l, Key::NoShell) }</p> }
}

#[function_component(Header)]
fn header() -> Html {
    let ctx = use_context::<LangContext>().expect("language context");
    let shell = use_shell();
    let l = ctx.lang;
    let onclick = {
        let switch = ctx.switch.clone();
        Callback::from(move |_| switch.emit(()))
    };
    let (line, tone) = match &shell.sync {
        Some(s) => (
            sync_line::line(s, l, time::now_ms()),
            sync_line::tone(s).class(),
        ),
        None => (String::new(), "sync-unknown"),
    };
    html! {
        <header class="bar">
            <div class="bar-titles">
                <h1>{ t(l, Key::AppName) }</h1>
                if let Some(me) = shell.me() {
                    <span class="bar-who">{ format!("{} · {}", me.name, me.unit_name) }</span>
                }
            </div>
            <RouteLink to={Route::Sync} id="sync-line" class={classes!("sync-line", tone)}>
                { line }
            </RouteLink>
            <button class="lang" id="lang-switch" {onclick}>{ t(l, Key::SwitchLanguage) }</button>
        </header>
    }
}

/// One tab: its route, id, label and icon (an SVG path on a 24-unit grid).
struct Tab {
    route: Route,
    id: &'static str,
    key: Key,
    icon: &'static str,
}

const ICON_TODAY: &str = "M4 5h16v15H4z M4 9h16 M8 3v4 M16 3v4";
const ICON_HOUSEHOLDS: &str = "M3 11l9-7 9 7 M5 10v10h14V10 M10 20v-6h4v6";
const ICON_CASES: &str = "M5 4h14v16H5z M8 8h8 M8 12h8 M8 16h5";
const ICON_REPORT: &str = "M12 5v14 M5 12h14";
const ICON_FIGURES: &str = "M5 20V10 M12 20V4 M19 20v-7";
const ICON_LEDGER: &str = "M4 4h16v16H4z M4 9h16 M4 14h16 M10 4v16";
const ICON_SYNC: &str = "M20 7a8 8 0 0 0-14 1 M4 17a8 8 0 0 0 14-1 M20 3v4h-4 M4 21v-4h4";

#[function_component(TabBar)]
fn tab_bar() -> Html {
    let l = use_lang();
    let shell = use_shell();
    let route = use_route::<Route>().unwrap_or(Route::Today);
    let has_grids = shell.me().is_some_and(|me| !me.grids.is_empty());
    // The ledger is the centre's, and a desk's: a phone's tabs stay as they are.
    let ledger = use_desk() && shell.me().is_some_and(|me| me.at_centre);
    let mut tabs = vec![Tab {
        route: Route::Today,
        id: "nav-today",
        key: Key::NavToday,
        icon: ICON_TODAY,
    }];
    if has_grids {
        tabs.push(Tab {
            route: Route::Households,
            id: "nav-households",
            key: Key::NavHouseholds,
            icon: ICON_HOUSEHOLDS,
        });
    }
    tabs.extend([
        Tab {
            route: Route::Cases,
            id: "nav-cases",
            key: Key::NavCases,
            icon: ICON_CASES,
        },
        Tab {
            route: Route::Report,
            id: "nav-report",
            key: Key::NavReport,
            icon: ICON_REPORT,
        },
        Tab {
            route: Route::Figures,
            id: "nav-figures",
            key: Key::NavFigures,
            icon: ICON_FIGURES,
        },
    ]);
    if ledger {
        tabs.push(Tab {
            route: Route::Ledger,
            id: "nav-ledger",
            key: Key::NavLedger,
            icon: ICON_LEDGER,
        });
    }
    tabs.extend([Tab {
        route: Route::Sync,
        id: "nav-sync",
        key: Key::NavSync,
        icon: ICON_SYNC,
    }]);
    let section = |r: &Route| match r {
        Route::Household { .. } => Route::Households,
        Route::Case { .. } | Route::Matter { .. } => Route::Cases,
        Route::Roster | Route::Alerts => Route::Today,
        other => other.clone(),
    };
    let current = section(&route);
    html! {
        <nav class="tabs" aria-label={t(l, Key::MainNavigation)}>
            { for tabs.into_iter().map(|tab| {
                let active = tab.route == current;
                html! {
                    <RouteLink to={tab.route} id={tab.id} class={classes!("tab", active.then_some("active"))}
                        aria_current={active.then_some(AttrValue::from("page"))}>
                        <svg class="tab-icon" viewBox="0 0 24 24" aria-hidden="true">
                            <path d={tab.icon} />
                        </svg>
                        <span>{ t(l, tab.key) }</span>
                    </RouteLink>
                }
            }) }
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_me_saying_not_enrolled_leads_to_enrolment() {
        // What the shell sends for `AppError::NotEnrolled`.
        assert!(is_not_enrolled(&BridgeError::Refused {
            zh: "本机尚未登记到综治中心".into(),
            en: "this device is not enrolled with a centre yet".into()
        }));
        assert!(!is_not_enrolled(&BridgeError::NoShell));
        assert!(!is_not_enrolled(&BridgeError::Refused {
            zh: "本机数据库出错".into(),
            en: "database is locked".into()
        }));
    }
}
