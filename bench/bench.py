"""The engine's benchmarks, printed side by side (run through bench/run).

Each figure is a ratio against bare Terraform or a plain loop, or a count:

- engine overhead: `infra-manager plan` of one customer vs bare `terraform init` +
  `plan -out` + `show -json` on the same rendered directory (median of alternating pairs);
- fleet: `plan --all` over 50 customers vs a sequential loop that renders and runs
  `terraform init` and `terraform plan` per customer;
- GitHub API calls per PR plan run, and per target of a drift run where nothing drifted,
  counted by the fake GitHub (tests print them);
- the engine's peak RSS (Terraform excluded) on a 5,000-resource plan, without and with the
  policy set below (which holds the whole `show -json` document as the policies' input);
- `validate` of 1,000 customer files in one process;
- policy and cost: what evaluating a policy set and the cost adds to a 5,000-resource plan
  (the engine's own figure for that step, and the plan's wall time with and without);
- overview: `overview` over 1,000 targets whose records `bench/fleet_records.py` made
  (local store), text and `--json`, and `report --html` (the status page) of the same
  fleet, and how often each opens each record file (strace).
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import fleet_records

ROOT = Path(__file__).resolve().parent.parent
# The one-module (schema v1) customer the figures have always been measured on; the
# customer template is schema v2 now.
V1_VARIABLES = ROOT / "tests/fixtures/v1/variables.yml"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
ENGINE = Path(os.environ.get("BENCH_ENGINE") or TARGET / "release" / "infra-manager")
TERRAFORM = os.environ.get("INFRA_MANAGER_TERRAFORM") or shutil.which("terraform") or shutil.which("tofu")
PAIRS = int(os.environ.get("BENCH_PAIRS", "5"))
FLEET = int(os.environ.get("BENCH_FLEET", "50"))
VALIDATIONS = int(os.environ.get("BENCH_VALIDATIONS", "1000"))
OVERVIEW_TARGETS = int(os.environ.get("BENCH_TARGETS", "1000"))

QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def env():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "ACTIONS_"))}
    clean["INFRA_MANAGER_TERRAFORM"] = TERRAFORM
    return clean


def timed(args, cwd, **kw):
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env(), check=True, **QUIET, **kw)
    return time.perf_counter() - start


def staging_only(text):
    return "".join(line + "\n" for line in text.splitlines() if not line.lstrip().startswith("production:"))


def v1_customer(dir):
    """A customer checkout at `dir` holding the v1 file."""
    (dir / "infra").mkdir(parents=True)
    shutil.copy(V1_VARIABLES, dir / "infra/variables.yml")


def config(dir, store, module="sandbox-app-environment", modules_dir=ROOT / "manager-terraform", customers=()):
    text = (
        f"terraform:\n  modules_dir: {modules_dir}\n  module: {module}\n"
        f"state:\n  backend: local\n  local_dir: {store}\n"
    )
    if customers:
        text += "customers:\n" + "".join(f"  - repo: {c}\n    environments: [staging]\n" for c in customers)
    (dir / "infra-manager.yml").write_text(text)


def engine_overhead(work):
    """Median wall time of `infra-manager plan` vs bare init + plan -out + show -json."""
    shop = work / "overhead"
    shop.mkdir()
    v1_customer(shop / "shop")
    config(shop, shop / "render-store")
    rendered = shop / "rendered"
    subprocess.run(
        [ENGINE, "render", "--source-dir", "shop", "--env", "staging", "--out", rendered], cwd=shop, env=env(), check=True,
        **QUIET,
    )
    engine, bare = [], []
    for i in range(PAIRS):
        # Each run starts cold: a fresh store (engine) or a fresh copy of the directory.
        config(shop, shop / f"store-{i}")
        engine.append(timed([ENGINE, "plan", "--source-dir", "shop", "--env", "staging"], shop))
        copy = shop / f"bare-{i}"
        shutil.copytree(rendered, copy, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl"))
        script = f"'{TERRAFORM}' init -input=false -no-color >/dev/null && '{TERRAFORM}' plan -input=false -out=x.tfplan >/dev/null && '{TERRAFORM}' show -json x.tfplan >/dev/null"
        bare.append(timed(["bash", "-c", script], copy))
    return statistics.median(engine), statistics.median(bare)


def fleet(work):
    """`plan --all` over FLEET customers vs a sequential render + init + plan loop."""
    dir = work / "fleet"
    names = [f"fleet/app{i:03}" for i in range(FLEET)]
    template = staging_only(V1_VARIABLES.read_text())
    for name in names:
        infra = dir / "customers" / name / "infra"
        infra.mkdir(parents=True)
        (infra / "variables.yml").write_text(template)
    config(dir, dir / "store", customers=names)
    parallel = os.environ.get("BENCH_PARALLEL")
    extra = ["--parallel", parallel] if parallel else []
    # Alternating pairs, medians: one run of either moves with the machine's load.
    engines, loops = [], []
    for _ in range(PAIRS):
        engines.append(timed([ENGINE, "plan", "--all", "--source-root", "customers", *extra], dir))
        start = time.perf_counter()
        for name in names:
            out = dir / "loop" / name
            subprocess.run(
                [ENGINE, "render", "--source-dir", f"customers/{name}", "--customer", name, "--env", "staging",
                 "--out", out],
                cwd=dir, env=env(), check=True, **QUIET,
            )
            subprocess.run([TERRAFORM, "init", "-input=false", "-no-color"], cwd=out, env=env(), check=True, **QUIET)
            subprocess.run([TERRAFORM, "plan", "-input=false", "-no-color"], cwd=out, env=env(), check=True, **QUIET)
        loops.append(time.perf_counter() - start)
    return statistics.median(engines), statistics.median(loops)


def bulk_module(dir):
    """The sandbox module with 5,000 more resources, under `dir/modules`."""
    module = dir / "modules" / "bulk-app-environment"
    shutil.copytree(ROOT / "manager-terraform/sandbox-app-environment", module)
    with open(module / "main.tf", "a") as main:
        main.write('\nresource "terraform_data" "bulk" {\n  count = 5000\n  input = { index = count.index }\n}\n')


def write_policies(dir):
    (dir / "policies").mkdir()
    for name, text in BENCH_POLICIES.items():
        (dir / "policies" / name).write_text(text)


def peak_kb(proc, exited):
    """`proc`'s peak RSS in KB (VmHWM), read every 20 ms until `exited()` says it ended."""
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while True:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        if exited():
            return peak
        time.sleep(0.02)


