#!/usr/bin/env python3
"""Boots the appliance image in QEMU (TCG: no KVM here) and checks it from
the host, through user-mode networking forwarded to 127.0.0.1 only:

  * per firmware (SeaBIOS, then OVMF/UEFI with Secure Boot): SIP OPTIONS -> 200, the console's
    /healthz -> 200, the banner on the serial console (address and one-time
    setup link), the first admin made through that link, an extension created
    through the REST API that SIPp (a real SIP UA) REGISTERs with digest auth
    through the forwarded port, then a clean ACPI power-off;
  * with --update FILE (UEFI run): the A/B update. The update is uploaded
    through the API, the appliance writes slot B, reboots into it on trial and
    confirms it; then a deliberately broken update (its switchboard exits 1)
    goes to slot A, fails its trial, and GRUB falls back to B, which reports
    the failure.

Prints boot-to-SIP-ready seconds per boot. Always kills its QEMU.
Usage: boot_test.py IMAGE [--update FILE] [--firmware bios|uefi|both]
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REGISTER_SCENARIO = os.path.join(REPO, "tests", "sipp", "register_auth.xml")
# OVMF with Microsoft's keys enrolled: Secure Boot on, as on a stock PC.
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
BOOT_TIMEOUT = 600  # TCG is slow; a healthy boot takes well under this
PASSWORD = "image-test-password-1"

failures = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def check(cond, what):
    log(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)
    return cond


def free_port(kind):
    for _ in range(100):
        port = random.randint(20000, 60000)
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


class Vm:
    """One QEMU process booting the image through a qcow2 overlay."""

    def __init__(self, image, firmware, workdir, disk_gib=8):
        self.workdir = workdir
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.http_port = free_port(socket.SOCK_STREAM)
        self.serial = os.path.join(workdir, f"serial-{firmware}.log")
        self.qmp_path = os.path.join(workdir, f"qmp-{firmware}.sock")
        net = (f"user,id=n0,hostfwd=udp:127.0.0.1:{self.sip_port}-:5060,"
               f"hostfwd=tcp:127.0.0.1:{self.http_port}-:8080")
        # A copy-on-write overlay larger than the image: the image file is
        # never modified, and the first boot has room to grow /var into.
        overlay = os.path.join(workdir, f"disk-{firmware}.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.abspath(image), "-F", "raw",
                        overlay, f"{disk_gib}G"], check=True)
        machine = "q35,smm=on" if firmware == "uefi" else "q35"
        cmd = ["qemu-system-x86_64", "-machine", machine, "-accel", "tcg", "-m", "1024", "-smp", "2",
               "-display", "none", "-no-user-config", "-nodefaults", "-vga", "std",
               "-serial", f"file:{self.serial}",
               "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
               "-drive", f"file={overlay},format=qcow2,if=virtio",
               "-netdev", net, "-device", "virtio-net-pci,netdev=n0"]
        if firmware == "uefi":
            vars_copy = os.path.join(workdir, "OVMF_VARS.fd")
            shutil.copy(OVMF_VARS, vars_copy)
            cmd += ["-global", "driver=cfi.pflash01,property=secure,value=on",
                    "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                    "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
        log(f"starting qemu ({firmware}): sip udp 127.0.0.1:{self.sip_port}, http 127.0.0.1:{self.http_port}")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def serial_text(self):
        try:
            with open(self.serial, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def qmp(self, command):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.qmp_path)
        f = s.makefile("rw")
        f.readline()
        for c in ({"execute": "qmp_capabilities"}, {"execute": command}):
            f.write(json.dumps(c) + "\n")
            f.flush()
            f.readline()
        s.close()

    def kill(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def sip_options(port, timeout=2.0):
    """One OPTIONS over UDP; the status code, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    lport = s.getsockname()[1]
    branch = "z9hG4bK" + hashlib.md5(os.urandom(8)).hexdigest()[:12]
    msg = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch={branch};rport\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag={branch[-6:]}\r\n"
           f"To: <sip:127.0.0.1:{port}>\r\nCall-ID: {branch}@image-test\r\nCSeq: 1 OPTIONS\r\n"
           f"Accept: application/sdp\r\nContent-Length: 0\r\n\r\n")
    try:
        s.sendto(msg.encode(), ("127.0.0.1", port))
        while True:
            data, _ = s.recvfrom(65535)
            first = data.split(b"\r\n", 1)[0].decode("latin-1")
            m = re.match(r"SIP/2\.0 (\d{3})", first)
            if m and int(m.group(1)) >= 200:
                return int(m.group(1))
    except OSError:
        return None
    finally:
        s.close()


