"""Issue 12: the world file (both sides), Identity Center populated at start, one global reset on either port."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import httpx2
import pytest

from jitbox.serve import RunningSandbox, start_sandbox
from jitbox.world import WORLDS_DIR, WorldError, load_world
from pim_fake.world import DEFAULT_WORLD
from sim.clock import ManualClock

EC2 = "AWS - Amazon EC2 Admin"
ACCOUNT = "111122223333"
PIM = "/identityGovernance/privilegedAccess/group"


def aws(http: httpx2.Client, cfg: dict[str, Any], target: str, body: dict[str, Any]) -> Any:
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    r = http.post(cfg["aws_endpoint_url"] + "/", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def idc_view(http: httpx2.Client, cfg: dict[str, Any]) -> dict[str, Any]:
    """What a boto3 user sees in Identity Center: users, groups, permission sets with policies, assignments."""
    store = cfg["aws_identity_store_id"]
    inst = cfg["aws_instance_arn"]
    users = aws(http, cfg, "AWSIdentityStore.ListUsers", {"IdentityStoreId": store})["Users"]
    groups = aws(http, cfg, "AWSIdentityStore.ListGroups", {"IdentityStoreId": store})["Groups"]
    sets = {}
    for arn in aws(http, cfg, "SWBExternalService.ListPermissionSets", {"InstanceArn": inst})["PermissionSets"]:
        ps = aws(http, cfg, "SWBExternalService.DescribePermissionSet", {"InstanceArn": inst, "PermissionSetArn": arn})[
            "PermissionSet"
        ]
        assigned = aws(
            http,
            cfg,
            "SWBExternalService.ListAccountAssignments",
            {"InstanceArn": inst, "AccountId": ACCOUNT, "PermissionSetArn": arn},
        )["AccountAssignments"]
        sets[ps["Name"]] = {"arn": arn, "duration": ps["SessionDuration"], "assigned": assigned}
    return {
        "users": sorted(u["UserName"] for u in users),
        "groups": {g["DisplayName"]: g["GroupId"] for g in groups},
        "user_ids": sorted(u["UserId"] for u in users),
        "permission_sets": sets,
    }


def activate(http: httpx2.Client, cfg: dict[str, Any], who: str = "rich") -> None:
    tokens = http.get(cfg["graph_sandbox_url"] + "tokens").json()["graph_tokens"]  # current: a reset mints new ones
    headers = {"Authorization": f"Bearer {tokens[who]}"}
    me = http.get(cfg["graph_url"] + "/me", headers=headers).json()
    groups = http.get(cfg["graph_url"] + "/groups", headers=headers, params={"$filter": f"displayName eq '{EC2}'"})
    r = http.post(
        cfg["graph_url"] + PIM + "/assignmentScheduleRequests",
        headers=headers,
        json={
            "accessId": "member",
            "action": "selfActivate",
            "principalId": me["id"],
            "groupId": groups.json()["value"][0]["id"],
            "justification": "incident",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
        },
    )
    assert r.status_code == 201, r.text


def ec2_members(sb: RunningSandbox) -> list[str]:
    dump = sb.idc.store.dump()
    names = {u["id"]: u["userName"] for u in dump["users"]}
    gid = next(g["id"] for g in dump["groups"] if g["displayName"] == EC2)
    return sorted(names[m] for m in dump["memberships"][gid])


def test_the_seed_world_file_carries_the_same_entra_directory_as_the_entra_fake_default() -> None:
    data = tomllib.loads((WORLDS_DIR / "seed.toml").read_text(encoding="utf-8"))
    assert {k: data[k] for k in DEFAULT_WORLD} == DEFAULT_WORLD  # one seed, two readers: they cannot drift


def test_serve_starts_in_the_seed_world_with_identity_center_populated_before_time_moves() -> None:
    with start_sandbox(ManualClock(), seed=5) as sb, httpx2.Client(timeout=30) as http:
        cfg = sb.config()
        view = idc_view(http, cfg)
        assert view["users"] == ["jane.doe@jitbox.example", "mateo.jackson@jitbox.example", "rich.roe@jitbox.example"]
        assert set(view["groups"]) == {EC2, "AWS - All users"}
        ps = view["permission_sets"]["EC2AdminAccess"]
        assert ps["duration"] == "PT1H"
        assert [(a["PrincipalType"], a["PrincipalId"]) for a in ps["assigned"]] == [("GROUP", view["groups"][EC2])]
        plane = sb.idc.extras["aws"]
        assert plane.permission_sets[ps["arn"]].managed_policies == ["arn:aws:iam::aws:policy/AmazonEC2FullAccess"]
        assert cfg["world"] == "seed" and {u["name"] for u in cfg["seeded_users"]} == {"admin", "rich", "jane", "mateo"}
        assert sb.clock.time() == ManualClock().time()  # nothing advanced the clock


def test_reset_on_either_port_puts_both_fakes_and_the_provisioning_cache_back_to_the_world() -> None:
    with start_sandbox(ManualClock(), seed=6) as sb, httpx2.Client(timeout=30) as http:
        cfg = sb.config()
        before = idc_view(http, cfg)
        activate(http, cfg)
        http.post(cfg["scim_sandbox_url"] + "clock/advance", json={"duration": "PT11M"})
        assert ec2_members(sb) == ["rich.roe@jitbox.example"]
        aws(
            http,
            cfg,
            "SWBExternalService.CreatePermissionSet",
            {"InstanceArn": cfg["aws_instance_arn"], "Name": "Extra", "SessionDuration": "PT2H"},
        )
        for url in (cfg["scim_sandbox_url"], cfg["graph_sandbox_url"]):  # either port resets everything
            r = http.post(url + "reset")
            assert r.status_code == 200 and r.json()["world"] == "seed", r.text
            assert r.json()["now"].endswith("Z")
            after = idc_view(http, cfg)
            assert after["users"] == before["users"] and set(after["permission_sets"]) == {"EC2AdminAccess"}
            assert ec2_members(sb) == []
            # ids never repeat: users, groups and permission sets of the new world are new
            assert not set(after["user_ids"]) & set(before["user_ids"])
            assert not set(after["groups"].values()) & set(before["groups"].values())
            assert (
                after["permission_sets"]["EC2AdminAccess"]["arn"] != before["permission_sets"]["EC2AdminAccess"]["arn"]
            )
            before = after
        # the next cycles work against the reset Identity Center: no 404 from a stale cache, activation provisions
        activate(http, cfg)
        http.post(cfg["graph_sandbox_url"] + "clock/advance", json={"duration": "PT50M"})
        assert ec2_members(sb) == ["rich.roe@jitbox.example"]
        log = http.get(cfg["scim_sandbox_url"] + "requests").json()["requests"]
        assert log and all(e["status"] < 400 for e in log), [e for e in log if e["status"] >= 400]


def test_reset_keeps_the_clock_unless_asked_to_restart_it() -> None:
    start = ManualClock().time()
    with start_sandbox(ManualClock()) as sb, httpx2.Client(timeout=30) as http:
        cfg = sb.config()
        http.post(cfg["scim_sandbox_url"] + "clock/advance", json={"duration": "PT3H"})
        http.post(cfg["scim_sandbox_url"] + "reset")
        assert sb.clock.time() == start + 3 * 3600
        r = http.post(cfg["graph_sandbox_url"] + "reset", json={"clock": True})
        assert r.status_code == 200 and r.json()["now"] == "2025-06-03T09:00:00Z"
        assert sb.clock.time() == start
        bad = http.post(cfg["graph_sandbox_url"] + "reset", json={"clock": "yes"})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "clock"


def test_a_world_file_sets_both_sides_pim_policy_inline_policy_and_user_assignments(tmp_path: Path) -> None:
    world = tmp_path / "team.toml"
    world.write_text(
        """
