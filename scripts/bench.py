"""The body of scripts/bench.sh: drives the emulator binary and terraform, prints the figures.

Measured in one run, side by side:
  1. apply of N vm_access_reset (50 ms operations, -parallelism=10) vs N terraform_data;
  2. plan (with refresh) of the same N vs N terraform_data, median of BENCH_RUNS, wall and CPU
     (user + sys of terraform and the providers it starts);
  3. the median overhead of one apply beyond a 3 s operation: apply time - 3 s - the apply time
     of one terraform_data (Terraform's own cost);
  4. the status reads of one VM in the first minute of a long operation (timeout 60 s);
  5. N resets at -parallelism=30 against a subscription limited to 10 writes/s (bucket 10):
     wall time vs the N/10 s floor, and the throttled writes (429s) from the emulator's log.
The emulator runs with --poll-retry-after-secs 0, so the provider's own poll schedule is measured.

The terraform_data baseline has the resets' shape: the same for_each over the same map and the same
expressions (Terraform's cost of evaluating them is not the provider's). Terraform's cheapest
resource (count = N, input = count.index) is measured too and printed for information: what remains
against it is Terraform's own handling of an out-of-process provider (see README, "Performance").
"""

import json
import os
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

N = int(os.environ.get("BENCH_N", "200"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PROVIDER_DIR = os.environ["BENCH_PROVIDER_DIR"]
TERRAFORM = os.environ.get("TF_ACC_TERRAFORM_PATH") or shutil.which("terraform")
if not TERRAFORM:
    sys.exit("bench: terraform not found (TF_ACC_TERRAFORM_PATH or PATH)")
RG = "bench-rg"

tmp = tempfile.mkdtemp(prefix="vm-bench.")
emu_dir = os.path.join(tmp, "emulator")
os.makedirs(emu_dir)
seed = [{"resource_group": RG, "name": f"vm{i:03}", "os_type": "Windows",
         "accounts": [{"name": "opsadmin", "password": "Old-Passw0rd!", "administrator": True}]}
        for i in range(N + 2)]
with open(os.path.join(tmp, "seed.json"), "w") as f:
    json.dump(seed, f)
emu = subprocess.Popen(
    [os.path.join(PROVIDER_DIR, "vm-emulator"), "--state-dir", emu_dir, "--seed",
     os.path.join(tmp, "seed.json"), "--operation-delay-ms", "50", "--poll-retry-after-secs", "0"],
    stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "emulator.log"), "w"))


def cleanup():
    emu.terminate()
    emu.wait()
    shutil.rmtree(tmp, ignore_errors=True)


