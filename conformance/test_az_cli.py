"""The az CLI, unmodified, against the emulator: sign-in, VM reads, the
VMAccess password reset, extension management and Azure's error shapes."""

import json

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
