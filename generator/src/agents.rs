//! Realistic `User-Agent` strings for SDKs, the AWS CLI and the tools attackers use.

use rand::RngExt;

use crate::ops::{self, Api, OpSpec};
use crate::scenario::AgentFamily;

/// One client installation: its user agent is fixed, except for the parts that name the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    family: AgentFamily,
    /// Everything before the per-operation part.
    head: String,
    /// The service crate version the Rust SDK prints per API.
    api_version: String,
    /// Whether the CLI appends the command it ran (AWS CLI v2 forms).
    names_command: bool,
}

fn pick<'a, R: rand::Rng + ?Sized>(rng: &mut R, xs: &[&'a str]) -> &'a str {
    xs.get(rng.random_range(0..xs.len())).copied().unwrap_or_default()
}

const LINUX_KERNELS: &[&str] = &[
    "6.8.0-1019-aws",
    "5.15.0-1066-aws",
    "6.1.115-126.197.amzn2023.x86_64",
    "5.10.228-219.884.amzn2.x86_64",
    "6.5.0-45-generic",
    "6.8.0-49-generic",
];
const PYTHONS: &[&str] = &["3.11.9", "3.12.6", "3.12.7", "3.9.20", "3.13.0"];

impl Agent {
    /// Draws one installation of `family`.
    pub fn new<R: rand::Rng + ?Sized>(family: AgentFamily, rng: &mut R) -> Agent {
        let mac = rng.random_bool(0.3);
        let os = if mac {
            format!(
                "os/macos#{}.{}.0 md/arch#arm64",
                rng.random_range(22..25),
                rng.random_range(0..7)
            )
        } else {
            format!("os/linux#{} md/arch#x86_64", pick(rng, LINUX_KERNELS))
        };
        let botocore = format!("1.35.{}", rng.random_range(20..99));
        let python = pick(rng, PYTHONS);
        let (head, api_version) = match family {
            AgentFamily::AwsCliV2 => {
                let distrib = if mac {
                    String::new()
                } else {
                    format!(
                        " md/distrib#{}",
                        pick(rng, &["ubuntu.24", "ubuntu.22", "amzn.2023", "debian.12"])
                    )
                };
                (
                    format!(
                        "aws-cli/2.{}.{} md/awscrt#0.{}.{} ua/2.1 {os} lang/python#3.12.{} md/pyimpl#CPython m/E cfg/retry-mode#standard md/installer#exe{distrib} md/prompt#off",
                        rng.random_range(15..28),
                        rng.random_range(0..40),
                        rng.random_range(19..24),
                        rng.random_range(0..10),
                        rng.random_range(1..9),
                    ),
                    String::new(),
                )
            }
            AgentFamily::AwsCliV1 => (
                format!(
                    "aws-cli/1.36.{} md/Botocore#{botocore} ua/2.1 {os} lang/python#{python} md/pyimpl#CPython cfg/retry-mode#legacy botocore/{botocore}",
                    rng.random_range(0..40)
                ),
                String::new(),
            ),
            AgentFamily::Boto3 => (
                format!(
                    "Boto3/{botocore} md/Botocore#{botocore} ua/2.1 {os} lang/python#{python} md/pyimpl#CPython cfg/retry-mode#legacy Botocore/{botocore}"
                ),
                String::new(),
            ),
            AgentFamily::AwsSdkRust => (
                format!("aws-sdk-rust/1.3.{}", rng.random_range(3..12)),
                format!("1.{}.0", rng.random_range(60..90)),
            ),
            AgentFamily::AwsSdkJava => (
                format!(
                    "aws-sdk-java/2.29.{} ua/2.1 os/Linux#{} lang/java#17.0.{} md/OpenJDK_64-Bit_Server_VM#17.0.13+11-LTS md/vendor#Amazon.com_Inc. md/en_US m/D,N",
                    rng.random_range(0..50),
                    pick(rng, LINUX_KERNELS),
                    rng.random_range(9..14)
                ),
                String::new(),
            ),
            AgentFamily::AwsSdkJs => (
                format!("aws-sdk-js/3.{}.0", rng.random_range(650..720)),
                String::new(),
            ),
            AgentFamily::Curl => (
                format!("curl/{}", pick(rng, &["8.5.0", "7.81.0", "8.9.1", "7.88.1"])),
                String::new(),
            ),
            AgentFamily::PythonRequests => (
                format!("python-requests/{}", pick(rng, &["2.31.0", "2.32.3", "2.28.2"])),
                String::new(),
            ),
            AgentFamily::Kali => {
                let kernel = pick(
                    rng,
                    &["6.5.0-kali3-amd64", "6.3.0-kali1-amd64", "6.6.9-kali1-amd64"],
                );
                if rng.random_bool(0.5) {
                    (
                        format!(
                            "aws-cli/1.22.34 Python/3.11.{} Linux/{kernel} botocore/1.24.{}",
                            rng.random_range(2..9),
                            rng.random_range(20..46)
                        ),
                        String::new(),
                    )
                } else {
                    (
                        format!(
                            "aws-cli/2.9.{} Python/3.11.{} Linux/{kernel} source/x86_64.kali.2024 prompt/off",
                            rng.random_range(10..24),
                            rng.random_range(2..9)
                        ),
                        String::new(),
                    )
                }
            }
        };
        let names_command = match family {
            AgentFamily::AwsCliV2 => true,
            // Kali ships both the v1 form (no command) and the older v2 form.
            AgentFamily::Kali => head.starts_with("aws-cli/2."),
            _ => false,
        };
        Agent {
            family,
            head,
            names_command,
            api_version,
        }
    }

