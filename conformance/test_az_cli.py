"""The az CLI, unmodified, against the emulator: sign-in, VM reads, the
VMAccess password reset, extension management and Azure's error shapes."""

import base64
import hashlib
import json
import struct

from conftest import ADMIN, OLD_PASSWORD, RG


def requests_matching(emulator, method, fragment):
    return [
        r
        for r in emulator.requests_log()
        if r["method"] == method and fragment.lower() in r["path"].lower()
    ]


def test_service_principal_login_selects_the_subscription(az, emulator):
    account = az("account", "show")
    assert account["id"] == emulator.subscription_id
    assert account["tenantId"] == emulator.tenant_id
    assert account["homeTenantId"] == emulator.tenant_id
    assert account["name"] == "Emulator Subscription"
    assert account["state"] == "Enabled"
    assert account["environmentName"] == "AzureEmulator"
    assert account["user"] == {"name": emulator.client_id, "type": "servicePrincipal"}
    log = emulator.requests_log()
    assert any(
        r["path"] == f"/{emulator.tenant_id}/v2.0/.well-known/openid-configuration" and r["status"] == 200
        for r in log
    ), "MSAL read the discovery document"
    assert any(r["path"] == "/subscriptions" and r["status"] == 200 for r in log)


def test_access_token_is_a_jwt_for_the_cli_scope(az, emulator):
    token = az("account", "get-access-token")
    assert token["tenant"] == emulator.tenant_id
    assert token["subscription"] == emulator.subscription_id
    header, claims, signature = token["accessToken"].split(".")
    import base64

    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    # The CLI asks for audiences[0] + "/.default" with the slash kept.
    assert payload["aud"] == "https://management.emulator.local/"
    assert payload["tid"] == emulator.tenant_id
    assert payload["appid"] == emulator.client_id
    assert payload["idtyp"] == "app"
    assert payload["exp"] > payload["iat"]


def test_vm_show_and_instance_view(az, emulator):
    name = emulator.seed_vm()
    vm = az("vm", "show", "--resource-group", RG, "--name", name)
    assert vm["id"].lower() == emulator.vm_id(name).lower()
    assert vm["storageProfile"]["osDisk"]["osType"] == "Windows"
    view = az("vm", "get-instance-view", "--resource-group", RG, "--name", name)
    codes = [s["code"] for s in view["instanceView"]["statuses"]]
    assert "PowerState/running" in codes
    assert view["instanceView"]["vmAgent"]["statuses"][0]["displayStatus"] == "Ready"


def test_vm_user_update_resets_the_password_in_the_guest(az, emulator):
    name = emulator.seed_vm()
    new_password = "Conformance-Passw0rd!1"
    assert not emulator.login(name, ADMIN, new_password)["ok"]
    az("vm", "user", "update", "--resource-group", RG, "--name", name, "--username", ADMIN, "--password", new_password)
    assert emulator.login(name, ADMIN, new_password)["ok"], "the new password opens the VM"
    assert not emulator.login(name, ADMIN, OLD_PASSWORD)["ok"], "the old one no longer does"
    extension = az("vm", "extension", "show", "--resource-group", RG, "--vm-name", name, "--name", "enablevmaccess")
    assert extension["typeHandlerVersion"] == "2.4"
    assert extension["provisioningState"] == "Succeeded"
    assert "protectedSettings" not in extension or extension["protectedSettings"] is None


def set_vmaccess(az, name, *extra):
    return az(
        "vm", "extension", "set",
        "--resource-group", RG,
        "--vm-name", name,
        "--name", "VMAccessAgent",
        "--publisher", "Microsoft.Compute",
        "--settings", json.dumps({"UserName": "opsadmin"}),
        "--protected-settings", json.dumps({"Password": "Ops-Passw0rd!2026"}),
        *extra,
    )


def test_extension_set_with_version(az, emulator):
    name = emulator.seed_vm()
    extension = set_vmaccess(az, name, "--version", "2.0")
    assert extension["typeHandlerVersion"] == "2.0"
    assert extension["provisioningState"] == "Succeeded"
    assert emulator.login(name, "opsadmin", "Ops-Passw0rd!2026")["ok"], "VMAccess created the account"


