//! What the emulator's configuration holds that the generator reads too: the accounts schema
//! ([`accounts`]), the embedded default configuration, and how durations are written.

pub mod accounts;

use std::time::Duration;

use serde::Deserialize;

/// The emulator's configuration when no `--config` file is given; its `[[accounts]]` are the
/// identities the generator signs with by default.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default-config.toml");

/// Only the `[[accounts]]` of a configuration file; the other tables are the emulator's.
#[derive(Debug, Deserialize)]
struct AccountsOnly {
    #[serde(default)]
    accounts: Vec<accounts::AccountConfig>,
}

/// The `[[accounts]]` of a configuration file (the same TOML the emulator takes).
pub fn parse_accounts(text: &str) -> Result<Vec<accounts::AccountConfig>, toml::de::Error> {
    toml::from_str::<AccountsOnly>(text).map(|c| c.accounts)
}

/// Parses `250ms`, `30s`, `5m`, `1h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 250ms, 30s, 5m or 1h"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{s:?} has an unknown unit (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("3 fortnights").is_err());
    }

    #[test]
    fn the_default_configuration_declares_accounts() {
        let accounts = parse_accounts(DEFAULT_CONFIG_TOML).unwrap();
        assert!(!accounts.is_empty());
        assert!(accounts.iter().all(|a| a.access_key_ids().next().is_some()));
    }
}