try:
    for _ in range(300):
        if os.path.exists(os.path.join(emu_dir, "emulator.json")) and os.path.getsize(
                os.path.join(emu_dir, "emulator.json")):
            break
        time.sleep(0.1)
    info = json.load(open(os.path.join(emu_dir, "emulator.json")))
    tls = ssl.create_default_context(cafile=info["ca_file"])
    SUB = info["subscription_id"]

    def admin(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(info["endpoint"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=tls) as r:
            text = r.read()
            return json.loads(text) if text else None

    def vm_id(i):
        return (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/"
                f"virtualMachines/vm{i:03}")

    rc = os.path.join(tmp, "terraform.rc")
    with open(rc, "w") as f:
        f.write('provider_installation {\n  dev_overrides {\n    "vmaccess/vm" = "%s"\n  }\n'
                '  direct {}\n}\n' % PROVIDER_DIR)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TF_", "ARM_"))}
    env.update({
        "TF_CLI_CONFIG_FILE": rc, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
        "SSL_CERT_FILE": info["ca_file"], "ARM_METADATA_HOSTNAME": info["metadata_host"],
        "ARM_TENANT_ID": info["tenant_id"], "ARM_CLIENT_ID": info["client_id"],
        "ARM_CLIENT_SECRET": info["client_secret"], "ARM_SUBSCRIPTION_ID": SUB,
        "TF_VAR_ver": "1",
    })

    def workdir(name, main_tf):
        d = os.path.join(tmp, name)
        os.makedirs(d)
        with open(os.path.join(d, "main.tf"), "w") as f:
            f.write(main_tf)
        return d

    def tf(d, *args, check=True, extra_env=None):
        e = dict(env, **(extra_env or {}))
        started = time.monotonic()
        p = subprocess.run([TERRAFORM, *args, "-no-color", "-input=false"], cwd=d, env=e,
                           capture_output=True, text=True)
        took = time.monotonic() - started
        if check and p.returncode not in (0, 2):
            sys.exit(f"bench: terraform {' '.join(args)} in {d} failed:\n{p.stdout}\n{p.stderr}")
        return took, p

    def vms(first, count):
        lines = "\n".join(f'    v{i:03} = "{vm_id(i)}"' for i in range(first, first + count))
        return f'variable "ver" {{ type = number }}\nlocals {{\n  vms = {{\n{lines}\n  }}\n}}\n'

    def resets(first, count, extra=""):
        return ('terraform {\n  required_providers {\n    vm = { source = "vmaccess/vm" }\n  }\n}\n'
                + vms(first, count) +
                'resource "vm_access_reset" "r" {\n  for_each = local.vms\n'
                '  virtual_machine_id = each.value\n  username = "opsadmin"\n'
                '  password_wo = "New-Passw0rd!-${each.key}-${var.ver}"\n'
                f'  password_wo_version = var.ver\n{extra}}}\n')

    def data(first, count):
        """terraform_data with the resets' for_each and expressions."""
        return (vms(first, count) +
                'resource "terraform_data" "d" {\n  for_each = local.vms\n  input = {\n'
                '    virtual_machine_id = each.value\n    username = "opsadmin"\n'
                '    password = "New-Passw0rd!-${each.key}-${var.ver}"\n'
                '    password_version = var.ver\n  }\n}\n')

    def cheapest_data(count):
        return f'resource "terraform_data" "d" {{\n  count = {count}\n  input = count.index\n}}\n'

    def cpu_of(run):
        """(wall, cpu, result) of run(): CPU is user + sys of the processes it waited for."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        took, p = run()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p

    def load():
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

    print(f"bench: terraform {TERRAFORM}, provider {PROVIDER_DIR}, N={N}, runs={RUNS}")
    print(f"load before: {load()}")
    rows = []

    def row(name, value, target, ok):
        rows.append((name, value, target, "ok" if ok else "MISSED"))
        print(f"  {name}: {value}  (target {target}: {'ok' if ok else 'MISSED'})", flush=True)

    # 1. apply
    a = workdir("resets", resets(0, N))
    b = workdir("data", data(0, N))
    c = workdir("cheapest-data", cheapest_data(N))
    tf(b, "init")
    tf(c, "init")
    t_cheap_apply, _ = tf(c, "apply", "-auto-approve", "-parallelism=10")
    t_data_apply, _ = tf(b, "apply", "-auto-approve", "-parallelism=10")
    t_apply, p = tf(a, "apply", "-auto-approve", "-parallelism=10")
    if f"{N} added" not in p.stdout:
        sys.exit(f"bench: apply did not add {N}:\n{p.stdout}\n{p.stderr}")
    print(f"apply: {N} vm_access_reset {t_apply:.2f}s, {N} terraform_data {t_data_apply:.2f}s")
    row("apply ratio", f"{t_apply / t_data_apply:.2f}x", "<= 6x", t_apply / t_data_apply <= 6)
    print(f"  for information: against the cheapest {N} terraform_data ({t_cheap_apply:.2f}s) "
          f"{t_apply / t_cheap_apply:.2f}x")

    # 2. plan (refresh reads each resource once)
    plans, data_plans, cheapest_plans = [], [], []
    for _ in range(RUNS):
        data_plans.append(cpu_of(lambda: tf(b, "plan", "-detailed-exitcode")))
        cheapest_plans.append(cpu_of(lambda: tf(c, "plan", "-detailed-exitcode")))
        took, cpu, p = cpu_of(lambda: tf(a, "plan", "-detailed-exitcode"))
        if p.returncode != 0:
            sys.exit(f"bench: plan after apply is not empty:\n{p.stdout}\n{p.stderr}")
        plans.append((took, cpu, p))

    def med(runs, i):
        return statistics.median(r[i] for r in runs)

    def runs_of(runs):
        return ", ".join(f"{r[0]:.2f}" for r in runs)

    t_plan, t_data_plan, t_cheap = med(plans, 0), med(data_plans, 0), med(cheapest_plans, 0)
    c_plan, c_data_plan, c_cheap = med(plans, 1), med(data_plans, 1), med(cheapest_plans, 1)
    print(f"plan: {N} vm_access_reset {t_plan:.2f}s (runs {runs_of(plans)}; CPU {c_plan:.2f}s), "
          f"{N} terraform_data of the same shape {t_data_plan:.2f}s (runs {runs_of(data_plans)}; "
          f"CPU {c_data_plan:.2f}s), cheapest {N} terraform_data {t_cheap:.2f}s "
          f"(runs {runs_of(cheapest_plans)}; CPU {c_cheap:.2f}s)")
    row("plan ratio", f"{t_plan / t_data_plan:.2f}x", "<= 2.0x", t_plan / t_data_plan <= 2.0)
    print(f"  for information: plan CPU ratio {c_plan / c_data_plan:.2f}x; against the cheapest "
          f"terraform_data wall {t_plan / t_cheap:.2f}x, CPU {c_plan / c_cheap:.2f}x")

    # 5. N resets (updates) at -parallelism=30 under 10 writes/s.
    admin("POST", "/_emulator/config", {"throttling": {
        "enabled": True, "subscription_writes": {"capacity": 10.0, "refill_per_sec": 10.0}}})
    admin("DELETE", "/_emulator/requests")
    t_thr, p = tf(a, "apply", "-auto-approve", "-parallelism=30", extra_env={"TF_VAR_ver": "2"})
    if f"{N} changed" not in p.stdout:
        sys.exit(f"bench: throttled apply did not change {N}:\n{p.stdout}\n{p.stderr}")
    log = admin("GET", "/_emulator/requests")
    puts = [r for r in log if r["method"] == "PUT" and "/extensions/" in r["path"]]
    throttled = sum(1 for r in puts if r.get("status") == 429)
    floor = N / 10.0
    admin("POST", "/_emulator/config", {"throttling": {"enabled": False}})
    print(f"throttled run: {N} resets at -parallelism=30, 10 writes/s: {t_thr:.2f}s, floor {floor:.0f}s, "
          f"{len(puts)} PUTs, {throttled} throttled")
    row("throttled wall/floor", f"{t_thr / floor:.2f}x", "<= 1.15x", t_thr / floor <= 1.15)
    row("throttled writes", str(throttled), "<= 20", throttled <= 20)

    # 3. overhead of one apply beyond a 3 s operation.
    one = workdir("one", resets(N, 1))
    one_data = workdir("one-data", data(N, 1))
    tf(one_data, "init")
    admin("POST", "/_emulator/config", {"operation_delay_ms": 3000})
    overheads, data_one = [], []
    for run in range(RUNS):
        data_one.append(tf(one_data, "apply", "-auto-approve",
                           extra_env={"TF_VAR_ver": str(run)})[0])
        tf(one_data, "destroy", "-auto-approve")
        took, _ = tf(one, "apply", "-auto-approve", extra_env={"TF_VAR_ver": str(run + 1)})
        overheads.append(took - 3.0)
    base = statistics.median(data_one)
    overhead = statistics.median(overheads) - base
    print(f"one apply with a 3 s operation: {', '.join(f'{x + 3:.2f}' for x in overheads)}s; "
          f"one terraform_data apply {base:.2f}s")
    row("overhead beyond 3 s", f"{overhead:.2f}s", "<= 0.5s", overhead <= 0.5)

    # 4. status reads of one VM in the first minute of a long operation.
    admin("POST", "/_emulator/config", {"operation_delay_ms": 600000})
    admin("DELETE", "/_emulator/requests")
    long_ = workdir("long", resets(N + 1, 1, '  timeouts {\n    create = "60s"\n  }\n'))
    t_long, p = tf(long_, "apply", "-auto-approve", check=False)
    log = admin("GET", "/_emulator/requests")
    polls = sum(1 for r in log if r["method"] == "GET" and "/operations/" in r["path"].lower())
    print(f"long operation: apply ended after {t_long:.1f}s (timeout 60 s, exit {p.returncode}), "
          f"{polls} status reads")
    row("status reads in the first minute", str(polls), "<= 30", polls <= 30)
    admin("POST", "/_emulator/config", {"operation_delay_ms": 50})

    print(f"load after: {load()}")
    print("\nsummary:")
    for name, value, target, verdict in rows:
        print(f"  {name:<34} {value:>8}   target {target:<8} {verdict}")
finally:
    cleanup()
