//! Settings resolved once per process from the command line and the environment. This is
//! the only module that reads environment variables; everything below `app/` is handed
//! what it needs.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::Cli;
use crate::github::DEFAULT_API_URL;

/// Everything a command may need to know about where and how it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The manager configuration file (missing: local mode with built-in defaults).
    pub config_path: PathBuf,
    /// Print one JSON object on stdout instead of text.
    pub json: bool,
    pub github: GithubSettings,
    pub runner: Runner,
    /// The Terraform executable: `INFRA_MANAGER_TERRAFORM`, else `terraform.binary`.
    pub terraform_override: Option<String>,
    /// `PATH`, where executables are looked up.
    pub search_path: Option<OsString>,
    /// `AWS_ENDPOINT_URL`, used when `state.endpoint` is not set.
    pub aws_endpoint: Option<String>,
    /// Whether the operator set Terraform's Go runtime (`GOMAXPROCS`, `GOGC` or
    /// `GOMEMLIMIT`): then the engine leaves it alone.
    pub go_runtime_set: bool,
    /// The variables `infra-manager.yml` may name (a webhook's URL and key, `notify:`), read
    /// with the rest: their names are the configuration's, known only once it is read.
    pub named: NamedVars,
}

/// The process environment as it was at start, for the variables the configuration names.
/// Its values are secrets: `Debug` prints how many there are, nothing else.
#[derive(Clone, Default)]
pub struct NamedVars(std::collections::BTreeMap<String, String>);

impl NamedVars {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The value of `name`; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }
}

impl std::fmt::Debug for NamedVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NamedVars({} variables)", self.0.len())
    }
}

/// How to reach GitHub.
#[derive(Clone)]
pub struct GithubSettings {
    /// `GITHUB_TOKEN` or `--github-token`; never printed.
    pub token: Option<String>,
    /// `GITHUB_API_URL`, or [`DEFAULT_API_URL`].
    pub api_url: String,
    /// `INFRA_MANAGER_GITHUB_LOGIN`: the login the service writes as (a GitHub App's
    /// `<slug>[bot]`); unset, it is learnt from the token. Only its comments are edited.
    pub login: Option<String>,
    /// `--github-app-id` with its key: act as this GitHub App instead of the token.
    pub app: Option<AppSettings>,
}

/// A GitHub App to act as.
#[derive(Clone)]
pub struct AppSettings {
    /// `--github-app-id`, `INFRA_MANAGER_GITHUB_APP_ID`.
    pub id: String,
    pub key: AppKey,
}

/// Where the App's private key comes from; the PEM is never printed.
#[derive(Clone)]
pub enum AppKey {
    /// `--github-app-private-key-file`, `INFRA_MANAGER_GITHUB_APP_PRIVATE_KEY_FILE`.
    File(PathBuf),
    /// `INFRA_MANAGER_GITHUB_APP_PRIVATE_KEY`: the PEM itself (a secret).
    Pem(String),
    /// An id without a key: refused when GitHub is first needed.
    Missing,
}

impl std::fmt::Debug for GithubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubSettings")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("api_url", &self.api_url)
            .field("login", &self.login)
            .field("app", &self.app)
            .finish()
    }
}

impl std::fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = match &self.key {
            AppKey::File(path) => format!("file {}", path.display()),
            AppKey::Pem(_) => "***".to_owned(),
            AppKey::Missing => "missing".to_owned(),
        };
        f.debug_struct("AppSettings").field("id", &self.id).field("key", &key).finish()
    }
}

