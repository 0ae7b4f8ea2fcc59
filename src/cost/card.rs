//! The run card: what a finished run was, what it gave and what it cost, as a page a person
//! reads. The JSON form is the run record itself (`runs::RunRecord`). Every estimate is printed
//! with the assumptions it rests on.

use crate::cost::runs::RunRecord;

/// "1.23 TFLOP", "456 GFLOP".
pub fn flops(value: f64) -> String {
    match value {
        v if v >= 1e12 => format!("{:.2} TFLOP", v / 1e12),
        v if v >= 1e9 => format!("{:.1} GFLOP", v / 1e9),
        v => format!("{:.1} MFLOP", v / 1e6),
    }
}

/// "488 KB", "11.6 MB".
pub fn bytes(value: u64) -> String {
    match value as f64 {
        v if v >= 1e6 => format!("{:.1} MB", v / 1e6),
        v => format!("{:.0} KB", v / 1e3),
    }
}

/// "6", "1.50": epochs of training, whole or part way through one.
pub fn epochs(value: f64) -> String {
    match value.fract() {
        0.0 => format!("{value}"),
        _ => format!("{value:.2}"),
    }
}

/// The card as text, one fact per line.
pub fn text(record: &RunRecord) -> String {
    let facts = &record.facts;
    let config = &record.config;
    let mut lines = vec![
        format!("Kindling run card · {}", record.recipe),
        format!(
            "model      {} · {} parameters",
            config.architecture().describe(),
            crate::cost::params(&config.architecture())
        ),
        format!(
            "data       MNIST, {} training images per epoch{}",
            facts.images,
            facts
                .data_bytes
                .map_or(String::new(), |b| format!(" · {} of data files", bytes(b)))
        ),
        format!("device     {}", facts.device),
        format!(
            "result     {}, after {} epoch{}",
            crate::cost::runs::result_text(facts.test_accuracy, facts.test_loss),
            facts.epochs,
            if facts.epochs == 1 { "" } else { "s" }
        ),
        format!("time       {:.1} s", facts.seconds),
    ];
    if let Some(cost) = &facts.cost {
        let estimate = &cost.estimate;
        lines.push(format!(
            "compute    {} ({:.0} images/s, {:.1} GFLOP/s achieved)",
            flops(cost.flops),
            cost.samples_per_second,
            cost.gflops_per_second
        ));
        lines.push(format!(
            "energy     {} ({:.0} J), estimated: {} W × {:.1} s",
            estimate.energy_text(),
            estimate.joules,
            cost.energy.watts,
            cost.seconds
        ));
        lines.push(format!(
            "CO₂e       {}, estimated: {} × {} g/kWh",
            estimate.co2_text(),
            estimate.energy_text(),
            cost.energy.grid_g_per_kwh
        ));
        lines.push(format!("assumed    {}", cost.energy.assumptions()));
        for m in &cost.milestones {
            lines.push(format!(
                "to {:.0}%     epoch {}: {}, {:.0} s, {}",
                100.0 * m.accuracy,
                epochs(m.epoch),
                flops(m.flops),
                m.seconds,
                m.estimate.energy_text()
            ));
        }
        if let Some(saving) = &cost.early_stop {
            lines.push(format!(
                "stopped    early, {}: saved {} epochs ≈ {}, {:.0} s, {}",
                saving.reason,
                epochs(saving.epochs_saved),
                flops(saving.flops),
                saving.seconds,
                saving.estimate.energy_text()
            ));
        }
    }
    if let Some(model_bytes) = facts.model_bytes {
        lines.push(format!("weights    {} file", bytes(model_bytes)));
    }
    lines.join("\n") + "\n"
}