def test_extension_set_without_version_takes_the_newest_from_the_catalogue(az, emulator):
    name = emulator.seed_vm()
    extension = set_vmaccess(az, name)
    # Newest published VMAccessAgent is 2.4.9; the CLI trims to major.minor.
    assert extension["typeHandlerVersion"] == "2.4"
    assert requests_matching(emulator, "GET", "/locations/westeurope/publishers/Microsoft.Compute/artifacttypes/vmextension/types/VMAccessAgent/versions")
    assert emulator.login(name, "opsadmin", "Ops-Passw0rd!2026")["ok"]


def test_extension_show_list_delete(az, emulator):
    name = emulator.seed_vm()
    set_vmaccess(az, name, "--version", "2.4")
    shown = az("vm", "extension", "show", "--resource-group", RG, "--vm-name", name, "--name", "VMAccessAgent")
    assert shown["publisher"] == "Microsoft.Compute"
    assert shown["settings"] == {"UserName": "opsadmin"}
    listed = az("vm", "extension", "list", "--resource-group", RG, "--vm-name", name)
    assert [e["name"] for e in listed] == ["VMAccessAgent"]
    az("vm", "extension", "delete", "--resource-group", RG, "--vm-name", name, "--name", "VMAccessAgent")
    assert az("vm", "extension", "list", "--resource-group", RG, "--vm-name", name) == []
    assert emulator.vm(name)["extensions"] == []


def test_stopped_vm_refuses_the_password_reset(az, emulator):
    name = emulator.seed_vm(power_state="stopped")
    code, _, stderr = az.run(
        "vm", "user", "update", "--resource-group", RG, "--name", name,
        "--username", ADMIN, "--password", "Conformance-Passw0rd!2", check=False,
    )
    assert code != 0
    assert "Cannot modify extensions in the VM when the VM is not running." in stderr
    assert "OperationNotAllowed" in stderr


def test_missing_vm_is_resource_not_found(az, emulator):
    emulator.seed_vm()  # the resource group exists
    code, _, stderr = az.run("vm", "show", "--resource-group", RG, "--name", "no-such-vm", check=False)
    assert code != 0
    assert "(ResourceNotFound)" in stderr
    assert "Microsoft.Compute/virtualMachines/no-such-vm" in stderr


def test_weak_password_fails_the_extension(az, emulator):
    name = emulator.seed_vm()
    code, _, stderr = az.run(
        "vm", "user", "update", "--resource-group", RG, "--name", name,
        "--username", ADMIN, "--password", "weakpassword", check=False,
    )
    assert code != 0
    assert "VMExtensionProvisioningError" in stderr
    assert "password does not meet the password policy requirements" in stderr
    assert emulator.login(name, ADMIN, OLD_PASSWORD)["ok"], "the old password still works"


def test_wrong_api_version_is_refused_with_the_supported_list(az, emulator):
    name = emulator.seed_vm()
    code, _, stderr = az.run(
        "rest", "--method", "get",
        "--url", f"{emulator.endpoint}{emulator.vm_id(name)}?api-version=2014-01-01",
        check=False,
    )
    assert code != 0
    assert "NoRegisteredProviderFound" in stderr
    assert "2024-11-01" in stderr


# ---- Linux: VMAccessForLinux through `az vm user` and `az vm extension set` ----------------

LINUX_USER = "azureuser"


def ed25519_key(label):
    """An OpenSSH ssh-ed25519 public key line, the same for the same label."""
    blob = b"".join(struct.pack(">I", len(part)) + part for part in (b"ssh-ed25519", hashlib.sha256(label.encode()).digest()))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {label}"


def seed_linux(emulator, **ssh):
    """A Linux VM whose admin logs in with the key "old"; passwords are off."""
    users = [{"name": LINUX_USER, "sudo": "no_password", "authorized_keys": [ed25519_key("old")]},
             {"name": "leaver", "authorized_keys": [ed25519_key("leaver")]}]
    return emulator.seed_linux_vm(users=users, **ssh)


def linux_user(emulator, name, username):
    return next((u for u in emulator.linux_guest(name)["users"] if u["name"] == username), None)


