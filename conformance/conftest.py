"""Fixtures for the conformance tests: Microsoft's own clients, unmodified,
against the emulator binary.

The clients get only documented configuration: a custom cloud registered from
the emulator's metadata endpoint (`az cloud register`), the authority host and
`disable_instance_discovery` (azure-identity), `AZURE_CORE_INSTANCE_DISCOVERY`
(az CLI) and the emulator's CA through `REQUESTS_CA_BUNDLE`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
RG = "rg-conformance"
ADMIN = "azureadmin"
OLD_PASSWORD = "Initial-Passw0rd!2026"


class Emulator:
    """A running `vm-emulator` process and its admin API."""

    def __init__(self, info, process, state_dir):
        self.info = info
        self.process = process
        self.state_dir = state_dir
        self.endpoint = info["endpoint"]
        self.ca_file = info["ca_file"]
        self.tenant_id = info["tenant_id"]
        self.client_id = info["client_id"]
        self.client_secret = info["client_secret"]
        self.subscription_id = info["subscription_id"]
        self.http = requests.Session()
        self.http.verify = self.ca_file

    def admin(self, method, path, body=None):
        response = self.http.request(
            method, f"{self.endpoint}/_emulator/{path}", json=body, timeout=30
        )
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def vm_path(self, name):
        return f"vms/{self.subscription_id}/{RG}/{name}"

    def seed_vm(self, **extra):
        """A running Windows VM with one administrator; returns its name."""
        name = f"vm-{uuid.uuid4().hex[:8]}"
        seed = {"accounts": [{"name": ADMIN, "password": OLD_PASSWORD}], **extra}
        self.admin("PUT", self.vm_path(name), seed)
        return name

    def vm(self, name):
        return self.admin("GET", self.vm_path(name))

    def seed_linux_vm(self, **guest):
        """A running Linux VM with this guest (users, sshd_config, …); returns its name."""
        name = f"lx-{uuid.uuid4().hex[:8]}"
        self.admin("PUT", self.vm_path(name), {"os_type": "Linux", "linux": guest})
        return name

    def linux_guest(self, name):
        """The Linux guest: users, their authorized_keys, sshd_config, sshd restarts."""
        return self.admin("GET", f"{self.vm_path(name)}/linux")

    def ssh_login(self, name, username, password=None, public_key=None):
        """The emulator's SSH login check, by password or by public key."""
        body = {"username": username, "password": password, "public_key": public_key}
        return self.admin("POST", f"{self.vm_path(name)}/ssh-login", body)

    def login(self, name, username, password):
        """The emulator's guest login check: does this password open the VM?"""
        return self.admin("POST", f"{self.vm_path(name)}/login", {"username": username, "password": password})

    def scale_set_path(self, name):
        return f"scale-sets/{self.subscription_id}/{RG}/{name}"

    def seed_linux_scale_set(self, instances=3, password=OLD_PASSWORD, **extra):
        """A scale set of Linux instances whose `azureadmin` logs in by `password` (sshd lets
        passwords in); `extra` is the rest of the seed (orchestration_mode, stopped, …).
        Returns its name."""
        name = f"ss-{uuid.uuid4().hex[:8]}"
        guest = {
            "users": [{"name": ADMIN, "password": password, "sudo": "no_password"}],
            "sshd_config": {"password_authentication": True},
        }
        seed = {"instances": instances, "instance": {"os_type": "Linux", "linux": guest}, **extra}
        self.admin("PUT", self.scale_set_path(name), seed)
        return name

    def scale_set(self, name):
        """The scale set as the admin API shows it: model extensions (setting names only) and
        instances (key, power state, latest_model_applied, the instance as a VM)."""
        return self.admin("GET", self.scale_set_path(name))

    def instance_ssh_login(self, name, key, username, password):
        """The emulator's SSH login check on instance `key` (instance ID, or VM name)."""
        body = {"username": username, "password": password}
        return self.admin("POST", f"{self.scale_set_path(name)}/instances/{key}/ssh-login", body)

    def set_lro_style(self, style):
        self.admin("POST", "config", {"lro_style": style})

    def requests_log(self):
        return self.admin("GET", "requests")

    def vm_id(self, name):
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{RG}"
            f"/providers/Microsoft.Compute/virtualMachines/{name}"
        )


@pytest.fixture(scope="session")
def emulator():
    binary = os.environ.get("CONFORMANCE_EMULATOR_BIN", str(ROOT / "target/debug/vm-emulator"))
    if not Path(binary).is_file():
        pytest.fail(f"the emulator binary {binary} does not exist; build it with `cargo build -p vm-emulator`")
    state_dir = tempfile.mkdtemp(prefix="conformance-emulator-")
    process = subprocess.Popen(
        [binary, "--state-dir", state_dir, "--operation-delay-ms", "300"],
        stdout=subprocess.PIPE,
        stderr=open(Path(state_dir) / "emulator.log", "wb"),
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        log = (Path(state_dir) / "emulator.log").read_text()
        pytest.fail(f"the emulator exited ({process.returncode}) without describing itself: {log}")
    info = json.loads(line)
    assert info == json.loads((Path(state_dir) / "emulator.json").read_text())
    emu = Emulator(info, process, state_dir)
    yield emu
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def ca_bundle(emulator):
    """Trust the emulator's CA the way requests-based clients document it."""
    os.environ["REQUESTS_CA_BUNDLE"] = emulator.ca_file
    yield


class Az:
    """The az CLI in its own configuration directory."""

    def __init__(self, config_dir, emulator):
        self.emulator = emulator
        self.env = {
            **os.environ,
            "AZURE_CONFIG_DIR": config_dir,
            "REQUESTS_CA_BUNDLE": emulator.ca_file,
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "true",
        }
        self.env.pop("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", None)

    def run(self, *args, check=True):
        """Runs `az ARGS -o json`; returns (exit code, parsed stdout or None, stderr)."""
        result = subprocess.run(
            [sys.executable, "-m", "azure.cli", *args, "-o", "json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            pytest.fail(f"az {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        output = json.loads(result.stdout) if result.stdout.strip() else None
        return result.returncode, output, result.stderr

    def __call__(self, *args):
        return self.run(*args)[1]


@pytest.fixture(scope="session")
def az_configured(emulator):
    """An az CLI with the emulator registered as a cloud, not yet logged in."""
    config_dir = tempfile.mkdtemp(prefix="conformance-az-")
    az = Az(config_dir, emulator)
    az("cloud", "register", "--name", "AzureEmulator", "--endpoint-resource-manager", emulator.endpoint)
    az("cloud", "set", "--name", "AzureEmulator")
    yield az
    shutil.rmtree(config_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def az(az_configured, emulator):
    """The az CLI logged in as the emulator's service principal."""
    az_configured(
        "login",
        "--service-principal",
        "--username", emulator.client_id,
        "--password", emulator.client_secret,
        "--tenant", emulator.tenant_id,
    )
    return az_configured


def wait_until(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