def request(port, method, path, body=None, headers=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read().decode("utf-8", "replace")
    finally:
        c.close()


def wait_sip_ready(vm, since, what):
    """Waits for OPTIONS 200; returns seconds from `since` or None."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline and vm.alive():
        if sip_options(vm.sip_port) == 200:
            secs = time.monotonic() - since
            log(f"{what}: SIP ready after {secs:.1f} s")
            return secs
        time.sleep(1)
    return None


def wait_serial(vm, pattern, timeout, start=0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and vm.alive():
        m = re.search(pattern, vm.serial_text()[start:])
        if m:
            return m
        time.sleep(1)
    return None


def form(fields):
    from urllib.parse import urlencode
    return urlencode(fields)


class Console:
    """The first admin, made through the one-time link the banner printed."""

    def __init__(self, vm, setup_path):
        self.port = vm.http_port
        st, hdrs, body = request(self.port, "POST", setup_path,
                              form({"username": "admin", "display_name": "Image test",
                                    "password": PASSWORD, "confirm": PASSWORD}),
                              {"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 303, f"setup link makes the first admin (HTTP {st})")
        m = re.search(r"sb_session=([^;]+)", hdrs.get("set-cookie", ""))
        self.cookie = f"sb_session={m.group(1)}" if m else ""
        st, _, page = request(self.port, "GET", "/", headers={"Cookie": self.cookie})
        m = re.search(r'name="csrf-token" content="([^"]+)"', page)
        check(st == 200 and m is not None, "the dashboard opens with the new session")
        self.csrf = m.group(1) if m else ""

    def api(self, method, path, body=None, content_type="application/json", timeout=60):
        headers = {"Cookie": self.cookie, "X-CSRF-Token": self.csrf,
                   "Origin": f"http://127.0.0.1:{self.port}"}
        if body is not None:
            headers["Content-Type"] = content_type
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
        return request(self.port, method, path, body, headers, timeout)


def register_with_sipp(vm, workdir, number, secret, expect_ok=True):
    out = os.path.join(workdir, f"sipp-{number}")
    os.makedirs(out, exist_ok=True)
    cmd = ["sipp", "-sf", REGISTER_SCENARIO, f"127.0.0.1:{vm.sip_port}", "-i", "127.0.0.1",
           "-p", str(free_port(socket.SOCK_DGRAM)), "-m", "1", "-s", number, "-au", number,
           "-ap", secret, "-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err", "-trace_msg"]
    r = subprocess.run(cmd, cwd=out, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if (r.returncode == 0) != expect_ok:
        log(r.stdout.decode(errors="replace")[-2000:])
    return r.returncode == 0


def power_off(vm, what):
    try:
        vm.qmp("system_powerdown")
    except OSError as e:
        log(f"QMP: {e}")
    try:
        vm.proc.wait(timeout=180)
        check(True, f"{what}: clean power-off (qemu exited after ACPI power button)")
        check("reboot: Power down" in vm.serial_text(), f"{what}: the kernel reached power-down")
    except subprocess.TimeoutExpired:
        check(False, f"{what}: power-off within 180 s")


def first_boot(vm, firmware):
    """The checks every boot of a fresh image gets. Returns the Console."""
    secs = wait_sip_ready(vm, vm.started, f"{firmware} boot")
    if not check(secs is not None, f"{firmware}: SIP OPTIONS answered 200 through the forwarded port"):
        return None
    if firmware == "uefi":
        check("secureboot: Secure boot enabled" in vm.serial_text(),
              "uefi: booted with Secure Boot enforced (shim, GRUB and kernel signatures checked)")
    st, _, body = request(vm.http_port, "GET", "/healthz")
    check(st == 200, f"{firmware}: console /healthz answers 200 ({body.strip()!r})")
    m = wait_serial(vm, r"http://(\d+\.\d+\.\d+\.\d+):8080(/setup/[A-Za-z0-9_-]+)", 180)
    if not check(m is not None, f"{firmware}: the serial console shows the address and a setup link"):
        return None
    check(m.group(1) == "10.0.2.15", f"{firmware}: the banner's address is the DHCP lease ({m.group(1)})")
    d = re.search(r"Data partition \(/var\): ([0-9.]+)G", vm.serial_text())
    check(d is not None and float(d.group(1)) > 5, f"{firmware}: /var grew into the 8 GiB disk (image: 2.4 GiB) ({d and d.group(0)})")
    console = Console(vm, m.group(2))
    st, _, body = console.api("POST", "/api/v1/extensions", {"number": "2001", "name": "Image test", "secret": "image-secret-2001"})
    check(st == 201, f"{firmware}: extension 2001 created through the API (HTTP {st})")
    check(register_with_sipp(vm, vm.workdir, "2001", "image-secret-2001"),
          f"{firmware}: SIPp REGISTERs 2001 with digest auth (401, then 200)")
    check(not register_with_sipp(vm, vm.workdir, "2001", "wrong-secret", expect_ok=False),
          f"{firmware}: a wrong secret does not register")
    st, _, body = console.api("GET", "/api/v1/extensions")
    check(st == 200 and "SIPp" in body, f"{firmware}: the API lists the registered phone")
    fax_pdf_is_rasterised(console, firmware)
    print(f"BOOT-TO-SIP-READY {firmware} {secs:.1f}s", flush=True)
    return console


def tiny_pdf():
    """A one-page PDF with a line of text, offsets computed."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            None,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    text = b"BT /F1 36 Tf 72 700 Td (switchboard image test) Tj ET"
    objs[3] = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def fax_pdf_is_rasterised(console, firmware):
    """Fax sending runs ghostscript from the hardened service."""
    st, _, body = console.api("POST", "/api/v1/faxes?to=2001&name=image-test.pdf", tiny_pdf(), "application/pdf", timeout=300)
    if not check(st == 202, f"{firmware}: a PDF fax is rasterised by ghostscript and queued (HTTP {st} {body[:200]})"):
        return
    fax_id = json.loads(body).get("id")
    st, hdrs, _ = console.api("GET", f"/api/v1/faxes/{fax_id}/pdf")
    check(st == 200 and hdrs.get("content-type", "").startswith("application/pdf"), f"{firmware}: the queued fax's document is served")
    st, _, _ = console.api("DELETE", f"/api/v1/faxes/{fax_id}")
    check(st in (200, 204, 409), f"{firmware}: the test fax is cancelled, or already dialling (HTTP {st})")


def update_status(console):
    st, _, body = console.api("GET", "/api/v1/system/update")
    return json.loads(body) if st == 200 else {"http": st, "body": body}


def wait_update_status(console, prefix, timeout=300):
    """Polls the update status until its last line starts with `prefix`;
    the last status seen."""
    deadline = time.monotonic() + timeout
    s = {}
    while time.monotonic() < deadline:
        s = update_status(console)
        if str(s.get("last", "")).startswith(prefix):
            break
        time.sleep(3)
    return s


def broken_update(good, workdir):
    """The same update with /usr/bin/switchboard replaced by `exit 1`."""
    with open(good, "rb") as f:
        head = f.read(4096)
    end = head.index(b"\n\n") + 2
    root = os.path.join(workdir, "root-broken.img")
    with open(good, "rb") as f, open(root, "wb") as out:
        f.seek(end)
        subprocess.run(["zstd", "-dcq"], stdin=f, stdout=out, check=True)
    bad = os.path.join(workdir, "false.sh")
    with open(bad, "w") as f:
        f.write("#!/bin/sh\necho 'broken update for the image test' >&2\nexit 1\n")
    subprocess.run(["debugfs", "-w", "-R", "rm /usr/bin/switchboard", root], check=True, capture_output=True)
    subprocess.run(["debugfs", "-w", "-R", f"write {bad} /usr/bin/switchboard", root], check=True, capture_output=True)
    subprocess.run(["debugfs", "-w", "-R", "sif /usr/bin/switchboard mode 0100755", root], check=True, capture_output=True)
    out = os.path.join(workdir, "broken.update")
    subprocess.run([os.path.join(REPO, "firmware-image", "make-update.sh"), root, "0.0.0-broken", out], check=True)
    return out


def upload_update(console, path):
    with open(path, "rb") as f:
        data = f.read()
    return console.api("POST", "/api/v1/system/update", data, "application/octet-stream", timeout=600)


def ab_update(vm, console, update):
    st, _, body = upload_update(console, update)
    if not check(st == 202, f"update accepted by the API (HTTP {st} {body[:200]})"):
        return
    mark = len(vm.serial_text())
    m = wait_serial(vm, r"reboot: Restarting system", BOOT_TIMEOUT, mark)
    if not check(m is not None, "the appliance wrote slot B and rebooted"):
        return
    t = time.monotonic()
    secs = wait_sip_ready(vm, t, "slot B boot")
    check(secs is not None, "slot B boots and answers SIP")
    s = wait_update_status(console, "ok")
    check(s.get("slot") == "B" and str(s.get("last", "")).startswith("ok"), f"slot B confirmed healthy: {s}")
    mid = re.search(r"machine id ([0-9a-f]{32}) stored", vm.serial_text())
    check(mid is not None and f"systemd.machine_id={mid.group(1)}" in vm.serial_text()[mark:],
          "the machine id made at the first boot is kept across the reboot (GRUB passes it)")
    print(f"BOOT-TO-SIP-READY uefi-slot-B {secs or 0:.1f}s", flush=True)

    bad = broken_update(update, vm.workdir)
    st, _, body = upload_update(console, bad)
    if not check(st == 202, f"broken update accepted for its trial (HTTP {st} {body[:200]})"):
        return
    mark = len(vm.serial_text())
    check(wait_serial(vm, r"sb\.slot=A", BOOT_TIMEOUT, mark) is not None, "GRUB boots slot A on trial")
    check(wait_serial(vm, r"did not become healthy|rebooting into the previous slot", BOOT_TIMEOUT, mark) is not None,
          "the trial notices switchboard failing and reboots")
    mark2 = len(vm.serial_text())
    check(wait_serial(vm, r"sb\.slot=B", BOOT_TIMEOUT, mark2) is not None, "GRUB falls back to slot B")
    secs = wait_sip_ready(vm, time.monotonic(), "fallback boot")
    check(secs is not None, "slot B answers SIP again after the fallback")
    s = wait_update_status(console, "failed")
    check(s.get("slot") == "B" and str(s.get("last", "")).startswith("failed"), f"the failed update is reported: {s}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--update")
    ap.add_argument("--firmware", default="both", choices=["bios", "uefi", "both"])
    args = ap.parse_args()
    for tool in ["qemu-system-x86_64", "sipp", "zstd", "debugfs"]:
        if shutil.which(tool) is None:
            sys.exit(f"missing {tool}: run make image-test-deps")
    workdir = tempfile.mkdtemp(prefix="sb-image-test-")
    firmwares = ["bios", "uefi"] if args.firmware == "both" else [args.firmware]
    vms = []
    try:
        for fw in firmwares:
            vm = Vm(args.image, fw, workdir)
            vms.append(vm)
            console = first_boot(vm, fw)
            if console and fw == "uefi" and args.update:
                ab_update(vm, console, args.update)
            if vm.alive():
                power_off(vm, fw)
            if failures:
                break
    finally:
        for vm in vms:
            vm.kill()
        if failures:
            for vm in vms:
                log(f"--- last serial output ({vm.serial}) ---")
                print(vm.serial_text()[-6000:])
            log(f"{len(failures)} check(s) failed; logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