def peak_rss(work, policies=False):
    """The engine's own peak RSS (VmHWM of its process; Terraform runs in child processes)."""
    dir = work / ("rss-policies" if policies else "rss")
    dir.mkdir()
    v1_customer(dir / "shop")
    bulk_module(dir)
    if policies:
        write_policies(dir)
    config(dir, dir / "store", module="bulk-app-environment", modules_dir=dir / "modules")
    proc = subprocess.Popen(
        [ENGINE, "plan", "--source-dir", "shop", "--env", "staging"], cwd=dir, env=env(), **QUIET
    )
    peak = peak_kb(proc, lambda: proc.poll() is not None)
    if proc.returncode != 0:
        raise SystemExit(f"the 5,000-resource plan failed (exit {proc.returncode})")
    return peak / 1024


# A representative policy set for the 5,000-resource plan: every rule walks every change.
BENCH_POLICIES = {
    "destroys.rego": """package infra_manager

deny contains sprintf("%s would be destroyed in production", [rc.address]) if {
	input.target.environment == "production"
	some rc in input.plan.resource_changes
	"delete" in rc.change.actions
}
""",
    "size.rego": """package infra_manager

warn contains sprintf("%d resources change", [count(changes)]) if {
	changes := [rc | some rc in input.plan.resource_changes; rc.change.actions != ["no-op"]]
	count(changes) > 1000
}
""",
    "names.rego": """package infra_manager

deny contains sprintf("%s is not a managed resource", [rc.address]) if {
	some rc in input.plan.resource_changes
	not rc.mode in {"managed", "data"}
}
""",
    "values.rego": """package infra_manager

deny contains sprintf("%s: index %v is out of range", [rc.address, rc.change.after.input.index]) if {
	some rc in input.plan.resource_changes
	rc.change.after.input.index > 100000
}
""",
}


