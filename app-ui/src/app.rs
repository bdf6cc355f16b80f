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

/// Writes a typed value into the form.
type Setter = Box<dyn Fn(&mut ReportForm, String)>;

fn value_of(e: &Event) -> String {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        .map(|s| s.value())
        .unwrap_or_default()
}

#[function_component(ReportScreen)]
fn report_screen() -> Html {
    let ctx = use_context::<LangContext>().expect("language context");
    let form = use_state(|| ReportForm::new(UnitId::new("")));
    let saved = use_state(|| None::<Result<String, String>>);
    let taxonomy = Taxonomy::default();
    let l = ctx.lang;
    // A text field bound to the form: edits on input, marks it visited on blur.
    let field = |name: String, key: Key, value: String, multiline: bool, set: Setter| {
        let set = std::rc::Rc::new(set);
        let oninput = {
            let form = form.clone();
            Callback::from(move |e: InputEvent| {
                let mut f = (*form).clone();
                set(&mut f, text_of(&e));
                form.set(f);
            })
        };
        let onblur = {
            let (form, name) = (form.clone(), name.clone());
            Callback::from(move |_: FocusEvent| {
                let mut f = (*form).clone();
                f.touch(&name);
                form.set(f);
            })
        };
        let message = form.shown_message(&taxonomy, &name, l);
        let id = format!("report-{}", name.replace(['[', ']', '.'], "-"));
        html! {
            <label class={classes!(message.is_some().then_some("invalid"))}>
                { t(l, key) }
                if multiline {
                    <textarea {id} value={value} {oninput} {onblur} />
                } else {
                    <input {id} value={value} {oninput} {onblur} />
                }
                if let Some(m) = message { <span class="problem">{ m }</span> }
            </label>
        }
    };
    let on_category = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut f = (*form).clone();
            f.category = value_of(&e);
            f.touch("category");
            form.set(f);
        })
    };
    let category_message = form.shown_message(&taxonomy, "category", l);
    let parties: Html = (0..form.parties.len())
        .map(|i| {
            html! {
                <fieldset class="party">
                    { field(format!("parties[{i}].name"), Key::FieldPartyName, form.parties[i].name.clone(), false,
                        Box::new(move |f, v| f.parties[i].name = v)) }
                    { field(format!("parties[{i}].phone"), Key::FieldPhone, form.parties[i].phone.clone(), false,
                        Box::new(move |f, v| f.parties[i].phone = v)) }
                    { field(format!("parties[{i}].id_number"), Key::FieldIdNumber, form.parties[i].id_number.clone(), false,
                        Box::new(move |f, v| f.parties[i].id_number = v)) }
                </fieldset>
            }
        })
        .collect();
    let add_party = {
        let form = form.clone();
        Callback::from(move |_| {
            let mut f = (*form).clone();
            f.parties.push(crate::forms::PartyForm::new(
                app_core::model::PartyRole::ThirdParty,
            ));
            form.set(f);
        })
    };
    let onclick = {
        let (form, saved) = (form.clone(), saved.clone());
        let taxonomy = taxonomy.clone();
        Callback::from(move |_| {
            if !form.is_valid(&taxonomy) {
                let mut f = (*form).clone();
                f.attempted = true;
                form.set(f);
                return;
            }
            let report = form.to_new_case();
            let saved = saved.clone();
            wasm_bindgen_futures::spawn_local(async move {
                saved.set(Some(
                    bridge::report_case(&report)
                        .await
                        .map(|id| id.to_string())
                        .map_err(|e| e.to_string()),
                ));
            });
        })
    };
    html! {
        <section class="card">
            <h2>{ t(l, Key::ReportDispute) }</h2>
            { field("title".to_owned(), Key::FieldTitle, form.title.clone(), false, Box::new(|f, v| f.title = v)) }
            <label class={classes!(category_message.is_some().then_some("invalid"))}>
                { t(l, Key::FieldCategory) }
                <select id="report-category" onchange={on_category}>
                    <option value="" selected={form.category.is_empty()}>{ "—" }</option>
                    { for taxonomy.categories.iter().map(|c| html! {
                        <option value={c.code.as_str().to_owned()} selected={form.category == c.code.as_str()}>
                            { if l == Lang::Zh { c.zh.clone() } else { c.en.clone() } }
                        </option>
                    }) }
                </select>
                if let Some(m) = category_message { <span class="problem">{ m }</span> }
            </label>
            { field("narrative".to_owned(), Key::FieldNarrative, form.narrative.clone(), true, Box::new(|f, v| f.narrative = v)) }
            { field("address".to_owned(), Key::FieldAddress, form.address.clone(), false, Box::new(|f, v| f.address = v)) }
            <h3>{ t(l, Key::FieldParties) }</h3>
            if let Some(m) = form.shown_message(&taxonomy, "parties", l) { <p class="problem">{ m }</p> }
            { parties }
            <button id="report-add-party" onclick={add_party}>{ t(l, Key::AddParty) }</button>
            <button class="primary" id="report-save" {onclick}>{ t(l, Key::Save) }</button>
            { match &*saved {
                Some(Err(m)) => html! { <p class="error" role="alert">{ m.clone() }</p> },
                Some(Ok(_)) => html! { <p class="ok">{ t(l, Key::Saved) }</p> },
                None => html! {},
            } }
        </section>
    }
}
