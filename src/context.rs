//! What a verb runs with: the resolved [`Settings`] and the seams, each opened on first
//! use, so a verb that refuses early (a bad name, an unregistered repository) has made no
//! call and opened nothing.

use tokio::sync::OnceCell;

use crate::actions;
use crate::cancel::Cancel;
use crate::codehost::{Files, Reporter};
use crate::config::{BackendKind, Config};
use crate::error::CommandError;
use crate::github::{GithubApp, GithubHost, GithubToken, RetryPolicy};
use crate::pipeline::Deps;
use crate::settings::{AppKey, AppSettings, Settings};
use crate::store::Store;
use crate::store::local::LocalStore;
use crate::store::s3::S3Store;
use crate::terraform::Terraform;
use crate::terraform::go_runtime;
use crate::terraform::process::ProcessTerraform;
use crate::workspace::WorkRoot;

/// The health check's HTTP client, shared by every flow of the process.
static HTTP_PROBE: crate::pipeline::health::HttpProbe = crate::pipeline::health::HttpProbe::new();

pub struct Context<'a> {
    pub settings: &'a Settings,
    /// Fires on SIGINT/SIGTERM, and when the run outlives `terraform.run_timeout`.
    pub cancel: Cancel,
    config: OnceCell<Config>,
    store: OnceCell<Box<dyn Store>>,
    terraform: OnceCell<Box<dyn Terraform>>,
    github: OnceCell<GithubHost>,
    notifier: OnceCell<crate::notify::Notifier>,
    /// How many Terraform processes run at once (fleet runs), set before the first use.
    parallel: std::sync::OnceLock<usize>,
}

impl<'a> Context<'a> {
    pub fn new(settings: &'a Settings, cancel: Cancel) -> Self {
        Self {
            settings,
            cancel,
            config: OnceCell::new(),
            store: OnceCell::new(),
            terraform: OnceCell::new(),
            github: OnceCell::new(),
            notifier: OnceCell::new(),
            parallel: std::sync::OnceLock::new(),
        }
    }

    /// Says that up to `n` Terraform processes will run at once; call before the first
    /// [`Context::deps`] (their Go runtime is sized for it).
    pub fn run_in_parallel(&self, n: usize) {
        let _ = self.parallel.set(n);
    }

    /// `infra-manager.yml` (built-in local-mode defaults when the file is missing).
    pub async fn config(&self) -> Result<&Config, CommandError> {
        self.config
            .get_or_try_init(|| async {
                let config = Config::load(&self.settings.config_path, false)?;
                // The run's overall bound starts with the configuration that sets it.
                self.cancel.after(config.terraform.run_timeout);
                Ok(config)
            })
            .await
    }

    /// The store the configuration names. Unusable S3 settings are refused (exit 2) before
    /// any call is made.
    pub async fn store(&self) -> Result<&dyn Store, CommandError> {
        let config = self.config().await?;
        let store = self
            .store
            .get_or_try_init(|| async {
                Ok::<_, CommandError>(match config.state.backend {
                    BackendKind::S3 => {
                        let settings = config.state.s3.clone().with_env_endpoint(self.settings.aws_endpoint.as_deref());
                        Box::new(S3Store::new(settings).await?) as Box<dyn Store>
                    }
                    BackendKind::Local if self.settings.runner.in_actions && !config.state.backend_set => {
                        return Err(CommandError::usage(
                            "no `state.backend` in the configuration: in GitHub Actions the default local backend \
                             would leave state on the runner's disk",
                            "set `state.backend: s3` in infra-manager.yml (or `state.backend: local` on a runner \
                             whose disk is kept)",
                        ));
                    }
                    BackendKind::Local => Box::new(LocalStore::open(&config.state.local_dir)?),
                })
            })
            .await?;
        Ok(store.as_ref())
    }

    /// The Terraform executable: `INFRA_MANAGER_TERRAFORM`, else `terraform.binary`.
    pub async fn terraform(&self) -> Result<&dyn Terraform, CommandError> {
        let config = self.config().await?;
        let terraform = self
            .terraform
            .get_or_try_init(|| async {
                let wanted = self.settings.terraform_override.as_deref().unwrap_or(&config.terraform.binary);
                let tf = &config.terraform;
                let mut found = ProcessTerraform::locate(wanted, self.settings.search_path.as_deref())?
                    .with_plugin_cache(&tf.plugin_cache_dir)
                    .with_lock_timeout(tf.lock_timeout)
                    .with_cancel(self.cancel.clone(), tf.stop_timeout);
                if !self.settings.go_runtime_set {
                    let parallel = self.parallel.get().copied().unwrap_or(1);
                    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
                    for (key, value) in go_runtime::tuned(parallel, cores, go_runtime::memory_bytes()) {
                        found = found.with_env(&key, &value);
                    }
                }
                Ok::<_, CommandError>(Box::new(found) as Box<dyn Terraform>)
            })
            .await?;
        Ok(terraform.as_ref())
    }