def policy_overhead(work):
    """The 5,000-resource plan with the policy set above vs none: the engine's own time for
    policies and cost (median), and the plans' median wall times."""
    dir = work / "policy"
    dir.mkdir()
    v1_customer(dir / "shop")
    bulk_module(dir)
    step, with_policies, without = [], [], []
    for i in range(PAIRS):
        for policies in (True, False):
            shutil.rmtree(dir / "policies", ignore_errors=True)
            if policies:
                write_policies(dir)
            config(dir, dir / f"store-{i}-{policies}", module="bulk-app-environment", modules_dir=dir / "modules")
            start = time.perf_counter()
            out = subprocess.run([ENGINE, "plan", "--source-dir", "shop", "--env", "staging"], cwd=dir, env=env(),
                                 capture_output=True, text=True)
            took = time.perf_counter() - start
            if out.returncode != 0:
                raise SystemExit(f"the 5,000-resource plan failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
            if policies:
                with_policies.append(took)
                line = next(l for l in out.stderr.splitlines() if "policies and cost:" in l)
                step.append(int(line.split(" in ")[1].split()[0]) / 1000)
            else:
                without.append(took)
    return statistics.median(step), statistics.median(with_policies), statistics.median(without)


def v2_customer_file(name, type_name):
    """A schema v2 customer file with one component of catalog type `type_name`."""
    return (
        f"apiVersion: infra-manager/v2\nkind: Customer\nmetadata:\n  name: {name}\nspec:\n"
        f"  environments: [staging]\n  components:\n    - {{ name: main, type: {type_name} }}\n"
    )


def git(dir, *args):
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args], cwd=dir,
                   check=True, **QUIET)


def changed_since(work):
    """A change to the catalog module 5 of FLEET customers use: `plan --all --changed-since`
    vs a full `plan --all` of the same manager checkout. Returns both times and the targets
    the selective run planned."""
    dir = work / "changed"
    dir.mkdir()
    shutil.copytree(ROOT / "manager-terraform", dir / "manager-terraform")
    users = 5
    names = []
    for i in range(FLEET):
        name, type_name = (f"fleet/queue{i:03}", "queue") if i < users else (f"fleet/bucket{i:03}", "bucket")
        infra = dir / "customers" / name / "infra"
        infra.mkdir(parents=True)
        (infra / "variables.yml").write_text(v2_customer_file(name.split("/")[1], type_name))
        names.append(name)
    text = (
        "terraform:\n  modules_dir: manager-terraform\n  module: sandbox-app-environment\n"
        f"state:\n  backend: local\n  local_dir: {dir / 'store'}\ncustomers:\n"
        + "".join(f"  - repo: {n}\n    environments: [staging]\n" for n in names)
    )
    (dir / "infra-manager.yml").write_text(text)
    (dir / ".gitignore").write_text("store/\n*.json\n")
    git(dir, "init", "--quiet")
    git(dir, "add", "--all")
    git(dir, "commit", "--quiet", "-m", "fleet")
    queue = dir / "manager-terraform/catalog/queue/main.tf"
    queue.write_text(queue.read_text() + "\n# a comment\n")
    git(dir, "commit", "--quiet", "-am", "queue: a comment")
    base = ["--json", "plan", "--all", "--source-root", "customers", "--repo", "."]
    # Alternating pairs, medians: one full run is 25 rounds of 2 plans and moves with the
    # machine's load as much as the selective run's 3 rounds do.
    fulls, selectives = [], []
    for _ in range(PAIRS):
        fulls.append(timed([ENGINE, *base], dir))
        start = time.perf_counter()
        out = subprocess.run([ENGINE, *base, "--changed-since", "HEAD~1"], cwd=dir, env=env(), check=True,
                             capture_output=True, text=True)
        selectives.append(time.perf_counter() - start)
        planned = sorted(r["customer"] for r in json.loads(out.stdout)["results"])
        if planned != names[:users]:
            raise SystemExit(f"--changed-since planned {planned}, not the {users} users of catalog/queue")
    print(f"  --changed-since pairs (full, selective): {[(round(f, 3), round(s, 3)) for f, s in zip(fulls, selectives)]}",
          flush=True)
    return statistics.median(selectives), statistics.median(fulls), len(planned)


FAKE_TERRAFORM = ROOT / "bench" / "fake-terraform.c"
SCALE = int(os.environ.get("BENCH_SCALE", "2000"))


def zombie_cpu(proc):
    """Waits for `proc` to exit without reaping it, and returns its own CPU seconds (user +
    system, its children excluded), read from the zombie's /proc entry; then reaps it."""
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)
    proc.wait()
    return cpu


