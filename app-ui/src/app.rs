//! The application shell: language, routes, header. Phone-sized first (360–414 px), large touch
//! targets, one column; it widens on a desk.

use crate::bridge;
use crate::forms::ReportForm;
use crate::i18n::{t, Key, Lang};
use app_core::ids::UnitId;
use app_core::taxonomy::Taxonomy;
use wasm_bindgen::JsCast;
use yew::prelude::*;
use yew_router::prelude::*;

/// The screens.
#[derive(Clone, Debug, PartialEq, Routable)]
pub enum Route {
    #[at("/")]
    Report,
    #[at("/enrol")]
    Enrol,
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

fn text_of(e: &InputEvent) -> String {
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

#[function_component(App)]
pub fn app() -> Html {
    let lang = use_state(Lang::default);
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
                <Header />
                <main class="screen">
                    <Switch<Route> render={render} />
                </main>
            </BrowserRouter>
        </ContextProvider<LangContext>>
    }
}

fn render(route: Route) -> Html {
    match route {
        Route::Report => html! { <ReportScreen /> },
        Route::Enrol => html! { <EnrolScreen /> },
        Route::NotFound => html! { <Redirect<Route> to={Route::Report} /> },
    }
}

#[function_component(Header)]
fn header() -> Html {
    let ctx = use_context::<LangContext>().expect("language context");
    let onclick = {
        let switch = ctx.switch.clone();
        Callback::from(move |_| switch.emit(()))
    };
    html! {
        <header class="bar">
            <h1>{ t(ctx.lang, Key::AppName) }</h1>
            <button class="lang" id="lang-switch" {onclick}>{ t(ctx.lang, Key::SwitchLanguage) }</button>
        </header>
    }
}

#[function_component(EnrolScreen)]
fn enrol_screen() -> Html {
    let ctx = use_context::<LangContext>().expect("language context");
    let server = use_state(String::new);
    let code = use_state(String::new);
    let outcome = use_state(|| None::<Result<(), String>>);
    let on_server = {
        let server = server.clone();
        Callback::from(move |e: InputEvent| server.set(text_of(&e)))
    };
    let on_code = {
        let code = code.clone();
        Callback::from(move |e: InputEvent| code.set(text_of(&e)))
    };
    let onclick = {
        let (server, code, outcome) = (server.clone(), code.clone(), outcome.clone());
        Callback::from(move |_| {
            let (server, code, outcome) = ((*server).clone(), (*code).clone(), outcome.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r = bridge::enrol(&server, &code, "手机").await;
                outcome.set(Some(r.map(|_| ()).map_err(|e| e.to_string())));
            });
        })
    };
    let l = ctx.lang;
    html! {
        <section class="card">
            <h2>{ t(l, Key::EnrolTitle) }</h2>
            <label>{ t(l, Key::ServerAddress) }
                <input id="enrol-server" type="url" inputmode="url" value={(*server).clone()} oninput={on_server} />
            </label>
            <label>{ t(l, Key::EnrolCode) }
                <input id="enrol-code" autocapitalize="characters" value={(*code).clone()} oninput={on_code} />
            </label>
            <button class="primary" id="enrol-submit" {onclick}>{ t(l, Key::EnrolButton) }</button>
            { match &*outcome {
                Some(Err(m)) => html! { <p class="error" role="alert">{ m.clone() }</p> },
                Some(Ok(())) => html! { <p class="ok">{ t(l, Key::Saved) }</p> },
                None => html! {},
            } }
        </section>
    }
}

#[function_component(ReportScreen)]
fn report_screen() -> Html {
    let ctx = use_context::<LangContext>().expect("language context");
    let form = use_state(|| ReportForm::new(UnitId::new("")));
    let saved = use_state(|| None::<Result<String, String>>);
    let taxonomy = Taxonomy::default();
    let l = ctx.lang;
    let field = |name: &'static str,
                 key: Key,
                 value: String,
                 multiline: bool,
                 set: fn(&mut ReportForm, String)| {
        let form_h = form.clone();
        let oninput = Callback::from(move |e: InputEvent| {
            let mut f = (*form_h).clone();
            set(&mut f, text_of(&e));
            form_h.set(f);
        });
        let message = form.message(&taxonomy, name, l);
        html! {
            <label class={classes!(message.is_some().then_some("invalid"))}>
                { t(l, key) }
                if multiline {
                    <textarea id={format!("report-{name}")} value={value} {oninput} />
                } else {
                    <input id={format!("report-{name}")} value={value} {oninput} />
                }
                if let Some(m) = message { <span class="problem">{ m }</span> }
            </label>
        }
    };
    let onclick = {
        let (form, saved) = (form.clone(), saved.clone());
        Callback::from(move |_| {
            let report = form.to_new_case();
            let saved = saved.clone();
            wasm_bindgen_futures::spawn_local(async move {
                saved.set(Some(
                    bridge::report_case(&report)
                        .await
                        .map_err(|e| e.to_string()),
                ));
            });
        })
    };
    html! {
        <section class="card">
            <h2>{ t(l, Key::ReportDispute) }</h2>
            { field("title", Key::FieldTitle, form.title.clone(), false, |f, v| f.title = v) }
            { field("category", Key::FieldCategory, form.category.clone(), false, |f, v| f.category = v) }
            { field("narrative", Key::FieldNarrative, form.narrative.clone(), true, |f, v| f.narrative = v) }
            { field("address", Key::FieldAddress, form.address.clone(), false, |f, v| f.address = v) }
            <button class="primary" id="report-save" disabled={!form.is_valid(&taxonomy)} {onclick}>{ t(l, Key::Save) }</button>
            { match &*saved {
                Some(Err(m)) => html! { <p class="error" role="alert">{ m.clone() }</p> },
                Some(Ok(_)) => html! { <p class="ok">{ t(l, Key::Saved) }</p> },
                None => html! {},
            } }
        </section>
    }
}