/// What GitHub Actions tells a step through its environment.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    /// `GITHUB_ACTIONS=true`: workflow commands are read from the log.
    pub in_actions: bool,
    pub event_path: Option<String>,
    pub event_name: Option<String>,
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`.
    pub run_url: Option<String>,
    /// The repository the workflow runs in (`GITHUB_REPOSITORY`, `owner/name`).
    pub repository: Option<String>,
    /// `GITHUB_RUN_ID` and `GITHUB_RUN_ATTEMPT`: which run this is, so another run can ask
    /// GitHub whether it has ended (a lock it left).
    pub run_id: Option<u64>,
    pub run_attempt: Option<u32>,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`: set when the job may request an OIDC
    /// ID token (`permissions: id-token: write`).
    pub id_token_request: Option<IdTokenRequest>,
    /// The manager repository commit (`GITHUB_SHA`).
    pub manager_commit: Option<String>,
    /// `GITHUB_OUTPUT`.
    pub output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`.
    pub summary: Option<PathBuf>,
    /// `RUNNER_TEMP`.
    pub temp: Option<PathBuf>,
}

/// Where a job asks for an OIDC ID token; the bearer token is never printed.
#[derive(Clone)]
pub struct IdTokenRequest {
    pub url: String,
    token: String,
}

impl IdTokenRequest {
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for IdTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenRequest").field("url", &self.url).field("token", &"***").finish()
    }
}

impl Settings {
    /// Resolves the settings from the parsed command line and the process environment.
    pub fn resolve(cli: &Cli) -> Self {
        // Variables that are not UTF-8 can't be a URL or a key the configuration names.
        let named = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self { named: NamedVars::from_pairs(named), ..Self::from_lookup(cli, |key| std::env::var(key).ok()) }
    }

    /// The same from any variable lookup (tests pass a map).
    pub fn from_lookup(cli: &Cli, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let run_url = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID")) {
            (Some(server), Some(repo), Some(id)) => {
                Some(format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/')))
            }
            _ => None,
        };
        Self {
            config_path: cli.config.clone(),
            json: cli.json,
            github: GithubSettings {
                token: cli.command.github().and_then(|flags| flags.github_token.clone()),
                api_url: var("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned()),
                login: var("INFRA_MANAGER_GITHUB_LOGIN"),
                app: cli.command.github().and_then(|flags| {
                    Some(AppSettings {
                        id: flags.github_app_id.clone()?,
                        key: match (&flags.github_app_private_key_file, var("INFRA_MANAGER_GITHUB_APP_PRIVATE_KEY")) {
                            (Some(path), _) => AppKey::File(path.clone()),
                            (None, Some(pem)) => AppKey::Pem(pem),
                            (None, None) => AppKey::Missing,
                        },
                    })
                }),
            },
            runner: Runner {
                in_actions: var("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
                event_path: var("GITHUB_EVENT_PATH"),
                event_name: var("GITHUB_EVENT_NAME"),
                run_url,
                repository: var("GITHUB_REPOSITORY"),
                run_id: var("GITHUB_RUN_ID").and_then(|v| v.parse().ok()),
                run_attempt: var("GITHUB_RUN_ATTEMPT").and_then(|v| v.parse().ok()),
                id_token_request: var("ACTIONS_ID_TOKEN_REQUEST_URL")
                    .zip(var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
                    .map(|(url, token)| IdTokenRequest { url, token }),
                manager_commit: var("GITHUB_SHA"),
                output: var("GITHUB_OUTPUT").map(PathBuf::from),
                summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
                temp: var("RUNNER_TEMP").map(PathBuf::from),
            },
            terraform_override: var("INFRA_MANAGER_TERRAFORM"),
            search_path: lookup("PATH").map(OsString::from),
            aws_endpoint: var("AWS_ENDPOINT_URL"),
            go_runtime_set: ["GOMAXPROCS", "GOGC", "GOMEMLIMIT"].iter().any(|k| var(k).is_some()),
            named: NamedVars::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_runner_is_read_from_the_environment_once_and_empty_values_are_unset() {
        let cli = Cli::parse_from(["infra-manager", "schema"]);
        let env = [
            ("GITHUB_SERVER_URL", "https://github.com/"),
            ("GITHUB_REPOSITORY", "p/manager"),
            ("GITHUB_RUN_ID", "7"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_API_URL", ""),
            ("RUNNER_TEMP", "/tmp/r"),
        ];
        let settings = Settings::from_lookup(&cli, |k| env.iter().find(|(key, _)| *key == k).map(|(_, v)| (*v).into()));
        assert_eq!(settings.runner.run_url.as_deref(), Some("https://github.com/p/manager/actions/runs/7"));
        assert!(settings.runner.in_actions);
        assert_eq!(settings.github.api_url, DEFAULT_API_URL);
        assert_eq!(settings.runner.temp, Some(PathBuf::from("/tmp/r")));
        assert_eq!(settings.runner.manager_commit, None);
    }

    #[test]
    fn the_app_key_comes_from_the_file_flag_else_the_variable_and_never_prints() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n-----END RSA PRIVATE KEY-----";
        let env = |k: &str| (k == "INFRA_MANAGER_GITHUB_APP_PRIVATE_KEY").then(|| pem.to_owned());
        let cli = Cli::parse_from(["infra-manager", "plan", "--env", "staging", "--github-app-id", "42"]);
        let settings = Settings::from_lookup(&cli, env);
        let app = settings.github.app.as_ref().expect("app");
        assert!(matches!(&app.key, AppKey::Pem(p) if p == pem));
        let shown = format!("{settings:?}");
        assert!(shown.contains(r#"AppSettings { id: "42", key: "***" }"#), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");

        let args = ["infra-manager", "apply", "--env", "staging", "--github-app-id", "42"];
        let cli = Cli::parse_from(args.into_iter().chain(["--github-app-private-key-file", "/k.pem"]));
        let app = Settings::from_lookup(&cli, env).github.app.expect("app");
        assert!(matches!(app.key, AppKey::File(p) if p == std::path::Path::new("/k.pem")));

        let cli = Cli::parse_from(["infra-manager", "plan", "--env", "staging", "--github-app-id", "42"]);
        assert!(matches!(Settings::from_lookup(&cli, |_| None).github.app.expect("app").key, AppKey::Missing));
    }

    #[test]
    fn only_the_commands_that_talk_to_github_take_the_app_flags() {
        let refused = Cli::try_parse_from(["infra-manager", "schema", "--github-app-id", "1"]).expect_err("schema");
        assert_eq!(refused.kind(), clap::error::ErrorKind::UnknownArgument);
        let both = ["infra-manager", "plan", "--env", "staging", "--github-token", "t", "--github-app-id", "1"];
        let refused = Cli::try_parse_from(both).expect_err("both");
        assert_eq!(refused.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
