"""The Azure SDK for Python (azure-identity, azure-mgmt-compute), unmodified,
against the emulator: every credential flow it serves, VM reads, the
create-or-update poller in both long-running-operation styles, error shapes."""

import base64
import datetime
import json
import os
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import (
    CertificateCredential,
    ClientAssertionCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
)
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import VirtualMachineExtension, VirtualMachineScaleSetVMExtension

from conftest import ADMIN, OLD_PASSWORD, RG

ARM_SCOPE = "https://management.azure.com/.default"


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def secret_credential(emulator):
    return ClientSecretCredential(
        emulator.tenant_id,
        emulator.client_id,
        emulator.client_secret,
        authority=emulator.endpoint,
        disable_instance_discovery=True,
    )


@pytest.fixture(scope="module")
def compute(emulator):
    # The SDK's default scope (https://management.azure.com/.default) is kept.
    return ComputeManagementClient(secret_credential(emulator), emulator.subscription_id, base_url=emulator.endpoint)


def vmaccess(password, username=ADMIN, location="westeurope"):
    return VirtualMachineExtension(
        location=location,
        publisher="Microsoft.Compute",
        type_properties_type="VMAccessAgent",
        type_handler_version="2.4",
        auto_upgrade_minor_version=True,
        settings={"UserName": username},
        protected_settings={"Password": password},
    )


