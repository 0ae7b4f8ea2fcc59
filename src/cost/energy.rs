//! Energy and CO₂e estimates: power × time, and energy × the grid's carbon intensity. Nothing
//! here is measured: the power and the intensity are assumptions the user sets (or a labelled
//! preset), and every estimate is written with them, so no number looks measured.

use serde::{Deserialize, Serialize};

use crate::training::settings;

/// Joules in a watt-hour.
const JOULES_PER_WH: f64 = 3600.0;

/// What an estimate assumes: how much power the device draws while training, and how much
/// CO₂e the grid emits per kWh. Each with the words that say where the number comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergySettings {
    pub watts: f64,
    pub power_source: String,
    /// Grams of CO₂-equivalent per kWh.
    pub grid_g_per_kwh: f64,
    pub grid_source: String,
}

/// Typical power draws, by kind of device. Assumptions in the right range, not measurements:
/// a wattmeter at the wall would say what a given machine draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum PowerPreset {
    /// A laptop processor under load: 15 W.
    LaptopCpu,
    /// A desktop processor under load: 65 W.
    #[default]
    DesktopCpu,
    /// A laptop's integrated graphics: 20 W.
    IntegratedGpu,
    /// A desktop graphics card: 200 W.
    DesktopGpu,
}

impl PowerPreset {
    pub const ALL: [PowerPreset; 4] = [
        Self::LaptopCpu,
        Self::DesktopCpu,
        Self::IntegratedGpu,
        Self::DesktopGpu,
    ];

    pub const fn watts(self) -> f64 {
        match self {
            Self::LaptopCpu => 15.0,
            Self::DesktopCpu => 65.0,
            Self::IntegratedGpu => 20.0,
            Self::DesktopGpu => 200.0,
        }
    }

    /// Where the number comes from, in a few words.
    pub fn source(self) -> &'static str {
        match self {
            Self::LaptopCpu => "laptop CPU, assumed",
            Self::DesktopCpu => "desktop CPU, assumed",
            Self::IntegratedGpu => "integrated GPU, assumed",
            Self::DesktopGpu => "desktop GPU, assumed",
        }
    }
}

/// The world's average carbon intensity of electricity in 2022, 436 gCO₂/kWh (Ember, Global
/// Electricity Review 2023).
pub const WORLD_GRID_G_PER_KWH: f64 = 436.0;
pub const WORLD_GRID_SOURCE: &str = "world average 2022, Ember Global Electricity Review 2023";

impl Default for EnergySettings {
    fn default() -> Self {
        EnergySettings::preset(PowerPreset::default())
    }
}

impl EnergySettings {
    /// A power preset on the world-average grid.
    pub fn preset(power: PowerPreset) -> Self {
        EnergySettings {
            watts: power.watts(),
            power_source: power.source().into(),
            grid_g_per_kwh: WORLD_GRID_G_PER_KWH,
            grid_source: WORLD_GRID_SOURCE.into(),
        }
    }

    /// Refuses a power or intensity no device or grid has.
    pub fn validate(&self) -> Result<(), String> {
        settings::check_all(&[
            (settings::WATTS, self.watts),
            (settings::GRID, self.grid_g_per_kwh),
        ])
    }

    /// Energy and CO₂e of running `seconds` at this power on this grid.
    pub fn estimate(&self, seconds: f64) -> Estimate {
        let joules = self.watts * seconds;
        let watt_hours = joules / JOULES_PER_WH;
        Estimate {
            joules,
            watt_hours,
            co2_grams: watt_hours / 1000.0 * self.grid_g_per_kwh,
        }
    }

    /// The assumption in words, for beside a number: "65 W (desktop CPU, assumed …) ×
    /// time; 436 gCO₂e/kWh (world average …)".
    pub fn assumptions(&self) -> String {
        format!(
            "{} W ({}) × time; {} gCO₂e/kWh ({})",
            self.watts, self.power_source, self.grid_g_per_kwh, self.grid_source
        )
    }
}

/// An energy estimate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub joules: f64,
    pub watt_hours: f64,
    pub co2_grams: f64,
}

impl Estimate {
    /// "3.42 Wh", "85 mWh": energy in a unit that keeps a few digits.
    pub fn energy_text(&self) -> String {
        match self.watt_hours {
            wh if wh >= 1.0 => format!("{wh:.2} Wh"),
            wh => format!("{:.1} mWh", wh * 1e3),
        }
    }

    /// "1.49 g", "37 mg" of CO₂e.
    pub fn co2_text(&self) -> String {
        match self.co2_grams {
            g if g >= 1.0 => format!("{g:.2} g"),
            g => format!("{:.1} mg", g * 1e3),
        }
    }
}
