//! The households of my grid (`/households`), least recently visited first: the grid worker's
//! round (入户走访). Each row opens the household to record a visit.

use crate::app::use_lang;
use crate::bridge;
use crate::i18n::{t, Key};
use crate::time;
use crate::widgets::{loaded, use_load, HouseholdRowView};
use yew::prelude::*;

#[function_component(HouseholdsPage)]
pub fn households_page() -> Html {
    let l = use_lang();
    let rows = use_load((), |_| bridge::households());
    let now = time::now_ms();
    html! {
        <div id="households" class="page">
            <h2 class="page-title">{ t(l, Key::NavHouseholds) }</h2>
            { loaded(l, &rows, |rows| html! {
                if rows.is_empty() {
                    <p class="card muted">{ t(l, Key::NoHouseholds) }</p>
                } else {
                    <div class="rows card">
                        { for rows.iter().map(|h| html! { <HouseholdRowView row={h.clone()} {now} /> }) }
                    </div>
                }
            }) }
        </div>
    }
}
