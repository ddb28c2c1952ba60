//! The release as users get it, built by `scripts/build-release.sh` (static on Linux):
//!
//! - the binary needs no shared library (no loader, no glibc floor, no OpenSSL);
//! - it runs a real `terraform apply` from inside an empty root directory holding only itself,
//!   a CA bundle, a temp directory and three device nodes — and needs none of the device nodes
//!   for randomness; a kernel that refuses `getrandom` gets a clear error, not a panic;
//! - `scripts/package.sh` signs the release, and `terraform init` installs it from a provider
//!   registry and from a network mirror served over HTTPS on loopback, refusing a tampered zip
//!   and a wrong signature.
//!
//! Needs root (chroot, mknod), `gpg`, `file`, `ldd` and terraform; `.ci/run` installs them.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;
use terraform_provider_vm::tfprotocol::proto;
use vm_test_support::acceptance::{Acceptance, actions_of, reset_block};
use vm_test_support::command::run_ok as run;
use vm_test_support::plugin::{ClientIdentity, PluginProcess, provider_client, terraform_command};
use vm_test_support::registry::StaticHttps;
use vm_test_support::terraform::{TfOutput, hcl_string};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const NAME: &str = "terraform-provider-vm";
const PLATFORM: &str = "linux_amd64";

fn root_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The release binary, built once per test process with the release script.
fn release_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = run(Command::new("bash")
            .arg(root_dir().join("scripts/build-release.sh"))
            .env_remove("RUSTFLAGS"));
        let path = PathBuf::from(stdout(&out).trim());
        assert!(path.is_file(), "build-release.sh printed {path:?}");
        path
    })
}

#[test]
fn release_binary_is_static_and_carries_no_openssl() {
    let bin = release_binary();
    let file = stdout(&run(Command::new("file").arg("-b").arg(bin)));
    assert!(
        file.contains("statically linked") || file.contains("static-pie linked"),
        "file: {file}"
    );
    assert!(!file.contains("interpreter"), "no ELF loader: {file}");
    // ldd exits non-zero on a static binary; what it says is the point.
    let ldd = Command::new("ldd").arg(bin).output().unwrap();
    let ldd_text = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        ldd_text.contains("not a dynamic executable") || ldd_text.contains("statically linked"),
        "ldd: {ldd_text}"
    );
    let bytes = std::fs::read(bin).unwrap();
    // (glibc's static dlopen support names the loader, so ld-linux may appear as a string.)
    for lib in [&b"libssl.so"[..], b"libcrypto.so"] {
        assert!(
            !bytes.windows(lib.len()).any(|w| w == lib),
            "the binary names {}",
            String::from_utf8_lossy(lib)
        );
    }
}

/// An empty root directory for the provider: only the binary, a CA bundle, `/tmp`, `/run` (the
/// plugin socket's directory) and, if asked, `/dev/null`, `/dev/random` and `/dev/urandom`.
///
/// Terraform, outside, dials the socket path the plugin prints. The plugin is told to put its
/// socket under `sock_dir`, the outside path of `/run`; inside the root that same path is a
/// symlink to `/run`, so the printed path is valid on both sides.
struct EmptyRoot {
    _dir: tempfile::TempDir,
    root: PathBuf,
    sock_dir: PathBuf,
}