def scale(work):
    """SCALE customers through `plan --all` with a Terraform that answers at once
    (bench/fake-terraform.c, compiled here): the engine's own wall time and CPU per target,
    and its peak RSS."""
    dir = work / "scale"
    dir.mkdir()
    fake = dir / "fake-terraform"
    subprocess.run(["cc", "-O2", "-o", fake, FAKE_TERRAFORM], check=True)
    # A real saved plan for the fake to hand out: the first customer's, by real Terraform.
    template = staging_only(V1_VARIABLES.read_text())
    names = [f"scale/app{i:04}" for i in range(SCALE)]
    for name in names:
        infra = dir / "customers" / name / "infra"
        infra.mkdir(parents=True)
        (infra / "variables.yml").write_text(template)
    config(dir, dir / "store", customers=names)
    rendered = dir / "rendered"
    subprocess.run([ENGINE, "render", "--source-dir", f"customers/{names[0]}", "--customer", names[0], "--env",
                    "staging", "--out", rendered], cwd=dir, env=env(), check=True, **QUIET)
    subprocess.run([TERRAFORM, "init", "-input=false", "-no-color"], cwd=rendered, env=env(), check=True, **QUIET)
    subprocess.run([TERRAFORM, "plan", "-input=false", "-out=real.tfplan"], cwd=rendered, env=env(), check=True,
                   **QUIET)
    fake_env = {**env(), "INFRA_MANAGER_TERRAFORM": str(fake), "FAKE_TERRAFORM_PLAN": str(rendered / "real.tfplan")}
    start = time.perf_counter()
    proc = subprocess.Popen([ENGINE, "plan", "--all", "--source-root", "customers"], cwd=dir, env=fake_env, **QUIET)
    # Not reaped: its zombie's /proc entry still gives its CPU (zombie_cpu).
    peak = peak_kb(proc, lambda: os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None)
    wall = time.perf_counter() - start
    cpu = zombie_cpu(proc)
    if proc.returncode != 0:
        raise SystemExit(f"plan --all of {SCALE} targets with the fake Terraform failed (exit {proc.returncode})")
    return wall / SCALE * 1000, cpu / SCALE * 1000, peak / 1024


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def moto(work):
    """A moto_server (S3 + DynamoDB) on a free port of 127.0.0.1; returns (process, endpoint)."""
    server = shutil.which("moto_server", path=f"{ROOT / '.tools/venv/bin'}:{os.environ.get('PATH', '')}")
    if not server:
        raise SystemExit("moto_server not found: run through bench/run (scripts/tools.sh --test-extras installs it)")
    port = free_port()
    log = open(work / "moto.log", "w")
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    import urllib.request
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"moto_server did not start: {(work / 'moto.log').read_text()[-2000:]}")


AWS_TEST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def s3_overhead(work):
    """One plan on the S3 + DynamoDB backend (moto): `infra-manager plan`, its store calls
    included (records, plan upload, latest pointer), vs bare init + plan -out + show -json of
    the same rendered directory on the same backend; medians of alternating pairs and the
    median of their ratios."""
    dir = work / "s3"
    dir.mkdir()
    proc, endpoint = moto(dir)
    try:
        v1_customer(dir / "shop")
        text = (
            f"terraform:\n  modules_dir: {ROOT / 'manager-terraform'}\n  module: sandbox-app-environment\n"
            f"state:\n  backend: s3\n  bucket: bench-state\n  region: us-east-1\n  endpoint: {endpoint}\n"
            f"  force_path_style: true\n  key_prefix: customers\n  lock: dynamodb\n  lock_table: bench-locks\n"
            f"  records_table: bench-runs\n  local_dir: {dir / 'local'}\n"
        )
        (dir / "infra-manager.yml").write_text(text)
        aws = {**env(), **AWS_TEST_ENV}
        subprocess.run([ENGINE, "bootstrap"], cwd=dir, env=aws, check=True, **QUIET)
        engine, bare = [], []
        for i in range(PAIRS):
            # Each pair plans its own customer: the same cold start for both sides.
            name = f"bench/s3-{i}"
            rendered = dir / f"rendered-{i}"
            subprocess.run([ENGINE, "render", "--source-dir", "shop", "--customer", f"{name}-bare", "--env", "staging",
                            "--out", rendered], cwd=dir, env=aws, check=True, **QUIET)
            start = time.perf_counter()
            subprocess.run([ENGINE, "plan", "--source-dir", "shop", "--customer", name, "--env", "staging"], cwd=dir,
                           env=aws, check=True, **QUIET)
            engine.append(time.perf_counter() - start)
            script = f"'{TERRAFORM}' init -input=false -no-color >/dev/null && '{TERRAFORM}' plan -input=false -out=x.tfplan >/dev/null && '{TERRAFORM}' show -json x.tfplan >/dev/null"
            start = time.perf_counter()
            subprocess.run(["bash", "-c", script], cwd=rendered, env=aws, check=True, **QUIET)
            bare.append(time.perf_counter() - start)
        # The ratio of each pair, then their median: a pair runs under one load, so its
        # ratio does not move with the machine's as the two medians do.
        ratio = statistics.median(e / b for e, b in zip(engine, bare))
        return statistics.median(engine), statistics.median(bare), ratio
    finally:
        proc.kill()
        proc.wait()


