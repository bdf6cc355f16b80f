//! Sync (`/sync`): where this device's work stands with the centre's server. When it last
//! synced, what waits to be sent, what the last sync moved, why it failed and when it retries,
//! which documents the server refused, and a button to sync now. Below, this device's settings:
//! reminders (提醒) of cases due soon, overdue or supervised, on or off.

use crate::app::{use_lang, use_shell};
use crate::bridge::{self, SyncState};
use crate::i18n::{t, tf, Key, Lang};
use crate::sync_line;
use crate::time;
use crate::widgets::{checked_of, error_text, loaded, use_load, Load};
use yew::prelude::*;

/// This device's settings: reminders on or off, kept in the store by the core.
#[function_component(SettingsCard)]
fn settings_card() -> Html {
    let l = use_lang();
    let settings = use_load((), |_| bridge::settings());
    let failed = use_state(|| None::<String>);
    let onchange = {
        let (settings, failed) = (settings.clone(), failed.clone());
        Callback::from(move |e: Event| {
            let on = checked_of(&e);
            let (settings, failed) = (settings.clone(), failed.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match bridge::set_reminders(&on).await {
                    Ok(s) => {
                        failed.set(None);
                        settings.set(Load::Ready(s));
                    }
                    Err(e) => failed.set(Some(error_text(l, &e))),
                }
            });
        })
    };
    let body = loaded(l, &settings, |s| {
        html! {
            <>
                <label class="check">
                    <input type="checkbox" id="settings-reminders" checked={s.reminders} onchange={onchange.clone()} />
                    { t(l, Key::RemindersToggle) }
                </label>
                <p class="muted">{ t(l, Key::RemindersHint) }</p>
            </>
        }
    });
    html! {
        <section class="card" id="settings">
            <h3>{ t(l, Key::SettingsTitle) }</h3>
            { body }
            if let Some(m) = &*failed { <p class="error" role="alert">{ m.clone() }</p> }
        </section>
    }
}

#[function_component(SyncPage)]
pub fn sync_page() -> Html {
    let l = use_lang();
    let shell = use_shell();
    // The answer of "sync now" (newer than the shell's until the shell hears of the next).
    let answered = use_state(|| None::<SyncState>);
    let busy = use_state(|| false);
    let failed = use_state(|| None::<String>);
    {
        let refresh = shell.refresh_sync.clone();
        use_effect_with((), move |_| refresh.emit(()));
    }
    let onclick = {
        let (answered, busy, failed, refresh) = (
            answered.clone(),
            busy.clone(),
            failed.clone(),
            shell.refresh_sync.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            if *busy {
                return;
            }
            busy.set(true);
            failed.set(None);
            let (answered, busy, failed, refresh) = (
                answered.clone(),
                busy.clone(),
                failed.clone(),
                refresh.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match bridge::sync_now().await {
                    Ok(s) => answered.set(Some(s)),
                    Err(e) => failed.set(Some(error_text(l, &e))),
                }
                busy.set(false);
                refresh.emit(());
            });
        })
    };
    // The shell hears of every change (and is asked again after "sync now").
    let state = shell.sync.clone().or_else(|| (*answered).clone());
    let now = time::now_ms();
    let syncing = *busy || state.as_ref().is_some_and(|s| s.syncing);
    let enrolled = state.as_ref().is_some_and(|s| s.enrolled);
    let body = match &state {
        None => html! { <p class="muted" id="sync-status">{ t(l, Key::Loading) }</p> },
        Some(s) => {
            html! {
                <>
                    <dl class="facts">
                        <div class="fact">
                            <dt>{ t(l, Key::FilterStatus) }</dt>
                            <dd id="sync-status" class={sync_line::tone(s).class()}>
                                { if *busy { t(l, Key::Syncing).to_owned() } else { sync_line::status(s, l, now) } }
                            </dd>
                        </div>
                        <div class="fact">
                            <dt>{ t(l, Key::SyncedAt) }</dt>
                            <dd id="sync-last">
                                { match s.last_synced_at {
                                    Some(at) => time::moment(at, now, l),
                                    None => t(l, Key::NeverSynced).to_owned(),
                                } }
                            </dd>
                        </div>
                        <div class="fact">
                            <dt>{ t(l, Key::Waiting) }</dt>
                            <dd id="sync-waiting">{ s.waiting }</dd>
                        </div>
                        <div class="fact">
                            <dt>{ t(l, Key::PhotosWaiting) }</dt>
                            <dd id="sync-photos-waiting">{ s.photos_waiting }</dd>
                        </div>
                        <div class="fact">
                            <dt>{ t(l, Key::ServerAddress) }</dt>
                            <dd id="sync-server">{ s.server.clone().unwrap_or_default() }</dd>
                        </div>
                    </dl>
                    if s.last_synced_at.is_some() {
                        <p class="muted" id="sync-moved">{ tf(l, Key::LastMoved, &[&s.last_sent, &s.last_received]) }</p>
                    }
                    if let Some(e) = sync_line::error_text(s, l) {
                        <p class="error" id="sync-error">
                            { if s.offline { t(l, Key::Offline).to_owned() } else { tf(l, Key::SyncFailed, &[&e]) } }
                        </p>
                        if let Some(at) = s.retry_at {
                            <p class="muted">{ tf(l, Key::RetryAt, &[&time::moment(at, now, l)]) }</p>
                        }
                    } else if s.enrolled && s.waiting == 0 && s.photos_waiting == 0 && !syncing && s.last_synced_at.is_some() {
                        <p class="ok">{ t(l, Key::SyncUpToDate) }</p>
                    }
                </>
            }
        }
    };
    html! {
        <div id="sync" class="page">
            <section class="card">
                <h2>{ t(l, Key::SyncTitle) }</h2>
                { body }
                <button type="button" class="primary" id="sync-now" disabled={*busy || !enrolled} {onclick}>
                    { t(l, if syncing { Key::Syncing } else { Key::SyncNow }) }
                </button>
                if let Some(m) = &*failed { <p class="error" role="alert">{ m.clone() }</p> }
            </section>
            if let Some(s) = &state {
                <section class="card">
                    <h3>{ t(l, Key::Refused) }</h3>
                    if s.refused.is_empty() {
                        <p class="muted" id="sync-refused-none">{ t(l, Key::NothingRefused) }</p>
                    } else {
                        <ul id="sync-refused" class="refused">
                            { for s.refused.iter().map(|r| html! {
                                <li class="refused-row"><code>{ r.doc.clone() }</code>
                                    <span>{ if l == Lang::Zh { r.zh.clone() } else { r.en.clone() } }</span></li>
                            }) }
                        </ul>
                    }
                </section>
            }
            <SettingsCard />
        </div>
    }
}
