//! Enrolment (`/enrol`): the first thing a new phone shows. The centre gives a server address
//! and a one-time code; once enrolled, the device knows its person and goes to today's work.

use crate::app::{use_lang, use_shell, Route};
use crate::bridge;
use crate::i18n::{t, Key};
use crate::widgets::{error_text, sleep, text_of};
use yew::prelude::*;
use yew_router::prelude::*;

#[function_component(EnrolPage)]
pub fn enrol_page() -> Html {
    let l = use_lang();
    let shell = use_shell();
    let navigator = use_navigator();
    let server = use_state(String::new);
    let code = use_state(String::new);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    // The shell may enrol by itself (a code given when it was started): look again every few
    // seconds while this screen shows; the shell goes on once the sync state says enrolled.
    {
        let refresh = shell.refresh_sync.clone();
        use_effect_with((), move |_| {
            let alive = std::rc::Rc::new(std::cell::Cell::new(true));
            let looking = alive.clone();
            wasm_bindgen_futures::spawn_local(async move {
                while looking.get() {
                    sleep(2_000).await;
                    if looking.get() {
                        refresh.emit(());
                    }
                }
            });
            move || alive.set(false)
        });
    }
    let on_server = {
        let server = server.clone();
        Callback::from(move |e: InputEvent| server.set(text_of(&e)))
    };
    let on_code = {
        let code = code.clone();
        Callback::from(move |e: InputEvent| code.set(text_of(&e)))
    };
    let onsubmit = {
        let (server, code, busy, error) =
            (server.clone(), code.clone(), busy.clone(), error.clone());
        let enrolled = shell.enrolled.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            busy.set(true);
            error.set(None);
            let (server, code) = ((*server).clone(), (*code).clone());
            let (busy, error, enrolled, navigator) = (
                busy.clone(),
                error.clone(),
                enrolled.clone(),
                navigator.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match bridge::enrol(
                    &server.trim().to_owned(),
                    &code.trim().to_owned(),
                    &t(l, Key::DeviceName).to_owned(),
                )
                .await
                {
                    Ok(me) => {
                        enrolled.emit(me);
                        if let Some(n) = navigator {
                            n.replace(&Route::Today);
                        }
                    }
                    Err(e) => error.set(Some(error_text(l, &e))),
                }
                busy.set(false);
            });
        })
    };
    html! {
        <form class="card" {onsubmit} novalidate=true>
            <h2>{ t(l, Key::EnrolTitle) }</h2>
            <p class="hint">{ t(l, Key::EnrolHint) }</p>
            <label>{ t(l, Key::ServerAddress) }
                <input id="enrol-server" type="url" inputmode="url" autocomplete="url"
                    placeholder="http://192.168.1.10:8737" value={(*server).clone()} oninput={on_server} />
            </label>
            <label>{ t(l, Key::EnrolCode) }
                <input id="enrol-code" autocapitalize="characters" autocomplete="one-time-code"
                    value={(*code).clone()} oninput={on_code} />
            </label>
            <button class="primary" id="enrol-submit" type="submit" disabled={*busy}>
                { t(l, if *busy { Key::Enrolling } else { Key::EnrolButton }) }
            </button>
            if let Some(m) = &*error { <p class="error" role="alert">{ m.clone() }</p> }
        </form>
    }
}