def validations(work):
    """`validate DIR` of VALIDATIONS files in one process; median of 3."""
    dir = work / "validate"
    text = V1_VARIABLES.read_text()
    for i in range(VALIDATIONS):
        file = dir / "customers" / f"c{i:04}" / "variables.yml"
        file.parent.mkdir(parents=True)
        file.write_text(text)
    config(dir, dir / "store")
    runs = [timed([ENGINE, "validate", "customers"], dir) for _ in range(3)]
    return statistics.median(runs)


def overview(work):
    """`overview` (text, and `--json`) and `report --html` over OVERVIEW_TARGETS generated
    targets, median of 5 each; then, under strace, for `overview --json` and for `report
    --html`, how many record files were opened and the most times one record file or plan
    pointer was."""
    dir = work / "overview"
    fleet_records.generate(dir, OVERVIEW_TARGETS)
    text = statistics.median(timed([ENGINE, "overview"], dir) for _ in range(5))
    as_json = statistics.median(timed([ENGINE, "--json", "overview"], dir) for _ in range(5))
    # Each run replaces the site the one before wrote.
    report = statistics.median(timed([ENGINE, "report", "--html", "site"], dir) for _ in range(5))
    pages = sum(1 for _ in (dir / "site").rglob("*.html"))
    opened = report_opened = None
    if shutil.which("strace"):
        opened = opens(dir, [ENGINE, "--json", "overview"])
        report_opened = opens(dir, [ENGINE, "report", "--html", "site"])
    return text, as_json, opened, report, pages, report_opened


def opens(dir, args):
    """Runs `args` under strace: (record files opened, record files there, the most times
    one record file or plan pointer was opened)."""
    trace = dir / "opens.trace"
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", trace, *args],
                   cwd=dir, env=env(), check=True, **QUIET)
    counts = Counter()
    for line in trace.read_text().splitlines():
        path = line.split('"')[1] if '"' in line else ""
        if "/store/records/" in path and path.endswith(".json") or path.endswith("/latest.json"):
            counts[path] += 1
    records = sum(1 for p in counts if "/store/records/" in p)
    return records, sum(1 for _ in (dir / "store" / "records").rglob("*.json")), max(counts.values())