name = "team"
[[users]]
name = "boss"
displayName = "Big Boss"
userPrincipalName = "boss@corp.example"
admin = true
[[users]]
name = "dev"
displayName = "Dee Veloper"
userPrincipalName = "dev@corp.example"
givenName = "Dee"
surname = "Veloper"
[[groups]]
displayName = "AWS - DB Admin"
eligible = ["dev"]
pim = { activation_max = "PT2H", require_justification = true }
[[applications]]
displayName = "AWS IAM Identity Center"
assigned = ["AWS - DB Admin", "dev"]
[[identity_center.permission_sets]]
name = "DbAdmin"
session_duration = "PT4H"
managed_policies = ["arn:aws:iam::aws:policy/AmazonRDSFullAccess"]
inline_policy = { Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "rds:DeleteDBInstance", Resource = "*" }] }
[[identity_center.account_assignments]]
account = "444455556666"
permission_set = "DbAdmin"
group = "AWS - DB Admin"
[[identity_center.account_assignments]]
account = "444455556666"
permission_set = "DbAdmin"
user = "dev@corp.example"
""",
        encoding="utf-8",
    )
    with start_sandbox(ManualClock(), world=world) as sb, httpx2.Client(timeout=30) as http:
        cfg = sb.config()
        assert cfg["world"] == "team" and set(cfg["graph_tokens"]) == {"boss", "dev"}
        plane = sb.idc.extras["aws"]
        (ps,) = plane.permission_sets.values()
        assert ps.session_duration == "PT4H" and '"Deny"' in (ps.inline_policy or "")
        assert sorted(a.principal_type for a in plane.assignments.current()) == ["GROUP", "USER"]
        h = {"Authorization": f"Bearer {cfg['graph_tokens']['boss']}"}
        gid = http.get(cfg["graph_url"] + "/groups", headers=h).json()["value"][0]["id"]
        pol = http.get(
            cfg["graph_url"] + "/policies/roleManagementPolicyAssignments",
            headers=h,
            params={
                "$filter": f"scopeId eq '{gid}' and scopeType eq 'Group' and roleDefinitionId eq 'member'",
                "$expand": "policy($expand=rules)",
            },
        ).json()["value"][0]["policy"]["rules"]
        rule = next(r for r in pol if r["id"] == "Expiration_EndUser_Assignment")
        assert rule["maximumDuration"] == "PT2H"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[identity_center]\nbogus = 1\n", r"identity_center: unknown key 'bogus'"),
        (
            '[[identity_center.account_assignments]]\naccount = "111122223333"\npermission_set = "Nope"\ngroup = "G"\n',
            r"account_assignments\[0\]\.permission_set: 'Nope'",
        ),
        ('[[groups]]\ndisplayName = "G"\npim = { activation_max = "PT30H" }\n', r"groups\[0\]\.pim"),
        ("users = 3\n", r"users must be an array"),
    ],
)
def test_a_bad_world_file_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    world = tmp_path / "bad.toml"
    admin = '[[users]]\nname = "a"\ndisplayName = "A"\nuserPrincipalName = "a@x.example"\nadmin = true\n'
    world.write_text(text if text.startswith("users") else admin + text, encoding="utf-8")
    with pytest.raises(WorldError, match=message), start_sandbox(ManualClock(), world=world):
        pass


def test_an_assignment_to_a_group_entra_does_not_provision_is_refused_by_name(tmp_path: Path) -> None:
    world = tmp_path / "w.toml"
    world.write_text(
        '[[identity_center.permission_sets]]\nname = "P"\n'
        '[[identity_center.account_assignments]]\naccount = "111122223333"\npermission_set = "P"\ngroup = "Ghosts"\n',
        encoding="utf-8",
    )
    with pytest.raises(WorldError, match=r"account_assignments\[0\]\.group: no group 'Ghosts'"):
        start_sandbox(ManualClock(), world=world)


def test_load_world_finds_shipped_worlds_by_name_and_lists_them_on_a_miss() -> None:
    assert load_world("seed").name == "seed" and load_world(None).name == "seed"
    with pytest.raises(WorldError, match="shipped worlds: seed"):
        load_world("nope")


def test_serve_cli_names_a_bad_world_and_refuses_both_world_flags(tmp_path: Path) -> None:
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jitbox", "serve", "--port", "0", "--entra-port", "0", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    missing = cli("--world", "nope")
    assert missing.returncode == 2 and "--world: world 'nope': no such file (shipped worlds: seed)" in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[identity_center]\nbogus = 1\n", encoding="utf-8")
    refused = cli("--world", str(bad))
    assert refused.returncode == 2 and "identity_center: unknown key 'bogus'" in refused.stderr
    both = cli("--world", "seed", "--entra-world", str(bad))
    assert both.returncode == 2 and "give one" in both.stderr