def vm_user(az, name, command, *args, check=True):
    return az.run("vm", "user", command, "--resource-group", RG, "--name", name, *args, check=check)


def assert_linux_vmaccess(az, name):
    extension = az("vm", "extension", "show", "--resource-group", RG, "--vm-name", name, "--name", "enablevmaccess")
    assert extension["publisher"] == "Microsoft.OSTCExtensions"
    assert extension["typeHandlerVersion"] == "1.5"
    assert extension["provisioningState"] == "Succeeded"
    assert extension.get("protectedSettings") is None


def test_linux_vm_user_update_password_opens_password_login(az, emulator):
    name = seed_linux(emulator)
    password = "Linux-Passw0rd!2026"
    assert emulator.ssh_login(name, LINUX_USER, password=password)["reason"] == "PasswordAuthentication no"
    vm_user(az, name, "update", "--username", LINUX_USER, "--password", password)
    assert emulator.ssh_login(name, LINUX_USER, password=password)["ok"]
    assert emulator.ssh_login(name, LINUX_USER, public_key=ed25519_key("old"))["ok"], "keys untouched"
    guest = emulator.linux_guest(name)
    assert guest["sshd_config"]["password_authentication"], "a password turns PasswordAuthentication on"
    assert linux_user(emulator, name, LINUX_USER)["sudo"] == "password"
    assert_linux_vmaccess(az, name)


def test_linux_vm_user_update_ssh_key_is_appended(az, emulator):
    name = seed_linux(emulator)
    new_key = ed25519_key("new")
    assert not emulator.ssh_login(name, LINUX_USER, public_key=new_key)["ok"]
    vm_user(az, name, "update", "--username", LINUX_USER, "--ssh-key-value", new_key)
    assert emulator.ssh_login(name, LINUX_USER, public_key=new_key)["ok"]
    assert emulator.ssh_login(name, LINUX_USER, public_key=ed25519_key("old"))["ok"], "appended, not replaced"
    assert linux_user(emulator, name, LINUX_USER)["authorized_keys"] == [ed25519_key("old"), new_key]
    assert not emulator.linux_guest(name)["sshd_config"]["password_authentication"]
    assert_linux_vmaccess(az, name)


def test_linux_vm_user_reset_ssh_repairs_a_broken_sshd_config(az, emulator):
    name = seed_linux(emulator, sshd_config={"broken": True}, ssh_port_open=False)
    refused = emulator.ssh_login(name, LINUX_USER, public_key=ed25519_key("old"))
    assert not refused["ok"]
    vm_user(az, name, "reset-ssh")
    assert emulator.ssh_login(name, LINUX_USER, public_key=ed25519_key("old"))["ok"]
    guest = emulator.linux_guest(name)
    assert guest["sshd_config"]["default_of"] == "ubuntu"
    assert not guest["sshd_config"]["broken"] and guest["ssh_port_open"]
    assert_linux_vmaccess(az, name)


def test_linux_vm_user_delete_removes_the_user(az, emulator):
    name = seed_linux(emulator)
    assert emulator.ssh_login(name, "leaver", public_key=ed25519_key("leaver"))["ok"]
    vm_user(az, name, "delete", "--username", "leaver")
    assert linux_user(emulator, name, "leaver") is None
    assert emulator.ssh_login(name, "leaver", public_key=ed25519_key("leaver"))["reason"] == "no such user"
    assert linux_user(emulator, name, LINUX_USER) is not None
    assert_linux_vmaccess(az, name)


def test_linux_only_vm_user_delete_is_refused_on_windows_by_the_cli(az, emulator):
    name = emulator.seed_vm()
    code, _, stderr = az.run("vm", "user", "delete", "--resource-group", RG, "--name", name, "--username", ADMIN, check=False)
    assert code != 0
    assert "not supported on Windows VM" in stderr


