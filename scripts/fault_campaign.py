"""Crash and fault campaign against the release emulator, on loopback, bounded in time.

Drives signed Personalize calls from a few threads while it
  1. kills the emulator with SIGKILL N times under load (restarting it each time),
  2. fills the disk under it (a small tmpfs when run as root; skipped otherwise),
  3. makes the trail's bucket unwritable for a while (a file where its folder should be),
then flushes and reads every delivered log file back. It prints acknowledged calls (answered,
with a request id), delivered, lost (acknowledged but in no log file), duplicated (an eventID in
more than one place), and state changes without a record (dataset groups that exist with no
successful CreateDatasetGroup record). Exit status 1 if anything was lost, duplicated or
unrecorded.

Run through scripts/fault-campaign.sh, which builds the emulator and the venv.
"""

import argparse
import gzip
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALICE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
BUCKET = "aws-cloudtrail-logs-123456789012"


class Emulator:
    def __init__(self, binary, data_dir, port, log):
        self.binary, self.data_dir, self.port, self.log = binary, data_dir, port, log
        self.proc = None

    def start(self):
        log = open(self.log, "ab")
        # The built-in configuration without the LookupEvents rate limit, so the check can page
        # through all of Event history.
        config = os.path.join(os.path.dirname(self.log), "emulator.toml")
        if not os.path.exists(config):
            text = subprocess.run([self.binary, "--print-default-config"], capture_output=True,
                                  check=True, text=True).stdout
            with open(config, "w") as f:
                f.write(text + "\n[cloudtrail]\nlookup_events_rate = 0\n")
        self.proc = subprocess.Popen(
            [self.binary, "--bind", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
             "--flush-interval", "1s", "--time-scale", "0", "--config", config],
            stdout=log, stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/_emulator/health", headers={"Host": f"127.0.0.1:{self.port}"})
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("the emulator did not start; see emulator.log")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def admin(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("POST", path, headers={"Host": f"127.0.0.1:{self.port}"})
        r = c.getresponse()
        return r.status, r.read()


class Load:
    """Threads that call CreateDatasetGroup (unique names), ListDatasetGroups and
    DescribeDatasetGroup and note every answer."""

    def __init__(self, port, threads):
        self.port, self.threads = port, threads
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered = []  # (request id, operation, status, name)
        self.unanswered = 0

    def call(self, conn, op, body):
        url = f"http://127.0.0.1:{self.port}/"
        req = AWSRequest(method="POST", url=url, data=body, headers={
            "X-Amz-Target": f"AmazonPersonalize.{op}",
            "Content-Type": "application/x-amz-json-1.1",
        })
        SigV4Auth(ALICE, "personalize", "us-east-1").add_auth(req)
        conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("x-amzn-RequestId")

    def worker(self, n):
        conn = None
        i = 0
        while not self.stop.is_set():
            i += 1
            pick = random.random()
            name = None
            if pick < 0.4:
                op, name = "CreateDatasetGroup", f"c{n}-{uuid.uuid4().hex[:12]}"
                body = json.dumps({"name": name})
            elif pick < 0.8:
                op, body = "ListDatasetGroups", "{}"
            else:
                op = "DescribeDatasetGroup"
                body = json.dumps({"datasetGroupArn": "arn:aws:personalize:us-east-1:123456789012:dataset-group/nope"})
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                status, rid = self.call(conn, op, body)
                with self.lock:
                    self.answered.append((rid, op, status, name))
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.unanswered += 1
                conn = None
                time.sleep(0.02)

    def run(self):
        self.ts = [threading.Thread(target=self.worker, args=(n,), daemon=True) for n in range(self.threads)]
        for t in self.ts:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.ts:
            t.join()


def delivered(data_dir):
    """Every record in every delivered log file of the trail's bucket."""
    out = []
    root = os.path.join(data_dir, BUCKET, "AWSLogs")
    for dirpath, _, files in os.walk(root):
        if "CloudTrail-Digest" in dirpath:
            continue
        for f in files:
            if f.endswith(".json.gz"):
                with gzip.open(os.path.join(dirpath, f)) as g:
                    out.extend(json.load(g)["Records"])
    return out


def all_groups(load):
    names, token = [], None
    conn = http.client.HTTPConnection("127.0.0.1", load.port, timeout=30)
    while True:
        body = {"maxResults": 100}
        if token:
            body["nextToken"] = token
        url = f"http://127.0.0.1:{load.port}/"
        data = json.dumps(body)
        req = AWSRequest(method="POST", url=url, data=data, headers={
            "X-Amz-Target": "AmazonPersonalize.ListDatasetGroups",
            "Content-Type": "application/x-amz-json-1.1"})
        SigV4Auth(ALICE, "personalize", "us-east-1").add_auth(req)
        conn.request("POST", "/", body=data, headers=dict(req.headers.items()))
        page = json.loads(conn.getresponse().read())
        names += [g["name"] for g in page.get("datasetGroups", [])]
        token = page.get("nextToken")
        if not token:
            return names


def history_ids(port):
    """Every eventID that LookupEvents returns for the demo account in us-east-1."""
    ids, token = set(), None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
    while True:
        body = {"MaxResults": 50}
        if token:
            body["NextToken"] = token
        data = json.dumps(body)
        req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=data, headers={
            "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
        SigV4Auth(ALICE, "cloudtrail", "us-east-1").add_auth(req)
        conn.request("POST", "/", body=data, headers=dict(req.headers.items()))
        page = json.loads(conn.getresponse().read())
        ids.update(e["EventId"] for e in page.get("Events", []))
        token = page.get("NextToken")
        if not token:
            return ids


def phase_kills(emu, load, kills):
    for k in range(kills):
        time.sleep(random.uniform(0.5, 1.5))
        emu.kill()
        emu.start()
    print(f"kills: {kills} SIGKILLs under load", flush=True)


def phase_bucket(emu):
    bucket = os.path.join(emu.data_dir, BUCKET)
    aside = bucket + ".aside"
    os.rename(bucket, aside)
    with open(bucket, "w") as f:
        f.write("not a folder")
    time.sleep(3)
    status, _ = emu.admin("/_emulator/flush")
    os.remove(bucket)
    os.rename(aside, bucket)
    print(f"unwritable bucket: flush answered {status} while it was unwritable; restored", flush=True)


def phase_disk(binary, workdir, port):
    """A 24 MiB tmpfs as the data directory, filled until state changes are refused."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        print("full disk: skipped (needs root for a tmpfs)")
        return None
    mnt = os.path.join(workdir, "tmpfs")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt]).returncode != 0:
        print("full disk: skipped (mount failed)")
        return None
    try:
        data = os.path.join(mnt, "data")
        emu = Emulator(binary, data, port + 1, os.path.join(workdir, "emulator-disk.log"))
        emu.start()
        load = Load(port + 1, 4)
        load.run()
        time.sleep(1)
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
            except OSError:
                pass
        time.sleep(3)
        os.remove(filler)
        time.sleep(3)
        load.join()
        status, _ = emu.admin("/_emulator/flush")
        result = check("full disk", emu, load)
        emu.stop()
        return result
    finally:
        subprocess.run(["umount", "-l", mnt])


def health(emu):
    c = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    c.request("GET", "/_emulator/health", headers={"Host": f"127.0.0.1:{emu.port}"})
    return json.loads(c.getresponse().read())


def check(label, emu, load):
    emu.admin("/_emulator/flush")
    records = delivered(emu.data_dir)
    by_rid = {}
    event_ids = {}
    for r in records:
        by_rid.setdefault(r.get("requestID"), []).append(r)
        event_ids[r["eventID"]] = event_ids.get(r["eventID"], 0) + 1
    acked = [a for a in load.answered if a[0]]
    missing = [a for a in acked if a[0] not in by_rid]
    # While the disk is full, reads and refused calls are answered without a record, by design
    # (docs/protocol.md, "Reads keep answering"); the server counts them. A successful state
    # change is never among them.
    unrecorded_ok = health(emu)["delivery"]["unrecordedCalls"]
    changes_missing = [a for a in missing if a[1] == "CreateDatasetGroup" and a[2] == 200]
    lost = missing if len(missing) > unrecorded_ok or changes_missing else []
    dup = sum(n - 1 for n in event_ids.values() if n > 1)
    created = {r["requestParameters"]["name"] for r in records
               if r["eventName"] == "CreateDatasetGroup" and "errorCode" not in r}
    groups = all_groups(load)
    unrecorded = [g for g in groups if g not in created]
    refused = sum(1 for a in acked if a[2] == 503)
    history = history_ids(emu.port)
    management = {r["eventID"] for r in records
                  if r.get("managementEvent", True) and r.get("awsRegion") == "us-east-1"
                  and r.get("eventName") != "LookupEvents"}
    not_in_history = len(management - history)
    print(f"{label}: acknowledged {len(acked)}, unanswered {load.unanswered}, delivered {len(records)}, "
          f"lost {len(lost)}, duplicated {dup}, state changes without a record {len(unrecorded)}, "
          f"refused (503) {refused}, answered without a record while the disk was full "
          f"{len(missing) if not lost else 0} (server count {unrecorded_ok}), dataset groups {len(groups)}, "
          f"delivered management events missing from Event history {not_in_history}",
          flush=True)
    for a in lost[:5]:
        print("  lost:", a)
    for g in unrecorded[:5]:
        print("  unrecorded:", g)
    return len(lost) + dup + len(unrecorded)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--port", type=int, default=4790)
    p.add_argument("--no-disk", action="store_true", help="skip the full-disk phase")
    p.add_argument("--only-disk", action="store_true", help="run only the full-disk phase")
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="fault-campaign-")
    if args.only_disk:
        bad = phase_disk(args.binary, workdir, args.port) or 0
        print(f"logs in {workdir}")
        sys.exit(1 if bad else 0)
    data = os.path.join(workdir, "data")
    emu = Emulator(args.binary, data, args.port, os.path.join(workdir, "emulator.log"))
    emu.start()
    load = Load(args.port, args.threads)
    load.run()
    phase_kills(emu, load, args.kills)
    phase_bucket(emu)
    time.sleep(1)
    load.join()
    bad = check("kills and bucket", emu, load)
    code = emu.stop()
    print(f"shutdown exit status {code}")
    disk = None if args.no_disk else phase_disk(args.binary, workdir, args.port)
    bad += disk or 0
    if bad or code:
        print(f"logs kept in {workdir}")
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
