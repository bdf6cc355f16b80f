//! The photos and files of a case: a list of what is attached, each shown on request (from this
//! device, or fetched from the centre's server), and one control that opens the phone's camera
//! (or, on a desk, a file picker) to attach another. The photo is saved on the device at once;
//! the background sync carries it to the server later.
//!
//! The camera comes from the platform's own file input with `capture`: Android's and iOS's web
//! views open the camera for it, a desktop opens a file picker. Nothing here needs a plugin.

use crate::app::{use_lang, use_shell};
use crate::bridge::{self, CaseScreen};
use crate::i18n::{t, Key};
use crate::widgets::error_text;
use app_core::ids::CaseId;
use app_core::model::{Attachment, ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES};
use base64::Engine as _;
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct PhotosProps {
    pub case: CaseId,
    pub attachments: Vec<Attachment>,
    /// The case as it is after a photo was attached.
    pub on_changed: Callback<CaseScreen>,
}

/// Why a chosen file cannot be attached, before it is sent to the core (which checks again).
pub fn problem(mime: &str, size: u64) -> Option<Key> {
    if !ATTACHMENT_TYPES.contains(&mime) {
        Some(Key::PhotoWrongType)
    } else if size == 0 || size > MAX_ATTACHMENT_BYTES {
        Some(Key::PhotoTooBig)
    } else {
        None
    }
}

fn size_text(bytes: u64) -> String {
    let kb = bytes.div_ceil(1024);
    if kb >= 1024 {
        format!("{:.1} MB", kb as f64 / 1024.0)
    } else {
        format!("{kb} KB")
    }
}

#[function_component(Photos)]
pub fn photos(p: &PhotosProps) -> Html {
    let l = use_lang();
    let shell = use_shell();
    // Shown photos: sha256 → data URL, or the reason it could not be shown.
    let shown = use_state(BTreeMap::<String, Result<String, String>>::new);
    let busy = use_state(|| false);
    let failed = use_state(|| None::<String>);

    let onchange = {
        let (busy, failed, case, on_changed) = (
            busy.clone(),
            failed.clone(),
            p.case.clone(),
            p.on_changed.clone(),
        );
        let refresh = shell.refresh_sync.clone();
        Callback::from(move |e: Event| {
            let input = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
            let Some(file) = input
                .as_ref()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0))
            else {
                return;
            };
            if let Some(i) = &input {
                // The same file may be chosen again after a failure.
                i.set_value("");
            }
            let (name, mime, size) = (file.name(), file.type_(), file.size() as u64);
            if let Some(key) = problem(&mime, size) {
                failed.set(Some(t(l, key).to_owned()));
                return;
            }
            let (busy, failed, case, on_changed, refresh) = (
                busy.clone(),
                failed.clone(),
                case.clone(),
                on_changed.clone(),
                refresh.clone(),
            );
            busy.set(true);
            failed.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
                let outcome = match read {
                    Ok(buf) => {
                        let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                        bridge::attach_photo(&case, &name, &mime, &encoded)
                            .await
                            .map_err(|e| error_text(l, &e))
                    }
                    Err(_) => Err(t(l, Key::PhotoUnreadable).to_owned()),
                };
                busy.set(false);
                match outcome {
                    Ok(screen) => {
                        on_changed.emit(screen);
                        refresh.emit(());
                    }
                    Err(m) => failed.set(Some(m)),
                }
            });
        })
    };

    let show = |a: &Attachment| {
        let (shown, case, sha) = (shown.clone(), p.case.clone(), a.sha256.clone());
        Callback::from(move |_: MouseEvent| {
            let (shown, case, sha) = (shown.clone(), case.clone(), sha.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r = bridge::attachment(&case, &sha)
                    .await
                    .map(|d| format!("data:{};base64,{}", d.mime, d.base64))
                    .map_err(|e| error_text(l, &e));
                let mut next = (*shown).clone();
                next.insert(sha, r);
                shown.set(next);
            });
        })
    };

    html! {
        <section class="card" id="case-photos">
            <h3>{ t(l, Key::PhotosTitle) }</h3>
            if p.attachments.is_empty() {
                <p class="muted">{ t(l, Key::NoPhotos) }</p>
            }
            <ul class="photos">
                { for p.attachments.iter().map(|a| html! {
                    <li class="photo-row" data-sha={a.sha256.clone()}>
                        <span class="photo-name">{ a.name.clone() }</span>
                        <span class="muted">{ size_text(a.size) }</span>
                        { match shown.get(&a.sha256) {
                            Some(Ok(url)) if a.mime.starts_with("image/") => html! {
                                <img class="photo" src={url.clone()} alt={a.name.clone()} />
                            },
                            Some(Ok(url)) => html! { <a href={url.clone()} download={a.name.clone()}>{ a.name.clone() }</a> },
                            Some(Err(m)) => html! { <span class="problem">{ m.clone() }</span> },
                            None => html! { <button class="photo-show" onclick={show(a)}>{ t(l, Key::ShowPhoto) }</button> },
                        } }
                    </li>
                }) }
            </ul>
            <label class="photo-add">
                { if *busy { t(l, Key::PhotoAdding) } else { t(l, Key::AddPhoto) } }
                <input id="case-photo" type="file" accept={ATTACHMENT_TYPES.join(",")}
                    capture="environment" disabled={*busy} {onchange} />
            </label>
            if let Some(m) = &*failed { <p class="error" role="alert">{ m.clone() }</p> }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_photos_and_scans_within_the_limit_are_offered_to_the_core() {
        assert_eq!(problem("image/jpeg", 300_000), None);
        assert_eq!(problem("application/pdf", MAX_ATTACHMENT_BYTES), None);
        assert_eq!(problem("image/gif", 1_000), Some(Key::PhotoWrongType));
        assert_eq!(problem("", 1_000), Some(Key::PhotoWrongType));
        assert_eq!(problem("image/png", 0), Some(Key::PhotoTooBig));
        assert_eq!(
            problem("image/png", MAX_ATTACHMENT_BYTES + 1),
            Some(Key::PhotoTooBig)
        );
    }

    #[test]
    fn sizes_read_as_kilobytes_or_megabytes() {
        assert_eq!(size_text(1), "1 KB");
        assert_eq!(size_text(300 * 1024), "300 KB");
        assert_eq!(size_text(3 * 1024 * 1024 + 512 * 1024), "3.5 MB");
    }
}