    /// Which family this is.
    pub fn family(&self) -> AgentFamily {
        self.family
    }

    /// The `User-Agent` sent for `op`.
    pub fn render(&self, op: &OpSpec) -> String {
        let sdk_api = match op.api() {
            Api::ControlPlane => "personalize",
            Api::Runtime => "personalizeruntime",
            Api::Events => "personalizeevents",
        };
        self.render_call(&ops::cli_command(op), sdk_api, ops::host_prefix(op.api()))
    }

    /// The `User-Agent` sent for a call of any service: `cli_command` as the AWS CLI names it
    /// (`sts.get-caller-identity`), `sdk_api` as the Rust SDK names the API (`sts`), `host` the
    /// endpoint's host prefix (`sts`).
    pub fn render_call(&self, cli_command: &str, sdk_api: &str, host: &str) -> String {
        match self.family {
            AgentFamily::AwsCliV2 => format!("{} md/command#{cli_command}", self.head),
            AgentFamily::Kali if self.names_command => {
                format!("{} command/{cli_command}", self.head)
            }
            AgentFamily::AwsSdkRust => format!(
                "{} ua/2.1 api/{sdk_api}/{} os/linux lang/rust/1.84.1 m/E",
                self.head, self.api_version
            ),
            AgentFamily::AwsSdkJs => {
                let v = self.head.trim_start_matches("aws-sdk-js/");
                format!(
                    "{} ua/2.1 os/linux#5.10.228-219.884.amzn2.x86_64 lang/js md/nodejs#20.18.1 api/{host}#{v} m/E",
                    self.head
                )
            }
            _ => self.head.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn families_look_like_their_clients() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let op = ops::get("ListDatasetGroups").unwrap();
        let ua = Agent::new(AgentFamily::AwsCliV2, &mut rng).render(op);
        assert!(ua.starts_with("aws-cli/2."), "{ua}");
        assert!(ua.ends_with("md/command#personalize.list-dataset-groups"), "{ua}");
        let ua = Agent::new(AgentFamily::Boto3, &mut rng).render(op);
        assert!(
            ua.starts_with("Boto3/1.35.") && ua.contains("md/Botocore#1.35."),
            "{ua}"
        );
        let ua =
            Agent::new(AgentFamily::AwsSdkRust, &mut rng).render(ops::get("GetRecommendations").unwrap());
        assert!(
            ua.starts_with("aws-sdk-rust/1.") && ua.contains("api/personalizeruntime/"),
            "{ua}"
        );
        for _ in 0..20 {
            let ua = Agent::new(AgentFamily::Kali, &mut rng).render(op);
            assert!(ua.contains("kali"), "{ua}");
        }
        assert!(
            Agent::new(AgentFamily::Curl, &mut rng)
                .render(op)
                .starts_with("curl/")
        );
    }
}