def api_calls(test, prefix):
    """The figure a test of tests/it/github_mode.rs prints after `prefix`, counted by the fake GitHub."""
    out = subprocess.run(
        ["cargo", "test", "--quiet", "--test", "it", f"github_mode::{test}", "--", "--exact", "--nocapture"],
        cwd=ROOT, env={**env(), "CARGO_TARGET_DIR": str(TARGET)}, capture_output=True, text=True,
    )
    for line in out.stdout.splitlines():
        if line.startswith(prefix):
            return line.rsplit(":", 1)[1].strip()
    raise SystemExit(f"the API-call test printed no count:\n{out.stdout}\n{out.stderr}")


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run([TERRAFORM, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}; {version}"


def main():
    only = set(sys.argv[1:])  # e.g. `bench/run fleet rss`; none: all
    wanted = lambda name: not only or name in only  # noqa: E731
    if not ENGINE.is_file() or not TERRAFORM:
        raise SystemExit("run through bench/run (it builds the release binary and finds Terraform)")
    print(f"machine: {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="infra-bench-") as tmp:
        work = Path(tmp)
        if wanted("overhead"):
            engine, bare = engine_overhead(work)
            rows.append(("engine overhead: plan vs bare init+plan+show -json", f"{engine:.2f} s vs {bare:.2f} s",
                         f"{engine / bare:.2f}x", "<= 1.05x"))
            print(rows[-1], flush=True)
        if wanted("fleet"):
            engine, loop = fleet(work)
            rows.append((f"fleet: plan --all ({FLEET} customers) vs sequential loop", f"{engine:.1f} s vs {loop:.1f} s",
                         f"{loop / engine:.2f}x faster", ">= 1.9x"))
            print(rows[-1], flush=True)
        if wanted("s3"):
            engine, bare, ratio = s3_overhead(work)
            rows.append(("S3 + DynamoDB (moto): plan vs bare init+plan+show -json", f"{engine:.2f} s vs {bare:.2f} s",
                         f"{ratio:.2f}x (median of pairs)", "<= 1.10x"))
            print(rows[-1], flush=True)
        if wanted("rss"):
            rss = peak_rss(work)
            rows.append(("engine peak RSS, 5,000-resource plan", f"{rss:.1f} MB", "-", "<= 30 MB"))
            print(rows[-1], flush=True)
            rss = peak_rss(work, policies=True)
            rows.append((f"engine peak RSS, the same with {len(BENCH_POLICIES)} policies", f"{rss:.1f} MB", "-", "-"))
            print(rows[-1], flush=True)
        if wanted("validate"):
            seconds = validations(work)
            rows.append((f"validate {VALIDATIONS} files in one process", f"{seconds:.3f} s", "-", "< 0.5 s"))
            print(rows[-1], flush=True)
        if wanted("changed"):
            selective, full, planned = changed_since(work)
            rows.append((f"--changed-since: a module {planned} of {FLEET} use vs full plan --all",
                         f"{selective:.2f} s vs {full:.2f} s", f"{full / selective:.1f}x faster",
                         f">= 8x, exactly {planned} planned"))
            print(rows[-1], flush=True)
        if wanted("scale"):
            wall_ms, cpu_ms, rss = scale(work)
            rows.append((f"engine per target, {SCALE} targets, fake Terraform", f"{wall_ms:.2f} ms wall, {cpu_ms:.2f} ms CPU",
                         f"peak {rss:.1f} MB", "<= 5 ms, <= 100 MB"))
            print(rows[-1], flush=True)
        if wanted("policy"):
            ms, with_p, without = policy_overhead(work)
            rows.append((f"policy + cost on a 5,000-resource plan ({len(BENCH_POLICIES)} policies)", f"{ms:.1f} ms",
                         f"{with_p:.1f} s vs {without:.1f} s", "<= 50 ms"))
            print(rows[-1], flush=True)
        if wanted("overview"):
            text, as_json, opened, report, pages, report_opened = overview(work)
            reads = lambda o: f"; {o[0]} of {o[1]} record files read, each at most {o[2]}x" if o else ""  # noqa: E731
            rows.append((f"overview of {OVERVIEW_TARGETS} targets (text, --json){reads(opened)}",
                         f"{text:.2f} s, {as_json:.2f} s", "-", "< 2 s"))
            print(rows[-1], flush=True)
            rows.append((f"report --html of {OVERVIEW_TARGETS} targets ({pages} pages){reads(report_opened)}",
                         f"{report:.2f} s", "-", "< 2 s"))
            print(rows[-1], flush=True)
    if wanted("api"):
        calls = api_calls("a_pr_plan_run_makes_at_most_six_github_api_calls", "github api calls per PR plan run:")
        rows.append(("GitHub API calls per PR plan run (100 comments)", calls, "-", "<= 6"))
        per_target = api_calls("a_drift_run_with_nothing_new_writes_nothing_and_makes_at_most_one_call_per_target",
                               "github api calls per target of a drift run, nothing drifted:")
        rows.append(("GitHub API calls per target, drift run with nothing drifted", per_target, "-", "<= 1"))
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'benchmark':<{width}}  {'measured':<22}  {'ratio':<14}  target")
    for name, measured, ratio, target in rows:
        print(f"{name:<{width}}  {measured:<22}  {ratio:<14}  {target}")
    print(f"\n(median of {PAIRS} alternating pairs for the overhead; `bench/run [overhead fleet changed scale s3 rss validate policy overview api]`)")


if __name__ == "__main__":
    sys.exit(main())
