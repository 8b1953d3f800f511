"""A fleet's records, made without running anything: the local store of a fleet that has
been planned, applied and checked for a while, for `bench/run overview` (and by hand:
`python3 bench/fleet_records.py DIR [--targets 1000]`, then `infra-manager overview` in DIR).

Written in the local store's layout (`src/store/local.rs`) and the records' own JSON:
per target (customers `fleet/appNNNN`, staging and production each) three changes planned
and applied, a week of daily drift checks and a stored plan per change; among them
targets whose latest change failed, drifted ones, expiring ones (`expires_at` in the
registry), locked ones (the lock info Terraform's local backend keeps beside a state) and
plans waiting (production needs alice's approval).
"""

import argparse
import hashlib
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

NOW = datetime.now(timezone.utc).replace(microsecond=0)
ENVIRONMENTS = ("staging", "production")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sha(i, change):
    return hashlib.sha1(f"{i}/{change}".encode()).hexdigest()


def write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


RUNS = iter(range(1 << 62))


def record(owner, env, kind, status, commit, started, **extra):
    run_id = f"{iso(started)}#{next(RUNS):08x}"
    value = {
        "run_id": run_id, "kind": kind, "customer": owner, "environment": env, "sha": commit,
        "pull_request": None, "status": status, "started_at": iso(started),
        "finished_at": iso(started + timedelta(minutes=1)), "run_url": None,
        "add": 1, "change": 0, "destroy": 0, "message": None,
    }
    value.update(extra)
    return value


def plan_meta(owner, env, commit, created, add):
    return {
        "customer": owner, "environment": env, "sha": commit, "plan_sha256": "00" * 32,
        "terraform_version": "1.11.4", "config_sha256": "11" * 32, "manager_commit": "local",
        "created_at": iso(created), "run_url": None, "state_lineage": None, "state_serial": None,
        "has_changes": add > 0, "add": add, "change": 0, "destroy": 0,
    }


def target(store, i, env):
    """One target's records, plans and state (and, for some, a lock)."""
    owner = f"fleet/app{i:04}"
    records = []
    for change in range(3):
        at = NOW - timedelta(days=30 - 10 * change, hours=ENVIRONMENTS.index(env))
        commit = sha(i, change)
        records.append(record(owner, env, "plan", "succeeded", commit, at, cost_after_cents=1000 + i))
        records.append(record(owner, env, "apply", "succeeded", commit, at + timedelta(minutes=5), health="skipped"))
        write(store / "plans" / owner / env / f"{commit}.json", plan_meta(owner, env, commit, at, 1))
        latest = (commit, at)
    for day in range(7):
        drifted = i % 10 == 1 and day == 6
        extra = {"add": 1 if drifted else 0, "changed_outside": 2 if drifted else 0}
        records.append(record(owner, env, "drift", "succeeded", sha(i, 2), NOW - timedelta(days=6 - day), **extra))
    if i % 10 == 0:  # a later change whose plan failed
        message = "Error: Invalid value for variable\nmore"
        records.append(record(owner, env, "plan", "failed", sha(i, 3), NOW - timedelta(hours=2), message=message))
    if i % 10 == 2:  # a later change planned, waiting
        at = NOW - timedelta(hours=1)
        records.append(record(owner, env, "plan", "succeeded", sha(i, 3), at))
        write(store / "plans" / owner / env / f"{sha(i, 3)}.json", plan_meta(owner, env, sha(i, 3), at, 2))
        latest = (sha(i, 3), at)
    write(store / "plans" / owner / env / "latest.json", {"sha": latest[0], "created_at": iso(latest[1])})
    for r in records:
        name = r["run_id"].replace("/", "_").replace("\\", "_").replace(":", "_")
        write(store / "records" / owner / f"{name}.json", r)
    state = store / "state" / owner / env
    write(state / "terraform.tfstate", {"version": 4, "serial": 3, "resources": []})
    if i % 10 == 3:
        created = iso(NOW - timedelta(minutes=20))
        write(state / ".terraform.tfstate.lock.info", {
            "ID": f"lock-{i}", "Operation": "OperationTypeApply", "Info": "", "Who": "runner@build",
            "Version": "1.11.4", "Created": created, "Path": str(state / "terraform.tfstate"),
        })


def generate(dir, targets=1000, modules_dir=None):
    """`targets` targets (customers × staging and production) under `dir`: the config and
    the local store at `dir/store`. Returns the number of customers."""
    dir = Path(dir)
    store = dir / "store"
    customers = (targets + len(ENVIRONMENTS) - 1) // len(ENVIRONMENTS)
    modules = modules_dir or Path(__file__).resolve().parent.parent / "manager-terraform"
    lines = [
        f"terraform:\n  modules_dir: {modules}\n  module: sandbox-app-environment\n",
        f"state:\n  backend: local\n  local_dir: {store}\n",
        "environments:\n  staging: { auto_apply: true }\n"
        "  production: { auto_apply: false, approval: { reviewers: [alice] } }\n",
        "customers:\n",
    ]
    for i in range(customers):
        lines.append(f"  - repo: fleet/app{i:04}\n    environments: [staging, production]\n")
        if i % 10 == 4:
            lines.append(f"    expires_at: {{ staging: \"{iso(NOW + timedelta(days=3))}\" }}\n")
    (dir / "infra-manager.yml").parent.mkdir(parents=True, exist_ok=True)
    (dir / "infra-manager.yml").write_text("".join(lines))
    for i in range(customers):
        for env in ENVIRONMENTS:
            target(store, i, env)
    return customers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--targets", type=int, default=int(os.environ.get("BENCH_TARGETS", "1000")))
    args = parser.parse_args()
    customers = generate(args.dir, args.targets)
    print(f"{customers} customers × {len(ENVIRONMENTS)} environments under {args.dir}")


if __name__ == "__main__":
    main()