    /// The GitHub client: as the GitHub App when one is set, else with the token (masked in
    /// the runner's log before it is used).
    pub async fn github(&self) -> Result<&GithubHost, CommandError> {
        self.github
            .get_or_try_init(|| async {
                if let Some(app) = &self.settings.github.app {
                    // clap refuses the two flags together; this also holds for a token
                    // that reaches the settings another way.
                    if self.settings.github.token.as_deref().is_some_and(|t| !t.is_empty()) {
                        return Err(CommandError::usage(
                            "both a GitHub token and `--github-app-id` are set",
                            "use one: unset GITHUB_TOKEN (or drop `--github-token`) to act as the App",
                        ));
                    }
                    let app = github_app(app)?;
                    let host = GithubHost::with_app(&self.settings.github.api_url, app, RetryPolicy::default())?;
                    return Ok(host.with_cancel(self.cancel.clone()));
                }
                let Some(raw) = self.settings.github.token.as_deref().filter(|t| !t.is_empty()) else {
                    return Err(CommandError::usage("no GitHub token", "set GITHUB_TOKEN or pass `--github-token`"));
                };
                actions::add_mask_if(&mut std::io::stderr(), raw, self.settings.runner.in_actions);
                let token = GithubToken::new(raw).map_err(|e| CommandError::bad_token(&e))?;
                let host = GithubHost::new(&self.settings.github.api_url, token, RetryPolicy::default())?
                    .with_cancel(self.cancel.clone());
                Ok(match &self.settings.github.login {
                    Some(login) => host.with_identity(login)?,
                    None => host,
                })
            })
            .await
    }

    /// The webhooks of `notify:`, their URLs and keys read from the variables it names (and,
    /// in GitHub Actions, masked in the log before anything could print them).
    pub async fn notifier(&self) -> Result<&crate::notify::Notifier, CommandError> {
        let config = self.config().await?;
        Ok(self
            .notifier
            .get_or_init(|| async {
                let in_actions = self.settings.runner.in_actions;
                let var = |name: &str| {
                    let value = self.settings.named.get(name)?;
                    actions::add_mask_if(&mut std::io::stderr(), &value, in_actions);
                    Some(value)
                };
                crate::notify::Notifier::new(&config.notify, var, Box::new(crate::notify::deliver::HttpSender))
            })
            .await)
    }

    /// The manager checkout at `dir`, its `git` runs stopped by this run's cancellation.
    pub fn manager_repo(&self, dir: &std::path::Path) -> crate::tenants::git::ManagerRepo {
        crate::tenants::git::ManagerRepo::new(dir).with_cancel(self.cancel.clone())
    }

    /// The seams a flow runs against: its owners' `files`, its `reporter`, and `work`.
    pub async fn deps<'c>(
        &'c self,
        files: &'c dyn Files,
        reporter: &'c dyn Reporter,
        work: &'c WorkRoot,
    ) -> Result<Deps<'c>, CommandError> {
        Ok(Deps {
            config: self.config().await?,
            files,
            reporter,
            store: self.store().await?,
            terraform: self.terraform().await?,
            work,
            run_url: self.settings.runner.run_url.clone(),
            manager_commit: self.settings.runner.manager_commit.clone(),
            probe: &HTTP_PROBE,
            cancel: self.cancel.clone(),
            identity: crate::pipeline::lock_owner::RunIdentity::current(&self.settings.runner),
            actions: self.actions().await,
            approvals: self.actions().await.and(self.github().await.ok()).map(|g| g as _),
            notifier: self.notifier().await?,
        })
    }

    /// GitHub's workflow runs, when a GitHub credential is set (no call is made here).
    pub async fn actions(&self) -> Option<&dyn crate::codehost::ActionsRuns> {
        let github = &self.settings.github;
        if github.token.as_deref().is_none_or(str::is_empty) && github.app.is_none() {
            return None;
        }
        self.github().await.ok().map(|g| g as &dyn crate::codehost::ActionsRuns)
    }

    /// Where working directories go: under the runner's temp dir in Actions, else the local
    /// dir; with the S3 backend a scratch root of this run's own.
    pub async fn work_root(&self) -> Result<WorkRoot, CommandError> {
        let config = self.config().await?;
        let shared = match &self.settings.runner.temp {
            Some(temp) => temp.join("infra-manager"),
            None => config.state.local_dir.join("work"),
        };
        Ok(match config.state.backend {
            BackendKind::S3 => WorkRoot::scratch(&shared)?,
            BackendKind::Local => WorkRoot::shared(shared),
        })
    }
}

/// The App of `--github-app-id`, its key read from the file or the variable.
fn github_app(settings: &AppSettings) -> Result<GithubApp, CommandError> {
    let pem = match &settings.key {
        AppKey::Pem(pem) => pem.clone(),
        AppKey::File(path) => std::fs::read_to_string(path).map_err(|e| {
            CommandError::usage(
                format!("can't read the GitHub App private key `{}`: {e}", path.display()),
                "pass the PEM file GitHub generated for the App with `--github-app-private-key-file`",
            )
        })?,
        AppKey::Missing => {
            return Err(CommandError::usage(
                "`--github-app-id` is set without the App's private key",
                "pass `--github-app-private-key-file` or set INFRA_MANAGER_GITHUB_APP_PRIVATE_KEY",
            ));
        }
    };
    GithubApp::new(&settings.id, &pem)
        .map_err(|e| CommandError::usage(e.to_string(), "check `--github-app-id` and the App's private key"))
}
