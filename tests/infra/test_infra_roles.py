"""Identity and roles in the Bicep templates: the app's identity gets the least it needs, each
right scoped to one resource, and the deploying user what ingestion needs."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.infra

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# Built-in role definition ids.
OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
SEARCH_INDEX_DATA_READER = "1407120a-92aa-4202-b7e9-c0e197c71c8f"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
SEARCH_INDEX_DATA_CONTRIBUTOR = "8ebe5a00-799e-43f5-93ac-243d3dce84a7"
SEARCH_SERVICE_CONTRIBUTOR = "7ca78c08-252a-4471-8644-bb5ff32d4ba0"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
STORAGE_TABLE_DATA_READER = "76199698-9eea-4c19-bc75-cec21354c6b6"


def _loop_scope(template, assignment):
    """For `[for (x, i) in list: {scope: things[i]}]`: `things`, when it loops over the same
    list, so each assignment is scoped to one of them."""
    scope = assignment.get("scope")
    if assignment.loop is None or not isinstance(scope, dict):
        return None
    operands = scope["operator"]["operands"]
    assert scope["operator"]["type"] == "index_accessor"
    assert operands["operand_2"] == assignment.loop["detail"]["index_name"]
    (target,) = [r for r in template.resources(existing=True) if r.symbol == operands["operand_1"]]
    assert target.loop["detail"]["array_name"] == assignment.loop["detail"]["array_name"]
    return target.symbol


def role_grants(template):
    """(principal, role definition id, scope symbol) for every role assignment."""
    grants = set()
    for assignment in template.resources(ROLE_ASSIGNMENT):
        props = assignment.get("properties")
        role = template.call(props["roleDefinitionId"], "subscription_resource_id")
        assert role["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_id = template.resolve(role["resource_name_1"])
        assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", role_id), role_id
        # Deterministic, unique names: guid(scope, principal, role).
        name = template.call(assignment.get("name"), "guid")
        assert props["principalId"] in name.values()
        scope = _loop_scope(template, assignment) or assignment.get("scope")
        assert scope in {r.symbol for r in template.resources(existing=True)}, (
            f"{assignment.symbol} is not scoped to one resource"
        )
        grants.add((props["principalId"], props["principalType"], role_id, scope))
    return grants


def test_app_identity_roles_are_least_privilege(module_of, main):
    roles = module_of("roles")
    types = {r.symbol: r.type for r in roles.resources(existing=True)}
    app = {
        (role, types[scope])
        for principal, kind, role, scope in role_grants(roles)
        if principal == "appPrincipalId" and kind == "ServicePrincipal"
    }
    # Storage rights on containers only, never on the whole account.
    assert app == {
        (STORAGE_BLOB_DATA_CONTRIBUTOR, CONTAINER),
        (STORAGE_BLOB_DATA_OWNER, CONTAINER),
        (MONITORING_METRICS_PUBLISHER, "Microsoft.Insights/components"),
        (OPENAI_USER, "Microsoft.CognitiveServices/accounts"),
        (SEARCH_INDEX_DATA_READER, "Microsoft.Search/searchServices"),
        # the limits' counters: that one table, not the account's other tables
        (STORAGE_TABLE_DATA_CONTRIBUTOR, "Microsoft.Storage/storageAccounts/tableServices/tables"),
    }
    params = main.modules["roles"]["config"]["params"]
    assert main.accessor_path(params["appPrincipalId"]) == "identity.outputs.principalId"


def test_deploying_user_gets_what_ingestion_needs(module_of, main):
    roles = module_of("roles")
    user = {
        role
        for principal, kind, role, _scope in role_grants(roles)
        if principal == "userPrincipalId" and kind == "userPrincipalType"
    }
    assert user == {
        OPENAI_USER,
        SEARCH_INDEX_DATA_CONTRIBUTOR,
        SEARCH_SERVICE_CONTRIBUTOR,
        STORAGE_TABLE_DATA_READER,
    }
    params = main.modules["roles"]["config"]["params"]
    assert params["userPrincipalId"] == "principalId"
    assert params["userPrincipalType"] == "principalType"
    assert main.default("principalId") == ""


def test_the_deploying_user_reads_only_the_limits_table_for_the_report(module_of):
    scopes = {
        scope
        for principal, _kind, role, scope in role_grants(module_of("roles"))
        if principal == "userPrincipalId" and role == STORAGE_TABLE_DATA_READER
    }

    assert scopes == {"limitsTable"}
