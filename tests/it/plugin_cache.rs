//! The shared plugin cache under parallel inits (hashicorp/terraform#31964: inits that fill
//! one `TF_PLUGIN_CACHE_DIR` at once can corrupt it). Sixteen inits through
//! `ProcessTerraform` on a cold cache, with no network: the provider comes from a local
//! `filesystem_mirror` (a dummy executable, packed as Terraform's registry packages are;
//! init never runs a provider). All succeed, and the cache holds one intact provider whose
//! hash is the one every lock file records.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use infra_manager::terraform::Terraform;
use infra_manager::terraform::process::ProcessTerraform;
use sha2::{Digest, Sha256};

use crate::support::cli::require_terraform;

const INITS: usize = 16;
const PROVIDER: &str = "terraform-provider-dummy_v1.0.0";
const EXECUTABLE: &[u8] = b"#!/bin/sh\necho 'a dummy provider: init never runs it' >&2\nexit 1\n";

/// Terraform's name for this machine's platform (`linux_amd64`).
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// `<mirror>/registry.terraform.io/acme/dummy/terraform-provider-dummy_1.0.0_<platform>.zip`.
fn mirror_with_dummy_provider(mirror: &Path) {
    let dir = mirror.join("registry.terraform.io/acme/dummy");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = std::fs::File::create(dir.join(format!("terraform-provider-dummy_1.0.0_{}.zip", platform())))
        .expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file(PROVIDER, options).expect("start");
    zip.write_all(EXECUTABLE).expect("write");
    zip.finish().expect("finish");
}

/// Terraform's `h1:` hash of an unpacked provider directory (Go's `dirhash.Hash1`).
fn h1(dir: &Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.strip_prefix(dir).expect("inside").to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    let mut summary = String::new();
    for name in &files {
        summary.push_str(&format!(
            "{}  {name}\n",
            hex::encode(Sha256::digest(std::fs::read(dir.join(name)).expect("read")))
        ));
    }
    format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(summary.as_bytes())))
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path).into_iter().map(|p| path.strip_prefix(dir).expect("inside").join(p)));
        } else {
            out.push(path.strip_prefix(dir).expect("inside").to_path_buf());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_parallel_inits_on_a_cold_shared_cache_leave_one_intact_provider() {
    require_terraform();
    let root = tempfile::tempdir().expect("tempdir");
    let (mirror, cache) = (root.path().join("mirror"), root.path().join("plugin-cache"));
    mirror_with_dummy_provider(&mirror);
    let cli_config = root.path().join("cli.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .expect("write the CLI configuration");

    let wanted = std::env::var("INFRA_MANAGER_TERRAFORM").unwrap_or_else(|_| "terraform".to_owned());
    let tf = ProcessTerraform::locate(&wanted, std::env::var_os("PATH").as_deref())
        .expect("terraform or tofu")
        .with_plugin_cache(&cache)
        .with_env("TF_CLI_CONFIG_FILE", &cli_config.to_string_lossy());

    // Sixteen targets of one module: the same provider requirements, each its own backend.
    let dirs: Vec<PathBuf> = (0..INITS)
        .map(|i| {
            let dir = root.path().join(format!("target-{i:02}"));
            std::fs::create_dir_all(&dir).expect("mkdir");
            let root_module = serde_json::json!({
                "terraform": {
                    "required_providers": { "dummy": { "source": "acme/dummy", "version": "1.0.0" } },
                    "backend": { "local": { "path": format!("../state-{i:02}.tfstate") } },
                },
            });
            std::fs::write(dir.join("main.tf.json"), root_module.to_string()).expect("write");
            dir
        })
        .collect();
    let results = futures_util::future::join_all(dirs.iter().map(|dir| tf.init(dir))).await;
    for (dir, result) in dirs.iter().zip(&results) {
        assert!(result.is_ok(), "init in {} failed: {:?}", dir.display(), result);
    }

    let platform_dir = cache.join("registry.terraform.io/acme/dummy/1.0.0").join(platform());
    let (remembered, providers): (Vec<PathBuf>, Vec<PathBuf>) =
        files_under(&cache).into_iter().partition(|f| f.starts_with(".infra-manager-filled"));
    assert_eq!(
        providers,
        [Path::new("registry.terraform.io/acme/dummy/1.0.0").join(platform()).join(PROVIDER)],
        "the cache holds exactly the one provider"
    );
    assert_eq!(remembered.len(), 1, "the fill is remembered in the cache: {remembered:?}");

    // A later run on the same cache (a new engine process: a gate of its own) shares it at
    // once; Terraform passes over what the cache says of itself.
    let later = ProcessTerraform::locate(&wanted, std::env::var_os("PATH").as_deref())
        .expect("terraform or tofu")
        .with_plugin_cache(&cache)
        .with_env("TF_CLI_CONFIG_FILE", &cli_config.to_string_lossy());
    let again: Vec<PathBuf> = dirs
        .iter()
        .take(4)
        .map(|dir| {
            let copy = dir.with_file_name(format!("later-{}", dir.file_name().expect("name").to_string_lossy()));
            std::fs::create_dir_all(&copy).expect("mkdir");
            std::fs::copy(dir.join("main.tf.json"), copy.join("main.tf.json")).expect("copy");
            copy
        })
        .collect();
    for (dir, result) in again.iter().zip(futures_util::future::join_all(again.iter().map(|d| later.init(d))).await) {
        assert!(result.is_ok(), "a later init in {} failed: {result:?}", dir.display());
    }
    assert_eq!(files_under(&cache).len(), 2, "still the one provider and the one note");
    assert_eq!(std::fs::read(platform_dir.join(PROVIDER)).expect("read"), EXECUTABLE, "intact");
    let hash = h1(&platform_dir);
    let locks: Vec<String> =
        dirs.iter().map(|d| std::fs::read_to_string(d.join(".terraform.lock.hcl")).expect("a lock file")).collect();
    for (dir, lock) in dirs.iter().zip(&locks) {
        assert!(lock.contains(&hash), "{}: the lock file records {hash}:\n{lock}", dir.display());
        assert_eq!(lock, &locks[0], "every init selected the same provider");
        let installed = dir.join(".terraform/providers/registry.terraform.io/acme/dummy/1.0.0").join(platform());
        assert_eq!(h1(&installed), hash, "{}: the installed provider is the cached one", dir.display());
    }
}
