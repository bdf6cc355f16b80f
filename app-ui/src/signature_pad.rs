//! A place for a party to sign with a finger (or a stylus, or a mouse at the desk): a canvas
//! that draws the strokes as they are made and gives the drawing as a PNG data URL when the
//! finger lifts. The case screen's 调解成功 form shows one per party; what they draw is kept
//! with the case like a photo and printed into the agreement.
//!
//! The canvas keeps a fixed drawing size ([`WIDTH`] × [`HEIGHT`]) and is scaled by CSS to the
//! screen's width; a pointer's position is mapped back to the drawing. `touch-action: none`
//! (style.css) keeps the page from scrolling under the finger.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

/// The drawing's size in pixels (a signature line's proportions).
pub const WIDTH: u32 = 600;
pub const HEIGHT: u32 = 220;

#[derive(Properties, PartialEq, Debug)]
pub struct SignaturePadProps {
    /// The canvas's element id (the end-to-end tests draw on it).
    pub id: AttrValue,
    /// Who signs here ("申请人 张三签名").
    pub label: AttrValue,
    /// Whether a signature is held for this party (the form's state).
    pub signed: bool,
    /// The words under the pad: 已签名 / 未签名, 重签.
    pub signed_text: AttrValue,
    pub unsigned_text: AttrValue,
    pub clear_text: AttrValue,
    /// The drawing as a PNG data URL after each stroke; `None` once cleared.
    pub on_change: Callback<Option<String>>,
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

/// The pointer's position in the drawing's pixels.
fn at(canvas: &HtmlCanvasElement, e: &PointerEvent) -> (f64, f64) {
    let rect = canvas.get_bounding_client_rect();
    let sx = f64::from(WIDTH) / rect.width().max(1.0);
    let sy = f64::from(HEIGHT) / rect.height().max(1.0);
    (
        (f64::from(e.client_x()) - rect.left()) * sx,
        (f64::from(e.client_y()) - rect.top()) * sy,
    )
}

#[function_component(SignaturePad)]
pub fn signature_pad(p: &SignaturePadProps) -> Html {
    let canvas = use_node_ref();
    // The last point of the stroke being drawn; `None` when the finger is up.
    let last = use_mut_ref(|| None::<(f64, f64)>);

    let down = {
        let (canvas, last) = (canvas.clone(), last.clone());
        Callback::from(move |e: PointerEvent| {
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else {
                return;
            };
            e.prevent_default();
            let _ = c.set_pointer_capture(e.pointer_id());
            let (x, y) = at(&c, &e);
            if let Some(ctx) = context(&c) {
                // A dot, so that a tap leaves a mark.
                ctx.set_fill_style_str("#1a1a40");
                ctx.begin_path();
                let _ = ctx.arc(x, y, 2.2, 0.0, std::f64::consts::TAU);
                ctx.fill();
            }
            *last.borrow_mut() = Some((x, y));
        })
    };
    let moved = {
        let (canvas, last) = (canvas.clone(), last.clone());
        Callback::from(move |e: PointerEvent| {
            let Some(from) = *last.borrow() else { return };
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else {
                return;
            };
            e.prevent_default();
            let to = at(&c, &e);
            if let Some(ctx) = context(&c) {
                ctx.set_stroke_style_str("#1a1a40");
                ctx.set_line_width(4.5);
                ctx.set_line_cap("round");
                ctx.set_line_join("round");
                ctx.begin_path();
                ctx.move_to(from.0, from.1);
                ctx.line_to(to.0, to.1);
                ctx.stroke();
            }
            *last.borrow_mut() = Some(to);
        })
    };
    let up = {
        let (canvas, last, on_change) = (canvas.clone(), last.clone(), p.on_change.clone());
        Callback::from(move |_: PointerEvent| {
            if last.borrow_mut().take().is_none() {
                return;
            }
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else {
                return;
            };
            if let Ok(url) = c.to_data_url_with_type("image/png") {
                on_change.emit(Some(url));
            }
        })
    };
    let clear = {
        let (canvas, on_change) = (canvas.clone(), p.on_change.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                if let Some(ctx) = context(&c) {
                    ctx.clear_rect(0.0, 0.0, f64::from(WIDTH), f64::from(HEIGHT));
                }
            }
            on_change.emit(None);
        })
    };
    let state = if p.signed {
        &p.signed_text
    } else {
        &p.unsigned_text
    };
    html! {
        <div class={classes!("signature", p.signed.then_some("signed"))}>
            <span class="signature-label">{ p.label.clone() }</span>
            <canvas id={p.id.clone()} class="signature-pad" ref={canvas}
                width={WIDTH.to_string()} height={HEIGHT.to_string()}
                onpointerdown={down} onpointermove={moved.clone()}
                onpointerup={up.clone()} onpointercancel={up} />
            <div class="signature-foot">
                <span class="signature-state">{ state.clone() }</span>
                <button type="button" class="secondary signature-clear" onclick={clear}>
                    { p.clear_text.clone() }
                </button>
            </div>
        </div>
    }
}