impl EmptyRoot {
    fn new(ca_pem: &str, devices: bool) -> EmptyRoot {
        let dir = tempfile::Builder::new()
            .prefix("vmroot")
            .tempdir_in("/tmp")
            .unwrap();
        let root = dir.path().join("r");
        for d in ["tmp", "run", "etc/ssl/certs"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .unwrap();
        std::fs::copy(release_binary(), root.join(NAME)).unwrap();
        std::fs::write(root.join("etc/ssl/certs/ca-certificates.crt"), ca_pem).unwrap();
        if devices {
            std::fs::create_dir(root.join("dev")).unwrap();
            for (name, minor) in [("null", 3), ("random", 8), ("urandom", 9)] {
                let path = std::ffi::CString::new(
                    root.join("dev")
                        .join(name)
                        .into_os_string()
                        .into_encoded_bytes(),
                )
                .unwrap();
                // SAFETY: a valid C string; mknod only creates the node.
                let r = unsafe {
                    libc::mknod(
                        path.as_ptr(),
                        libc::S_IFCHR | 0o666,
                        libc::makedev(1, minor),
                    )
                };
                assert_eq!(
                    r,
                    0,
                    "mknod /dev/{name} (the test needs root): {}",
                    std::io::Error::last_os_error()
                );
            }
        }
        let sock_dir = root.join("run");
        let inside = root.join(sock_dir.strip_prefix("/").unwrap());
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/run", &inside).unwrap();
        EmptyRoot {
            _dir: dir,
            root,
            sock_dir,
        }
    }

    /// Every path in the root, relative, sorted: what the provider has to live on.
    fn listing(&self) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let path = e.path();
                out.push(path.strip_prefix(base).unwrap().display().to_string());
                if e.file_type().unwrap().is_dir() {
                    walk(&path, base, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }

    /// The provider as Terraform would start it, chrooted (in the child, before exec).
    fn plugin_command(&self, identity: &ClientIdentity) -> Command {
        let mut cmd = terraform_command(Path::new(&format!("/{NAME}")), Some(identity));
        cmd.env("PLUGIN_UNIX_SOCKET_DIR", &self.sock_dir)
            .env("TMPDIR", "/tmp")
            .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt");
        let root = std::ffi::CString::new(self.root.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: chroot and chdir are async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                if libc::chroot(root.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }
}

/// A real `terraform apply`, with Terraform outside and the provider inside an empty root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_through_the_release_binary_inside_an_empty_root() {
    let acc = Acceptance::start().await;
    let env = EmptyRoot::new(acc.emu.emulator.ca_pem(), true);
    assert_eq!(
        env.listing(),
        [
            "dev",
            "dev/null",
            "dev/random",
            "dev/urandom",
            "etc",
            "etc/ssl",
            "etc/ssl/certs",
            "etc/ssl/certs/ca-certificates.crt",
            "run",
            "terraform-provider-vm",
            "tmp",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(env.nested_symlink_path())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );

    // A dynamically linked binary cannot even start in there: the root really is empty.
    std::fs::copy(
        env!("CARGO_BIN_EXE_terraform-provider-vm"),
        env.root.join("dynamic"),
    )
    .unwrap();
    let dynamic = Command::new("chroot")
        .arg(&env.root)
        .arg("/dynamic")
        .arg("--version")
        .output()
        .unwrap();
    assert!(!dynamic.status.success(), "{dynamic:?}");
    std::fs::remove_file(env.root.join("dynamic")).unwrap();

    // The provider Terraform runs: a wrapper that chroots (keeping the environment and the
    // inherited descriptors) and execs the release binary inside; it counts its launches.
    let wrapper_dir = tempfile::tempdir().unwrap();
    let wrapper = wrapper_dir.path().join(NAME);
    let launches = wrapper_dir.path().join("launches");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho launch >>'{}'\nexport PLUGIN_UNIX_SOCKET_DIR='{}' TMPDIR=/tmp SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt\nexec chroot '{}' /{NAME} \"$@\"\n",
            launches.display(),
            env.sock_dir.display(),
            env.root.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    acc.tf.write(
        "../terraform.rc",
        &format!(
            "provider_installation {{\n  dev_overrides {{\n    \"vmaccess/vm\" = {}\n  }}\n  direct {{}}\n}}\n",
            hcl_string(&wrapper_dir.path().to_string_lossy())
        ),
    );

    let vm = acc.emu.seed_locked_out_vm("web01").await;
    acc.tf.write_main(&reset_block(
        "web",
        &vm,
        &[
            "username = \"opsadmin\"",
            "password_wo = \"Chroot-Passw0rd!1\"",
            "password_wo_version = 1",
        ],
    ));
    let out = acc.apply();
    assert!(
        out.stdout.contains("1 added, 0 changed, 0 destroyed"),
        "{out}"
    );
    // Every provider process of the run was the chrooted one (plan and apply each start one).
    let started = std::fs::read_to_string(&launches).unwrap_or_default();
    assert!(started.lines().count() >= 2, "launches: {started:?}\n{out}");
    assert!(
        acc.emu.login(&vm, "opsadmin", "Chroot-Passw0rd!1").await,
        "the new password works"
    );
}

impl EmptyRoot {
    /// The directories leading to the socket symlink, and the symlink itself.
    fn nested_symlink_path(&self) -> Vec<String> {
        let inside = self.sock_dir.strip_prefix("/").unwrap();
        let mut out = Vec::new();
        let mut acc = PathBuf::new();
        for c in inside.components() {
            acc.push(c);
            out.push(acc.display().to_string());
        }
        out
    }
}

async fn schema_over_the_socket(process: &PluginProcess) {
    let schema = provider_client(process.connect().await)
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema")
        .into_inner();
    assert!(schema.resource_schemas.contains_key("vm_access_reset"));
}

/// Randomness comes from the getrandom system call: no /dev at all is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_without_any_device_nodes() {
    let env = EmptyRoot::new("", false);
    assert!(!env.root.join("dev").exists());
    let identity = ClientIdentity::terraform_like();
    let cmd = env.plugin_command(&identity);
    let process = tokio::task::block_in_place(|| PluginProcess::spawn(cmd, identity))
        .unwrap_or_else(|e| panic!("the provider did not start without /dev: {e}"));
    assert!(
        process
            .handshake
            .address
            .starts_with(&env.sock_dir.display().to_string()),
        "{}",
        process.handshake.address
    );
    schema_over_the_socket(&process).await;
}

/// A kernel (or seccomp profile) that refuses getrandom, with no /dev/urandom to fall back on:
/// a clear error on stderr and exit status 1, never a panic.
#[test]
fn refused_getrandom_without_urandom_is_a_clear_error() {
    let env = EmptyRoot::new("", false);
    let identity = ClientIdentity::terraform_like();
    let mut cmd = env.plugin_command(&identity);
    // SAFETY: only prctl, which is async-signal-safe, on data owned by the closure.
    unsafe {
        cmd.pre_exec(deny_getrandom);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("cannot get random numbers from the operating system"),
        "{stderr}"
    );
    assert!(stderr.contains("getrandom"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "no handshake line");
}

/// Installs a seccomp filter answering `getrandom` with ENOSYS (a pre-3.17 kernel, or a
/// container profile that does not know the call).
fn deny_getrandom() -> std::io::Result<()> {
    let code = |c: u32| c as u16;
    let filter = [
        // A = syscall number
        libc::sock_filter {
            code: code(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS),
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: code(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K),
            jt: 0,
            jf: 1,
            k: libc::SYS_getrandom as u32,
        },
        libc::sock_filter {
            code: code(libc::BPF_RET | libc::BPF_K),
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        },
        libc::sock_filter {
            code: code(libc::BPF_RET | libc::BPF_K),
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl with a valid filter program that outlives the call.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Signed release, registry and network mirror.

/// A throwaway GPG home with one signing key; the agent it starts is stopped on drop.
struct Gpg {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl Gpg {
    fn new(name: &str) -> Gpg {
        // Short path: gpg-agent's socket lives in GNUPGHOME.
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        run(Self::gpg(home.path())
            .args(["--passphrase", "", "--quick-generate-key"])
            .arg(format!("{name} <{name}@example.invalid>"))
            .args(["rsa3072", "sign", "never"]));
        let list = stdout(&run(
            Self::gpg(home.path()).args(["--with-colons", "--list-keys"])
        ));
        let fingerprint = list
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| !f.is_empty()))
            .expect("a fingerprint")
            .to_string();
        Gpg { home, fingerprint }
    }

    fn gpg(home: &Path) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", home)
            .args(["--batch", "--pinentry-mode", "loopback"]);
        cmd
    }

    fn cmd(&self) -> Command {
        Self::gpg(self.home.path())
    }

    fn key_id(&self) -> &str {
        &self.fingerprint[self.fingerprint.len() - 16..]
    }

    fn public_key(&self) -> String {
        stdout(&run(self.cmd().args([
            "--armor",
            "--export",
            &self.fingerprint,
        ])))
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// `scripts/package.sh` on the release binary, signed with `gpg`'s key.
struct Release {
    dist: tempfile::TempDir,
}

impl Release {
    fn package(gpg: &Gpg) -> Release {
        let dist = tempfile::tempdir().unwrap();
        run(Command::new("bash")
            .arg(root_dir().join("scripts/package.sh"))
            .arg("--out")
            .arg(dist.path())
            .arg("--binary")
            .arg(release_binary())
            .args(["--gpg-key", &gpg.fingerprint])
            .env("GNUPGHOME", gpg.home.path()));
        Release { dist }
    }

    fn zip_name() -> String {
        format!("{NAME}_{VERSION}_{PLATFORM}.zip")
    }

    fn sums_name() -> String {
        format!("{NAME}_{VERSION}_SHA256SUMS")
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dist.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn zip_sha256(&self) -> String {
        let sums = String::from_utf8(self.read(&Self::sums_name())).unwrap();
        sums.lines()
            .find_map(|l| l.strip_suffix(&format!("  {}", Self::zip_name())))
            .expect("the zip is in SHA256SUMS")
            .to_string()
    }
}

#[test]
fn package_signs_the_checksums() {
    let gpg = Gpg::new("release");
    let release = Release::package(&gpg);
    let mut names: Vec<String> = std::fs::read_dir(release.dist.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            Release::zip_name(),
            Release::sums_name(),
            format!("{}.sig", Release::sums_name()),
            format!("{NAME}_{VERSION}_manifest.json"),
            "terraform-registry-manifest.json".to_string(),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    let sums = release.dist.path().join(Release::sums_name());
    let verify = run(gpg
        .cmd()
        .args(["--status-fd", "1", "--verify"])
        .arg(
            release
                .dist
                .path()
                .join(format!("{}.sig", Release::sums_name())),
        )
        .arg(&sums));
    assert!(
        stdout(&verify).contains(&format!("VALIDSIG {}", gpg.fingerprint)),
        "{}",
        stdout(&verify)
    );
    // A binary (not armored) detached signature, as the Registry expects.
    assert!(
        !release
            .read(&format!("{}.sig", Release::sums_name()))
            .starts_with(b"-----")
    );
}

/// What the registry serves, and where.
struct Registry {
    server: StaticHttps,
}

impl Registry {
    /// Serves `release` under the registry protocol for `localhost:PORT/vmaccess/vm`, advertising
    /// `advertised`'s public key; `zip` and `sig` are what is actually downloaded.
    async fn serve(release: &Release, advertised: &Gpg, zip: Vec<u8>, sig: Vec<u8>) -> Registry {
        let server = StaticHttps::start().await;
        let base = server.base_url();
        server.put(
            "/.well-known/terraform.json",
            json!({"providers.v1": "/v1/providers/"}).to_string(),
        );
        server.put(
            "/v1/providers/vmaccess/vm/versions",
            json!({"versions": [{
                "version": VERSION,
                "protocols": ["6.0"],
                "platforms": [{"os": "linux", "arch": "amd64"}],
            }]})
            .to_string(),
        );
        let sums = Release::sums_name();
        server.put(
            &format!("/v1/providers/vmaccess/vm/{VERSION}/download/linux/amd64"),
            json!({
                "protocols": ["6.0"],
                "os": "linux",
                "arch": "amd64",
                "filename": Release::zip_name(),
                "download_url": format!("{base}/files/{}", Release::zip_name()),
                "shasums_url": format!("{base}/files/{sums}"),
                "shasums_signature_url": format!("{base}/files/{sums}.sig"),
                "shasum": release.zip_sha256(),
                "signing_keys": {"gpg_public_keys": [{
                    "key_id": advertised.key_id(),
                    "ascii_armor": advertised.public_key(),
                }]},
            })
            .to_string(),
        );
        server.put(&format!("/files/{}", Release::zip_name()), zip);
        server.put(&format!("/files/{sums}"), release.read(&sums));
        server.put(&format!("/files/{sums}.sig"), sig);
        Registry { server }
    }
}

/// The acceptance fixture with `SSL_CERT_FILE` trusting both the emulator and `server`, a CLI
/// configuration `cli_config`, and a configuration using `source`.
async fn fixture(server: &StaticHttps, cli_config: &str, source: &str) -> Acceptance {
    let mut acc = Acceptance::start().await;
    let bundle = acc.tf.work_dir().join("../bundle.pem");
    std::fs::write(
        &bundle,
        format!("{}{}", acc.emu.emulator.ca_pem(), server.ca_pem),
    )
    .unwrap();
    acc.tf.set_env("SSL_CERT_FILE", &bundle.to_string_lossy());
    acc.tf.write("../terraform.rc", cli_config);
    let vm = acc.emu.seed_windows_vm("web01").await;
    acc.tf.write(
        "main.tf",
        &format!(
            "terraform {{\n  required_providers {{\n    vm = {{\n      source  = \"{source}\"\n      version = \"{VERSION}\"\n    }}\n  }}\n}}\n\n{}",
            reset_block("web", &vm, &[])
        ),
    );
    acc
}

fn init(acc: &Acceptance) -> TfOutput {
    acc.run(&["init", "-no-color", "-input=false"])
}

/// `init` failed to install the provider, saying why (`reasons`), and wrote no lock file.
fn assert_install_refused(acc: &Acceptance, out: &TfOutput, reasons: &[&str]) {
    out.assert_failure()
        .assert_mentions(&["Error: Failed to install provider"])
        .assert_mentions(reasons);
    acc.assert_no_lock_file();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_init_from_a_registry_verifies_and_installs_the_release() {
    let gpg = Gpg::new("registry");
    let release = Release::package(&gpg);
    let sig = release.read(&format!("{}.sig", Release::sums_name()));
    let registry = Registry::serve(&release, &gpg, release.read(&Release::zip_name()), sig).await;
    let source = format!("{}/vmaccess/vm", registry.server.host());
    // No dev_overrides, no mirrors: Terraform's default installation from the source's host.
    let acc = fixture(&registry.server, "", &source).await;

    let out = init(&acc);
    out.assert_success();
    assert!(
        out.stdout.contains(&format!(
            "Installed {source} v{VERSION} (self-signed, key ID {})",
            gpg.key_id()
        )),
        "{out}"
    );
    let zip_hash = format!("\"zh:{}\"", release.zip_sha256());
    acc.assert_lock_file(&source, &[&zip_hash, "\"h1:"]);
    let requests = registry.server.requests();
    for path in [
        "/.well-known/terraform.json".to_string(),
        format!("/files/{}", Release::zip_name()),
        format!("/files/{}.sig", Release::sums_name()),
    ] {
        assert!(
            requests.contains(&path),
            "{path} not requested: {requests:?}"
        );
    }

    // The installed release binary serves the plan.
    let plan = acc.plan_json(&[]);
    assert_eq!(actions_of(&plan, "vm_access_reset.web"), vec!["create"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_init_refuses_a_tampered_zip() {
    let gpg = Gpg::new("registry");
    let release = Release::package(&gpg);
    let mut zip = release.read(&Release::zip_name());
    let last = zip.len() - 1;
    zip[last] ^= 0xff;
    let zip_served = zip.clone();
    let sig = release.read(&format!("{}.sig", Release::sums_name()));
    let registry = Registry::serve(&release, &gpg, zip, sig).await;
    let source = format!("{}/vmaccess/vm", registry.server.host());
    let acc = fixture(&registry.server, "", &source).await;

    let served = format!(
        "archive has incorrect checksum zh:{}",
        sha256_hex(&zip_served)
    );
    let expected = format!("(expected zh:{})", release.zip_sha256());
    assert_install_refused(&acc, &init(&acc), &[&served, &expected]);
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_init_refuses_a_signature_by_another_key() {
    let gpg = Gpg::new("registry");
    let release = Release::package(&gpg);
    // The sums signed by an impostor, while the registry advertises the real key.
    let impostor = Gpg::new("impostor");
    let sums = release.dist.path().join(Release::sums_name());
    let forged = release.dist.path().join("forged.sig");
    run(impostor
        .cmd()
        .arg("--output")
        .arg(&forged)
        .arg("--detach-sign")
        .arg(&sums));
    let registry = Registry::serve(
        &release,
        &gpg,
        release.read(&Release::zip_name()),
        std::fs::read(&forged).unwrap(),
    )
    .await;
    let source = format!("{}/vmaccess/vm", registry.server.host());
    let acc = fixture(&registry.server, "", &source).await;

    assert_install_refused(
        &acc,
        &init(&acc),
        &["authentication signature from unknown issuer"],
    );
}

/// A network mirror (`provider_installation { network_mirror { … } }`) serving the release zip
/// for the ordinary `vmaccess/vm` source; `tamper` flips a byte of the served zip.
async fn network_mirror(tamper: bool) -> (Acceptance, TfOutput) {
    let gpg = Gpg::new("mirror");
    let release = Release::package(&gpg);
    let server = StaticHttps::start().await;
    let prefix = "/mirror/registry.terraform.io/vmaccess/vm";
    server.put(
        &format!("{prefix}/index.json"),
        json!({"versions": {VERSION: {}}}).to_string(),
    );
    server.put(
        &format!("{prefix}/{VERSION}.json"),
        json!({"archives": {PLATFORM: {
            "url": Release::zip_name(),
            "hashes": [format!("zh:{}", release.zip_sha256())],
        }}})
        .to_string(),
    );
    let mut zip = release.read(&Release::zip_name());
    if tamper {
        let last = zip.len() - 1;
        zip[last] ^= 0xff;
    }
    server.put(&format!("{prefix}/{}", Release::zip_name()), zip);
    let cli = format!(
        "provider_installation {{\n  network_mirror {{\n    url = \"{}/mirror/\"\n  }}\n}}\n",
        server.base_url()
    );
    let acc = fixture(&server, &cli, "vmaccess/vm").await;
    let out = init(&acc);
    let requests = server.requests();
    assert!(
        requests.contains(&format!("{prefix}/{}", Release::zip_name())),
        "the zip came from the mirror: {requests:?}"
    );
    (acc, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_init_from_a_network_mirror() {
    let (acc, out) = network_mirror(false).await;
    out.assert_success();
    assert!(
        out.stdout
            .contains(&format!("Installed vmaccess/vm v{VERSION}")),
        "{out}"
    );
    // A mirror's hashes are checked but not recorded: the lock holds the package's own h1 hash.
    acc.assert_lock_file("registry.terraform.io/vmaccess/vm", &["\"h1:"]);
    let plan = acc.plan_json(&[]);
    assert_eq!(actions_of(&plan, "vm_access_reset.web"), vec!["create"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_mirror_init_refuses_a_tampered_zip() {
    let (acc, out) = network_mirror(true).await;
    assert_install_refused(
        &acc,
        &out,
        &["provider package doesn't match the expected checksum \"zh:"],
    );
}