def test_linux_extension_set_vmaccess_for_linux_replaces_keys(az, emulator):
    name = seed_linux(emulator)
    new_key = ed25519_key("replacement")
    protected = {"username": LINUX_USER, "ssh_key": new_key, "remove_prior_keys": True}
    extension = az(
        "vm", "extension", "set",
        "--resource-group", RG,
        "--vm-name", name,
        "--publisher", "Microsoft.OSTCExtensions",
        "--name", "VMAccessForLinux",
        "--protected-settings", json.dumps(protected),
    )
    # Newest published VMAccessForLinux is 1.5.19; the CLI trims to major.minor.
    assert extension["typeHandlerVersion"] == "1.5"
    assert extension["provisioningState"] == "Succeeded"
    assert emulator.ssh_login(name, LINUX_USER, public_key=new_key)["ok"]
    assert emulator.ssh_login(name, LINUX_USER, public_key=ed25519_key("old"))["reason"] == "key not in authorized_keys"
    view = az("vm", "get-instance-view", "--resource-group", RG, "--name", name)
    statuses = {e["name"]: e for e in view["instanceView"]["extensions"]}
    assert statuses["VMAccessForLinux"]["type"] == "Microsoft.OSTCExtensions.VMAccessForLinux"
    assert statuses["VMAccessForLinux"]["statuses"][0]["message"] == "Enable succeeded."


def test_linux_vm_user_update_failure_reaches_the_cli_verbatim(az, emulator):
    name = seed_linux(emulator)
    code, _, stderr = vm_user(az, name, "update", "--username", LINUX_USER, "--ssh-key-value", "ecdsa-sha2-nistp256 AAAA me", check=False)
    assert code != 0
    assert "VMExtensionProvisioningError" in stderr
    assert "Enable failed: Failed to generate public key file." in stderr


def test_vmss_list_instances(az, emulator):
    name = emulator.seed_linux_scale_set(instances=3, stopped=[1])
    instances = az("vmss", "list-instances", "--resource-group", RG, "--name", name)
    assert [i["instanceId"] for i in instances] == ["0", "1", "2"]
    assert [i["name"] for i in instances] == [f"{name}_0", f"{name}_1", f"{name}_2"]
    assert all(i["latestModelApplied"] for i in instances)
    assert instances[0]["storageProfile"]["osDisk"]["osType"] == "Linux"


def test_vmss_extension_set_then_update_instances_resets_the_password(az, emulator):
    name = emulator.seed_linux_scale_set(instances=2)
    new_password = "Scale-Set-Passw0rd!1"
    assert not emulator.instance_ssh_login(name, "0", ADMIN, new_password)["ok"]
    az(
        "vmss", "extension", "set",
        "--resource-group", RG,
        "--vmss-name", name,
        "--publisher", "Microsoft.OSTCExtensions",
        "--name", "VMAccessForLinux",
        "--version", "1.5",
        "--protected-settings", json.dumps({"username": ADMIN, "password": new_password}),
    )
    scale_set = emulator.scale_set(name)
    model = scale_set["model_extensions"]
    assert [(e["name"], e["type_handler_version"]) for e in model] == [("VMAccessForLinux", "1.5")]
    assert model[0]["protected_setting_keys"] == ["password", "username"]
    assert not any(i["latest_model_applied"] for i in scale_set["instances"]), "Manual: not yet applied"
    assert not emulator.instance_ssh_login(name, "0", ADMIN, new_password)["ok"]
    shown = az("vmss", "show", "--resource-group", RG, "--name", name)
    assert new_password not in json.dumps(shown)
    extension = shown["virtualMachineProfile"]["extensionProfile"]["extensions"][0]
    assert extension.get("protectedSettings") is None

    az("vmss", "update-instances", "--resource-group", RG, "--name", name, "--instance-ids", "*")
    for key in ("0", "1"):
        assert emulator.instance_ssh_login(name, key, ADMIN, new_password)["ok"], key
        assert not emulator.instance_ssh_login(name, key, ADMIN, OLD_PASSWORD)["ok"], key
    assert all(i["latest_model_applied"] for i in emulator.scale_set(name)["instances"])
    puts = requests_matching(emulator, "PUT", f"/virtualMachineScaleSets/{name}")
    assert puts and all(new_password not in json.dumps(r["body"]) for r in puts), "the log redacts it"
    assert requests_matching(emulator, "POST", f"/virtualMachineScaleSets/{name}/manualupgrade")
