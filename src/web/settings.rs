//! The page's form, described by Rust: every setting's default, range and the sentence that
//! refuses a value (`crate::training::settings`), and each optimizer's defaults. The page fills its
//! fields from this and asks here whether a value is acceptable as the user types.

use wasm_bindgen::prelude::*;

use crate::training::optimizer::{OptimizerConfig, OptimizerKind, ScheduleConfig};
use crate::training::recipe::RunSettings;
use crate::training::settings;

/// `{settings: [Setting], optimizers: [{name, learning_rate, weight_decay}], choices}` as JSON:
/// what the form's fields default to and accept, what choosing an optimizer brings, and the
/// menus' defaults.
#[wasm_bindgen(js_name = settingsSchema)]
pub fn settings_schema() -> String {
    let optimizers: Vec<_> = (OptimizerKind::ALL.iter())
        .map(|kind| {
            serde_json::json!({
                "name": kind,
                "learning_rate": kind.default_learning_rate(),
                "weight_decay": kind.default_weight_decay(),
            })
        })
        .collect();
    let choices = serde_json::json!({
        "optimizer": OptimizerConfig::new().kind,
        "schedule": ScheduleConfig::new().kind,
    });
    serde_json::json!({"settings": settings::ALL, "optimizers": optimizers, "choices": choices})
        .to_string()
}

/// Why `text` is not a value `name` accepts, in the sentence the command line prints; empty
/// when it is.
#[wasm_bindgen(js_name = checkSetting)]
pub fn check_setting(name: &str, text: &str) -> Result<String, JsError> {
    let setting =
        settings::find(name).ok_or_else(|| JsError::new(&format!("no setting called {name:?}")))?;
    Ok(setting.parse(text).err().unwrap_or_default())
}

/// Why a whole run's settings (JSON, as the form sends them to the training worker) cannot
/// train, in the command line's words; empty when they can. This catches what one field
/// alone cannot: mixed precision with BatchNorm, say.
#[wasm_bindgen(js_name = checkRun)]
pub fn check_run(settings: &str) -> String {
    let settings: RunSettings = match serde_json::from_str(settings) {
        Ok(settings) => settings,
        Err(e) => return e.to_string(),
    };
    let config = settings.config();
    settings.validate(&config).err().unwrap_or_default()
}