def check_arm_token(emulator, token, principal_claims):
    body = claims(token.token)
    assert body["tid"] == emulator.tenant_id
    assert body["aud"] == "https://management.azure.com"
    assert body["ver"] == "1.0"
    assert body["idtyp"] == "app"
    for key, value in principal_claims.items():
        assert body[key] == value, key
    # ARM accepts it.
    response = requests.get(
        f"{emulator.endpoint}/subscriptions/{emulator.subscription_id}?api-version=2022-12-01",
        headers={"Authorization": f"Bearer {token.token}"},
        verify=emulator.ca_file,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["subscriptionId"] == emulator.subscription_id


def test_client_secret_credential(emulator):
    token = secret_credential(emulator).get_token(ARM_SCOPE)
    check_arm_token(emulator, token, {"appid": emulator.client_id, "appidacr": "1"})


def test_certificate_credential(emulator, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conformance")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    client_id = str(uuid.uuid4())
    emulator.admin("POST", "clients", {"client_id": client_id, "certificate_pem": cert_pem.decode()})
    path = tmp_path / "client.pem"
    path.write_bytes(key_pem + cert_pem)
    credential = CertificateCredential(
        emulator.tenant_id, client_id, certificate_path=str(path),
        authority=emulator.endpoint, disable_instance_discovery=True,
    )
    check_arm_token(emulator, credential.get_token(ARM_SCOPE), {"appid": client_id, "appidacr": "2"})


def test_client_assertion_credential_with_a_federated_token(emulator):
    federated = emulator.admin("POST", "oidc/token", {"subject": "repo:conformance:ref:refs/heads/main"})["value"]
    credential = ClientAssertionCredential(
        emulator.tenant_id, emulator.client_id, lambda: federated,
        authority=emulator.endpoint, disable_instance_discovery=True,
    )
    check_arm_token(emulator, credential.get_token(ARM_SCOPE), {"appid": emulator.client_id, "appidacr": "2"})


def test_managed_identity_credential(emulator, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.endpoint}/_emulator/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", emulator.info["identity_header"])
    token = ManagedIdentityCredential().get_token(ARM_SCOPE)
    check_arm_token(emulator, token, {"appidacr": "2"})
    assert "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" in claims(token.token)["xms_mirid"]


def test_graph_token_is_issued_and_refused_by_arm(emulator):
    token = secret_credential(emulator).get_token("https://graph.microsoft.com/.default")
    assert claims(token.token)["aud"] == "https://graph.microsoft.com"
    response = requests.get(
        f"{emulator.endpoint}/subscriptions?api-version=2022-12-01",
        headers={"Authorization": f"Bearer {token.token}"},
        verify=emulator.ca_file,
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_vm_get_with_instance_view(compute, emulator):
    name = emulator.seed_vm()
    vm = compute.virtual_machines.get(RG, name, expand="instanceView")
    assert vm.storage_profile.os_disk.os_type == "Windows"
    assert "PowerState/running" in [s.code for s in vm.instance_view.statuses]
    view = compute.virtual_machines.instance_view(RG, name)
    assert view.vm_agent.statuses[0].display_status == "Ready"


@pytest.mark.parametrize("style", ["async_operation", "location_only"])
def test_create_or_update_poller_in_both_lro_styles(compute, emulator, style):
    emulator.set_lro_style(style)
    try:
        name = emulator.seed_vm()
        password = f"Poller-{style[:5]}-Passw0rd!"
        poller = compute.virtual_machine_extensions.begin_create_or_update(RG, name, "VMAccessAgent", vmaccess(password))
        result = poller.result()
        assert result.provisioning_state == "Succeeded"
        assert emulator.login(name, ADMIN, password)["ok"]
        polls = [
            r for r in emulator.requests_log()
            if r["method"] == "GET" and "/operations/" in r["path"] and r["status"] in (200, 202)
        ]
        monitor = [r for r in polls if "monitor=true" in (r["query"] or "")]
        if style == "location_only":
            assert monitor, "the poller followed the Location header"
        else:
            assert len(polls) > len(monitor), "the poller followed Azure-AsyncOperation"
        extension = compute.virtual_machine_extensions.get(RG, name, "VMAccessAgent", expand="instanceView")
        assert extension.instance_view.statuses[0].code == "ProvisioningState/succeeded"
        compute.virtual_machine_extensions.begin_delete(RG, name, "VMAccessAgent").result()
        assert emulator.vm(name)["extensions"] == []
    finally:
        emulator.set_lro_style("async_operation")


def test_missing_vm_error_shape(compute, emulator):
    emulator.seed_vm()
    with pytest.raises(ResourceNotFoundError) as raised:
        compute.virtual_machines.get(RG, "no-such-vm")
    assert raised.value.error.code == "ResourceNotFound"


def test_stopped_vm_error_shape(compute, emulator):
    name = emulator.seed_vm(power_state="deallocated")
    with pytest.raises(HttpResponseError) as raised:
        compute.virtual_machine_extensions.begin_create_or_update(RG, name, "VMAccessAgent", vmaccess("Stopped-Passw0rd!1"))
    assert raised.value.status_code == 409
    assert raised.value.error.code == "OperationNotAllowed"


def test_weak_password_fails_the_operation(compute, emulator):
    name = emulator.seed_vm()
    poller = compute.virtual_machine_extensions.begin_create_or_update(RG, name, "VMAccessAgent", vmaccess("weakpassword"))
    with pytest.raises(HttpResponseError) as raised:
        poller.result()
    assert "VMExtensionProvisioningError" in str(raised.value)
    assert emulator.login(name, ADMIN, OLD_PASSWORD)["ok"]


def test_unsupported_api_version_error_shape(compute, emulator):
    name = emulator.seed_vm()
    with pytest.raises(HttpResponseError) as raised:
        compute.virtual_machines.get(RG, name, api_version="2014-01-01")
    assert raised.value.error.code == "NoRegisteredProviderFound"
    assert "2024-11-01" in raised.value.error.message


def test_scale_set_vms_get_with_instance_view_and_list(compute, emulator):
    name = emulator.seed_linux_scale_set(instances=3, deallocated=[2])
    instance = compute.virtual_machine_scale_set_vms.get(RG, name, "0", expand="instanceView")
    assert instance.instance_id == "0"
    assert instance.latest_model_applied
    assert "PowerState/running" in [s.code for s in instance.instance_view.statuses]
    assert instance.instance_view.vm_agent.statuses[0].display_status == "Ready"
    listed = list(compute.virtual_machine_scale_set_vms.list(RG, name, expand="instanceView"))
    assert [i.instance_id for i in listed] == ["0", "1", "2"]
    assert "PowerState/deallocated" in [s.code for s in listed[2].instance_view.statuses]


def test_scale_set_vm_extensions_create_get_list_delete(compute, emulator):
    name = emulator.seed_linux_scale_set(instances=2)
    new_password = "Sdk-Instance-Passw0rd!1"
    extension = VirtualMachineScaleSetVMExtension(
        publisher="Microsoft.OSTCExtensions",
        type_properties_type="VMAccessForLinux",
        type_handler_version="1.5",
        auto_upgrade_minor_version=True,
        protected_settings={"username": ADMIN, "password": new_password},
    )
    vm_extensions = compute.virtual_machine_scale_set_vm_extensions
    result = vm_extensions.begin_create_or_update(RG, name, "0", "VMAccessForLinux", extension).result()
    assert result.provisioning_state == "Succeeded"
    assert result.protected_settings is None
    assert emulator.instance_ssh_login(name, "0", ADMIN, new_password)["ok"]
    assert not emulator.instance_ssh_login(name, "1", ADMIN, new_password)["ok"], "only instance 0"
    got = vm_extensions.get(RG, name, "0", "VMAccessForLinux", expand="instanceView")
    assert got.type == "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions"
    assert got.instance_view.statuses[0].code == "ProvisioningState/succeeded"
    assert [e.name for e in vm_extensions.list(RG, name, "0").value] == ["VMAccessForLinux"]
    vm_extensions.begin_delete(RG, name, "0", "VMAccessForLinux").result()
    assert vm_extensions.list(RG, name, "0").value == []
